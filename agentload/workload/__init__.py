"""Coding-task workloads: task files (the built-in ones ship as package data), their validator, and the
synthetic tool output their results are made of."""

from .files import TASKS_DIR, builtin_task_names, load_task, load_tasks, resolve_task_path
from .schema import parse_task
from .synth import TextCache, synth_text
from .task import Task, ToolCall, ToolResultSpec, Turn

__all__ = [
    "TASKS_DIR",
    "Task",
    "TextCache",
    "ToolCall",
    "ToolResultSpec",
    "Turn",
    "builtin_task_names",
    "load_task",
    "load_tasks",
    "parse_task",
    "resolve_task_path",
    "synth_text",
]
