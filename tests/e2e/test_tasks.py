"""Options that name a bad task (or a bad strategy, host or InfluxDB setting) stop a run at start with
one line; the task files' own checks are tests/unit/test_tasks.py."""

from __future__ import annotations

import pytest

from tests.runlocust import run_briefly


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--host", "http://127.0.0.1:9", "--strategy", "websocket"], "--strategy"),
        (["--host", "http://127.0.0.1:9", "--task", "no-such-task"], "no-such-task"),
        (["--host", "https://api.example.com"], "OPENAI_API_KEY"),
        (["--host", "ftp://127.0.0.1"], "--host"),
        (["--host", "http://127.0.0.1:9", "--influx-url", "udp://127.0.0.1:8089"], "--influx-url"),
        (["--host", "http://127.0.0.1:9", "--influx-url", "http://127.0.0.1:8086"], "--influx-org"),
        (
            ["--host", "http://127.0.0.1:9", "--influx-url", "http://127.0.0.1:8086", "--influx-db", "x"]
            + ["--influx-batch", "100", "--influx-buffer", "10"],
            "--influx-buffer",
        ),
    ],
)
def test_bad_options_fail_at_start_with_one_line(args: list[str], needle: str) -> None:
    env_free = run_briefly(*args)
    assert env_free.returncode == 2, env_free.stderr[-2000:]
    assert needle in env_free.stderr and "Traceback" not in env_free.stderr
