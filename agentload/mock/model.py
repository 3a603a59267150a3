"""The scripted model: which output items a conversation gets next, deterministically.

A conversation that names a task in ``metadata.agentload_task`` (or the task header, for chat) follows
that task file turn by turn (turn k emits the tool calls of ``turns[k]``; after the last scripted turn,
the final message). A name the mock does not know is a 400 naming the task and the fix, never another
script: a run measured against the wrong script measures nothing. A conversation that names no task
is a real client's (Codex CLI, an SDK loop): it gets calls of the tools it declared (mock.tools), for
``DefaultScript.turns`` turns, then the final message; one that declares no callable tool gets the
default script's ``read_file`` calls. The turn index is the number of model turns already in the
conversation, so a stateless resend of the full history and a continuation by ``previous_response_id``
get the same reply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import TaskFileError
from ..workload import Task, load_task
from ..workload.task import ROOT_SEPARATOR, root_of
from .config import DefaultScript
from .errors import ApiError, bad_request
from .tools import plan_calls


@dataclass(frozen=True)
class PlannedCall:
    call_id: str
    name: str
    arguments: str  # a function call's JSON arguments, or a custom tool call's raw input
    custom: bool = False  # a custom tool call (custom_tool_call items, input deltas)
    fan_in: str | None = None  # a call that spawns subagents: the output due (their final messages)


@dataclass(frozen=True)
class Plan:
    calls: tuple[PlannedCall, ...] = ()
    message: str | None = None  # the final answer (no calls), or what the model says before its calls
    reasoning_tokens: int | None = None  # what the task says this turn reasons; None: the model's default


def _call_id(conversation: str, turn: int, index: int) -> str:
    digest = hashlib.sha1(f"{conversation}:{turn}:{index}".encode()).hexdigest()[:24]
    return f"call_{digest}"


def unknown_task(name: str) -> ApiError:
    return bad_request(
        f"unknown task {name!r}: start the mock with --task FILE (the task's file), or put {name}.yaml "
        "in its --tasks-dir",
        "metadata.agentload_task",
        "unknown_task",
    )


class ScriptedModel:
    def __init__(self, tasks_dir: Path, default: DefaultScript, task_files: Iterable[Path] = ()) -> None:
        self.tasks_dir = tasks_dir
        self.default = default
        self._tasks: dict[str, Task] = {}
        for path in task_files:  # a user's files, loaded (and checked) at start: found by their name
            task = load_task(str(path))
            self._tasks[task.name] = task

    def _load(self, name: str) -> Task | None:
        """Loaded tasks are kept; a missing or broken one is looked up again next time (a task file
        may be added while the mock runs)."""
        task = self._tasks.get(name)
        if task is None:
            try:
                task = self._tasks[name] = load_task(name, self.tasks_dir)
            except TaskFileError:
                return None
        return task

    def task(self, name: str | None) -> Task | None:
        """The task a conversation names; None when it names none. Raises the 400 for an unknown one."""
        if name is None or name == "":
            return None
        task = None
        if "/" not in name and "\\" not in name and not name.startswith("."):
            task = self._load(root_of(name))
            if task is not None and ROOT_SEPARATOR in name:  # a subagent's, found through its root task
                task = task.subtask(name)
        if task is None:
            raise unknown_task(name)
        return task

    def plan(
        self,
        task_name: str | None,
        turn: int,
        conversation_seed: str,
        tools: Sequence[dict[str, Any]] = (),
        parallel: bool = True,
    ) -> Plan:
        task = self.task(task_name)
        if task is not None:
            reasoning = task.reasoning_for(turn)
            if turn < len(task.turns):
                calls = task.turns[turn].calls
                return Plan(
                    calls=tuple(
                        PlannedCall(
                            _call_id(conversation_seed, turn, i),
                            c.tool,
                            c.arguments,
                            c.custom,
                            "\n\n".join(s.task.final_message for s in c.subagents) if c.subagents else None,
                        )
                        for i, c in enumerate(calls)
                    ),
                    message=task.turns[turn].message,
                    reasoning_tokens=reasoning,
                )
            return Plan(message=task.final_message, reasoning_tokens=reasoning)
        d = self.default
        if turn >= d.turns:
            return Plan(message=d.final_message)
        n = d.calls_per_turn if parallel else 1
        own = plan_calls(list(tools), n, conversation_seed, turn)
        if not own:  # OpenAI's model never calls a tool the client did not declare: a plain answer
            return Plan(message=d.final_message)
        return Plan(
            calls=tuple(
                PlannedCall(_call_id(conversation_seed, turn, i), c.name, c.arguments, c.custom)
                for i, c in enumerate(own)
            )
        )
