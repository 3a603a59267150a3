"""Generator capacity and measurement fidelity of one worker core (issue: performance, items 1 and 2).

    .venv/bin/python -m bench.generator            # about 6 minutes
    .venv/bin/python -m bench.generator --quick    # about 2 minutes, fewer steps

1. Zero latency: every strategy (and ws-mux with 8 agents a connection), agents back to back against
   a mock that answers at once. Figures:
   turns/s, stream events/s, the worker's CPU, and events per CPU-second (what one core does when the
   generator is the limit). When the worker is under ~95 % CPU the mock was the limit, and the table
   says so.
2. Realistic pacing (1 s TTFT, 50 tokens/s, the tasks' tool latencies): rising agent counts on one
   worker. Figures: CPU, events/s, and the TTFT error, split in two:
   - measured TTFT - the configured 1000 ms (p50, p99): everything, the mock's own lateness included
     (its timers run late when its core is busy; shown on its own);
   - the generator's error: when the first token reached the worker (the kernel's receive stamp,
     agentload/wire/rxstamp.py) minus when the mock wrote it, both on this machine's clock. The
     baseline, from the same turns: the same taken when the agent read the event (before stamps).
   How many agents one core drives under 70 % CPU, and where its timings degrade.
"""

from __future__ import annotations

import argparse

from .harness import TASK, banner, mock, percentile, run_locust, table

STRATEGIES = ("ws", "ws-stored", "ws-mux", "http-chained", "http-stateless", "chat")
# rows beside one per strategy: ws-mux with 8 agents per Locust user (an engineer's 8 agents on one
# WebSocket, a lane each: its reader greenlet hands every event to its lane)
MUX_ROWS = (("ws-mux x8", "ws-mux", 8),)
TTFT_MS, TPS = 1000.0, 50.0
SPAWN_S = 5.0  # paced agents start over this long, and are measured after


def zero_latency(seconds: float, agents: int, only: tuple[str, ...] = ()) -> None:
    banner(f"Zero latency: {agents} agents per strategy, {seconds:g} s each, task {TASK}")
    rows = []
    runs = [(s, s, 1) for s in only or STRATEGIES] + [r for r in MUX_ROWS if not only or r[1] in only]
    with mock("--latency", "zero") as m:
        for label, s, per_user in runs:
            r = run_locust(
                m.url, agents // per_user, seconds, "--strategy", s, "--task", TASK, "--tool-latency-scale", "0",
                "--agents-per-user", str(per_user), mock_proc=m,
            )  # fmt: skip
            w, mw = r.window, r.mock_window
            assert mw is not None
            limit = "generator" if w.cpu_pct >= 95 else ("mock" if mw.cpu_pct >= 95 else "neither")
            rows.append(
                [
                    label,
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
                served = {x["response_id"]: x for x in m.stats()["exchanges"] if x["first_token_at"]}
                m.reset()
                turns = [x for x in r.records if x["kind"] == "turn" and x["ttft_ms"] is not None]
                both = [(x, served[x["response_id"]]) for x in turns if x["response_id"] in served]
                stamped = [x for x in turns if x["client_lag_ms"] is not None]
                # the generator's own error: its first token's arrival (kernel stamp) minus the mock's
                # write of it, both on this machine's clock; and the same at the time the agent read it
                gen = [(x["started_at"] + x["ttft_ms"] / 1000 - y["first_token_at"]) * 1000 for x, y in both]
                gen_read = [g + (x["client_lag_ms"] or 0.0) for g, (x, _) in zip(gen, both, strict=True)]
                rows.append(
                    [
                        s,
                        n,
                        w.cpu_pct,
                        r.events / w.wall_s,
                        len(turns),
                        100.0 * len(stamped) / max(1, len(turns)),
                        percentile([x["ttft_ms"] - TTFT_MS for x in turns], 50),
                        percentile([x["ttft_ms"] - TTFT_MS for x in turns], 99),
                        percentile([y["ttft_ms"] - TTFT_MS for _, y in both], 99),
                        percentile(gen, 50),
                        percentile(gen, 99),
                        percentile(gen_read, 99),
                        percentile([x["client_lag_ms"] for x in stamped], 99),
                        mw.cpu_pct,
                        r.failed_turns,
                    ]
                )
                print(f"  {s:>15} {n:>5} agents: CPU {w.cpu_pct:3.0f} %, TTFT - configured p99 "
                      f"{rows[-1][7] or 0:.1f} ms, of which the mock is late {rows[-1][8] or 0:.1f} ms; the "
                      f"generator's error p99 {rows[-1][10] or 0:.2f} ms (at read time {rows[-1][11] or 0:.2f} ms), "
                      f"mock CPU {mw.cpu_pct:3.0f} %", flush=True)  # fmt: skip
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
                "stamped %",
                "TTFT - 1000 ms p50",
                "p99",
                "mock's lateness p99",
                "generator error p50",
                "p99",
                "same at read time p99",
                "agent lag p99",
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
