"""Subagents without a socket: the task file's subagents (fresh and fork, inline and by name, their
names and nesting), the agent's fan-out and fan-in on every strategy against the mock's engine in
process (sweep.timemodel.SimTransport: the real request bodies, the mock's scripted model), the mock's
fork log and fan-in check, and a ws-mux lane read from a message without decoding it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentload.client import Agent, AgentSettings, Transport
from agentload.client.wire.lanes import stream_of
from agentload.core.forkmark import SPAWNED, ForkMark, last_fork
from agentload.core.records import TaskRecord
from agentload.core.strategies import BY_NAME, NAMES
from agentload.mock.config import MockConfig
from agentload.mock.engine import Engine
from agentload.mock.forks import Forks
from agentload.sweep.timemodel import SimTransport
from agentload.workload import load_task, parse_task
from agentload.workload.task import SubagentKind
from tests.paths import ROOT

EXAMPLE = str(ROOT / "tasks" / "example-subagents.yaml")


def test_the_example_forks_three_named_after_their_place() -> None:
    task = load_task(EXAMPLE)
    spawning = task.turns[1].calls
    assert [len(c.subagents) for c in spawning] == [1, 1, 1] and task.nesting == 1
    assert all(c.subagents[0].kind == SubagentKind.FORK for c in spawning)
    assert [t.name for t in task.descendants()] == [f"example-subagents.t1c{i}s0" for i in range(3)]
    child = task.subtask("example-subagents.t1c1s0")
    assert child is not None and child.tools == task.tools and child.instructions == task.instructions
    assert task.subagents_for(1, 2, "spawn_agent") == spawning[2].subagents
    assert task.subagents_for(1, 2, "read_file") == ()  # a real model's own call spawns nothing


def test_a_subagent_by_name_is_that_task_renamed_and_its_own_nest_counts(tmp_path: Path) -> None:
    inner = {
        "name": "inner", "instructions": "i", "prompt": "p", "final_message": "f",
        "tools": [{"name": "go"}],
        "turns": [{"calls": [{"tool": "go", "subagents": [{"prompt": "q", "turns": [], "final_message": "g"}]}]}],
    }  # fmt: skip
    (tmp_path / "inner.json").write_text(json.dumps(inner))
    outer = {**inner, "name": "outer"}
    outer["turns"] = [
        {"calls": [{"tool": "go", "subagents": [{"task": "inner.json"}, {"task": "fix-failing-test"}]}]}
    ]
    (tmp_path / "outer.json").write_text(json.dumps(outer))
    task = load_task(str(tmp_path / "outer.json"))
    names = [t.name for t in task.descendants()]
    assert names == ["outer.t0c0s0", "outer.t0c0s0.t0c0s0", "outer.t0c0s1"] and task.nesting == 2
    by_name = task.subtask("outer.t0c0s1")
    assert by_name is not None and by_name.prompt == load_task("fix-failing-test").prompt
    assert task.turns[0].calls[0].subagents[0].kind == SubagentKind.FRESH  # (the default)


def test_without_a_resolver_a_named_subagent_is_refused_at_its_field() -> None:
    doc = {
        "name": "x", "instructions": "i", "prompt": "p", "final_message": "f", "tools": [{"name": "go"}],
        "turns": [{"calls": [{"tool": "go", "subagents": [{"task": "fix-failing-test"}]}]}],
    }  # fmt: skip
    with pytest.raises(Exception, match=r"turns\[0\]\.calls\[0\]\.subagents\[0\]\.task"):
        parse_task(doc, "x.yaml")


def _play(strategy: str) -> tuple[TaskRecord, list[TaskRecord], Engine]:
    """The example on ``strategy``, every agent's transport a SimTransport on one engine."""
    engine = Engine(MockConfig(task_files=(Path(EXAMPLE),)))
    engine.count_work = True  # (what SimTransport reads of each request, as the time model has it)
    records: list[TaskRecord] = []

    def spawn(_parent: Transport) -> Transport:
        return SimTransport(strategy, engine)

    settings = AgentSettings(BY_NAME[strategy], "gpt-5.4", tool_latency_scale=0.0)
    agent = Agent(settings, SimTransport(strategy, engine), 1, lambda r, o: None, records.append, spawn=spawn)
    root = agent.run_task(load_task(EXAMPLE))
    return root, [r for r in records if r is not root], engine


