"""The mock server's own capacity: stream events per CPU-second of its one core (issue: performance, 4).

    .venv/bin/python -m bench.mock_capacity        # about 2 minutes

The mock is one asyncio process on one core. Past these rates it, not the generator or the system
under test, is the limit of a rehearsal: run several mocks behind different --host values, or fewer
agents. Two regimes: zero latency (events due together go out in one write) and realistic pacing
(each token is written when it is due, so every event is a write of its own).
"""

from __future__ import annotations

from .harness import TASK, banner, mock, run_locust, table


def main() -> None:
    banner("Mock capacity")
    rows = []
    with mock("--latency", "zero") as m:
        for s in ("ws", "http-chained", "http-stateless", "chat"):
            r = run_locust(
                m.url, 32, 8, "--strategy", s, "--task", TASK, "--tool-latency-scale", "0", mock_proc=m
            )
            mw = r.mock_window
            assert mw is not None
            rows.append(
                [
                    f"zero latency, {s}",
                    r.events / mw.wall_s,
                    mw.cpu_pct,
                    r.events / mw.cpu_s,
                    r.turns / mw.cpu_s,
                ]
            )
    paced = ("--ttft-ms", "1000", "--output-tps", "50", "--prefill-ms-per-1k", "0", "--cached-ms-per-1k", "0")
    with mock(*paced) as m:
        for s, n in (("ws", 1200), ("http-stateless", 800)):
            r = run_locust(m.url, n, 10, "--strategy", s, "--task", TASK, mock_proc=m, spawn_s=5)
            mw = r.mock_window
            assert mw is not None
            rows.append(
                [
                    f"50 tokens/s, {s}, {n} agents",
                    r.events / mw.wall_s,
                    mw.cpu_pct,
                    r.events / mw.cpu_s,
                    r.turns / mw.cpu_s,
                ]
            )
    print(table(["load", "events/s", "mock CPU %", "events per mock CPU-s", "turns per mock CPU-s"], rows))


if __name__ == "__main__":
    main()
