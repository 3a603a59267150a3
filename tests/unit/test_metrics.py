"""The metrics model: records into Totals, exact merges (workers, cells), the typed rows, the formatter."""

from __future__ import annotations

import random

import pytest

from agentload.core.records import ErrorKind, TaskRecord, TurnRecord
from agentload.metrics import (
    SUMMARY_COLUMNS,
    WEB_COLUMNS,
    Exposure,
    Fmt,
    Group,
    Totals,
    comparison,
    markdown,
    row_of,
    summed,
    text_rows,
)
from agentload.metrics.format import text
from agentload.metrics.spread import change_ci, mean_ci, percentile, spans_zero


def turn(
    strategy: str, turn: int, sent: int, ttft: float | None = 10.0, ok: bool = True, kind: str | None = None
) -> TurnRecord:
    return TurnRecord(strategy, "t", "m", 1, 1, turn, 0.0, 20.0, ttft, sent, 3 * sent, ok=ok, error_kind=kind,
                      input_tokens=100, cached_tokens=60 if turn else 0)  # fmt: skip


def task(strategy: str, ms: float, sent: int, ok: bool = True, kind: str | None = None) -> TaskRecord:
    return TaskRecord(strategy, "t", "m", 1, 1, 0.0, ms, 3, 2, sent, 2 * sent, ok=ok, error_kind=kind)


def records(rng: random.Random, strategy: str, n: int) -> list[TurnRecord | TaskRecord]:
    out: list[TurnRecord | TaskRecord] = []
    for _ in range(n):
        out += [turn(strategy, i, rng.randint(100, 5000), rng.uniform(5, 50)) for i in range(3)]
        out.append(task(strategy, rng.uniform(1000, 3000), rng.randint(1000, 9000)))
    out.append(turn(strategy, 0, 7, None, ok=False, kind=ErrorKind.SERVER))
    out.append(turn(strategy, 1, 9, None, ok=False, kind=ErrorKind.INTERRUPTED))
    out.append(task(strategy, 5.0, 1, ok=False, kind=ErrorKind.INTERRUPTED))
    return out


def accumulate(recs: list[TurnRecord | TaskRecord]) -> Totals:
    t = Totals()
    for r in recs:
        if isinstance(r, TurnRecord):
            t.add_attempt()
            t.add_turn(r)
        else:
            t.add_task(r)
    return t


def test_turns_and_tasks_are_counted_by_outcome() -> None:
    t = accumulate(records(random.Random(1), "ws", 4))
    assert (t.turns_started, t.turns_ok, t.turns_failed, t.turns_interrupted) == (14, 12, 1, 1)
    assert (t.tasks_ok, t.tasks_failed, t.tasks_interrupted) == (4, 0, 1)
    assert t.failures == {ErrorKind.SERVER: 1} and t.rate_limited == 0
    assert t.sent == sum(
        r.bytes_sent for r in records(random.Random(1), "ws", 4) if isinstance(r, TurnRecord)
    )


def same(a: Totals, b: Totals) -> bool:
    """Counts and byte sums exactly equal; float sums (ms) equal but for the order they were added in."""
    for k, va in a.as_dict().items():
        vb = getattr(b, k)
        if isinstance(va, float) or (isinstance(va, dict) and any(isinstance(x, float) for x in va.values())):
            assert va == pytest.approx(vb, rel=1e-12), k
        else:
            assert va == vb, k
    return True


def test_merging_parts_equals_accumulating_the_whole_exactly() -> None:
    recs = records(random.Random(2), "ws", 30)
    whole = accumulate(recs)
    parts = [accumulate(recs[i::3]) for i in range(3)]
    merged = summed(parts)
    assert same(merged, whole)  # counts, sums and per-turn maps
    via_plain_data = Totals()
    for p in parts:
        via_plain_data.merge(p.as_dict())  # what a worker sends, JSON keys and all
    assert same(via_plain_data, whole)
    import json

    assert Totals.from_dict(json.loads(json.dumps(whole.as_dict()))) == whole  # turn keys as strings
    assert same(merged.minus(parts[0]), summed(parts[1:]))


