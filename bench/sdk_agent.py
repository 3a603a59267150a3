"""The same agent loop as agentload's, written on the openai SDK: the reference clients of the baselines.

One task = one conversation on a task file: the first request carries instructions, tools and the
prompt (and names the task in metadata, so the mock's scripted model follows it); every later one
continues by previous_response_id with the tool outputs agentload would send (same sizes, same text,
from the same cache). Only the client differs, so events per CPU-second compare clients, not work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agentload.core.protocol import TASK_METADATA_KEY
from agentload.workload import Task, TextCache


def tool_outputs(task: Task, turn: int, calls: list[Any], cache: TextCache) -> list[dict[str, str]]:
    """What agentload's agent answers (Task.result_for: the scripted result, else the profile)."""
    return [
        {
            "type": "function_call_output",
            "call_id": c.call_id,
            "output": task.result_for(turn, i, c.name).render(f"{task.name}:{turn}:{i}", cache),
        }
        for i, c in enumerate(calls)
    ]


def run_task(
    task: Task,
    model: str,
    store: bool,
    respond: Callable[[dict[str, Any]], Iterable[Any]],
    cache: TextCache,
    count: Callable[[int], None],
) -> None:
    """``respond(kwargs)`` sends one response.create and yields its events, ending with the terminal one."""
    prev: str | None = None
    new_input: list[Any] = [{"type": "message", "role": "user", "content": task.prompt}]
    for turn in range(task.max_turns):
        kwargs: dict[str, Any] = {"model": model, "store": store, "input": new_input}
        if prev is None:
            kwargs |= {"instructions": task.instructions, "tools": list(task.tools)}
            kwargs["metadata"] = {TASK_METADATA_KEY: task.name}
        else:
            kwargs["previous_response_id"] = prev
        final = None
        n = 0
        for event in respond(kwargs):
            n += 1
            if event.type in ("response.completed", "response.failed", "error"):
                final = event
        count(n)
        if final is None or final.type != "response.completed":
            raise RuntimeError(f"turn {turn} ended with {getattr(final, 'type', None)}")
        resp = final.response
        prev = resp.id
        calls = [o for o in resp.output if o.type == "function_call"]
        if not calls:
            return
        new_input = tool_outputs(task, turn, calls, cache)
