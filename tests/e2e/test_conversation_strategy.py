"""The http-conversation strategy end to end: the real locust command, a few HttpConversationAgents, the
mock. Each task makes its Conversation first, and every turn after the first sends only its new items
(the mock counts what arrives: no earlier call or reasoning comes back, only the tool outputs); the
client's per-turn bytes equal the mock's ledger, the conversation's creation counted in the first turn."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agentload.mock import MockProcess
from tests.runlocust import MockedRun, read_records, run_locust

AGENTS = 3


@pytest.fixture(scope="module")
def conversation_run(tmp_path_factory: pytest.TempPathFactory) -> MockedRun:
    """3 agents for 5 s on a zero-latency mock, the built-in fix-failing-test task."""
    tmp: Path = tmp_path_factory.mktemp("conversation")
    with MockProcess(["--latency", "zero"]) as mock:
        proc, summary = run_locust(
            mock.url, tmp, "-u", str(AGENTS), "-r", str(AGENTS), "--run-time", "5s",
            "--strategy", "http-conversation", "--task", "fix-failing-test", "--tool-latency-scale", "0",
        )  # fmt: skip
        stats = mock.stats()
    return proc, summary, read_records(tmp / "records.jsonl"), stats


def test_every_turn_after_the_first_sends_only_its_new_items(conversation_run: MockedRun) -> None:
    proc, summary, records, stats = conversation_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    (row,) = summary["rows"]
    assert row["strategy"] == "http-conversation" and row["failed_tasks"] == 0 and row["turn_failures"] == 0
    tasks = [r for r in records if r["kind"] == "task"]
    turns = [r for r in records if r["kind"] == "turn" and r["error_kind"] != "interrupted"]
    done = [t for t in tasks if t["ok"]]
    assert len(done) >= AGENTS and all(t["turns"] >= 10 and t["tool_calls"] >= 12 for t in done), done
    model, requests = stats["model"], Counter(stats["model"]["requests"])
    # one conversation a task, made before its first turn (the run's end may cut a task off in between)
    made = model["conversations"]["created"]
    assert len(tasks) - AGENTS <= made <= len(tasks) and requests["new"] in (
        made,
        made - 1,
        made - 2,
        made - 3,
    )
    assert len([e for e in stats["exchanges"] if e["path"] == "/v1/conversations"]) == made
    assert requests["new"] + requests["continued"] >= len(turns)  # every response in a conversation
    assert model["conversations"]["responses"] >= len(turns)
    # what arrived: each first turn its prompt, every later turn the outputs of the calls before it, and
    # nothing the conversation holds already (no call, no reasoning, no earlier message)
    items = Counter(model["input_items"])
    assert items["message"] == requests["new"], items
    answered = sum(t["tool_calls"] for t in done)  # (and some of the calls of tasks the end cut off)
    assert answered <= items["function_call_output"] <= sum(t["tool_calls"] for t in turns), items
    assert set(items) == {"message", "function_call_output"}, items


def test_turn_bytes_equal_the_ledger_the_creation_in_the_first(conversation_run: MockedRun) -> None:
    _, summary, records, stats = conversation_run
    on: dict[int, list[dict[str, Any]]] = {}  # each connection's exchanges, in order
    for e in stats["exchanges"]:
        on.setdefault(e["connection"], []).append(e)
    at = {e["response_id"]: (c, i) for c, xs in on.items() for i, e in enumerate(xs) if e["response_id"]}
    turns = [r for r in records if r["kind"] == "turn" and r["error_kind"] != "interrupted"]
    first = [t for t in turns if t["turn"] == 0]
    assert first and len(turns) > len(first)
    for t in turns:
        c, i = at[t["response_id"]]
        sent, received = on[c][i]["received"], on[c][i]["sent"]
        if t["turn"] == 0:  # the conversation's creation, just before on the same connection
            made = on[c][i - 1]
            assert made["path"] == "/v1/conversations", made
            sent, received = sent + made["received"], received + made["sent"]
        assert (t["bytes_sent"], t["bytes_received"]) == (sent, received), t
    (row,) = summary["rows"]
    assert row["tasks"] >= AGENTS and row["sent_per_task"] > 0
