"""Public agent traces through ``agentload import``: TraceLab's example sessions and Weka traces
(tests/fixtures/tracelab, tests/fixtures/weka) become task files that load, round for round and call for
call, and an imported session replays on the mock to its last answer (the user's later prompts after
their pauses)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentload.mock import MockProcess
from agentload.workload import load_task
from agentload.workload.task import Task
from tests.paths import ROOT
from tests.runlocust import read_records, run_locust

TRACELAB = ROOT / "tests" / "fixtures" / "tracelab"
WEKA = ROOT / "tests" / "fixtures" / "weka"
AGENTLOAD = [sys.executable, "-m", "agentload"]
EXAMPLES = [TRACELAB / "derived" / "round_trace.jsonl", TRACELAB / "sanitized" / "round_trace.jsonl"]


def run_import(out: Path, *logs: Path) -> dict[str, Task]:
    """``agentload import`` in a process; the task files it wrote, loaded, by the trace's session id."""
    proc = subprocess.run(
        [*AGENTLOAD, "import", *map(str, logs), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    written = [Path(line) for line in proc.stdout.splitlines()[:-1]]
    assert proc.stdout.splitlines()[-1] == f"agentload import: {len(written)} task file(s) in {out}"
    tasks = {}
    for path in written:
        t = load_task(str(path))
        tasks[t.recorded.get("session_id") or t.name] = t
    return tasks


def rounds_of(path: Path) -> dict[str, list[dict[str, Any]]]:
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in path.read_text().splitlines():
        row = json.loads(line)
        by[row["session_id"]].append(row)
    return {sid: sorted(rows, key=lambda r: r["round_index"]) for sid, rows in by.items()}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_tracelab_examples_import_round_for_round_and_call_for_call(tmp_path: Path, example: Path) -> None:
    tasks = run_import(tmp_path / "out", example)
    traced = rounds_of(example)
    assert set(tasks) == set(traced) and len(traced) == 2  # a Claude Code and a Codex session
    for sid, rows in traced.items():
        t = tasks[sid]
        assert len(t.turns) == len(rows), sid  # every round a turn, the last answer too
        assert t.tool_calls == sum(len(r["tools"]) for r in rows), sid
        # the calls, their sizes and latencies, round by round
        for turn, r in zip(t.turns, rows, strict=True):
            assert [c.tool for c in turn.calls] == [x["tool_name"] for x in r["tools"]]
            assert [c.result.bytes for c in turn.calls] == [x["result_chars"] for x in r["tools"]]
            want = [x["tool_internal_latency_ms"] if x["tool_internal_latency_ms"] is not None
                    else x["tool_wall_latency_ms"] for x in r["tools"]]  # fmt: skip
            assert [round(c.result.latency_s * 1000, 1) for c in turn.calls] == want
            assert [len(c.arguments) for c in turn.calls] == [max(2, x["input_chars"]) for x in r["tools"]]
            assert turn.recorded and turn.recorded["input_tokens"] == r["input_tokens_total"]
            assert turn.recorded["cached_tokens"] == r["prefix_tokens"]
        # both end with an answer: a turn with no calls (final_message is not used)
        last_text = sum(
            e.get("content_chars", 0) for e in rows[-1]["timing_events"] if e["event_type"] == "text"
        )
        assert not t.turns[-1].calls and len(t.turns[-1].message or "") == last_text and t.final_message == ""
        # every later user message is a turn's, with the human's pause before it
        users = [i for i, r in enumerate(rows) if r["current_user_message_count"] and i]
        assert users and [i for i, x in enumerate(t.turns) if x.user_message is not None] == users
        assert all((t.turns[i].pause_s or 0) > 1 for i in users), [t.turns[i].pause_s for i in users]
        assert [len(t.turns[i].user_message or "") for i in users] == [
            rows[i]["current_user_message_chars"] for i in users
        ]
        assert len(t.prompt) == rows[0]["current_user_message_chars"]
        assert t.recorded["rounds"] == len(rows) and "synthetic" in t.recorded["content"]


def test_the_derived_and_sanitized_examples_import_alike(tmp_path: Path) -> None:
    """The sanitizer keeps sizes and times: the two files make the same tasks but for their ids."""
    derived, sanitized = (run_import(tmp_path / p.parent.name, p) for p in EXAMPLES)
    key = lambda t: (t.recorded["client"], t.tool_calls)  # noqa: E731
    for a, b in zip(sorted(derived.values(), key=key), sorted(sanitized.values(), key=key), strict=True):
        assert [(len(x.calls), x.pause_s, x.compacted, x.reasoning_tokens) for x in a.turns] == [
            (len(x.calls), x.pause_s, x.compacted, x.reasoning_tokens) for x in b.turns
        ]


def test_weka_traces_import_with_their_subagents(tmp_path: Path) -> None:
    out = tmp_path / "out"
    tasks = run_import(out, WEKA / "trace_0026.json", WEKA / "subagents.json")
    assert sorted(tasks) == ["subagents", "subagents-sa-agent_001", "subagents-sa-agent_002", "trace_0026"]
    sample = json.loads((WEKA / "trace_0026.json").read_text())["requests"]
    t = tasks["trace_0026"]
    # an answer, the user's follow-up 48 s later with a call, the final answer
    assert len(t.turns) == len(sample) == 3 and [len(x.calls) for x in t.turns] == [0, 1, 0]
    # (its input grew by less than the answer's output: the follow-up's own size is unknown, 0)
    assert t.turns[1].pause_s == pytest.approx(48.0) and t.turns[1].user_message == ""
    parent = tasks["subagents"]
    assert len(parent.turns) == 5 and parent.turns[0].subagents == 2
    assert [x.compacted for x in parent.turns] == [False, False, False, False, True]  # 23,612 -> 9,120
    doc = yaml.safe_load((out / "subagents.yaml").read_text())
    assert doc["recorded"]["subagents"] == ["agent_001", "agent_002"]
    assert [len(tasks[f"subagents-sa-agent_00{i}"].turns) for i in (1, 2)] == [3, 2]
    assert parent.turns[2].pause_s == pytest.approx(186.7)
    # the trace's tool definitions and system prompt, by size (11,899 and 2,765 tokens)
    assert len(json.dumps(parent.tools[0])) == pytest.approx(11_899 * 4, rel=0.01)
    assert len(parent.instructions) == 2765 * 4


@pytest.mark.parametrize(
    ("trace", "which"),
    [
        (TRACELAB / "sanitized" / "round_trace.jsonl", "claude-code"),  # no client profile: minimal
        (TRACELAB / "sanitized" / "round_trace.jsonl", "codex"),  # Codex's profile, no context to warm up
        (WEKA / "subagents.json", "subagents"),  # a 47 KB tool definition, an 11 KB system prompt
    ],
    ids=["tracelab-claude", "tracelab-codex", "weka"],
)
def test_an_imported_session_replays_on_the_mock_to_its_last_answer(
    start_mock: Callable[..., MockProcess], tmp_path: Path, trace: Path, which: str
) -> None:
    """Every prompt of the session, the user's later ones after their pauses (at --time-scale 0.0001: a
    20-minute pause is 0.12 s), to the last answer that no message of the user's follows."""
    tasks = run_import(tmp_path / "out", trace)
    t = next(x for key, x in tasks.items() if which in (key, x.recorded["client"]))
    last = next(
        i for i, x in enumerate(t.turns)
        if not x.calls and (i + 1 == len(t.turns) or t.turns[i + 1].user_message is None)
    )  # fmt: skip
    pauses = sum(1 for x in t.turns[1 : last + 1] if x.user_message is not None and (x.pause_s or 0) > 0)
    mock = start_mock("--latency", "zero", "--task", t.source)
    proc, summary = run_locust(mock.url, tmp_path, "--headless", "-u", "2", "-r", "2", "--run-time", "4s",
                               "--strategy", "http-stateless,ws", "--task", t.source, "--tool-latency-scale", "0",
                               "--time-scale", "0.0001")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert all(r["tasks"] >= 1 and r["turn_failures"] == 0 for r in summary["rows"]), summary
    done = [r for r in read_records(tmp_path / "records.jsonl") if r["kind"] == "task" and r["ok"]]
    assert done and {r["turns"] for r in done} == {last + 1}
    assert {r["tool_calls"] for r in done} == {sum(len(x.calls) for x in t.turns[: last + 1])}
    assert {r["pauses"] for r in done} == {pauses}


CLAUDE = ROOT / "tests" / "fixtures" / "claude-code"


def test_a_claude_code_transcript_with_side_chains_replays_with_its_subagents(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    """The synthetic 1.x transcript (tests/fixtures/claude-code): its two inline side chains import as the
    fresh subagents of the turn's two Task calls, and the task replays on the mock with them, on a
    strategy that gives each child its own connection and on ws-mux (a lane each); the parent's next
    turn carries each child's final answer as its Task call's output. About 7 s."""
    tasks = run_import(tmp_path / "out", CLAUDE / "inline-sidechains.jsonl")
    [t] = tasks.values()
    assert [len(c.subagents) for c in t.turns[1].calls] == [1, 1]
    mock = start_mock("--latency", "zero", "--task", t.source)
    proc, summary = run_locust(mock.url, tmp_path, "--headless", "-u", "2", "-r", "2", "--run-time", "4s",
                               "--strategy", "http-stateless,ws-mux", "--task", t.source, "--tool-latency-scale", "0")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert all(r["turn_failures"] == 0 for r in summary["rows"]), summary
    counts = mock.stats()["model"]["subagents"]["counts"]
    records = [r for r in read_records(tmp_path / "records.jsonl") if r["kind"] == "task" and r["ok"]]
    roots = [r for r in records if r["parent_seq"] is None]
    assert {r["strategy"] for r in roots} == {"http-stateless", "ws-mux"}, records
    for root in roots:
        kids = [k for k in records if k["agent"] == root["agent"] and k["parent_seq"] == root["task_seq"]]
        assert root["subagents"] == 2 and root["turns"] == 5 and len(kids) == 2, (root, kids)
        assert {k["task"] for k in kids} == {f"{t.name}.t1c0s0", f"{t.name}.t1c1s0"}
        assert all(k["spawn"] == "fresh" and k["depth"] == 1 and k["turns"] == 4 and k["tool_calls"] == 3
                   for k in kids), kids  # fmt: skip
    # the parents' next turns carried each child's final answer as its Task call's output
    assert counts.get("fan_in_matched", 0) >= 2 * len(roots) and not counts.get("fan_in_mismatched"), counts
