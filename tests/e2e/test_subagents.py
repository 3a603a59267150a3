"""Subagents end to end: the real locust command, one agent of every strategy in the registry, the mock,
and tasks/example-subagents.yaml (its second turn forks three subagents). On every strategy: each fork's
context continues from its parent's response (the mock logs the fork and names that response: by
previous_response_id where the strategy continues, by the calls it answers where it resends the
context), the three run at once (the parent's wall time is below the sum of theirs), and the parent's
next turn carries their final messages (the mock checks each spawning call's output against its
subagents' scripted answers). ws-mux holds the agent and its subagents on one connection, a lane each,
and the mock counts the lanes. An engineer with 8 agents (--agents-per-user 8) against a mock that
allows 4 connections per key: ws meets connection 429s, ws-mux holds one connection with a lane per
agent and meets none. About 20 s on a loaded machine."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from agentload.core.strategies import BY_NAME, NAMES
from agentload.mock import MockProcess
from tests.paths import ROOT
from tests.runlocust import MockedRun, read_records, run_locust

TASK = str(ROOT / "tasks" / "example-subagents.yaml")
FORKS = 3


@pytest.fixture(scope="module")
def subagents_run(tmp_path_factory: pytest.TempPathFactory) -> MockedRun:
    """One agent of each strategy for 5 s on a zero-latency mock (a session takes about 1 s: its tool
    latencies)."""
    tmp: Path = tmp_path_factory.mktemp("subagents")
    n = str(len(NAMES))
    with MockProcess(["--latency", "zero", "--task", TASK]) as mock:
        proc, summary = run_locust(
            mock.url, tmp, "-u", n, "-r", n, "--run-time", "5s", "--task", TASK,
        )  # fmt: skip
        stats = mock.stats()
    return proc, summary, read_records(tmp / "records.jsonl"), stats


def _sessions(records: list[dict[str, Any]]) -> dict[str, list[tuple[dict[str, Any], list[dict[str, Any]]]]]:
    """Each strategy's finished sessions: a root task and its subagents' tasks."""
    tasks = [r for r in records if r["kind"] == "task"]
    children: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for t in tasks:
        if t["parent_seq"] is not None:
            children[(t["agent"], t["parent_seq"])].append(t)
    out: dict[str, list[tuple[dict[str, Any], list[dict[str, Any]]]]] = defaultdict(list)
    for t in tasks:
        if t["parent_seq"] is None and t["ok"]:
            out[t["strategy"]].append((t, children[(t["agent"], t["task_seq"])]))
    return out


def test_forks_run_on_every_strategy_concurrently(subagents_run: MockedRun) -> None:
    proc, summary, records, _ = subagents_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    sessions = _sessions(records)
    assert set(sessions) == set(NAMES), sorted(sessions)
    for strategy, done in sessions.items():
        for root, kids in done:
            assert root["subagents"] == FORKS and len(kids) == FORKS, (strategy, root, kids)
            assert all(k["ok"] and k["spawn"] == "fork" and k["depth"] == 1 for k in kids), kids
            assert all(k["turns"] == 3 and k["tool_calls"] == 2 for k in kids), kids  # their own script
            assert {k["task"] for k in kids} == {f"example-subagents.t1c{i}s0" for i in range(FORKS)}
            # in parallel: the session took less than its subagents one after another
            assert root["subagent_ms"] == pytest.approx(sum(k["duration_ms"] for k in kids))
            assert root["duration_ms"] < root["subagent_ms"], (strategy, root)
    # the summary's session rows (its table and --summary-json) hold the same sessions, from the same records
    rows = {r["label"]: r for r in summary["sessions"]}
    assert "per session (a root task and its subagents" in proc.stdout, proc.stdout[-3000:]
    for strategy, done in sessions.items():
        row, n = rows[strategy], len(done)
        assert row["sessions"] == n and row["subagents_per_session"] == FORKS, row
        sent = sum(t["bytes_sent"] + sum(k["bytes_sent"] for k in ks) for t, ks in done) / n
        assert row["sent_per_session"] == pytest.approx(sent), (strategy, row)
        assert row["mean_s"] == pytest.approx(sum(t["duration_ms"] for t, _ in done) / n / 1000)
        assert row["mean_s"] < row["subagent_s_per_session"], row  # the forks ran at once
    # a fork on ws opens a connection of its own, each session; on ws-mux it takes a lane of the agent's one
    assert rows["ws"]["connects_per_session"] >= FORKS and rows["ws-mux"]["connects_per_session"] <= 1, rows
    assert rows["http-stateless"]["connects_per_session"] == 0, rows


def test_the_mock_sees_each_fork_continue_from_its_parent(subagents_run: MockedRun) -> None:
    _, _, records, stats = subagents_run
    forks = stats["model"]["subagents"]
    by_parent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in forks["recent"]:
        by_parent[f["parent_response"]].append(f)
    spawning = {  # the parents' spawning turns: (strategy, response id)
        (r["strategy"], r["response_id"])
        for r in records
        if r["kind"] == "turn" and r["turn"] == 1 and r["ok"] and "." not in r["task"]
    }
    sessions = _sessions(records)
    for strategy, rid in spawning:
        if not sessions[strategy]:
            continue
        got = by_parent.get(rid, [])
        if len(got) < FORKS:  # (a spawning turn the run's end cut off)
            continue
        assert len(got) == FORKS and len({f["child"] for f in got}) == FORKS, got
        st = BY_NAME[strategy]
        # a fork continues by previous_response_id where its strategy can from where it runs: chained
        # and stored over HTTP and WebSocket, another lane of the same connection; else it resends
        continues = st.chained and (st.store or st.mux)
        assert {f["via"] for f in got} == {"previous_response_id" if continues else "resent"}, (strategy, got)
        if st.mux:
            assert len({f["stream_id"] for f in got}) == FORKS and None not in {f["stream_id"] for f in got}
    finished = sum(len(v) for v in sessions.values())
    # the parents' next turns carried the subagents' final messages, call by call
    assert forks["counts"].get("fan_in_matched", 0) >= FORKS * finished, forks["counts"]
    assert forks["counts"].get("fan_in_mismatched", 0) == 0, forks["counts"]


def test_ws_mux_holds_its_subagents_on_lanes(subagents_run: MockedRun) -> None:
    _, _, records, stats = subagents_run
    ws = stats["websocket"]
    # only ws-mux names lanes: one connection with lanes per ws-mux agent, the agent's and its three forks'
    assert ws["lane_connections"] == 1 and ws["peak_lanes"] >= 1 + FORKS, ws
    turns = [r for r in records if r["kind"] == "turn" and r["strategy"] == "ws-mux" and r["ok"]]
    assert turns and sum(1 for r in turns if r["connect_bytes_sent"] > 0) == 1, "one handshake for all"


@pytest.mark.parametrize("strategy", ["ws", "ws-mux"])
def test_an_engineers_agents_share_one_websocket_on_ws_mux(strategy: str, tmp_path: Path) -> None:
    """One engineer with 8 agents, 3 s, the mock allowing 4 connections per key: on ws each agent opens
    its own (half are refused with 429 while the others hold theirs), on ws-mux the engineer holds one,
    a lane per agent, and meets no 429."""
    with MockProcess(["--latency", "zero", "--max-connections", "4"]) as mock:
        proc, _ = run_locust(
            mock.url, tmp_path, "-u", "1", "-r", "1", "--run-time", "3s", "--strategy", strategy,
            "--agents-per-user", "8", "--tool-latency-scale", "0.1", "--task", "fix-failing-test",
        )  # fmt: skip
        stats = mock.stats()
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = read_records(tmp_path / "records.jsonl")
    tasks = [r for r in records if r["kind"] == "task"]
    assert len({r["agent"] for r in tasks}) == 8, tasks
    upgrades = sum(1 for e in stats["exchanges"] if e["kind"] == "ws-handshake")
    refused = stats["rate_limits"]["rejected"]["connections"]
    lanes = stats["websocket"]
    if strategy == "ws-mux":
        assert (upgrades, refused) == (1, 0) and lanes["lane_connections"] == 1, (upgrades, refused, lanes)
        assert lanes["peak_lanes"] == 8, lanes
        assert not any(r["kind"] == "turn" and r["http_status"] == 429 for r in records)
    else:
        assert upgrades >= 4 and refused > 0 and lanes["lanes"] == 0, (upgrades, refused, lanes)
        assert any(r["kind"] == "turn" and r["http_status"] == 429 for r in records)


def test_each_engineer_sends_its_own_key_and_meets_its_own_limit(tmp_path: Path) -> None:
    """Two engineers of 4 ws agents each, a key each from --api-keys, the mock allowing 4 connections
    per key: no connection 429 (one key for all 8 meets them: the test above); the keys appear in no
    record and no output."""
    keys = ["sk-engineer-one-" + "a" * 24, "sk-engineer-two-" + "b" * 24]
    (tmp_path / "keys.txt").write_text("# one a line\n" + "\n".join(keys) + "\n")
    with MockProcess(["--latency", "zero", "--max-connections", "4"]) as mock:
        proc, _ = run_locust(
            mock.url, tmp_path, "-u", "2", "-r", "2", "--run-time", "3s", "--strategy", "ws",
            "--agents-per-user", "4", "--api-keys", str(tmp_path / "keys.txt"), "--tool-latency-scale", "0.1",
            "--task", "fix-failing-test",
        )  # fmt: skip
        stats = mock.stats()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert stats["rate_limits"]["rejected"]["connections"] == 0, stats["rate_limits"]
    assert sum(1 for e in stats["exchanges"] if e["kind"] == "ws-handshake") == 8
    written = (tmp_path / "records.jsonl").read_text() + proc.stdout + proc.stderr
    assert not any(k in written or k[-12:] in written for k in keys)
