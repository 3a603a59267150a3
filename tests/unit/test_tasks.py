"""Task files: the built-in ones load, and every schema error names file, field and fix (in-process;
that a bad option stops a run at start is tests/e2e/test_tasks.py's)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from agentload.core.errors import TaskFileError
from agentload.workload import TASKS_DIR, builtin_task_names, load_task, parse_task


def test_builtin_tasks_match_the_real_sessions_they_model() -> None:
    names = builtin_task_names()
    assert names == ["add-search-feature", "fix-failing-test", "refactor-api-layer"]
    fix, search, refactor = (
        load_task("fix-failing-test"),
        load_task("add-search-feature"),
        load_task("refactor-api-layer"),
    )
    assert 10 <= len(fix.turns) <= 15 and 12 <= fix.tool_calls <= 17
    assert 5 <= len(search.turns) <= 15
    assert 6 <= len(refactor.turns) <= 11 and 10 <= refactor.tool_calls <= 20
    files = {c.arguments for t in refactor.turns for c in t.calls if c.tool == "edit_file"}
    assert len({__import__("json").loads(a)["path"] for a in files}) >= 3  # several files
    assert any(c.result.latency_s >= 2 for t in fix.turns for c in t.calls if c.tool == "run_tests")


def _doc(**over: Any) -> dict[str, Any]:
    base = yaml.safe_load((TASKS_DIR / "_coding_agent.yaml").read_text())
    doc: dict[str, Any] = {
        "name": "t",
        "prompt": "p",
        "final_message": "f",
        "instructions": base["instructions"],
        "tools": base["tools"],
        "turns": [
            {
                "calls": [
                    {
                        "tool": "read_file",
                        "args": {"path": "a.py"},
                        "result": {"kind": "python", "bytes": 100},
                    }
                ]
            }
        ],
    }
    doc.update(over)
    return doc


@pytest.mark.parametrize(
    ("doc", "path", "fix_word"),
    [
        (_doc(turns=[{"calls": [{"tool": "reed_file"}]}]), "turns[0].calls[0].tool", "read_file"),
        (
            _doc(turns=[{"calls": [{"tool": "read_file", "result": {"kind": "python", "bytes": "big"}}]}]),
            "turns[0].calls[0].result.bytes",
            "int",
        ),
        (
            _doc(turns=[{"calls": [{"tool": "read_file", "result": {"kind": "cobol", "bytes": 1}}]}]),
            "turns[0].calls[0].result.kind",
            "python",
        ),
        (_doc(prompt=None), "prompt", "prompt"),
        (_doc(colour="red"), "colour", "remove"),
        (_doc(max_turns=0), "max_turns", "1 to"),
    ],
)
def test_schema_errors_name_file_field_and_fix(doc: dict[str, Any], path: str, fix_word: str) -> None:
    with pytest.raises(TaskFileError) as e:
        parse_task(doc, "my-task.yaml")
    assert e.value.file == "my-task.yaml" and e.value.path == path
    assert fix_word in e.value.fix and str(e.value).startswith(f"my-task.yaml: {path}: ")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "name",
                "prompt",
                "turns",
                "tools",
                "instructions",
                "final_message",
                "tool_profile",
                "max_turns",
                "x",
            ]
        ),
        _json,
        max_size=9,
    )
)
def test_any_document_loads_or_fails_with_a_task_file_error(doc: dict[str, Any]) -> None:
    try:
        parse_task(doc, "fuzz.yaml")
    except TaskFileError as e:
        assert str(e).startswith("fuzz.yaml")
