"""The report's change chart: 0 inside the plot with room both sides, a bar only where an interval exists,
row labels in their own column left of the plot (their layout in Chromium: tests/e2e/test_sweep.py)."""

from __future__ import annotations

import re

import pytest

from agentload.sweep import charts


@pytest.mark.parametrize(
    "values", [[-91.2, -90.7, -3.0, -1.0], [5.0, 12.0], [-3.0], [0.0], [-0.5, 0.4], [-91.0, 250.0]]
)
def test_zero_is_inside_the_axis_with_room_on_both_sides(values: list[float]) -> None:
    axis = charts.interval_axis([*values, 0.0])
    span = axis.hi - axis.lo
    assert axis.lo < 0 < axis.hi
    assert min(-axis.lo, axis.hi) >= 0.1 * span, axis
    assert axis.lo <= min(values) and max(values) <= axis.hi


def test_a_value_without_an_interval_is_a_dot_alone() -> None:
    svg = charts.interval_chart(
        "Change",
        "% change",
        [("ws: bytes sent", "ws", -91.2, (-91.7, -90.7)), ("ws: time per task", "ws", -3.0, None)],
    )
    groups = re.findall(r'<g class="series"[^>]*data-interval="(yes|no)">(.*?)</g>', svg)
    assert [(has, body.count("<line")) for has, body in groups] == [("yes", 3), ("no", 0)]
    plot = re.search(r'<rect class="plot" x="([\d.]+)"', svg)
    assert plot is not None
    plot_x = float(plot.group(1))
    label_xs = [float(x) for x in re.findall(r'<text class="row-label" x="([\d.]+)"', svg)]
    longest = max(len("ws: bytes sent"), len("ws: time per task"))
    assert label_xs and all(x + charts.CHAR_W * longest <= plot_x for x in label_xs)
    zero_line = re.search(r'<line class="zero"[^>]* x1="([\d.]+)"', svg)
    assert zero_line is not None
    zero = float(zero_line.group(1))
    assert plot_x < zero
