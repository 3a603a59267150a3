"""Generator capacity and measurement fidelity of one worker core (issue: performance, items 1 and 2).

    .venv/bin/python -m bench.generator            # about 6 minutes
    .venv/bin/python -m bench.generator --quick    # about 2 minutes, fewer steps

1. Zero latency: every strategy, agents back to back against a mock that answers at once. Figures:
   turns/s, stream events/s, the worker's CPU, and events per CPU-second (what one core does when the
   generator is the limit). When the worker is under ~95 % CPU the mock was the limit, and the table
   says so.
2. Realistic pacing (1 s TTFT, 50 tokens/s, the tasks' tool latencies): rising agent counts on one
   worker. Figures: CPU, events/s, and TTFT error = measured TTFT - the mock's configured 1000 ms
   (p50, p99): how many agents one core drives under 70 % CPU, and where its timings degrade.
"""

from __future__ import annotations

import argparse

from .harness import TASK, banner, mock, percentile, run_locust, table

STRATEGIES = ("ws", "ws-stored", "http-chained", "http-stateless", "chat")
TTFT_MS, TPS = 1000.0, 50.0
SPAWN_S = 5.0  # paced agents start over this long, and are measured after


def zero_latency(seconds: float, agents: int) -> None:
    banner(f"Zero latency: {agents} agents per strategy, {seconds:g} s each, task {TASK}")
    rows = []
    with mock("--latency", "zero") as m:
        for s in STRATEGIES:
            r = run_locust(
                m.url, agents, seconds, "--strategy", s, "--task", TASK, "--tool-latency-scale", "0",
                mock_proc=m,
            )  # fmt: skip
            w, mw = r.window, r.mock_window
            assert mw is not None
            limit = "generator" if w.cpu_pct >= 95 else ("mock" if mw.cpu_pct >= 95 else "neither")
            rows.append(
                [
                    s,
                    r.turns / w.wall_s,
                    r.events / w.wall_s,
                    w.cpu_pct,
                    r.events / w.cpu_s,
                    r.turns / w.cpu_s,
                    mw.cpu_pct,
                    limit,
                    r.failed_turns,
                ]
            )
    print(
        table(
            [
                "strategy",
                "turns/s",
                "events/s",
                "worker CPU %",
                "events per CPU-s",
                "turns per CPU-s",
                "mock CPU %",
                "limit",
                "failed turns",
            ],
            rows,
        )
    )


def paced(strategies: list[str], steps: list[int], seconds: float) -> None:
    banner(
        f"Realistic pacing: TTFT {TTFT_MS:g} ms, {TPS:g} tokens/s, task tool latencies; {seconds:g} s a step"
    )
    rows = []
    mock_args = ("--ttft-ms", str(TTFT_MS), "--output-tps", str(TPS), "--prefill-ms-per-1k", "0")
    with mock(*mock_args, "--cached-ms-per-1k", "0") as m:
        for s in strategies:
            for n in steps:
                r = run_locust(
                    m.url, n, seconds, "--strategy", s, "--task", TASK, mock_proc=m, records=True,
                    spawn_s=SPAWN_S,
                )  # fmt: skip
                w, mw = r.window, r.mock_window
                assert mw is not None
                mock_ttft = {x["response_id"]: x["ttft_ms"] for x in m.stats()["exchanges"] if x["ttft_ms"]}
                m.reset()
                turns = [x for x in r.records if x["kind"] == "turn" and x["ttft_ms"] is not None]
                vs_config = [x["ttft_ms"] - TTFT_MS for x in turns]
                vs_mock = [
                    x["ttft_ms"] - mock_ttft[x["response_id"]] for x in turns if x["response_id"] in mock_ttft
                ]
                rows.append(
                    [
                        s,
                        n,
                        w.cpu_pct,
                        r.events / w.wall_s,
                        len(turns),
                        percentile(vs_config, 50),
                        percentile(vs_config, 99),
                        percentile(vs_mock, 50),
                        percentile(vs_mock, 99),
                        mw.cpu_pct,
                        r.failed_turns,
                    ]
                )
                print(f"  {s:>15} {n:>5} agents: CPU {w.cpu_pct:3.0f} %, TTFT error p99 {rows[-1][6] or 0:.1f} ms "
                      f"(vs the mock's send {rows[-1][8] or 0:.1f} ms), mock CPU {mw.cpu_pct:3.0f} %", flush=True)  # fmt: skip
                if w.cpu_pct > 95:
                    break
    print()
    print(
        table(
            [
                "strategy",
                "agents",
                "worker CPU %",
                "events/s",
                "turns",
                "TTFT - 1000 ms p50",
                "p99",
                "TTFT - mock's send p50",
                "p99",
                "mock CPU %",
                "failed turns",
            ],
            rows,
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer and shorter steps")
    a = p.parse_args()
    if a.quick:
        zero_latency(5, 32)
        paced(["ws"], [100, 400, 1000], 10)
    else:
        zero_latency(10, 32)
        paced(["ws", "http-stateless"], [100, 250, 500, 1000, 1500, 2000], 15)


if __name__ == "__main__":
    main()