@pytest.mark.parametrize("strategy", NAMES)
def test_forks_play_their_own_script_and_come_back_to_the_parent(strategy: str) -> None:
    root, children, engine = _play(strategy)
    assert root.ok and root.turns == 4 and root.subagents == 3, root
    assert root.subagent_ms == pytest.approx(sum(c.duration_ms for c in children))
    assert {c.task for c in children} == {f"example-subagents.t1c{i}s0" for i in range(3)}
    assert all(
        c.ok and c.turns == 3 and c.tool_calls == 2 and c.spawn == "fork" and c.parent_seq == root.task_seq
        for c in children
    ), children
    assert len({c.task_seq for c in [root, *children]}) == 4  # one agent's sequence
    forks = engine.forks.snapshot()
    st = BY_NAME[strategy]
    # (in process every subagent's transport is a connection of its own: ws-mux's lanes are e2e's)
    continues = st.chained and st.store
    assert forks["counts"] == {
        "previous_response_id" if continues else "resent": 3,
        "fan_in_matched": 3,
    }, forks
    assert len({f["parent_response"] for f in forks["recent"]}) == 1 and None not in {
        f["parent_response"] for f in forks["recent"]
    }


def test_a_fork_answers_the_spawning_calls_with_a_placeholder_then_its_marked_prompt() -> None:
    items: list[dict[str, Any]] = [
        {"type": "function_call_output", "call_id": "call_a", "output": SPAWNED},
        {"role": "user", "content": ForkMark("t.t1c0s0", "abc").on("check it")},
    ]
    found = last_fork(items)
    assert found is not None and found[1] == 1 and found[0] == ForkMark("t.t1c0s0", "abc")
    forks = Forks()
    resolved = forks.resolve(items, "resp_parent", "lane1")
    again = forks.resolve(items, "resp_parent", "lane1")
    assert resolved == again and resolved is not None and resolved.task == "t.t1c0s0"
    snap = forks.snapshot()
    assert snap["forks"] == 1 and snap["recent"][0]["parent_response"] == "resp_parent"
    assert snap["recent"][0]["via"] == "previous_response_id" and snap["recent"][0]["stream_id"] == "lane1"


def test_fan_in_counts_what_the_parent_answers_a_spawning_call_with() -> None:
    from agentload.mock.model import PlannedCall

    forks = Forks()
    forks.planned(
        "resp_1",
        [PlannedCall("call_a", "spawn", "{}", fan_in="A"), PlannedCall("call_b", "spawn", "{}", fan_in="B")],
    )
    forks.joined(
        [{"type": "function_call_output", "call_id": "call_a", "output": SPAWNED}]
    )  # a fork's: neither
    forks.joined([{"type": "function_call_output", "call_id": "call_a", "output": "A"}])
    forks.joined([{"role": "tool", "tool_call_id": "call_b", "content": "not B"}])
    assert forks.counts == {"fan_in_matched": 1, "fan_in_mismatched": 1}


def test_a_lane_is_read_from_the_end_of_a_message() -> None:
    assert (
        stream_of(
            b'{"type":"response.output_text.delta","delta":"x","sequence_number":3,"stream_id":"lane2"}'
        )
        == "lane2"
    )
    assert stream_of(b'{"type":"error","error":{"code":"websocket_connection_limit_reached"}}') is None


