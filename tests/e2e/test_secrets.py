"""Secrets never leave: the API key and the InfluxDB token appear in no output of a run.

A distributed run (master + 2 workers) against a mock that enforces the key, writing records, the
summary, Locust's CSV files, a DEBUG log and InfluxDB points (VictoriaMetrics, v2 API with a token);
then every byte of all of it, and what the database holds, is searched for both secrets. A run with a
wrong key and --no-preflight fails every turn as auth, and its failure messages are searched too.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path

from agentload.launch.locust import locust_argv
from agentload.mock import MockProcess
from tests.paths import ROOT
from tests.servers import VictoriaMetrics


def _run(tmp: Path, host: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        locust_argv(
            "--host",
            host,
            "-u",
            "10",
            "-r",
            "20",
            "--run-time",
            "5s",
            "--processes",
            "2",
            "--tool-latency-scale",
            "0.02",
            "--stop-timeout",
            "10",
            "--records",
            str(tmp / "records.jsonl"),
            "--summary-json",
            str(tmp / "summary.json"),
            "--csv",
            str(tmp / "stats"),
            "--loglevel",
            "DEBUG",
            "--logfile",
            str(tmp / "locust.log"),
            *args,
        ),  # fmt: skip
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def _everything(tmp: Path, proc: subprocess.CompletedProcess[str]) -> str:
    files = [p for p in tmp.rglob("*") if p.is_file()]
    assert any(p.name.startswith("records.") for p in files) and (tmp / "locust.log").exists()
    return proc.stdout + proc.stderr + "".join(p.read_text(errors="replace") for p in files)


def test_api_key_and_influx_token_appear_in_no_output(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    key = "sk-agentload-" + secrets.token_hex(16)
    token = "influx-token-" + secrets.token_hex(16)
    mock = start_mock("--ttft-ms", "20", "--output-tps", "2000", env={"AGENTLOAD_MOCK_API_KEY": key})
    vm = VictoriaMetrics(tmp_path / "vm").start()
    try:
        out = tmp_path / "ok"
        proc = _run(
            out,
            mock.url,
            {"OPENAI_API_KEY": key, "INFLUX_TOKEN": token},
            "--run-id", "secrets", "--influx-url", vm.url, "--influx-org", "o", "--influx-bucket", "b",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        summary = json.loads((out / "summary.json").read_text())
        assert summary["turns"]["ok"] > 20  # the mock enforces the key: the key was sent, and taken
        points = json.dumps(vm.export('{run_id="secrets"}'))
        assert '"strategy"' in points  # what the database holds was read back
        text = _everything(out, proc) + points + "".join(mock.log_tail)
        assert key not in text and token not in text
        assert key[-12:] not in text and token[-12:] not in text  # nor a recognisable piece of either

        wrong = "sk-wrong-" + secrets.token_hex(16)
        bad = tmp_path / "wrong"
        proc = _run(bad, mock.url, {"OPENAI_API_KEY": wrong}, "--no-preflight")
        assert proc.returncode == 2  # every task failed at once: the run stopped itself (runtime.fatal)
        summary = json.loads((bad / "summary.json").read_text())
        assert set(summary["rows"][0]["failures"]) == {"auth"}
        text = _everything(bad, proc) + "".join(mock.log_tail)
        assert "auth HTTP 401" in text and wrong not in text and wrong[-12:] not in text
    finally:
        vm.stop()
