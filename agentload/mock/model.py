"""The scripted model: which output items a conversation gets next, deterministically.

A conversation that names a task in ``metadata.agentload_task`` follows that task file turn by turn
(turn k emits the tool calls of ``turns[k]``; after the last scripted turn, the final message). Any
other conversation follows the ``DefaultScript``. The turn index is the number of model turns already
in the conversation, so a stateless resend of the full history and a continuation by
``previous_response_id`` get the same reply.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import TaskFileError
from ..workload import Task, load_task, synth_text
from .config import DefaultScript


@dataclass(frozen=True)
class PlannedCall:
    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Plan:
    calls: tuple[PlannedCall, ...] = ()
    message: str | None = None  # the final answer (no calls)


def _call_id(conversation: str, turn: int, index: int) -> str:
    digest = hashlib.sha1(f"{conversation}:{turn}:{index}".encode()).hexdigest()[:24]
    return f"call_{digest}"


class ScriptedModel:
    def __init__(self, tasks_dir: Path, default: DefaultScript) -> None:
        self.tasks_dir = tasks_dir
        self.default = default
        self._tasks: dict[str, Task] = {}

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
        """The task a conversation names, or None (unknown names fall back to the default script)."""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            return None
        return self._load(name)

    def plan(self, task_name: str | None, turn: int, conversation_seed: str) -> Plan:
        task = self.task(task_name)
        if task is not None:
            if turn < len(task.turns):
                calls = task.turns[turn].calls
                return Plan(
                    calls=tuple(
                        PlannedCall(_call_id(conversation_seed, turn, i), c.tool, c.arguments)
                        for i, c in enumerate(calls)
                    )
                )
            return Plan(message=task.final_message)
        d = self.default
        if turn < d.turns:
            planned = []
            for i in range(d.calls_per_turn):
                path = f"src/module_{turn}_{i}.py"
                pad = max(
                    0, d.arguments_bytes - len(json.dumps({"path": path, "note": ""}, separators=(",", ":")))
                )
                args = json.dumps(
                    {"path": path, "note": synth_text("text", pad, f"{turn}:{i}")}, separators=(",", ":")
                )
                planned.append(PlannedCall(_call_id(conversation_seed, turn, i), "read_file", args))
            return Plan(calls=tuple(planned))
        return Plan(message=d.final_message)
