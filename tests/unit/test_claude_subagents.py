"""Claude Code side chains into subagents (agentload.recording.claude_transcript): the fixtures in
tests/fixtures/claude-code (synthetic transcripts in Claude Code's format, written for these tests) import
into tasks whose Task calls run their side chains as fresh subagents, with the children's turns, calls,
result sizes and final answers; Claude Code 1.x's inline side chains (linked by prompt) and 2.x's
``<session>/subagents/agent-<id>.jsonl`` (linked by agentId); a chain no call names is left out and
counted; an agent file given beside its session is not a task of its own, given alone it is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentload.recording.importer import import_logs
from agentload.recording.logs import LogError
from agentload.workload import load_task
from agentload.workload.task import SubagentKind, Task
from tests.paths import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "claude-code"
INLINE = FIXTURES / "inline-sidechains.jsonl"
SESSION = FIXTURES / "4f3fe331-384f-456e-9b3c-f49b73f1fbd3.jsonl"
AGENT = FIXTURES / SESSION.stem / "subagents" / "agent-a9e5f822a78b5bd6a.jsonl"


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def imported(tmp_path: Path, *logs: Path, keep: bool = False) -> list[Task]:
    return [load_task(str(p)) for p in import_logs(list(logs), tmp_path / "out", keep)]


def results(chain: list[dict[str, Any]]) -> list[int]:
    """The sizes of a chain's tool results, in order."""
    out = []
    for x in chain:
        content = x["message"]["content"]
        for b in content if isinstance(content, list) else []:
            if b.get("type") == "tool_result":
                text = (
                    b["content"]
                    if isinstance(b["content"], str)
                    else "".join(p["text"] for p in b["content"])
                )
                out.append(len(text.encode()))
    return out


def test_inline_side_chains_become_the_task_calls_subagents(tmp_path: Path) -> None:
    [t] = imported(tmp_path, INLINE)
    assert [[c.tool for c in x.calls] for x in t.turns] == [
        ["Bash"],
        ["Task", "Task"],
        ["Edit", "Edit"],
        ["Bash"],
    ]
    side = [x for x in lines(INLINE) if x.get("isSidechain")]
    heads = [x for x in side if x["parentUuid"] is None]
    assert len(heads) == 2
    for call, head in zip(t.turns[1].calls, heads, strict=True):
        [sub] = call.subagents
        assert sub.kind == SubagentKind.FRESH and sub.task.name.startswith("inline-sidechains.t1c")
        child = sub.task
        # its own script: three turns of one call each, then its answer
        assert [[c.tool for c in x.calls] for x in child.turns] == [["Grep"], ["Read"], ["Bash"]]
        chain, seen = [], {head["uuid"]}
        for x in side:  # (the two chains' lines interleave: follow this one's)
            if x is head or x["parentUuid"] in seen:
                chain.append(x)
                seen.add(x["uuid"])
        assert [c.result.bytes for x in child.turns for c in x.calls] == results(chain)
        answer = chain[-1]["message"]["content"][0]["text"]
        assert len(child.final_message) == len(answer) and len(child.prompt) == len(
            head["message"]["content"]
        )
        assert child.turns[0].recorded and child.turns[0].recorded["output_tokens"] == 160
    assert {"Grep", "Read", "Task"} <= {x["name"] for x in t.tools}  # (the children's tools declared too)
    notes = t.recorded["notes"]
    assert "2 side chain(s) (18 line(s)) imported as subagents of the Task calls that ran them" in notes
    assert not any("left out" in n for n in notes), notes


def test_the_task_calls_output_is_the_childs_final_answer(tmp_path: Path) -> None:
    [t] = imported(tmp_path, INLINE, keep=True)
    by_id = {b["tool_use_id"]: b for x in lines(INLINE) if not x.get("isSidechain") and x["type"] == "user"
             for b in x["message"]["content"] if isinstance(b, dict) and b.get("type") == "tool_result"}  # fmt: skip
    task_uses = [b for x in lines(INLINE) if x["type"] == "assistant" and not x.get("isSidechain")
                 for b in x["message"]["content"] if b["type"] == "tool_use" and b["name"] == "Task"]  # fmt: skip
    for call, use in zip(t.turns[1].calls, task_uses, strict=True):
        child = call.subagents[0].task
        assert child.prompt == use["input"]["prompt"]  # a fresh subagent starts from the call's prompt
        assert child.final_message == by_id[use["id"]]["content"][0]["text"]
        assert json.loads(call.arguments)["prompt"] == use["input"]["prompt"]


