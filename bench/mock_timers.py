"""How late the mock's paced events go out: asyncio's default loop against the mock's on-time timers.

    .venv/bin/python -m bench.mock_timers          # about 1 minute

The mock paces every token with a timer. asyncio's epoll loop sleeps in whole milliseconds rounded
up, so each event goes out up to 1 ms after its time; the mock's loop (agentload/mock/timers.py)
also arms a timerfd at the deadline. Same run, same work, one loop after the other: N streams each
pacing tokens at 50 tokens/s, plus the one-off 1 s waits a first token takes, in one process pinned
to one core. Figures: how late each timer fired (p50, p99, p99.9, max) and the loop's CPU.
"""

from __future__ import annotations

import asyncio
import os
import random
import time

from agentload.mock.timers import precise_loop

from .harness import MOCK_CORE, banner, percentile, pin, table

TOKEN_S = 1 / 50  # 50 tokens/s
SECONDS = 8.0


async def _stream(lates: list[float], until: float, first_token: bool) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(random.random() * TOKEN_S)  # streams out of step, as agents are
    while loop.time() < until:
        delay = 1.0 if first_token else TOKEN_S
        due = loop.time() + delay
        await asyncio.sleep(delay)
        lates.append((loop.time() - due) * 1000)
        first_token = False


async def _run(streams: int) -> tuple[list[float], float]:
    loop = asyncio.get_running_loop()
    lates: list[float] = []
    until = loop.time() + SECONDS
    cpu = time.process_time()
    await asyncio.gather(*(_stream(lates, until, i % 20 == 0) for i in range(streams)))
    return lates, 100 * (time.process_time() - cpu) / SECONDS


def main() -> None:
    banner(f"Mock timers: lateness of paced events, {SECONDS:g} s a row, one core")
    pin(os.getpid(), MOCK_CORE)  # where the mock runs in the other benchmarks
    rows = []
    for streams in (10, 250, 1000):
        for name, factory in (
            ("asyncio default", asyncio.new_event_loop),
            ("on-time (timerfd)", precise_loop),
        ):
            with asyncio.Runner(loop_factory=factory) as runner:
                lates, cpu = runner.run(_run(streams))
            rows.append(
                [name, streams, len(lates), *(percentile(lates, q) for q in (50, 99, 99.9)), max(lates), cpu]
            )
            print(
                f"  {name:>18} {streams:>5} streams: p99 late {rows[-1][4]:.3f} ms, CPU {cpu:.0f} %",
                flush=True,
            )
    print()
    print(table(["loop", "streams", "timers", "late p50 ms", "p99", "p99.9", "max", "CPU %"], rows))


if __name__ == "__main__":
    main()
