"""The probe's chart: achieved RPM and TPM (each scaled to its own maximum) and the 429 ratio, by step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Step(Protocol):
    """What the chart reads of a measured step (probe.state's StepResult)."""

    agents: int
    rpm: float
    tpm: float
    ratio_429: float


def svg_chart(results: Sequence[Step], width: int = 720, height: int = 360) -> str:
    """Achieved RPM and TPM (each scaled to its own maximum) and the 429 ratio, by agents per step."""
    pad = 50
    w, h = width - 2 * pad, height - 2 * pad
    n = max(1, len(results) - 1)

    def path(values: list[float], top: float) -> str:
        pts = [
            f"{pad + i * w / n:.1f},{pad + h - (v / top if top else 0) * h:.1f}" for i, v in enumerate(values)
        ]
        return " ".join(pts)

    series = [
        ("RPM", [r.rpm for r in results], "#1f77b4"),
        ("TPM", [r.tpm for r in results], "#2ca02c"),
        ("429 ratio", [r.ratio_429 for r in results], "#d62728"),
    ]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="12">',
        f'<rect x="{pad}" y="{pad}" width="{w}" height="{h}" fill="none" stroke="#999"/>',
        f'<text x="{pad}" y="{pad - 20}">agentload probe: achieved rate per step (each line scaled to its max)</text>',
    ]
    for i, r in enumerate(results):
        x = pad + i * w / n
        parts.append(f'<text x="{x:.1f}" y="{pad + h + 18}" text-anchor="middle">{r.agents}</text>')
    parts.append(f'<text x="{pad + w / 2}" y="{height - 8}" text-anchor="middle">agents</text>')
    for k, (name, values, colour) in enumerate(series):
        top = max(values, default=0.0)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path(values, top)}"/>'
        )
        parts.append(
            f'<text x="{pad + 10 + k * 200}" y="{pad + 16}" fill="{colour}">{name} (max {top:.3g})</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