def test_a_subagent_file_links_by_agent_id_and_is_not_a_task_of_its_own(tmp_path: Path) -> None:
    tasks = imported(tmp_path, AGENT, SESSION, keep=True)  # (a glob of the folder: the agent file first)
    assert [t.name for t in tasks] == [SESSION.stem]
    [t] = tasks
    [task_call] = t.turns[0].calls
    child = task_call.subagents[0].task
    agent = lines(AGENT)
    assert {x["agentId"] for x in agent} == {"a9e5f822a78b5bd6a"} and all(x["isSidechain"] for x in agent)
    assert child.prompt == agent[0]["message"]["content"]
    assert [[c.tool for c in x.calls] for x in child.turns] == [["Grep"], ["Read"], ["Bash"]]
    assert [c.result.bytes for x in child.turns for c in x.calls] == results(agent)
    # the answer, not the agentId footer Claude Code appends to the Task result
    assert (
        child.final_message == agent[-1]["message"]["content"][0]["text"]
        and "agentId" not in child.final_message
    )
    assert any(n.startswith("1 side chain(s) (9 line(s))") for n in t.recorded["notes"])


def test_a_subagent_file_given_alone_is_its_own_task(tmp_path: Path) -> None:
    [t] = imported(tmp_path, AGENT)
    assert len(t.turns) == 3 and t.recorded["session_id"] == SESSION.stem
    assert any("agentId a9e5f822a78b5bd6a" in n and "alone" in n for n in t.recorded["notes"])


def test_a_side_chain_no_task_call_names_is_left_out_and_counted(tmp_path: Path) -> None:
    rows = lines(INLINE)
    for x in rows:  # the first chain's prompt no longer matches its Task call's
        if x.get("isSidechain") and x["parentUuid"] is None:
            x["message"]["content"] = "something else"
            break
    log = tmp_path / "s.jsonl"
    log.write_text("".join(json.dumps(x) + "\n" for x in rows))
    [t] = imported(tmp_path, log)
    assert [len(c.subagents) for c in t.turns[1].calls] == [0, 1]
    assert t.turns[1].calls[0].result.bytes > 100  # (an ordinary call now: its result the Task result's size)
    notes = yaml.safe_load((tmp_path / "out" / "s.yaml").read_text())["recorded"]["notes"]
    assert (
        "9 side-chain line(s) of 1 chain(s) that no Task call names (by agentId or prompt) left out" in notes
    )


def test_a_broken_subagent_file_is_one_line_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    shutil.copytree(FIXTURES, folder)
    agent = folder / AGENT.relative_to(FIXTURES)
    text = agent.read_text().splitlines()
    agent.write_text("\n".join([text[0], '{"type": "assistant", "isSidechain": true}', *text[2:]]) + "\n")
    with pytest.raises(LogError) as e:
        import_logs([folder / SESSION.name], tmp_path / "out")
    assert f"{agent}:2: a assistant line without a message object" in str(e.value)


def test_a_subagent_file_beside_the_session_links_where_it_names_the_session(tmp_path: Path) -> None:
    """(Claude Code 2.0's first layout: agent-<id>.jsonl in the project's folder, beside every session.)"""
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(SESSION, folder)
    shutil.copy(AGENT, folder)
    other = [dict(x, sessionId="another-session") for x in lines(AGENT)]  # another session's subagent
    (folder / "agent-b0000000000000000.jsonl").write_text("".join(json.dumps(x) + "\n" for x in other))
    [t] = imported(tmp_path, folder / AGENT.name, folder / SESSION.name)  # (not the other session's)
    assert t.name == SESSION.stem and len(t.turns[0].calls[0].subagents) == 1
    assert not any("left out" in n for n in t.recorded["notes"]), t.recorded["notes"]
