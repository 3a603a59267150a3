"""A user's own task file reaches the mock and plays as written: in a plain run (the mock started with
``--task FILE``), in a sweep and in a fleet; a task the mock does not know is a 400 naming it and the
fix, never the mock's default script."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentload.mock import MockProcess
from agentload.workload import TASKS_DIR
from tests.paths import ROOT
from tests.runlocust import read_records, run_group, run_locust

MOCK = ("--latency", "zero")


@pytest.fixture(scope="module")
def two_turns(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two turns of tool calls (one call, then two), then the answer; it reasons 40 tokens a turn."""
    base = yaml.safe_load((TASKS_DIR / "_coding_agent.yaml").read_text())
    doc = {
        "name": "my-two-turns",
        "instructions": base["instructions"],
        "tools": base["tools"],
        "prompt": "Rename the helper.",
        "reasoning_tokens": 40,
        "turns": [
            {
                "calls": [
                    {
                        "tool": "read_file",
                        "args": {"path": "a.py"},
                        "result": {"kind": "python", "bytes": 300},
                    }
                ]
            },
            {
                "calls": [
                    {
                        "tool": "read_file",
                        "args": {"path": "b.py"},
                        "result": {"kind": "python", "bytes": 200},
                    },
                    {
                        "tool": "read_file",
                        "args": {"path": "c.py"},
                        "result": {"kind": "python", "bytes": 100},
                    },
                ]
            },
        ],
        "final_message": "Renamed.",
    }
    path = tmp_path_factory.mktemp("task") / "my.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def played_as_written(records: list[dict[str, Any]]) -> None:
    tasks = [r for r in records if r["kind"] == "task" and r["ok"]]
    assert tasks, records[-3:]
    for t in tasks:
        assert t["task"] == "my-two-turns"
        assert (t["turns"], t["tool_calls"]) == (3, 3), t  # not the default script's 5 turns, 12 calls
        assert t["reasoning_tokens"] == 3 * 40, t


def test_a_plain_run_plays_the_users_task(
    start_mock: Callable[..., MockProcess], two_turns: Path, tmp_path: Path
) -> None:
    mock = start_mock(*MOCK, "--task", str(two_turns))
    proc, _ = run_locust(
        mock.url, tmp_path, "--headless", "-u", "2", "-r", "2", "--run-time", "4s", "--strategy", "ws",
        "--task", str(two_turns), "--tool-latency-scale", "0",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    played_as_written(read_records(tmp_path / "records.jsonl"))


def test_an_unknown_task_is_a_400_naming_it_and_the_fix(
    start_mock: Callable[..., MockProcess], two_turns: Path, tmp_path: Path
) -> None:
    mock = start_mock(*MOCK)  # not told of the file
    proc, _ = run_locust(
        mock.url, tmp_path, "--headless", "-u", "1", "-r", "1", "--run-time", "20s", "--strategy",
        "http-stateless", "--task", str(two_turns),
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-3000:]
    # the start-up check asks the mock which tasks it knows: one line, before any agent starts
    lines = [line for line in proc.stderr.splitlines() if line.startswith("agentload:")]
    assert len(lines) == 1 and "does not know task 'my-two-turns'" in lines[0], proc.stderr[-3000:]
    assert f"agentload mock --task {two_turns}" in lines[0]
    assert "Traceback" not in proc.stderr
    assert not [r for r in read_records(tmp_path / "records.jsonl") if r["kind"] == "turn"]
    # a mock asked anyway (no start-up check) answers the 400 naming the task and the fix
    proc, _ = run_locust(
        mock.url, tmp_path, "--headless", "-u", "1", "-r", "1", "--run-time", "20s", "--strategy",
        "http-stateless", "--task", str(two_turns), "--no-preflight",
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "unknown task 'my-two-turns'" in proc.stderr and "--task FILE" in proc.stderr
    turns = [r for r in read_records(tmp_path / "records.jsonl") if r["kind"] == "turn"]
    assert turns and all(r["http_status"] == 400 and r["tool_calls"] == 0 for r in turns)


def test_a_sweep_gives_its_mock_the_task_file(two_turns: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    proc = subprocess.run(
        [sys.executable, "-m", "agentload", "sweep", "--out", str(out), "--strategies", "ws,http-stateless",
         "--agents", "2", "--duration", "4", "--warmup", "1", "--processes", "1", "--task", str(two_turns)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    for cell in ("ws", "http-stateless"):
        folder = out / "cells" / f"{cell}-a2-my-gpt-5.4"
        played_as_written(read_records(folder / "records.jsonl"))


def test_a_fleet_plays_the_users_task(
    start_mock: Callable[..., MockProcess], two_turns: Path, tmp_path: Path
) -> None:
    mock = start_mock(*MOCK, "--task", str(two_turns))
    cmd = [sys.executable, "-m", "agentload", "fleet", "--workers", "2", "--", "--headless", "-u", "4", "-r", "4",
           "--run-time", "4s", "--strategy", "ws,chat", "--host", mock.url, "--task", str(two_turns),
           "--tool-latency-scale", "0", "--records", str(tmp_path / "records.jsonl"), "--only-summary"]  # fmt: skip
    proc = run_group(cmd, 180, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = read_records(tmp_path / "records.jsonl")
    played_as_written(records)
    assert {r["strategy"] for r in records if r["kind"] == "task"} == {"ws", "chat"}
