"""A long session as it is (#30): a synthetic 2-hour session (seven prompts, six 20-minute human pauses
between the model's answers) compressed by --time-scale 0.001 on the agents and the mock alike, so its
pauses take 7.2 s and the mock's 60-minute WebSocket lifetime 3.6 s. The ws agent holds its connection
idle through the pauses, meets the lifetime mid-session and reconnects (counted); the HTTP agent holds
nothing and never reconnects. About 18 s of wall time (an 11 s run)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from agentload.core.strategies import NAMES
from agentload.mock import MockProcess
from tests.runlocust import read_records, run_locust

PROMPTS, PAUSE_S, SCALE = 7, 1200.0, 0.001


CALL = {"tool": "read_file", "args": {"path": "a.py"}, "result": {"kind": "python", "bytes": 20000}}


def session_file(path: Path, turns: list[dict[str, object]] | None = None) -> Path:
    """By default seven prompts, each a call and an answer; the six after the first follow a 20-minute
    pause."""
    if turns is None:
        turns = []
        for i in range(PROMPTS):
            first: dict[str, object] = {"calls": [CALL]}
            if i:
                first |= {"user_message": {"text": f"and now part {i}"}, "pause_s": PAUSE_S}
            turns += [first, {"calls": []}]
    task = {
        "schema": 1,
        "name": path.stem,
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


def test_compaction_on_every_strategy(start_mock: Callable[..., MockProcess], tmp_path: Path) -> None:
    """Two compactions: one mid tool loop (its request carries no outputs: the summary holds them), one
    with the user's next prompt. Every strategy replays the session to its end (the mock counts its
    turns from the compaction's marker, so it follows the script) and each compacted turn sends less than
    the turn before it. About 8 s."""
    turns: list[dict[str, object]] = [
        {"calls": [CALL]}, {"calls": [CALL]}, {"calls": [CALL], "compacted": True}, {"calls": []},
        {"calls": [CALL], "user_message": {"text": "next"}, "pause_s": 60.0, "compacted": True},
        {"calls": [CALL]}, {"calls": []},
    ]  # fmt: skip
    task = session_file(tmp_path / "compacted-session.yaml", turns)
    mock = start_mock("--latency", "zero", "--task", str(task))
    proc, summary = run_locust(mock.url, tmp_path, "--headless", "-u", str(len(NAMES)), "-r", str(len(NAMES)),
                               "--run-time", "4s", "--strategy", ",".join(NAMES), "--task", str(task),
                               "--time-scale", "0.001", "--tool-latency-scale", "0")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert all(r["turn_failures"] == 0 for r in summary["rows"]), summary
    records = read_records(tmp_path / "records.jsonl")
    done = {r["strategy"]: r for r in records if r["kind"] == "task" and r["ok"]}
    assert set(done) == set(NAMES), sorted(done)
    for name, r in done.items():
        assert r["turns"] == len(turns) and r["compactions"] == 2 and r["pauses"] == 1, r
        sent = {t["turn"]: t["payload_bytes_sent"] for t in records
                if t["kind"] == "turn" and t["strategy"] == name and t["task_seq"] == r["task_seq"] and t["ok"]}  # fmt: skip
        if name in ("http-stateless", "chat"):  # (the others send what is new: a summary against an output)
            assert sent[2] < sent[1] and sent[4] < sent[3], (name, sent)


def test_a_thousand_turn_session_replays_on_ws(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    """1,000 turns on one WebSocket (a call of a 2 KB result each, compacted every 250 turns, as an agent
    near its context limit does): the session runs to its end (about 1 s a session here) and what each
    turn sends stays within the compaction's bound (the mock's memory on such sessions: docs/running.md).
    About 10 s."""
    small = {**CALL, "result": {"kind": "python", "bytes": 2000}}
    turns: list[dict[str, object]] = [
        {"calls": [small], **({"compacted": True} if i and i % 250 == 0 else {})} for i in range(999)
    ]
    task = session_file(tmp_path / "thousand-turns.yaml", [*turns, {"calls": []}])
    mock = start_mock("--latency", "zero", "--task", str(task))
    proc, _ = run_locust(mock.url, tmp_path, "--headless", "-u", "1", "-r", "1", "--run-time", "6s",
                         "--strategy", "ws", "--task", str(task), "--tool-latency-scale", "0")  # fmt: skip
    records = read_records(tmp_path / "records.jsonl")
    done = [r for r in records if r["kind"] == "task" and r["ok"]]
    assert done, proc.stderr[-2000:]
    r = done[0]
    assert r["turns"] == 1000 and r["compactions"] == 3 and r["tool_calls"] == 999, r
    sent = [
        t["payload_bytes_sent"] for t in records if t["kind"] == "turn" and t["task_seq"] == r["task_seq"]
    ]
    assert len(sent) == 1000 and max(sent) < 20_000, max(sent)  # (an output a turn; a summary when compacted)
