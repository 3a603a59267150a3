"""Bad input: one line naming the flag or the file and the fix, exit 2, no traceback, before any load.

The table in tests/bad_input.py (every agentload option and every flag and argument of every command,
each with a bad value) runs in one process; the cases here run the real commands, for the paths that
need them: the ``locust`` command's own exit, the mock a run talks to, every command's --help.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentload.cli import build_parser
from agentload.mock import MockProcess
from tests import bad_input
from tests.paths import ROOT
from tests.runlocust import run_briefly


def one_line(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, (proc.returncode, out[-2000:])
    assert "Traceback" not in out, out[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("agentload:")]
    assert len(lines) == 1, proc.stderr[-2000:]
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def agentload(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentload", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def not_a_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    f = tmp_path_factory.mktemp("bad") / "a-file"
    f.write_text("x")
    return f


# the real ``locust`` process on a few of the table's cases, one of each kind of check: its one line and
# exit 2 (the table tries every value in one process, through the same start check)
@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--host", "http://127.0.0.1:abc"], "--host"),
        (
            ["--host", "http://127.0.0.1:9", "--influx-url", "http://127.0.0.1:abc", "--influx-db", "x"],
            "--influx-url",
        ),
        (["--host", "http://127.0.0.1:9", "--tool-latency-scale", "nan"], "--tool-latency-scale"),
        (["--host", "http://127.0.0.1:9", "--client-profile", "nope"], "nope: no such client profile"),
        (["--host", "http://127.0.0.1:9", "-u", "0"], "-u/--users"),
    ],
)
def test_bad_options_of_a_run(args: list[str], flag: str) -> None:
    one_line(run_briefly(*args), flag)


def test_output_files_that_cannot_be_written(tmp_path: Path, not_a_folder: Path) -> None:
    for flag in ("--records", "--summary-json"):
        one_line(run_briefly("--host", "http://127.0.0.1:9", flag, str(tmp_path)), flag, "is a folder")
        one_line(
            run_briefly("--host", "http://127.0.0.1:9", flag, str(not_a_folder / "x.jsonl")), flag, "writable"
        )


def test_bad_input_to_the_commands(tmp_path: Path, not_a_folder: Path) -> None:
    one_line(agentload("mock", "--faults", "drop=0.6,http_500=0.6"), "--faults", "100 %")
    one_line(agentload("probe", "--host", "http://127.0.0.1:9", "--probe-steps", "4,x"), "--probe-steps")
    one_line(agentload("sweep", "--out", str(tmp_path / "new"), "--resume"), "--resume", "no sweep")
    one_line(agentload("sweep", "--out", str(tmp_path / "s"), "--slo", "p99=1"), "--slo")
    one_line(agentload("sweep", "--out", str(tmp_path / "s"), "--compression", "brotli"), "--compression")
    one_line(agentload("compare", str(tmp_path / "none"), str(tmp_path)), "no such file")
    one_line(
        agentload("compare", str(tmp_path), str(tmp_path), "--fail-if-worse", "task_s=5"), "--fail-if-worse"
    )
    one_line(
        agentload("dashboard", "--out", str(tmp_path / "no" / "such" / "x.json")), "--out", "does not exist"
    )
    assert not (tmp_path / "no").exists()
    bad = tmp_path / "corrupt"
    bad.mkdir()
    (bad / "cells.jsonl").write_text('{"id": "x", "spec": \n')
    one_line(agentload("report", str(bad)), "cells.jsonl", "line 1")


@pytest.fixture(scope="module")
def table() -> dict[str, Any]:
    """Every case of the table, tried once (tests/bad_input.py), and every flag there is."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bad_input"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    results = [r for r in lines if "i" in r]
    assert len(results) == len(bad_input.CASES), proc.stderr[-3000:]
    return {"results": results, "flags": next(r["flags"] for r in lines if "flags" in r)}


@pytest.mark.parametrize(
    "index", range(len(bad_input.CASES)), ids=[" ".join(a[1:])[:80] for a, _ in bad_input.CASES]
)
def test_the_table(table: dict[str, Any], index: int) -> None:
    argv, needle = bad_input.CASES[index]
    got = table["results"][index]
    err = got["stderr"]
    assert got["code"] != bad_input.ACCEPTED, f"{' '.join(argv)}: accepted (it would have started)"
    assert got["code"] == 2, (got["code"], err[-2000:])
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if line.strip()]
    ours = [line for line in lines if line.startswith("agentload")]
    if ours:  # agentload's own check: one line
        assert len(ours) == 1, err
        assert needle in ours[0], ours[0]
    else:  # Locust's own parser refused a value (its usage and one error line naming the flag)
        assert argv[0] in ("locust", "probe") and needle in lines[-1], err


def test_the_table_tries_every_option_and_every_flag_of_every_command(
    table: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    tried = set().union(*(bad_input.tried(argv) for argv, _ in bad_input.CASES))
    untried = sorted(set(table["flags"]) - tried)
    assert not untried, f"flags no bad-input case tries: {untried}"
    assert len(table["flags"]) > 100  # (the enumeration found the options and the commands' flags)
    with capsys.disabled():
        print(
            f"\nbad-input suite: {len(bad_input.CASES)} cases in the table, trying all "
            f"{len(table['flags'])} options and flags"
        )


def test_every_help_prints() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for args in ([], *([name] for name in sub.choices)):
        proc = agentload(*args, "--help")
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (args, proc.stderr[-2000:])
        assert "usage" in proc.stdout.lower(), (args, proc.stdout[:500])
        if args in (["locust"], ["probe"]):  # Locust's help, with agentload's options in it
            assert "--strategy" in proc.stdout and "--influx-url" in proc.stdout, proc.stdout[-2000:]
        if args == ["probe"]:
            assert "--probe-steps" in proc.stdout


def test_a_task_the_mock_does_not_know_stops_the_run_at_start(start_mock: Callable[..., MockProcess]) -> None:
    mock = start_mock()
    proc = run_briefly("--host", mock.url, "--task", "tasks/example-two-turn.yaml", run_time="20s")
    line = one_line(proc, "--task", "does not know", "agentload mock --task tasks/example-two-turn.yaml")
    model_requests = [
        e for e in mock.stats()["exchanges"] if e["path"].startswith(("/v1/responses", "/v1/chat"))
    ]
    assert model_requests == [], (line, model_requests)  # stopped before any agent sent a turn
