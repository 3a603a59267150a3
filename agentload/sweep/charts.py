"""Inline SVG charts for the report: drawn here, in Python, so the HTML page needs no script, no
network and no library to show them (it opens offline, in any browser, and prints).

Every chart has the same frame: the title on top, the plot area (``rect.plot``) with round tick
values, and the legend (``g.legend``) in a column of its own to the right, clear of the data. Series
are ``.series`` elements named by ``data-series``, so a page's charts can be checked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from ..core.strategies import STRATEGIES

COLOURS = {s.name: s.colour for s in STRATEGIES}
SPARE_COLOURS = ("#2ca02c", "#8c564b", "#e377c2", "#7f7f7f")
MARKERS = ("circle", "square", "diamond", "triangle", "cross")
W, H = 640, 300
PAD_L, PAD_T, PAD_B = 64, 40, 44
LEGEND_W = 170  # the legend's column, right of the plot
PLOT_W, PLOT_H = W - PAD_L - LEGEND_W - 12, H - PAD_T - PAD_B
ROW_H = 30  # one interval a row
Points = list[tuple[float, float]]


def _colour(name: str, i: int) -> str:
    """The strategy's colour (a label like "ws @ 512 kbit/s" takes its strategy's), else a spare one."""
    return COLOURS.get(name.split(" @ ")[0].split(" [")[0], SPARE_COLOURS[i % len(SPARE_COLOURS)])


def _opacity(name: str) -> str:
    return (
        ' fill-opacity="0.55"' if " @ " in name or " [" in name else ""
    )  # behind a link (or compressed): its strategy's colour, lighter


def nice_step(span: float, n: int = 5) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that cuts ``span`` into about ``n`` parts."""
    if span <= 0:
        return 1.0
    raw = span / n
    power: float = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def nice_ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> list[float]:
    """Round tick values from at or below ``lo`` to at or above ``hi``."""
    step = nice_step(hi - lo, n)
    if integer:
        step = max(1.0, round(step))
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t < hi + step * 0.999:
        ticks.append(round(t, 10) + 0.0)  # (+ 0.0: never a "-0" tick)
        t += step
    return ticks if len(ticks) > 1 else [start, start + step]


def fmt(v: float) -> str:
    """A tick or value label: 7200 -> 7.2k, 250000 -> 250k, 0.25 -> 0.25."""
    a = abs(v)
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:g}{unit}" if (v / div) == round(v / div, 2) else f"{v / div:.3g}{unit}"
    return f"{v:g}" if v == round(v, 3) else f"{v:.3g}"


@dataclass(frozen=True)
class Axis:
    lo: float
    hi: float

    def at(self, v: float, size: float) -> float:
        return (v - self.lo) / ((self.hi - self.lo) or 1.0) * size


def _marker(kind: str, x: float, y: float, c: str) -> str:
    match kind:
        case "square":
            return f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{c}"/>'
        case "diamond":
            return f'<path d="M{x:.1f},{y - 4:.1f} l4,4 l-4,4 l-4,-4 z" fill="{c}"/>'
        case "triangle":
            return f'<path d="M{x:.1f},{y - 4:.1f} l4,7 l-8,0 z" fill="{c}"/>'
        case "cross":
            return f'<path d="M{x - 3:.1f},{y - 3:.1f} l6,6 m0,-6 l-6,6" stroke="{c}" stroke-width="2"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{c}"/>'


def _open(
    title: str, x_label: str, y_label: str, height: int = H, pad_l: int = PAD_L, plot_w: int = PLOT_W
) -> list[str]:
    plot_h = height - PAD_T - PAD_B
    return [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
        f'viewBox="0 0 {W} {height}" font-family="sans-serif" font-size="11" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="{PAD_L}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<rect class="plot" x="{pad_l}" y="{PAD_T}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#bbb"/>',
        f'<text x="{pad_l + plot_w / 2}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="14" y="{PAD_T + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {PAD_T + plot_h / 2})">{escape(y_label)}</text>',
    ]


def _y_grid(axis: Axis, ticks: list[float], plot_h: float = PLOT_H) -> list[str]:
    out = []
    for t in ticks:
        y = PAD_T + plot_h - axis.at(t, plot_h)
        out.append(f'<line x1="{PAD_L}" x2="{PAD_L + PLOT_W}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end">{fmt(t)}</text>')
    return out


