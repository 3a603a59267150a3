"""Inline SVG charts for the report: drawn here, in Python, so the HTML page needs no script, no
network and no library to show them (it opens offline, in any browser, and prints)."""

from __future__ import annotations

from html import escape

from ..core.strategies import STRATEGIES

COLOURS = {s.name: s.colour for s in STRATEGIES}
SPARE_COLOURS = ("#2ca02c", "#8c564b", "#e377c2", "#7f7f7f")
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 560, 300, 64, 16, 40, 44


def _colour(name: str, i: int) -> str:
    """The strategy's colour (a label like "ws @ 512 kbit/s" takes its strategy's), else a spare one."""
    return COLOURS.get(name.split(" @ ")[0], SPARE_COLOURS[i % len(SPARE_COLOURS)])


def _ticks(top: float, n: int = 4) -> list[float]:
    return [top * k / n for k in range(n + 1)]


def _fmt(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.3g}M"
    if v >= 1e3:
        return f"{v / 1e3:.3g}k"
    return f"{v:.3g}"


def _frame(title: str, x_label: str, y_label: str, top: float) -> list[str]:
    w, h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11" role="img" aria-label="{escape(title)}">',
        f'<text x="{PAD_L}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{w}" height="{h}" fill="none" stroke="#bbb"/>',
        f'<text x="{PAD_L + w / 2}" y="{H - 6}" text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="12" y="{PAD_T + h / 2}" text-anchor="middle" transform="rotate(-90 12 {PAD_T + h / 2})">'
        f"{escape(y_label)}</text>",
    ]
    for t in _ticks(top):
        y = PAD_T + h - (t / top * h if top else 0)
        parts.append(f'<line x1="{PAD_L}" x2="{PAD_L + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    return parts


def line_chart(title: str, x_label: str, y_label: str, series: dict[str, list[tuple[float, float]]]) -> str:
    """One polyline (with point markers) per series; x values may differ between series."""
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    top = max(ys, default=0.0) * 1.08 or 1.0
    w, h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    span = (x1 - x0) or 1.0

    def px(x: float) -> float:
        return PAD_L + (x - x0) / span * w if x1 > x0 else PAD_L + w / 2

    def py(y: float) -> float:
        return PAD_T + h - y / top * h

    parts = _frame(title, x_label, y_label, top)
    for x in sorted(set(xs)):
        parts.append(f'<text x="{px(x):.1f}" y="{PAD_T + h + 14}" text-anchor="middle">{_fmt(x)}</text>')
    for i, (name, pts) in enumerate(series.items()):
        c = _colour(name, i)
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        parts.append(
            f'<polyline class="series" data-series="{escape(name)}" fill="none" stroke="{c}" '
            f'stroke-width="2" points="{coords}"/>'
        )
        parts += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{c}"/>' for x, y in pts]
        parts.append(
            f'<text x="{PAD_L + 8 + (i % 3) * 150}" y="{PAD_T + 14 + (i // 3) * 14}" fill="{c}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(title: str, y_label: str, bars: dict[str, float]) -> str:
    top = max(bars.values(), default=0.0) * 1.12 or 1.0
    w, h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    n = max(1, len(bars))
    slot = w / n
    parts = _frame(title, "", y_label, top)
    for i, (name, v) in enumerate(bars.items()):
        bh = v / top * h
        x = PAD_L + i * slot + slot * 0.15
        shaded = (
            ' fill-opacity="0.55"' if " @ " in name else ""
        )  # a shaped uplink: its strategy's colour, lighter
        parts.append(
            f'<rect class="series" data-series="{escape(name)}" x="{x:.1f}" y="{PAD_T + h - bh:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{bh:.1f}" fill="{_colour(name, i)}"{shaded}/>'
        )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{PAD_T + h - bh - 4:.1f}" text-anchor="middle">{_fmt(v)}</text>'
        )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{PAD_T + h + 14}" text-anchor="middle">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
