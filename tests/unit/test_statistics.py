"""Objectives and goodput, the intervals of any statistic, the comparison's gate, the sessions loop's
arrivals, and the report's chart axes: the statistics of #18, without processes."""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
from collections.abc import Sequence

import pytest

from agentload.compare.diff import differences, parse_tolerances
from agentload.core.errors import AgentloadError
from agentload.core.records import TaskRecord, TurnRecord
from agentload.metrics import Group, Totals, comparison
from agentload.metrics.slo import good_tasks, parse_slo
from agentload.metrics.spread import BOOTSTRAP_MAX_N, Samples, TurnSamples, mean_ci, ratio_ci
from agentload.runtime.loop import Loop, LoopKind, gap_s
from agentload.sweep.charts import nice_ticks
from tests.paths import ROOT


def task(ms: float, ttfts: Sequence[float], ok: bool = True) -> tuple[TaskRecord, list[TurnRecord]]:
    turns = [TurnRecord("ws", "t", "m", 1, 1, i, 0.0, 20.0, v, 100, 300) for i, v in enumerate(ttfts)]
    rec = TaskRecord("ws", "t", "m", 1, 1, 0.0, ms, len(ttfts), 0, 100 * len(ttfts), 300, ok=ok,
                     ttft_first_ms=ttfts[0], ttft_max_ms=max(ttfts))  # fmt: skip
    return rec, turns


def test_objectives_parse_and_a_bad_one_names_the_fix() -> None:
    objs = parse_slo("ttft_p99_ms=2000, task_s_p90=60")
    assert [(o.metric, o.limit) for o in objs] == [("ttft_p99_ms", 2000.0), ("task_s_p90", 60.0)]
    for bad, says in (
        ("ttft_p99=2", "known metric"),
        ("task_s=abc", "not a number"),
        ("task_s=-1", "0 or more"),
    ):
        with pytest.raises(AgentloadError, match=says):
            parse_slo(bad)


def test_goodput_counts_the_tasks_that_met_every_objective() -> None:
    s, t = Samples(), Totals()
    for ms, ttfts in ((1000, [100, 200]), (3000, [100, 150]), (1000, [100, 900]), (500, [800, 100])):
        rec, turns = task(ms, ttfts)
        for r in turns:
            t.add_attempt()
            t.add_turn(r)
            s.add_turn(r)
        t.add_task(rec)
        s.add_task(rec)
    objs = parse_slo("task_s=2,ttft_p99_ms=500")  # per task: at most 2 s, and no turn's TTFT above 500
    assert good_tasks(s, objs) == 1
    assert good_tasks(s, parse_slo("ttft_first_p90_ms=500")) == 3  # only the first turn's TTFT binds
    (row,) = comparison([Group("ws", t, samples=s, seconds=10.0)], objectives=objs)
    assert row.good_tasks == 1 and row.goodput_tasks_per_s == pytest.approx(0.1)
    # the row's figures: the mean task time (1.375 s) is under 2 s, its turns' TTFT p99 over 500 ms
    assert row.slo_met is False and row.failed_objectives == ["ttft_p99_ms"]


def test_a_met_objective_and_a_failed_one() -> None:
    s, t = Samples(), Totals()
    rec, turns = task(1000, [100, 120])
    for r in turns:
        t.add_attempt()
        t.add_turn(r)
        s.add_turn(r)
    t.add_task(rec)
    s.add_task(rec)
    (ok,) = comparison([Group("ws", t, samples=s, seconds=1.0)], objectives=parse_slo("ttft_p99_ms=500"))
    (bad,) = comparison([Group("ws", t, samples=s, seconds=1.0)], objectives=parse_slo("ttft_p50_ms=50"))
    assert ok.slo_met and ok.good_tasks == 1 and not bad.slo_met and bad.good_tasks == 0


def test_the_interval_of_a_statistic_covers_the_truth_and_is_seeded() -> None:
    rng = random.Random(3)
    a = [rng.gauss(100, 10) for _ in range(400)]
    b = [1.2 * v for v in a[::-1]]
    ci = ratio_ci(b, a, statistics.fmean)
    assert ci is not None and ci[0] < 0.2 < ci[1] and ci == ratio_ci(b, a, statistics.fmean)
    p99 = ratio_ci(a, a, lambda v: sorted(v)[int(0.99 * (len(v) - 1))])
    assert p99 is not None and p99[0] <= 0 <= p99[1]