def _legend(entries: Sequence[tuple[str, str, str]], note: str = "") -> list[str]:
    """(name, colour, marker) entries stacked in the legend's column."""
    x = W - LEGEND_W
    out = ['<g class="legend">']
    for i, (name, c, mk) in enumerate(entries):
        y = PAD_T + 8 + i * 16
        out.append(f'<line x1="{x}" x2="{x + 18}" y1="{y}" y2="{y}" stroke="{c}" stroke-width="2"/>')
        out.append(_marker(mk, x + 9, y, c))
        out.append(f'<text x="{x + 24}" y="{y + 4}">{escape(name)}</text>')
    if note:
        out.append(f'<text x="{x}" y="{PAD_T + 12 + len(entries) * 16}" fill="#666">{escape(note)}</text>')
    out.append("</g>")
    return out


def line_chart(
    title: str,
    x_label: str,
    y_label: str,
    series: dict[str, Points],
    bands: dict[str, tuple[Points, Points]] | None = None,
    integer_x: bool = False,
    band_note: str = "",
) -> str:
    """One polyline with distinct markers per series; ``bands`` shades a (low, high) spread under a
    series. Series that share x values are set a little apart (a few pixels each) so that one does not
    hide another; with a single x value the chart is drawn as bars."""
    xs = sorted({x for pts in series.values() for x, _ in pts})
    if len(xs) == 1:
        at = fmt(xs[0])
        return bar_chart(f"{title} ({x_label} {at})", y_label, {k: p[0][1] for k, p in series.items() if p})
    ys = [y for pts in series.values() for _, y in pts]
    ys += [y for lo, hi in (bands or {}).values() for _, y in (*lo, *hi)]
    y_ticks = nice_ticks(0.0, max(ys, default=0.0) or 1.0)
    y_axis = Axis(y_ticks[0], y_ticks[-1])
    x_ticks = nice_ticks(min(xs, default=0.0), max(xs, default=1.0), 6, integer_x) if xs else [0.0, 1.0]
    x_axis = Axis(x_ticks[0], x_ticks[-1])
    n = len(series)

    def px(x: float, i: int) -> float:
        return PAD_L + x_axis.at(x, PLOT_W) + (i - (n - 1) / 2) * 3.0

    def py(y: float) -> float:
        return PAD_T + PLOT_H - y_axis.at(y, PLOT_H)

    parts = _open(title, x_label, y_label)
    parts += _y_grid(y_axis, y_ticks)
    for t in x_ticks:
        x = PAD_L + x_axis.at(t, PLOT_W)
        parts.append(f'<text x="{x:.1f}" y="{PAD_T + PLOT_H + 14}" text-anchor="middle">{fmt(t)}</text>')
    entries = []
    for i, (name, pts) in enumerate(series.items()):
        c, mk = _colour(name, i), MARKERS[i % len(MARKERS)]
        entries.append((name, c, mk))
        band = (bands or {}).get(name)
        if band and band[0]:
            lo, hi = band
            ring = [*((px(x, i), py(y)) for x, y in hi), *((px(x, i), py(y)) for x, y in reversed(lo))]
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in ring)
            parts.append(
                f'<polygon class="band" data-series="{escape(name)}" points="{coords}" fill="{c}" '
                'fill-opacity="0.15" stroke="none"/>'
            )
        coords = " ".join(f"{px(x, i):.1f},{py(y):.1f}" for x, y in pts)
        parts.append(
            f'<polyline class="series" data-series="{escape(name)}" fill="none" stroke="{c}" '
            f'stroke-width="2" points="{coords}"/>'
        )
        parts += [_marker(mk, px(x, i), py(y), c) for x, y in pts]
    parts += _legend(entries, band_note if bands else "")
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(title: str, y_label: str, bars: dict[str, float]) -> str:
    """One bar per name (its value on top); the names in the legend."""
    y_ticks = nice_ticks(0.0, max(bars.values(), default=0.0) or 1.0)
    y_axis = Axis(y_ticks[0], y_ticks[-1])
    slot = PLOT_W / max(1, len(bars))
    parts = _open(title, "", y_label)
    parts += _y_grid(y_axis, y_ticks)
    entries = []
    for i, (name, v) in enumerate(bars.items()):
        bh = y_axis.at(v, PLOT_H)
        x = PAD_L + i * slot + slot * 0.15
        c = _colour(name, i)
        entries.append((name, c, "square"))
        parts.append(
            f'<rect class="series" data-series="{escape(name)}" x="{x:.1f}" y="{PAD_T + PLOT_H - bh:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{bh:.1f}" fill="{c}"{_opacity(name)}/>'
        )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{PAD_T + PLOT_H - bh - 4:.1f}" text-anchor="middle">'
            f"{fmt(v)}</text>"
        )
    parts += _legend(entries)
    parts.append("</svg>")
    return "\n".join(parts)


