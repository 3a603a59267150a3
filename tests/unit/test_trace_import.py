"""Public agent traces into task files: the turn fields imported sessions use (schema), and the TraceLab
and Weka readers' round -> turn mapping on hand-made rows (sizes, pauses, compaction, tool latency,
subagents)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentload.core.errors import TaskFileError
from agentload.recording.importer import import_logs, read_log, task_name
from agentload.recording.logs import LogError
from agentload.recording.taskdoc import task_document
from agentload.workload import load_task, parse_task
from agentload.workload.task import Task

TOOLS = [{"name": "read_file"}]


def doc(turns: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "t",
        "instructions": "",
        "tools": TOOLS,
        "prompt": "p",
        "turns": turns,
        "final_message": "done",
        **extra,
    }


CALL = {"tool": "read_file", "args": {"path": "a.py"}, "result": {"bytes": 10}}


def test_an_imported_session_s_turn_fields_load() -> None:
    t = parse_task(
        doc(
            [
                {"calls": [CALL]},
                {"calls": [], "message": {"bytes": 40}},  # an answer the user replied to
                {
                    "calls": [CALL, CALL],
                    "user_message": {"bytes": 27},
                    "pause_s": 19.9,
                    "compacted": True,
                    "subagents": 1,
                },
            ]  # fmt: skip
        ),
        "f.yaml",
    )
    assert [len(x.calls) for x in t.turns] == [1, 0, 2] and t.tool_calls == 3
    last = t.turns[2]
    assert len(last.user_message or "") == 27 and last.pause_s == pytest.approx(19.9)
    assert last.compacted and last.subagents == 1
    assert t.turns[0].user_message is None and t.turns[0].pause_s is None and not t.turns[0].compacted


@pytest.mark.parametrize(
    ("turns", "where", "problem"),
    [
        ([{"calls": [CALL]}, {"calls": [CALL], "pause_s": 3}], "turns[1].pause_s", "no user_message"),
        ([{"calls": [CALL]}, {"calls": [CALL], "user_message": {"bytes": 3}, "pause_s": -1}], "turns[1].pause_s", "out of range"),
        ([{"calls": [CALL]}, {"calls": [CALL], "user_message": {"bytes": -3}}], "turns[1].user_message.bytes", "out of range"),
        ([{"calls": [CALL], "user_message": {"bytes": 3}}], "turns[0].user_message", "on the first turn"),
        ([{"calls": [CALL], "subagents": -1}], "turns[0].subagents", "out of range"),
        ([{"calls": [CALL], "compacted": "yes"}], "turns[0].compacted", "must be bool"),
        ([{"calls": [CALL], "paused": 3}], "turns[0].paused", "unknown field"),
    ],
)  # fmt: skip
def test_a_bad_imported_turn_field_names_itself(
    turns: list[dict[str, Any]], where: str, problem: str
) -> None:
    with pytest.raises(TaskFileError) as e:
        parse_task(doc(turns), "f.yaml")
    assert e.value.path == where and problem in e.value.problem, str(e.value)


def test_an_imported_session_may_end_on_a_turn_without_calls() -> None:
    """(Its last answer is a turn: every round is.)"""
    t = parse_task(
        doc([{"calls": [CALL]}, {"calls": [], "user_message": {"bytes": 5}, "message": {"bytes": 9}}]), "f"
    )
    assert [len(x.calls) for x in t.turns] == [1, 0] and len(t.turns[1].message or "") == 9


def test_max_turns_past_200_only_for_a_file_that_scripts_that_many() -> None:
    many = parse_task(doc([{"calls": [CALL]}] * 450, max_turns=451), "f.yaml")
    assert len(many.turns) == 450 and many.max_turns == 451
    with pytest.raises(TaskFileError, match="use 1 to 200"):
        parse_task(doc([{"calls": [CALL]}] * 3, max_turns=451), "f.yaml")


# ---- TraceLab: normalized round rows (TraceLab's README, Data format)

T0 = 1_780_000_000.0


def at(s: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(T0 + s, UTC).isoformat().replace("+00:00", "Z")


def row(sid: str, i: int, total: int, prefix: int, out: int, events: list[tuple[str, float, int]],
        tools: list[dict[str, Any]], provider: str = "codex", reasoning: int | None = 20) -> dict[str, Any]:  # fmt: skip
    return {
        "provider": provider,
        "session_id": sid,
        "round_index": i,
        "model": "gpt-5.4",
        "input_tokens_total": total,
        "prefix_tokens": prefix,
        "newly_append_tokens": total - prefix,
        "output_tokens": out,
        "reasoning_output_tokens": reasoning if provider == "codex" else None,
        "timing_events": [
            {
                "event_type": k,
                "timestamp": at(t),
                **({"content_chars": c} if k in ("user_message", "text") else {}),
            }
            for k, t, c in events
        ],
        "tools": tools,
    }


def tool(
    name: str, args: int, result: int | None, wall: float | None, internal: float | None = None
) -> dict[str, Any]:
    return {"tool_name": name, "input_chars": args, "result_chars": result, "tool_wall_latency_ms": wall,
            "tool_internal_latency_ms": internal}  # fmt: skip


def session_rows(sid: str = "codex:0a1b2c3d-1111") -> list[dict[str, Any]]:
    return [
        # the prompt (50 chars); the model writes 30 characters and one call
        row(sid, 0, 9000, 0, 300, [("user_message", 0, 50), ("text", 4, 30), ("tool_call", 5, 0)],
            [tool("exec_command", 140, 2000, 1500.0)]),
        # the result; the model answers (no calls)
        row(sid, 1, 11_000, 8960, 90, [("tool_result", 7, 0), ("text", 10, 400)], []),
        # the user writes again 90 s after that answer; the context was compacted (11,000 -> 6,000)
        row(sid, 2, 6000, 0, 200, [("user_message", 100, 27), ("tool_call", 103, 0), ("tool_call", 103, 0)],
            [tool("spawn_agent", 300, 50, 900.0, 120.0), tool("exec_command", 11, 700, 40.0)]),
        # the final answer
        row(sid, 3, 6400, 5900, 50, [("tool_result", 104, 0), ("text", 106, 120)], [], reasoning=None),
    ]  # fmt: skip


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def imported(path: Path, tmp_path: Path) -> list[Task]:
    return [load_task(str(p)) for p in import_logs([path], tmp_path / "out")]


def test_tracelab_rounds_become_turns_with_their_sizes_pauses_compaction_and_latency(tmp_path: Path) -> None:
    log = write_rows(tmp_path / "rounds.jsonl", session_rows())
    [t] = imported(log, tmp_path)
    assert t.name == "rounds-codex-0a1b2c3d"
    assert len(t.prompt) == 50 and t.final_message == "" and t.instructions == ""
    assert [[c.tool for c in x.calls] for x in t.turns] == [
        ["exec_command"],
        [],
        ["spawn_agent", "exec_command"],
        [],  # the last answer: every round is a turn
    ]
    first, answer, third, last = t.turns
    assert len(last.message or "") == 120 and last.user_message is None
    # sizes: the arguments' compact JSON and the result as traced; the text written beside the calls
    assert len(first.calls[0].arguments) == 140 and first.calls[0].result.bytes == 2000
    assert len(first.message or "") == 30 and len(answer.message or "") == 400
    assert [len(c.arguments) for c in third.calls] == [300, 2]  # (under 12 bytes: `{}`)
    # tool latency: the internal one where the trace has it, else the wall one
    assert first.calls[0].result.latency_s == pytest.approx(1.5)
    assert [c.result.latency_s for c in third.calls] == [pytest.approx(0.12), pytest.approx(0.04)]
    # the user's later message and the pause since the model's last output (the answer's text at 10 s)
    assert answer.user_message is None and len(third.user_message or "") == 27
    assert third.pause_s == pytest.approx(90.0)
    assert third.compacted and not answer.compacted and third.subagents == 1
    assert first.reasoning_tokens == 20
    assert first.recorded == {"input_tokens": 9000, "cached_tokens": 0, "append_tokens": 9000, "output_tokens": 300,
                              "reasoning_tokens": 20, "generation_ms": 5000.0, "tool_wall_latency_ms": [1500.0]}  # fmt: skip
    assert third.recorded and third.recorded["context_growth_tokens"] == -5000
    assert t.recorded["rounds"] == 4 and t.recorded["tool_calls"] == 3 and t.recorded["compactions"] == 1
    assert last.recorded and last.recorded["output_tokens"] == 50 and "final_turn" not in t.recorded
    assert t.client_profile is not None and t.client_profile.name == "codex"


def test_a_small_context_drop_is_not_a_compaction(tmp_path: Path) -> None:
    rows = session_rows()
    rows[2]["input_tokens_total"] = 11_000 - 1023  # under TraceLab's micro-reduction bound
    rows[3]["input_tokens_total"] = 11_000 - 1023 + 400
    [t] = imported(write_rows(tmp_path / "r.jsonl", rows), tmp_path)
    assert not any(x.compacted for x in t.turns)


def test_tracelab_sessions_are_apart_and_their_rounds_in_order(tmp_path: Path) -> None:
    a, b = session_rows("codex:aaaa0001-x"), session_rows("claude:bbbb0002-y")
    for r in b:
        r["provider"] = "claude"
    mixed = [a[2], b[0], a[0], b[1], a[3], a[1], b[2], b[3]]
    tasks = imported(write_rows(tmp_path / "mixed.jsonl", mixed), tmp_path)
    assert [t.name for t in tasks] == ["mixed-codex-aaaa0001", "mixed-claude-bbbb0002"]
    assert [[len(x.calls) for x in t.turns] for t in tasks] == [[1, 0, 2, 0], [1, 0, 2, 0]]
    assert tasks[1].client_profile is None  # Claude Code speaks Anthropic's API


def test_claude_reasons_its_output_less_what_it_wrote(tmp_path: Path) -> None:
    rows = session_rows("claude:cccc0003")
    for r in rows:
        r["provider"], r["reasoning_output_tokens"] = "claude", None
    rows[0]["timing_events"].insert(1, {"event_type": "reasoning", "timestamp": at(2)})
    [t] = imported(write_rows(tmp_path / "c.jsonl", rows), tmp_path)
    # 300 output tokens, less (30 characters of text + 140 of arguments) / 4, rounded up
    assert t.turns[0].reasoning_tokens == 300 - 43 and t.turns[1].reasoning_tokens is None


@pytest.mark.parametrize(
    ("change", "line", "problem"),
    [
        ({"round_index": "x"}, 3, "`round_index` must be a count"),
        ({"input_tokens_total": -1}, 3, "`input_tokens_total` must be a count"),
        ({"tools": [{"input_chars": 3}]}, 3, "`tools[0]` has no `tool_name`"),
        (
            {"tools": [{"tool_name": "a", "tool_wall_latency_ms": "slow"}]},
            3,
            "`tools[0].tool_wall_latency_ms`",
        ),
        ({"timing_events": "soon"}, 3, "`timing_events` must be a list"),
        ({"session_id": 7}, 3, "`session_id` must be a non-empty string"),
    ],
)
def test_a_malformed_tracelab_row_names_its_file_and_line(tmp_path: Path, change: dict[str, Any], line: int,
                                                         problem: str) -> None:  # fmt: skip
    rows = session_rows()
    rows[2].update(change)
    log = write_rows(tmp_path / "bad.jsonl", rows)
    with pytest.raises(LogError) as e:
        read_log(log)
    assert str(e.value).startswith(f"{log}:{line}: {problem}"), str(e.value)


def test_a_gzipped_corpus_reads_as_it_is(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "corpus.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write("".join(json.dumps(r) + "\n" for r in session_rows()))
    [t] = imported(path, tmp_path)
    assert t.name == "corpus-codex-0a1b2c3d" and t.tool_calls == 3


# ---- Weka (kv-cache-tester's docs/trace_replay_tester.md, Trace Format)


def req(t: float, n_in: int, out: int, inputs: list[str], outputs: list[str], stop: str, think: float,
        hashes: int = 0) -> dict[str, Any]:  # fmt: skip
    return {"t": t, "type": "n", "model": "claude-opus-4-5", "in": n_in, "out": out,
            "hash_ids": list(range(1, hashes + 1)), "input_types": inputs, "output_types": outputs,
            "stop": stop, "api_time": 2.0, "think_time": think}  # fmt: skip


def weka_trace() -> dict[str, Any]:
    return {
        "id": "trace_x",
        "models": ["claude-opus-4-5"],
        "block_size": 64,
        "hash_id_scope": "local",
        "tool_tokens": 200,
        "system_tokens": 100,
        "requests": [
            req(0.0, 400, 50, ["text"], ["text", "tool_use"], "tool_use", 0.0, hashes=6),
            {"t": 3.0, "type": "subagent", "agent_id": "agent_001", "subagent_type": "Explore", "status": "completed",
             "tool_tokens": 150, "system_tokens": 50,
             "requests": [req(0.0, 300, 40, ["text"], ["tool_use"], "tool_use", 0.0),
                          req(4.0, 500, 30, ["tool_result"], ["text"], "end_turn", 1.5)]},
            req(9.0, 600, 20, ["tool_result"], ["text"], "end_turn", 2.5, hashes=9),
            # the user writes after 30 s; 2,080 tokens of new input (2,700 - 600 - 20)
            req(41.0, 2700, 60, ["text"], ["thinking", "tool_use"], "tool_use", 30.0),
            # the context compacted: 2,700 -> 300
            req(44.0, 300, 10, ["tool_result"], ["text"], "end_turn", 1.0),
        ],
    }  # fmt: skip


def test_weka_requests_become_turns_and_subagents_tasks_of_their_own(tmp_path: Path) -> None:
    path = tmp_path / "trace_x.json"
    path.write_text(json.dumps(weka_trace()))
    parent, child = imported(path, tmp_path)
    assert parent.name == "trace_x" and child.name == "trace_x-sa-agent_001"
    assert len(parent.instructions) == 400 and len(parent.prompt) == (400 - 100 - 200) * 4
    [declared] = parent.tools
    assert declared["name"] == "tool" and len(json.dumps(declared)) == pytest.approx(800, abs=40)
    assert [len(x.calls) for x in parent.turns] == [1, 0, 1, 0] and parent.final_message == ""
    first, answer, third, last = parent.turns
    assert len(last.message or "") == 10 * 4 and last.compacted and not third.compacted
    # one call a calling turn: its arguments the output, its result what the next input grew by
    assert len(first.calls[0].arguments) == 50 * 4 and first.calls[0].result.bytes == (600 - 400 - 50) * 4
    assert first.calls[0].result.latency_s == pytest.approx(2.5) and first.subagents == 1
    assert len(answer.message or "") == 20 * 4
    assert len(third.user_message or "") == 2080 * 4 and third.pause_s == pytest.approx(30.0)
    assert answer.recorded and answer.recorded["cached_tokens_estimated"] == 6 * 64
    doc_ = yaml.safe_load((tmp_path / "out" / "trace_x.yaml").read_text())
    assert doc_["recorded"]["subagents"] == ["agent_001"] and doc_["final_message"] == ""
    assert [len(x.calls) for x in child.turns] == [1, 0]
    assert child.turns[0].calls[0].result.bytes == (500 - 300 - 40) * 4
    assert child.recorded["parent"] == "trace_x" and child.recorded["subagent_type"] == "Explore"


def test_a_weka_trace_over_several_lines_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "pretty.json"
    path.write_text(json.dumps(weka_trace(), indent=2))
    assert [s.source for s in read_log(path)] == ["weka", "weka"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["requests"][2].update({"in": "many"}), "requests[2].in: must be a token count"),
        (lambda d: d["requests"][1]["requests"][0].update({"out": -1}), "requests[1].requests[0].out"),
        (
            lambda d: d["requests"][0].update({"think_time": "soon"}),
            "requests[0].think_time: must be seconds",
        ),
        (lambda d: d.update({"requests": []}), "requests: no requests in it"),
    ],
)
def test_a_malformed_weka_trace_names_the_field(tmp_path: Path, change: Any, problem: str) -> None:
    d = weka_trace()
    change(d)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(d))
    with pytest.raises(LogError) as e:
        read_log(path)
    assert str(e.value).startswith(f"{path}: {problem}"), str(e.value)


def test_a_log_of_no_known_format_says_which_it_reads(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "x.jsonl", [{"hello": "world"}])
    with pytest.raises(LogError, match="nor a TraceLab round trace nor a Weka trace"):
        read_log(path)


def test_task_names_stay_plain_and_short() -> None:
    assert task_name("trace_0291", "sa-agent_001") == "trace_0291-sa-agent_001"
    long = task_name("s" * 48, "claude-0123456789ab-sa-agent-a1b2c3d4e5f6")
    assert len(long) <= 64 and long.endswith("-claude-0123456789ab-sa-agent-a1b2c3d4e5f6")


def test_the_codex_importers_sessions_keep_only_turns_with_calls() -> None:
    """(Logs of agents, not traces: one task a prompt, as before.)"""
    from agentload.recording.session import RecordedCall, RecordedSession, RecordedTurn

    s = RecordedSession(source="codex-rollout", prompt="go")
    s.turns = [RecordedTurn(calls=[RecordedCall("a", "{}", output="x")]), RecordedTurn(message="hm"),
               RecordedTurn(calls=[RecordedCall("a", "{}", output="y")]), RecordedTurn(message="done")]  # fmt: skip
    d = task_document(s, "t")
    assert [len(t["calls"]) for t in d["turns"]] == [1, 1] and len(d["final_message"]) == len("done")