@pytest.mark.parametrize("strategy", ["http-stateless", "ws-stored", "chat"])
def test_fresh_subagents_nested_and_by_name_run_their_own_conversations(
    strategy: str, tmp_path: Path
) -> None:
    """A fresh inline subagent with instructions of its own, which forks one of its own, beside a
    built-in task by name: each plays its own script, the nested fork too, and all come back."""
    doc = {
        "name": "crew", "instructions": "lead", "prompt": "go", "final_message": "all done",
        "tools": [{"name": "spawn_agent"}, {"name": "read_file"}],
        "turns": [{"calls": [{"tool": "spawn_agent", "subagents": [
            {"kind": "fresh", "instructions": "review only", "prompt": "review", "final_message": "reviewed",
             "turns": [{"calls": [{"tool": "spawn_agent", "subagents": [
                 {"kind": "fork", "prompt": "dig", "final_message": "dug",
                  "turns": [{"calls": [{"tool": "read_file", "result": {"bytes": 300}}]}]}]}]}]},
            {"task": "fix-failing-test"},
        ]}]}],
    }  # fmt: skip
    path = tmp_path / "crew.json"
    path.write_text(json.dumps(doc))
    engine = Engine(MockConfig(task_files=(path,)))
    engine.count_work = True
    records: list[TaskRecord] = []
    settings = AgentSettings(BY_NAME[strategy], "gpt-5.4", tool_latency_scale=0.0)
    agent = Agent(
        settings, SimTransport(strategy, engine), 1, lambda r, o: None, records.append,
        spawn=lambda _parent: SimTransport(strategy, engine),
    )  # fmt: skip
    root = agent.run_task(load_task(str(path)))
    by = {r.task: r for r in records}
    assert root.ok and root.subagents == 2 and root.turns == 2, root
    review, named, dig = by["crew.t0c0s0"], by["crew.t0c0s1"], by["crew.t0c0s0.t0c0s0"]
    assert review.spawn == "fresh" and review.subagents == 1 and review.turns == 2 and review.depth == 1
    assert dig.spawn == "fork" and dig.depth == 2 and dig.root_seq == root.task_seq and dig.turns == 2
    assert named.spawn == "fresh" and named.turns == len(load_task("fix-failing-test").turns) + 1
    assert all(r.ok for r in records)
    # the root's and the review's spawning calls came back with their subagents' answers
    assert engine.forks.counts["fan_in_matched"] == 2 and engine.forks.counts["fan_in_mismatched"] == 0


@pytest.mark.parametrize(("name", "kind"), [("fan-out-forks", "fork"), ("fan-out-fresh", "fresh")])
def test_the_built_in_fan_outs_are_found_by_name_and_play_through(name: str, kind: str) -> None:
    from agentload.workload import builtin_task_names

    assert name not in builtin_task_names()  # (not part of "all")
    task = load_task(name)
    assert [s.kind for c in task.turns[1].calls for s in c.subagents] == [kind] * 3
    engine = Engine(MockConfig())
    engine.count_work = True
    records: list[TaskRecord] = []
    settings = AgentSettings(BY_NAME["ws-stored"], "gpt-5.4", tool_latency_scale=0.0)
    agent = Agent(
        settings, SimTransport("ws-stored", engine), 1, lambda r, o: None, records.append,
        spawn=lambda _parent: SimTransport("ws-stored", engine),
    )  # fmt: skip
    root = agent.run_task(task)
    assert root.ok and root.turns == 6 and all(r.ok and r.turns == 5 for r in records if r is not root)
    assert engine.forks.counts["fan_in_matched"] == 3


def test_lanes_share_names_and_fail_together() -> None:
    """A lane's name goes back to the pool when its response ended, is retired while it may still
    stream (free again on its terminal event, or on a new connection); a connection reset fails every
    lane still waiting at once."""
    from agentload.client.wire.lanes import Lanes, _terminal

    lanes = Lanes("ws://127.0.0.1:9/v1/responses", {}, 1.0)
    a, b = lanes.take(), lanes.take()
    assert (a, b) == ("lane0", "lane1") and lanes.peak_lanes == 2
    lanes.give_back(a)
    assert lanes.take() == a  # reused
    assert lanes.retire(b) == "lane2"  # (lane1 may still stream: not reused until its response ends)
    waiting = [lanes.listen(a), lanes.listen("lane2")]
    lanes.reset()
    assert all(isinstance(q.get(timeout=1), ConnectionResetError) for q in waiting)
    lanes.give_back("lane2")
    assert lanes._free == ["lane2"] and lanes._retired == {"lane1"}
    assert _terminal(b'{"type":"response.completed","response":{}}') and _terminal(b'{"type":"error"}')
    assert not _terminal(b'{"type":"response.output_text.delta","delta":"x"}')
