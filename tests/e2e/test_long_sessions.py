"""A long session as it is (#30): a synthetic 2-hour session (seven prompts, six 20-minute human pauses
between the model's answers) compressed by --time-scale 0.001 on the agents and the mock alike, so its
pauses take 7.2 s and the mock's 60-minute WebSocket lifetime 3.6 s. The ws agent holds its connection
idle through the pauses, meets the lifetime mid-session and reconnects (counted); the HTTP agent holds
nothing and never reconnects. About 18 s of wall time (an 11 s run)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from agentload.mock import MockProcess
from tests.runlocust import read_records, run_locust

PROMPTS, PAUSE_S, SCALE = 7, 1200.0, 0.001


def session_file(path: Path) -> Path:
    """Seven prompts, each a call and an answer; the six after the first follow a 20-minute pause."""
    call = {"tool": "read_file", "args": {"path": "a.py"}, "result": {"kind": "python", "bytes": 2000}}
    turns: list[dict[str, object]] = []
    for i in range(PROMPTS):
        first: dict[str, object] = {"calls": [call]}
        if i:
            first |= {"user_message": {"text": f"and now part {i}"}, "pause_s": PAUSE_S}
        turns += [first, {"calls": []}]
    task = {
        "schema": 1,
        "name": "two-hour-session",
        "description": "a synthetic 2-hour session: seven prompts, six 20-minute pauses",
        "instructions": "You are a coding agent.",
        "tools": [{"name": "read_file", "description": "Read a file.",
                   "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}],
        "prompt": "Part 0.",
        "turns": turns,
        "final_message": "done",
        "tool_profile": {"default": {"kind": "text", "bytes": 100}},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(task))
    return path


def test_a_two_hour_session_compressed_meets_the_websocket_lifetime_and_reconnects(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    task = session_file(tmp_path / "two-hour-session.yaml")
    mock = start_mock("--latency", "zero", "--time-scale", f"{SCALE:g}", "--task", str(task))
    proc, summary = run_locust(mock.url, tmp_path, "--headless", "-u", "2", "-r", "2", "--run-time", "11s",
                               "--strategy", "ws,http-stateless", "--task", str(task),
                               "--time-scale", f"{SCALE:g}", "--tool-latency-scale", "0")  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # (1: the second session cut off by the run's end)
    records = read_records(tmp_path / "records.jsonl")
    done = {r["strategy"]: r for r in records if r["kind"] == "task" and r["ok"]}
    assert set(done) == {"ws", "http-stateless"}, [r for r in records if r["kind"] == "task"]
    for r in done.values():  # every prompt answered, every pause held (time-scaled)
        assert r["turns"] == 2 * PROMPTS and r["pauses"] == PROMPTS - 1, r
        assert abs(r["pause_ms"] - (PROMPTS - 1) * PAUSE_S * SCALE * 1000) < 1.0, r
        assert r["duration_ms"] >= r["pause_ms"]
    ws, http = done["ws"], done["http-stateless"]
    assert ws["reconnects"] >= 1 and ws["idle_closes"] == 0, ws
    assert http["reconnects"] == 0, http
    turns = [r for r in records
             if r["kind"] == "turn" and r["strategy"] == "ws" and r["task_seq"] == ws["task_seq"]]  # fmt: skip
    met = [t for t in turns if t["error_kind"] in ("websocket_connection_limit_reached", "connection")]
    assert met and all(t["attempt"] == 0 for t in met), met
    # each end of a connection's life met at a turn and that turn retried at once on a new connection
    # (the agent's first connection opened before its first task, its handshake no turn's)
    assert len(met) == ws["reconnects"], turns
    assert [t["turn"] for t in turns if t["connect_bytes_sent"]] == [t["turn"] for t in met], turns
