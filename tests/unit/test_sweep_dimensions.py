"""A sweep's agents per user and subagents dimensions (#29): the flags as the CLI reads them, the cells
and their ids (an older sweep's ids unchanged), the rows' labels, the cells' Locust and mock options,
the header, and the baseline a ws against ws-mux sweep reports against."""

from __future__ import annotations

import argparse

import pytest

from agentload.cli import build_parser
from agentload.core.errors import AgentloadError
from agentload.sweep.header import Header
from agentload.sweep.runner import per_user_args
from agentload.sweep.spec import CellSpec, SweepSpec, mock_args


def _sweep_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["sweep", *argv])


def _spec(*argv: str) -> SweepSpec:
    """The spec ``agentload sweep ARGV`` would run, validated (its parsing is the CLI's own; nothing runs)."""
    from agentload.sweep import cli

    captured: list[SweepSpec] = []

    def keep(spec: SweepSpec, _out: object, _resume: bool) -> int:
        spec.validate()
        captured.append(spec)
        return 0

    with pytest.MonkeyPatch.context() as m:
        m.setattr(cli, "run_sweep", keep)
        cli._sweep(_sweep_args("--out", "/tmp/agentload-unit-never-written", *argv))
    return captured[0]


def test_ws_against_ws_mux_is_a_sweep_of_agents_per_user_and_subagents() -> None:
    spec = _spec(
        "--strategies", "ws,ws-mux", "--agents", "1", "--agents-per-user", "1,8",
        "--subagents", "none,forks", "--task", "fix-failing-test", "--max-connections", "4",
    )  # fmt: skip
    cells = spec.cells()
    assert len(cells) == 2 * 2 * 2
    ids = [c.id for c in cells]
    assert len(set(ids)) == len(ids)
    assert "ws-a1-fix-failing-test-gpt-5.4" in ids  # at the defaults: the id an older sweep gave it
    assert "ws-mux-a1-x8-fix-failing-test-gpt-5.4" in ids
    assert "ws-mux-a1-x8-fan-out-forks-gpt-5.4-sforks" in ids
    forked = [c for c in cells if c.subagents == "forks"]
    assert {c.task for c in forked} == {"fan-out-forks"}  # the variant's built-in task in place of --task
    eight = next(c for c in forked if c.agents_per_user == 8)
    assert eight.variant == "x8 forks" and eight.agents_total == 8
    assert per_user_args(eight) == ["--agents-per-user", "8"] and per_user_args(cells[0]) == []
    assert mock_args(spec)[-2:] == ["--max-connections", "4"]
    assert spec.report_baseline == "ws"  # http-stateless did not run: the first strategy
    header = dict(Header(spec, None).items())
    assert header["agents per user"].startswith("per cell: 1, 8")
    assert "fan-out-forks" in header["subagents"]
    assert "4 WebSocket connections per key" in header["target"]


def test_a_subagents_variant_runs_its_task_once_whatever_the_task_list() -> None:
    spec = SweepSpec(["ws"], [2], ["fix-failing-test", "all"], ["m"], subagents=["none", "fresh"])
    spec.validate()
    assert [c.task for c in spec.cells()] == ["fix-failing-test", "all", "fan-out-fresh"]
    assert spec.cells()[-1].id == "ws-a2-fan-out-fresh-m-sfresh"


def test_older_sweep_folders_read_without_the_dimensions() -> None:
    old = {"strategies": ["http-stateless", "ws"], "agents": [2], "tasks": ["all"], "models": ["gpt-5.4"]}
    spec = SweepSpec.from_dict(old)
    assert spec.agents_per_user == [1] and spec.subagents == ["none"] and spec.max_connections == 0
    assert spec.report_baseline == "http-stateless"
    cell = CellSpec.from_dict({"strategy": "ws", "agents": 2, "task": "all", "model": "gpt-5.4", "link": ""})
    assert cell.id == "ws-a2-all-gpt-5.4" and cell.variant == "" and cell.agents_total == 2
    assert CellSpec("ws", 2, "all", "m", compression="deflate").variant == "deflate"  # as before


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--agents-per-user", "0"], "--agents-per-user"),
        (["--agents-per-user", "33"], "--agents-per-user"),
        (["--agents-per-user", "x"], "--agents-per-user"),
        (["--subagents", "nested"], "--subagents"),
        (["--subagents", ""], "--subagents"),
        (["--max-connections", "-1"], "--max-connections"),
        (["--max-connections", "4", "--host", "http://127.0.0.1:9"], "--max-connections"),
        (["--strategies", "ws,ws-mux", "--baseline", "http-stateless"], "--baseline"),
    ],
)
def test_bad_values_name_their_flag(argv: list[str], flag: str) -> None:
    with pytest.raises(AgentloadError, match=flag):
        _spec(*argv)
