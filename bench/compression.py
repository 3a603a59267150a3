"""What compression costs the generator: events and turns per CPU-second of one worker with its
agents' compression on and off, against a zero-latency mock, alternating runs of the same code (the
uncompressed run of each strategy is the baseline its ratio is against).

    .venv/bin/python -m bench.compression           # about 2 minutes

The worker compresses what it sends (permessage-deflate frames, gzip or zstd bodies) and inflates what
a deflating server sends it; bytes on the wire and payload bytes are both printed per turn.
"""

from __future__ import annotations

import statistics

from .harness import TASK, banner, mock, run_locust, table

VARIANTS = (
    ("ws", ()),
    ("ws", ("--ws-compression", "deflate")),
    ("ws", ("--ws-compression", "deflate", "--ws-window-bits", "15")),
    ("http-stateless", ()),
    ("http-stateless", ("--http-compression", "gzip")),
    ("http-stateless", ("--http-compression", "zstd")),
)
ROUNDS, SECONDS, AGENTS = 2, 8.0, 20


def main() -> None:
    banner(
        f"Compression: {AGENTS} agents, zero latency, {SECONDS:g} s runs, {ROUNDS} alternating rounds, task {TASK}"
    )
    per_cpu: dict[int, list[float]] = {i: [] for i in range(len(VARIANTS))}
    wire: dict[int, tuple[float, float]] = {}
    with mock("--latency", "zero") as m:
        for _ in range(ROUNDS):
            for i, (strategy, extra) in enumerate(VARIANTS):
                r = run_locust(m.url, AGENTS, SECONDS, "--strategy", strategy, "--task", TASK,
                               "--tool-latency-scale", "0", "--reasoning-effort", "none", *extra,
                               mock_proc=m, records=True)  # fmt: skip
                per_cpu[i].append(r.events / r.window.cpu_s)
                turns = [t for t in r.records if t["kind"] == "turn" and t["ok"]]
                if turns:
                    wire[i] = (statistics.fmean(t["bytes_sent"] for t in turns),
                               statistics.fmean(t["payload_bytes_sent"] for t in turns))  # fmt: skip
    rows = []
    for i, (strategy, extra) in enumerate(VARIANTS):
        base = next(j for j, (s, e) in enumerate(VARIANTS) if s == strategy and not e)
        best, base_best = max(per_cpu[i]), max(per_cpu[base])
        sent, payload = wire.get(i, (0.0, 0.0))
        rows.append([strategy, " ".join(extra) or "off", best, f"{best / base_best:.2f}x", sent, payload])
    print(table(["strategy", "compression", "events per CPU-s (best)", "vs off", "bytes sent/turn",
                 "payload bytes/turn"], rows))  # fmt: skip


if __name__ == "__main__":
    main()
