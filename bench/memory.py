"""Memory of one worker: per idle agent, per active agent, and 10,000 open WebSocket agents
(issue: performance, item 5), uncompressed and with permessage-deflate at each window of
``--deflate-bits`` (each connection then holds a zlib compressor and decompressor: issue #17).

    .venv/bin/python -m bench.memory               # about 2 minutes
    .venv/bin/python -m bench.memory --agents 2000 # a smaller "many agents" step
    .venv/bin/python -m bench.memory --open-only   # only the open-socket steps (plain and deflated)

Idle: each agent has done its first turn and waits in a tool call (connection open, conversation
held). Active: agents back to back against a zero-latency mock (a turn always in flight). The figure
per agent is the worker's resident memory above a one-agent run, divided by the extra agents. An idle
agent makes exactly one turn, so "turns" = agents shows every one of them connected.
"""

from __future__ import annotations

import argparse

from .harness import TASK, banner, mock, run_locust, table

IDLE = ("--tool-latency-scale", "10000", "--tool-latency-jitter", "0")  # turn 0, then hours in a tool


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agents", type=int, default=10_000, help="open WebSocket agents in the last steps")
    p.add_argument("--deflate-bits", default="12,15", help="deflate windows of the open-socket steps")
    p.add_argument("--open-only", action="store_true", help="only the open-socket steps")
    a = p.parse_args()
    banner("Worker memory (resident set of the Locust process)")
    rows = []
    mib = 1 << 20
    with mock("--latency", "zero") as m:
        base = {}
        for s in ("ws",) if a.open_only else ("ws", "http-stateless"):
            one = run_locust(m.url, 1, 3, "--strategy", s, "--task", TASK, *IDLE, mock_proc=m)
            base[s] = one.window.rss
            for n, mode, extra in (
                () if a.open_only else ((1000, "idle", IDLE), (200, "active", ("--tool-latency-scale", "0")))
            ):
                r = run_locust(m.url, n, 5, "--strategy", s, "--task", TASK, *extra, mock_proc=m, spawn_s=2)
                per = (r.window.rss - base[s]) / (n - 1)
                assert r.mock_window is not None  # (mock_proc given)
                rows.append(
                    [
                        s,
                        mode,
                        n,
                        r.turns,
                        r.failed_turns,
                        r.window.rss / mib,
                        per / 1024,
                        r.mock_window.rss / mib,
                    ]
                )
        n = a.agents
        steps: list[tuple[str, tuple[str, ...]]] = [("idle, open sockets", ())] + [
            (f"idle, open sockets, deflate {b} bits", ("--ws-compression", "deflate", "--ws-window-bits", b))
            for b in a.deflate_bits.split(",")
            if b
        ]
        for mode, flags in steps:
            r = run_locust(
                m.url,
                n,
                5,
                "--strategy",
                "ws",
                "--task",
                TASK,
                *IDLE,
                *flags,
                mock_proc=m,
                spawn_s=max(2, n / 500),
            )
            per = (r.window.rss - base["ws"]) / (n - 1)
            mock_mib = r.mock_window.rss / mib if r.mock_window else 0.0
            rows.append(["ws", mode, n, r.turns, r.failed_turns, r.window.rss / mib, per / 1024, mock_mib])
    print(
        table(
            [
                "strategy",
                "agents",
                "count",
                "turns",
                "failed",
                "worker RSS MiB",
                "KiB per agent",
                "mock RSS MiB",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
