"""``agentload compare RUN_A RUN_B``: its parser, and the tables it prints and writes."""

from __future__ import annotations

import argparse
import json
import time
from html import escape
from pathlib import Path

from ..core.argparsing import Parser
from ..core.errors import AgentloadError
from ..core.link import link_order
from ..core.paths import check_output_folder
from ..core.strategies import order
from ..metrics.format import Fmt, text
from .diff import FIGURES, Difference, differences, parse_tolerances
from .runs import Run, load_run

_FIGURE_FMT = {"task_s": Fmt.S2, "task_s_p50": Fmt.S2, "task_s_p90": Fmt.S2, "sent_per_task": Fmt.KB1}
_UNITS = {"sent_per_task": "KB"}


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "compare",
        help="two runs or sweeps side by side: the differences with their 95 %% intervals; a regression gate",
        description="RUN_A and RUN_B are sweep folders (cells.jsonl) or records files of plain runs "
        "(--records FILE; the workers' files beside it are read too). Each strategy in both is compared "
        "figure by figure: B / A - 1, with a 95 % interval by a seeded bootstrap. Writes compare.md, "
        "compare.html and compare.json to --out.",
    )
    p.add_argument(
        "run_a", type=Path, metavar="RUN_A", help="the reference run (a sweep folder or records file)"
    )
    p.add_argument("run_b", type=Path, metavar="RUN_B", help="the run compared with it")
    p.add_argument(
        "--fail-if-worse",
        default="",
        metavar="FIGURE=N%,...",
        help="exit 1 when B's figure is more than N %% above A's in any strategy, e.g. ttft_p99_ms=10%%,task_s=5%% "
        f"(figures: {', '.join(FIGURES)})",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="folder for the tables (default runs/compare-TIMESTAMP)"
    )
    p.set_defaults(run=run)


def _value(figure: str, v: float | None) -> str:
    return text(v, _FIGURE_FMT.get(figure, Fmt.MS))


def _change(d: Difference) -> str:
    if d.change is None:
        return "-"
    ci = (-d.ci[1], -d.ci[0]) if d.ci is not None else None  # shown as a reduction's text shows it
    return text((-d.change, ci), Fmt.CHANGE_CI)


def _gate(d: Difference) -> str:
    if d.tolerance is None:
        return ""
    return f"WORSE (> +{100 * d.tolerance:g} %)" if d.worse else f"ok (<= +{100 * d.tolerance:g} %)"


def _rows(diffs: list[Difference]) -> list[list[str]]:
    return [
        [d.label, d.figure + (f" ({_UNITS[d.figure]})" if d.figure in _UNITS else ""), _value(d.figure, d.a),
         _value(d.figure, d.b), _change(d), _gate(d)]
        for d in diffs
    ]  # fmt: skip


HEAD = ["strategy", "figure", "A", "B", "B vs A (95 % CI)", "--fail-if-worse"]


def markdown(diffs: list[Difference]) -> str:
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    lines += ["| " + " | ".join(r) + " |" for r in _rows(diffs)]
    return "\n".join(lines)


def html(a: Run, b: Run, diffs: list[Difference], verdict: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in HEAD)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in _rows(diffs))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>agentload compare</title>
<style>body {{ font-family: sans-serif; margin: 24px; }} table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th:nth-child(-n+2), td:nth-child(-n+2) {{ text-align: left; }}</style></head><body>
<h1>agentload compare</h1>
<dl id="runs"><dt>A</dt><dd>{escape(str(a.path))} ({a.kind})</dd><dt>B</dt><dd>{escape(str(b.path))} ({b.kind})</dd></dl>
<p>B vs A is B / A - 1: every figure here is better lower, so a positive change is B worse. The 95 %
interval is a seeded bootstrap of both runs' samples; "n.s." marks one that spans 0.</p>
<p id="verdict">{escape(verdict)}</p>
<table id="compare"><tr>{head}</tr>{body}</table>
</body></html>
"""


def run(args: argparse.Namespace) -> int:
    tolerances = parse_tolerances(args.fail_if_worse)
    out = args.out or Path("runs") / time.strftime("compare-%Y%m%d-%H%M%S")
    check_output_folder("--out", out)  # (before the runs are read: a mistake here costs nothing)
    a, b = load_run(args.run_a), load_run(args.run_b)
    common = sorted(
        set(a.groups) & set(b.groups),
        key=lambda k: (link_order(a.groups[k].link), order(a.groups[k].strategy)),
    )
    if not common:
        raise AgentloadError(
            f"compare: {args.run_a} ({', '.join(a.groups)}) and {args.run_b} ({', '.join(b.groups)}) share no "
            "strategy; compare runs of the same strategies"
        )
    diffs: list[Difference] = []
    for label in common:
        sa, sb = a.groups[label].samples, b.groups[label].samples
        assert sa is not None and sb is not None
        diffs += differences(label, sa, sb, tolerances)
    worse = [d for d in diffs if d.worse]
    only = sorted(set(a.groups) ^ set(b.groups))
    if worse:
        verdict = "WORSE: " + "; ".join(f"{d.label} {d.figure} {_change(d)}" for d in worse)
    elif tolerances:
        verdict = "within every tolerance (" + args.fail_if_worse + ")"
    else:
        verdict = "no --fail-if-worse given: differences only"
    try:
        out.mkdir(parents=True, exist_ok=True)
        table = markdown(diffs)
        (out / "compare.md").write_text(table + "\n\n" + verdict + "\n")
        (out / "compare.html").write_text(html(a, b, diffs, verdict))
        doc = {"a": str(a.path), "b": str(b.path), "only_in_one": only, "verdict": verdict,
               "worse": bool(worse), "differences": [d.as_dict() for d in diffs]}  # fmt: skip
        (out / "compare.json").write_text(json.dumps(doc, indent=2))
    except OSError as e:
        raise AgentloadError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    print(table)
    if only:
        print(f"\nin one run only (not compared): {', '.join(only)}")
    print(f"\nagentload compare: {verdict}\ncompare: {out / 'compare.html'} (and compare.md, compare.json)")
    return 1 if worse else 0