def test_rows_compare_against_the_baseline_of_the_same_link() -> None:
    rng = random.Random(3)
    base, ws = accumulate(records(rng, "http-stateless", 10)), accumulate(records(rng, "ws", 10))
    rows = comparison([Group("ws", ws), Group("http-stateless", base)])
    assert [r.strategy for r in rows] == ["http-stateless", "ws"]  # registry order
    b, w = rows
    assert b.sent_reduction is None and b.speedup is None  # the baseline is compared with nothing
    assert w.sent_per_task == pytest.approx(ws.task_sent / ws.tasks_ok)
    assert w.sent_reduction == pytest.approx(
        1 - (ws.task_sent / ws.tasks_ok) / (base.task_sent / base.tasks_ok)
    )
    assert w.sent_by_turn[1] == pytest.approx(ws.turn_sent[1] / ws.turn_n[1]) and w.turn9_sent is None
    assert w.cached_share == pytest.approx(ws.cached_tokens / ws.input_tokens)
    shaped = comparison([Group("ws", ws, "broadband"), Group("http-stateless", base)])
    assert shaped[1].label == "ws @ broadband" and shaped[1].sent_reduction is None  # no baseline there
    both = comparison([Group("ws", ws, "mobile"), Group("http-stateless", base, "mobile"), Group("ws", ws)])
    assert [r.label for r in both] == ["ws", "http-stateless @ mobile", "ws @ mobile"]  # none first
    assert both[2].sent_reduction is not None and both[0].sent_reduction is None


def test_a_row_with_exposure_projects_ingress() -> None:
    t = accumulate(records(random.Random(4), "ws", 5))
    (r,) = comparison([Group("ws", t, exposure=Exposure(agent_s=100.0, cells=2))], projection_agents=1000)
    busy_s = t.task_ms / 1000  # the agents' own time, not the window's
    assert r.cells == 2 and r.turns_per_agent_s == pytest.approx(t.task_turns / busy_s)
    assert r.projection_gbps == pytest.approx(t.task_sent / busy_s * 8 * 1000 / 1e9)


def test_turn_rates_follow_each_strategys_speed() -> None:
    """Two strategies that finished the same tasks in one window, one 25 % slower per turn: their turn
    rates differ by exactly that (a count over the window would give both the same rate)."""
    fast, slow = Totals(), Totals()
    for t, ms in ((fast, 8_000.0), (slow, 10_000.0)):
        for seq in range(4):
            t.add_task(TaskRecord("ws", "x", "m", 0, seq, 0.0, ms, 10, 10, 20_000, 30_000))
    exposure = Exposure(agent_s=40.0)
    a, b = (row_of(Group("ws", t, exposure=exposure), None) for t in (fast, slow))
    assert a.turns_per_agent_s is not None and b.turns_per_agent_s is not None
    assert a.turns_per_agent_s / b.turns_per_agent_s == pytest.approx(10_000 / 8_000)
    assert a.turns_per_agent_s == pytest.approx(10 / 8.0)


def test_a_change_that_rounds_to_nothing_has_no_sign() -> None:
    assert text(0.0, Fmt.CHANGE) == "0.0 %" and text(-0.0004, Fmt.CHANGE) == "0.0 %"
    assert text(0.109, Fmt.CHANGE) == "-10.9 %" and text(-0.02, Fmt.CHANGE) == "+2.0 %"


def test_one_formatter_for_the_terminal_and_the_web_tab() -> None:
    rng = random.Random(5)
    rows = comparison(
        [
            Group("http-stateless", accumulate(records(rng, "http-stateless", 3))),
            Group("ws", accumulate(records(rng, "ws", 3))),
        ]
    )
    table = markdown(rows, SUMMARY_COLUMNS).splitlines()
    assert table[0].startswith("| strategy | tasks |") and len(table) == 4
    assert table[2].split(" | ")[5] == "-"  # the baseline's own reduction: none (never "-0.0 %")
    web = text_rows(rows, WEB_COLUMNS)
    turn1 = rows[1].sent_by_turn[0]
    assert turn1 is not None
    assert web[1]["strategy"] == "ws" and web[1]["turn1_kb"] == f"{turn1 / 1000:.2f}"
    assert web[1]["turn9_kb"] == "-" and web[1]["sent_vs_stateless"].endswith(" %")


def test_percentiles_and_seeded_bootstrap_intervals() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5) and percentile(values, 99) == pytest.approx(99.01)
    assert percentile([], 50) is None and mean_ci([1.0]) is None
    ci = mean_ci(values)
    assert ci is not None and ci[0] < 50.5 < ci[1] and mean_ci(values) == ci  # seeded: the same again
    # a 20 % faster group: the interval of the change excludes 0; the same group against itself spans it
    rng = random.Random(3)
    slow = [10 + rng.gauss(0, 1) for _ in range(40)]
    fast = [8 + rng.gauss(0, 1) for _ in range(40)]
    change = change_ci(fast, slow)
    assert change is not None and 0.1 < change[0] < 0.2 < change[1] < 0.3 and not spans_zero(change)
    assert spans_zero(change_ci(slow, slow))
