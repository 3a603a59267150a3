"""Rate limits: the mock enforces them like OpenAI (checked with the official SDK), agents honor them,
and the probe finds each limit within 10 %, unless its generator stalled, which it then says."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import openai
import pytest

from agentload.client.wire.counting import WireCounter
from agentload.client.wire.websocket import WsConnection, WsHandshakeError
from agentload.core.rate_headers import RateLimitInfo, parse_go_duration
from agentload.mock import MockProcess
from tests.paths import ROOT
from tests.runlocust import read_records, run_locust
from tests.servers import wait_for

LIMITS = ("--rpm", "600", "--tpm", "200000", "--max-connections", "50")
MOCK = ("--latency", "zero", "--ttft-ms", "20", *LIMITS)
HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)


def test_headers_and_429s_as_the_sdk_sees_them(start_mock: Callable[..., MockProcess]) -> None:
    mock = start_mock("--latency", "zero", "--rpm", "60", "--tpm", "100000", "--max-connections", "1")
    client = openai.OpenAI(base_url=mock.url + "/v1", api_key="k", max_retries=0)
    raw = client.responses.with_raw_response.create(model="gpt-5.4", input="hi")
    for h in HEADERS:
        assert h in raw.headers, h
    assert raw.headers["x-ratelimit-limit-requests"] == "60"
    assert parse_go_duration(raw.headers["x-ratelimit-reset-requests"]) is not None
    raw.parse()  # the body still parses

    with pytest.raises(openai.RateLimitError) as e:  # 60 RPM = one request per second: the next is over
        client.responses.create(model="gpt-5.4", input="hi")
    err = e.value
    assert err.status_code == 429 and err.code == "rate_limit_exceeded" and err.type == "requests"
    assert "Limit 60, Used" in err.message and "Please try again in" in err.message
    info = RateLimitInfo.from_headers({k.lower(): v for k, v in err.response.headers.items()})
    assert info.retry_after_ms is not None and 0 < info.retry_after_ms <= 1000
    assert info.remaining_requests is not None and info.remaining_requests < 60  # budget spent (refilling)

    # a request larger than the whole TPM budget
    big = "x" * 500_000
    with pytest.raises(openai.RateLimitError) as e2:
        openai.OpenAI(base_url=mock.url + "/v1", api_key="other-key", max_retries=0).responses.create(
            model="gpt-5.4", input=big
        )
    assert e2.value.type == "tokens" and "Request too large" in e2.value.message

    # one WebSocket connection per key: the second is refused at the upgrade with 429 and the headers
    url = mock.url.replace("http://", "ws://") + "/v1/responses"
    auth = {"Authorization": "Bearer k2"}
    first = WsConnection(url, auth, WireCounter(), network_timeout=5)
    first.connect()
    try:
        second = WsConnection(url, auth, WireCounter(), network_timeout=5)
        with pytest.raises(WsHandshakeError) as refused:
            second.connect()
        assert refused.value.status == 429
        assert "x-ratelimit-remaining-requests" in refused.value.headers
        assert json.loads(refused.value.body)["error"]["type"] == "connections"
        # on the open socket, over RPM: an error event with status 429 and headers in both places
        events = []
        for _ in range(2):
            first.send_text(
                json.dumps({"type": "response.create", "model": "gpt-5.4", "input": "hi"}).encode()
            )
            while True:
                ev = json.loads(first.recv_message())
                if ev["type"] in ("response.completed", "error"):
                    events.append(ev)
                    break
        err_ev = events[-1]
        assert err_ev["type"] == "error" and err_ev["status"] == 429
        assert "retry-after-ms" in err_ev["headers"] and "retry-after-ms" in err_ev["error"]["headers"]
    finally:
        first.close()


def test_honoring_429s_at_twice_the_limit_fails_nothing_else(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    mock = start_mock(*MOCK)
    # 20 agents x 1 task/s of one request = 1200 requests per minute against 600 RPM
    proc, _ = run_locust(
        mock.url,
        tmp_path,
        "-u",
        "20",
        "-r",
        "20",
        "--run-time",
        "8s",
        "--strategy",
        "http-stateless",
        "--task",
        "probe-requests",
        "--task-rate",
        "1",
        "--on-429",
        "honor",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = read_records(tmp_path / "records.jsonl")
    turns = [r for r in recs if r["kind"] == "turn"]
    tasks = [r for r in recs if r["kind"] == "task"]
    limited = [t for t in turns if t["error_kind"] == "rate_limited"]
    assert limited, "twice the limit met no 429"
    # besides the 429s, only what the run's stop cut off (an agent waiting out a 429 at the end)
    assert all(t["ok"] or t["error_kind"] in ("rate_limited", "interrupted") for t in turns)
    assert tasks and all(t["ok"] or t["error_kind"] == "interrupted" for t in tasks)
    assert sum(not t["ok"] for t in tasks) < len(tasks) / 10
    assert all(t["wait_ms"] >= t["retry_after_ms"] for t in limited)  # waited at least what was asked
    assert sum(t["rate_limited"] for t in tasks) == len(limited)
    ok = [t for t in turns if t["ok"]]
    assert all(t["rl_remaining_requests"] is not None for t in ok)
    assert "rate-limited attempts waited out" in proc.stdout


PROBES = {
    # limit: (expected, probe options)
    "requests": (
        600,
        ["--strategy", "http-stateless", "--task", "probe-requests", "--task-rate", "1"]
        + ["--probe-steps", "4,8,14"],
    ),
    "tokens": (
        200_000,
        ["--strategy", "http-stateless", "--task", "probe-tokens", "--task-rate", "1"]
        + ["--probe-steps", "1,2,5"],
    ),
    "connections": (
        50,
        ["--strategy", "ws", "--task", "probe-requests", "--task-rate", "0.1"]
        + ["--probe-steps", "20,40,60", "--probe-spawn-rate", "5"],
    ),
}


STALL_S = 2.5  # how long the stalled probe's generator is paused in its limit step's measured window


def _started(records: Path) -> list[float]:
    """When each turn recorded so far started (the records file is written task by task)."""
    if not records.exists():
        return []
    return [
        json.loads(line)["started_at"] for line in records.read_text().splitlines() if '"kind":"turn"' in line
    ]


def test_the_probe_finds_each_limit_within_ten_percent_or_says_it_could_not(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    """Three bounded probes at once, each against its own mock configured with 600 RPM, 200k TPM and
    50 connections: each reports the limit its workload meets first, within 10 %. The figure is the
    rate the limit step achieved, which is the limit only while the generator keeps asking: a busy
    machine that stalls the generator makes it less (a 2 s stall in the 9 s window read 160,867 TPM).
    The probe watches its own event loop for that; where it stalled, the probe must say so and report
    what it met as a lower bound, never as the limit. A fourth probe, the token one again, is paused
    for STALL_S inside its limit step's window, as a starved machine would pause it: it must say so."""
    runs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for kind, (_, opts) in [*PROBES.items(), ("stalled", PROBES["tokens"])]:
        mock = start_mock(*MOCK)
        out = tmp_path / kind
        cmd = [sys.executable, "-m", "agentload", "probe", "--host", mock.url, "--only-summary"]
        # a 9 s measured window per step (its whole seconds): one 1,270-token turn more or less is 4 %
        cmd += ["--probe-hold", "16", "--probe-warmup", "6", "--probe-out", str(out), "--run-time", "90s"]
        cmd += ["--records", str(tmp_path / f"{kind}.jsonl")]
        with (
            (tmp_path / f"{kind}.out").open("w") as out_file,
            (tmp_path / f"{kind}.err").open("w") as err_file,
        ):
            runs[kind] = (subprocess.Popen(cmd + opts, cwd=ROOT, stdout=out_file, stderr=err_file), out)

    # the stalled one: its step 3 (5 agents, 38 to 48 s from the start) measures from 38 s; pause it at 40 s
    stalled, records = runs["stalled"][0], tmp_path / "stalled.jsonl"
    first = min(wait_for(lambda: _started(records), 60, "the stalled probe's first turn"))
    wait_for(lambda: max(_started(records)) >= first + 40, 90, "the stalled probe 2 s into step 3's window")
    stalled.send_signal(signal.SIGSTOP)
    try:
        time.sleep(STALL_S)  # the stall itself (what is checked is what the probe then reports)
    finally:
        stalled.send_signal(signal.SIGCONT)

    for kind, (proc, out) in runs.items():
        proc.wait(120)
        stdout, stderr = (tmp_path / f"{kind}.out").read_text(), (tmp_path / f"{kind}.err").read_text()
        assert proc.returncode == 0, f"{kind}: {stderr[-3000:]}"
        report = json.loads((out / "probe.json").read_text())
        expected = PROBES["tokens" if kind == "stalled" else kind][0]
        steps, knee, found = report["steps"], report["knee"], report["limits_found"]
        assert (out / "probe.svg").read_text().startswith("<svg")
        assert steps[-1]["sustainable"] is False and (knee is None or knee["agents"] < steps[-1]["agents"])
        if kind == "stalled":  # paused in step 3's window: step 3 is the one the probe distrusts
            assert report["generator_bound"] and steps[-1]["step"] == 3, steps
            assert steps[-1]["generator_stall_max_s"] >= STALL_S - 0.5, steps
        if report["generator_bound"]:  # it could not drive a step: it says so, and reports no limit
            assert steps[-1]["generator_bound"] and found == {}, report
            bounds = report["lower_bounds"]  # what that step met, if it met a limit at all
            assert list(bounds)[:1] in ([], ["tokens" if kind == "stalled" else kind]), f"{kind}: {report}"
            # the paused probe met the token limit first; its agents' burst once it went on may also meet
            # the request limit (both reported as lower bounds, never as limits)
            assert kind != "stalled" or list(bounds)[:1] == ["tokens"], report
            assert all(value < expected * 1.1 for value in bounds.values()), bounds
            assert "limit not measured" in stdout and "limit found" not in stdout, stdout[-2000:]
            continue
        assert not any(s["generator_bound"] for s in steps) and report["lower_bounds"] == {}, steps
        assert list(found)[:1] == [kind], f"{kind}: the probe met {found}: {stdout[-2000:]}"
        assert found[kind] == pytest.approx(expected, rel=0.10), f"{kind}: {steps}"
        assert knee is not None and "limit found" in stdout