def test_past_the_bootstrap_limit_the_interval_is_the_normal_one() -> None:
    rng = random.Random(5)
    big = [rng.expovariate(1.0) for _ in range(BOOTSTRAP_MAX_N + 1)]
    ci = mean_ci(big)
    assert ci is not None
    lo, hi = ci
    se = statistics.stdev(big) / len(big) ** 0.5
    assert hi - lo == pytest.approx(2 * 1.959964 * se)


def test_compare_tolerances_and_which_change_is_worse() -> None:
    assert parse_tolerances("ttft_p99_ms=10%,task_s=5%") == {"ttft_p99_ms": 0.10, "task_s": 0.05}
    for bad in ("ttft_p99_ms=10", "nope=5%", "task_s=x%"):
        with pytest.raises(AgentloadError, match="--fail-if-worse"):
            parse_tolerances(bad)
    a, b = Samples(), Samples()
    rng = random.Random(1)
    for _ in range(50):
        v = rng.uniform(1, 2)
        a.task_s.append(v)
        b.task_s.append(1.08 * v)
        a.task_sent.append(1e4)
        b.task_sent.append(1e4)
    d = {x.figure: x for x in differences("ws", a, b, {"task_s": 0.05, "sent_per_task": 0.0})}
    assert d["task_s"].change == pytest.approx(0.08) and d["task_s"].worse
    assert not d["sent_per_task"].worse and d["sent_per_task"].change == 0
    same = {x.figure: x for x in differences("ws", a, a, {"task_s": 0.0})}
    assert not same["task_s"].worse and not same["task_s"].significant


@pytest.mark.parametrize("burstiness", [1.0, 0.5, 4.0])
def test_session_gaps_have_the_asked_rate_and_burstiness(burstiness: float) -> None:
    rng = random.Random(11)
    gaps = [gap_s(rng, 5.0, burstiness) for _ in range(20000)]
    assert statistics.fmean(gaps) == pytest.approx(0.2, rel=0.03)
    cv = statistics.stdev(gaps) / statistics.fmean(gaps)  # a gamma's CV is 1/sqrt(shape)
    assert cv == pytest.approx(burstiness**-0.5, rel=0.05)


SPLIT = """
from agentload.runtime.loop import fleet_counts
class A: weight = 1
class B: weight = 1
print(fleet_counts([B, A], 5), fleet_counts([A], 7))
"""


def test_the_fleets_agents_split_over_classes_as_locust_dispatches_them() -> None:
    # (in a process of its own: importing Locust monkey-patches this one)
    out = subprocess.run([sys.executable, "-c", SPLIT], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.stdout.strip() == "{'A': 3, 'B': 2} {'A': 7}", out.stderr[-2000:]
    assert Loop.of(0, 2.0, 1.0).kind == LoopKind.SESSIONS and "Poisson" in Loop.of(0, 2.0, 1.0).describe()
    assert Loop.of(0.5, 0, 1.0).kind == LoopKind.TASK_RATE and Loop.of(0, 0, 1.0).kind == LoopKind.CLOSED


def test_chart_ticks_are_round_numbers() -> None:
    assert nice_ticks(0, 7210) == [0, 2000, 4000, 6000, 8000]
    assert nice_ticks(0, 209) == [0, 50, 100, 150, 200, 250]
    assert nice_ticks(1, 13, 6, integer=True)[:3] == [0, 2, 4]
    assert all(str(t) != "-0.0" for t in nice_ticks(-0.92, 0.07, 6))


def test_turn_samples_keep_each_tasks_turns_apart() -> None:
    ts = TurnSamples()
    for task_name, n in (("short", 3), ("long", 6)):
        for i in range(n):
            ts.add_turn(
                TurnRecord("ws", task_name, "m", 1, 1, i, 0.0, 20.0, 10.0 * (i + 1), 100 * (i + 1), 300)
            )
    again = TurnSamples().merge(ts.as_dict())  # as cells.jsonl keeps them
    assert again.series("short", "sent") == [(1.0, 100), (2.0, 200), (3.0, 300)]
    assert len(again.series("long", "ttft")) == 6
