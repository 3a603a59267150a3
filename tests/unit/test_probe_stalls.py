"""The probe's view of its own generator: each process that runs agents watches its event loop, the
seconds say how long it stalled, and a step the generator stalled in is not taken for the limit."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import gevent
import pytest
from gevent.monkey import get_original

from agentload.probe.per_second import STALL_GRACE_S, LoopWatch, PerSecondCounts, SecondCounts
from tests.paths import ROOT

_block = get_original("time", "sleep")  # blocks the process, greenlets and all (gevent's would yield)


def test_a_late_wake_up_is_a_stall_spread_over_the_seconds_it_spans() -> None:
    seconds = PerSecondCounts()
    seconds.add_wake(woke_at=100.55, slept_s=0.1, asked_s=0.1)  # on time
    seconds.add_wake(woke_at=100.60 + 0.02, slept_s=0.12, asked_s=0.1)  # late by 20 ms: noise
    assert seconds.total(100, 101).stalled_s == 0 and seconds.total(100, 101).watched_s == pytest.approx(0.22)
    # asleep from 100.7, asked to wake at 100.8, woke at 103.3: stalled from 100.85 (past the grace)
    seconds.add_wake(woke_at=103.3, slept_s=2.6, asked_s=0.1)
    stalled = {t: seconds.seconds[t].stalled_s for t in range(100, 104)}
    assert stalled == pytest.approx({100: 0.15, 101: 1.0, 102: 1.0, 103: 0.3})
    assert sum(stalled.values()) == pytest.approx(2.5 - STALL_GRACE_S)
    assert seconds.total(100, 104).watched_s == pytest.approx(0.22 + 2.6)
    assert seconds.seconds[103].stall_max_s == pytest.approx(2.5)  # the longest, where it ended


def test_workers_stalls_add_up_and_the_longest_is_the_fleets_longest() -> None:
    one, two = SecondCounts(watched_s=1.0, stalled_s=0.5, stall_max_s=0.5), SecondCounts()
    two.merge({"watched_s": 1.0, "stalled_s": 0.2, "stall_max_s": 0.3, "attempts": 2})
    one.merge(two.__dict__)
    assert (one.watched_s, one.stalled_s, one.stall_max_s, one.attempts) == pytest.approx((2.0, 0.7, 0.5, 2))
    assert SecondCounts().stall_max_s == 0  # a worker of an older agentload sends none: no stall


def _all(seconds: PerSecondCounts) -> SecondCounts:
    return seconds.total(min(seconds.seconds), max(seconds.seconds) + 1)


def test_the_loop_watch_sees_a_blocked_loop_and_not_a_free_one() -> None:
    seconds = PerSecondCounts()
    watch = LoopWatch(seconds).start()
    try:
        gevent.sleep(0.5)  # the loop free: every wake-up on time (within the grace)
        calm = _all(seconds)
        _block(0.6)  # the whole process held, as a starved or paused worker is
        gevent.sleep(0.25)  # the watcher wakes (late) and records it
    finally:
        watch.stop()
    # (on a very busy machine a free loop's wake-up can be late past the grace too: then it did stall)
    assert calm.watched_s > 0.3 and calm.stalled_s < 0.1
    total = _all(seconds)
    assert total.stalled_s - calm.stalled_s >= 0.6 - 2 * STALL_GRACE_S and total.stall_max_s >= 0.5


# ProbeState reads ProbeSettings from probe.options, which imports Locust: importing Locust
# monkey-patches the process that imports it, so the verdicts are checked in a child process.
STEPS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from agentload.probe.options import ProbeSettings
    from agentload.probe.per_second import PerSecondCounts
    from agentload.probe.state import ProbeState

    stall_s = float(sys.argv[1])
    state = ProbeState(ProbeSettings((1, 2, 5), 16.0, 6.0, 0.05, 3.0, Path(sys.argv[2])), started_wall=1000.0)
    seconds = PerSecondCounts()
    for t in range(1000, 1048):
        s = seconds.seconds[t]
        s.watched_s = 1.0
        step = (t - 1000) // 16
        s.attempts = s.ok = step + 1
        s.tokens, s.ttft_sum_ms, s.ttft_n = 1270 * s.ok, 20.0 * s.ok, s.ok
        if step == 2:  # the limit: 3 of 5 refused each second
            s.ok, s.tokens, s.ttft_sum_ms, s.ttft_n = 2, 2540, 40.0, 2
            s.attempts, s.rl_tokens = 5, 3
    seconds.add_wake(1041.0 + stall_s, stall_s + 0.1, 0.1)  # the generator stalled in step 3's window
    for j in range(3):
        state.evaluate(j, seconds)
    print(json.dumps({**state.as_dict(), "summary": state.summary()}))
    """
)


def _probe(stall_s: float, tmp_path: Path) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-c", STEPS, str(stall_s), str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    state: dict[str, Any] = json.loads(run.stdout)
    return state


def test_the_limit_step_measured_with_the_generator_on_time_is_the_limit(tmp_path: Path) -> None:
    report = _probe(0.0, tmp_path)
    assert report["limits_found"] == {"tokens": pytest.approx(2 * 1270 * 60)}
    assert report["knee"]["agents"] == 2 and not report["generator_bound"] and report["lower_bounds"] == {}
    assert "limit found: tokens per minute ~ 152400" in report["summary"]


def test_a_step_the_generator_stalled_in_gives_a_lower_bound_and_says_why(tmp_path: Path) -> None:
    report = _probe(2.0, tmp_path)
    bad = report["steps"][-1]
    assert bad["generator_bound"] and not bad["sustainable"] and "the generator fell behind" in bad["reason"]
    assert bad["generator_stall_max_s"] == pytest.approx(2.0) and bad["generator_stalled_fraction"] > 0.05
    assert report["generator_bound"] and report["limits_found"] == {}  # no limit claimed from it
    assert report["lower_bounds"] == {"tokens": pytest.approx(2 * 1270 * 60)}
    assert report["knee"]["agents"] == 2  # the knee is the last step it drove
    assert "limit found" not in report["summary"] and "limit not measured: at step 3" in report["summary"]
    assert "lower bound: tokens per minute >= 152400" in report["summary"]