CHAR_W = 6.5  # a generous width of one character at the charts' 11 px sans-serif


def interval_axis(values: Sequence[float]) -> Axis:
    """An axis over ``values`` with 0 inside it and room on both sides of 0 (an estimate of -3 % is not
    drawn on the plot's border): each side reaches at least a fifth of the span past 0."""
    lo, hi = min(values), max(values)
    span = (hi - lo) or max(abs(hi), 1.0)
    lo, hi = min(lo, -0.2 * span), max(hi, 0.2 * span)
    pad = 0.05 * (hi - lo)
    ticks = nice_ticks(lo - pad, hi + pad, 6)
    return Axis(ticks[0], ticks[-1])


def interval_chart(
    title: str, x_label: str, items: list[tuple[str, str, float, tuple[float, float] | None]]
) -> str:
    """(label, series name, value, its 95 % interval) as a dot with whiskers on one row each, against a
    zero line inside the plot: an interval that crosses it is no difference the run can tell from noise.
    A value without an interval is a dot alone. The row labels stand in a column of their own, left of
    the plot, clear of the dots and the grid."""
    height = PAD_T + PAD_B + max(1, len(items)) * ROW_H
    plot_h = height - PAD_T - PAD_B
    pad_l = max(PAD_L, min(260, round(12 + CHAR_W * max((len(i[0]) for i in items), default=0))))
    plot_w = PLOT_W - (pad_l - PAD_L)
    x_axis = interval_axis([v for _, _, v, ci in items for v in (v, *(ci or ()))] + [0.0])
    x_ticks = nice_ticks(x_axis.lo, x_axis.hi, 6)
    parts = _open(title, x_label, "", height, pad_l, plot_w)

    def px(v: float) -> float:
        return pad_l + x_axis.at(v, plot_w)

    for t in x_ticks:
        if not x_axis.lo <= t <= x_axis.hi:
            continue
        kind = ' class="zero" stroke="#888"' if t == 0 else ' stroke="#eee"'
        parts.append(f'<line{kind} x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{PAD_T}" y2="{PAD_T + plot_h}"/>')
        parts.append(f'<text x="{px(t):.1f}" y="{PAD_T + plot_h + 14}" text-anchor="middle">{fmt(t)}</text>')
    entries: dict[str, tuple[str, str, str]] = {}
    for i, (label, name, v, ci) in enumerate(items):
        y = PAD_T + ROW_H / 2 + i * ROW_H
        c = _colour(name, i)
        entries.setdefault(name, (name, c, "circle"))
        bar = ""
        if ci is not None:
            lo, hi = ci
            bar = (
                f'<line x1="{px(lo):.1f}" x2="{px(hi):.1f}" y1="{y}" y2="{y}" stroke="{c}" stroke-width="2"/>'
                f'<line x1="{px(lo):.1f}" x2="{px(lo):.1f}" y1="{y - 5}" y2="{y + 5}" stroke="{c}"/>'
                f'<line x1="{px(hi):.1f}" x2="{px(hi):.1f}" y1="{y - 5}" y2="{y + 5}" stroke="{c}"/>'
            )
        parts.append(
            f'<g class="series" data-series="{escape(label)}" data-interval="{"yes" if ci else "no"}">'
            f"{bar}{_marker('circle', px(v), y, c)}</g>"
        )
        parts.append(f'<text class="row-label" x="6" y="{y + 4}" fill="#444">{escape(label)}</text>')
    parts += _legend(list(entries.values()), "dot: estimate; bar: 95 % CI")
    parts.append("</svg>")
    return "\n".join(parts)
