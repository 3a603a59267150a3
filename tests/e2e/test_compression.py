"""Compression on the agents' side (#17, part): WebSocket agents that offer permessage-deflate, as Codex
does, negotiate it with the mock, and HTTP agents send gzip or zstd request bodies, which the mock
reads; the records keep the wire bytes (what TCP carried, equal to the mock's ledger turn by turn) and
the payload bytes (the messages before compression) apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentload.mock import MockProcess
from tests.runlocust import MockedRun, read_records, run_locust

RUN = ("--headless", "-u", "4", "-r", "4", "--run-time", "5s", "--strategy", "ws,ws-stored",
       "--tool-latency-scale", "0", "--reasoning-effort", "none")  # fmt: skip


@pytest.fixture(scope="module")
def deflate_run(tmp_path_factory: pytest.TempPathFactory) -> MockedRun:
    tmp = tmp_path_factory.mktemp("deflate")
    with MockProcess(["--latency", "zero"]) as mock:
        proc, summary = run_locust(
            mock.url, tmp, *RUN, "--ws-compression", "deflate", "--ws-window-bits", "12"
        )
        stats = mock.stats()
    return proc, summary, read_records(tmp / "records.jsonl"), stats


def test_deflate_is_negotiated_and_every_turn_succeeds(deflate_run: MockedRun) -> None:
    proc, summary, records, stats = deflate_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert stats["websocket"]["deflate_connections"] >= 4  # one per agent, at least
    assert all(r["turn_failures"] == 0 and r["tasks"] > 0 for r in summary["rows"])


def check_against_ledger(records: list[dict[str, Any]], stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Every finished turn's wire bytes are the mock's count of them; its payload is larger."""
    exchanges = {e["response_id"]: e for e in stats["exchanges"] if e["response_id"]}
    handshakes = {e["connection"]: e for e in stats["exchanges"] if e["kind"] == "ws-handshake"}
    turns = [r for r in records if r["kind"] == "turn" and r["error_kind"] != "interrupted"]
    assert len(turns) > 50
    for t in turns:
        ex = exchanges[t["response_id"]]
        sent, received = ex["received"], ex["sent"]
        if t["connect_bytes_sent"]:
            hs = handshakes[ex["connection"]]
            sent, received = sent + hs["received"], received + hs["sent"]
        assert (t["bytes_sent"], t["bytes_received"]) == (sent, received), t
        # the messages before compression: more than the compressed frames or bodies that carried them
        # (an HTTP request's head, a few hundred bytes, is on the wire and not in its payload)
        assert t["payload_bytes_sent"] > t["bytes_sent"] - t["connect_bytes_sent"] - 400, t
    return turns


def test_wire_bytes_equal_the_mocks_ledger_and_payload_bytes_are_larger(deflate_run: MockedRun) -> None:
    _, _, records, stats = deflate_run
    turns = check_against_ledger(records, stats)
    for t in turns:  # (frames: no headers to allow for)
        assert t["payload_bytes_sent"] > t["bytes_sent"] - t["connect_bytes_sent"], t
        assert t["payload_bytes_received"] > t["bytes_received"] - t["connect_bytes_received"], t
    sent = sum(t["bytes_sent"] for t in turns)
    payload = sum(t["payload_bytes_sent"] for t in turns)
    assert sent < 0.7 * payload, (sent, payload)  # repetitive JSON with context takeover
    tasks = [r for r in records if r["kind"] == "task" and r["ok"]]
    assert all(r["payload_bytes_sent"] > r["bytes_sent"] for r in tasks)


def test_without_compression_payload_is_the_frames_less_their_headers(tmp_path: Path) -> None:
    with MockProcess(["--latency", "zero"]) as mock:
        proc, _ = run_locust(mock.url, tmp_path, *RUN)
        stats = mock.stats()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert stats["websocket"]["deflate_connections"] == 0
    for t in (r for r in read_records(tmp_path / "records.jsonl") if r["kind"] == "turn" and r["ok"]):
        frames = t["bytes_sent"] - t["connect_bytes_sent"]
        assert 0 < frames - t["payload_bytes_sent"] <= 14, t  # one masked client frame's header


def http_run(tmp_path: Path, *flags: str) -> list[dict[str, Any]]:
    """Two HTTP agents (stateless Responses and chat) for 4 s with ``flags``: every turn succeeds, and
    each finished turn's wire bytes are the mock's count of them."""
    run = ("--headless", "-u", "2", "-r", "2", "--run-time", "4s", "--strategy", "http-stateless,chat",
           "--tool-latency-scale", "0", "--reasoning-effort", "none", *flags)  # fmt: skip
    with MockProcess(["--latency", "zero"]) as mock:
        proc, summary = run_locust(mock.url, tmp_path, *run)
        stats = mock.stats()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert all(r["turn_failures"] == 0 and r["tasks"] > 0 for r in summary["rows"])
    return check_against_ledger(read_records(tmp_path / "records.jsonl"), stats)


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
def test_compressed_http_bodies_are_read_by_the_mock_and_counted_both_ways(
    tmp_path: Path, encoding: str
) -> None:
    turns = http_run(tmp_path, "--http-compression", encoding)
    # a request's payload is its JSON; on the wire it went compressed, headers and all, in less
    assert sum(t["bytes_sent"] for t in turns) < 0.5 * sum(t["payload_bytes_sent"] for t in turns)


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
def test_compressed_replies_when_asked_are_decoded_and_counted_both_ways(
    tmp_path: Path, encoding: str
) -> None:
    """--http-accept-encoding: the mock streams its SSE replies compressed (flushed event by event), the
    agents decode them as they arrive; the wire bytes received equal the mock's ledger, the payload is
    the decoded stream, and every turn's first token still arrives (no event held in a compressor)."""
    turns = http_run(tmp_path, "--http-accept-encoding", encoding)
    assert all(t["ttft_ms"] is not None for t in turns if t["ok"])
    received = sum(t["bytes_received"] for t in turns)
    assert received < 0.6 * sum(t["payload_bytes_received"] for t in turns), received


def test_a_sweep_takes_compression_as_a_dimension(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from tests.paths import ROOT

    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "agentload", "sweep", "--out", str(out), "--strategies", "http-stateless,ws",
         "--agents", "2", "--duration", "4", "--warmup", "0", "--processes", "1", "--task", "fix-failing-test",
         "--compression", "off,deflate+gzip", "--", "--reasoning-effort", "none"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = {r["label"]: r for r in json.loads((out / "report.json").read_text())["rows"]}
    assert set(rows) == {"http-stateless", "ws", "http-stateless [deflate+gzip]", "ws [deflate+gzip]"}
    for s in ("http-stateless", "ws"):
        plain, packed = rows[s], rows[f"{s} [deflate+gzip]"]
        # the same JSON goes out, in far fewer bytes
        assert packed["payload_sent_per_task"] == pytest.approx(plain["payload_sent_per_task"], rel=0.1)
        assert packed["sent_per_task"] < 0.5 * plain["sent_per_task"]
    # each variant's WebSocket row is compared with the stateless row of the same variant
    packed_ws, packed_base = rows["ws [deflate+gzip]"], rows["http-stateless [deflate+gzip]"]
    assert packed_ws["sent_reduction"] == pytest.approx(
        1 - packed_ws["sent_per_task"] / packed_base["sent_per_task"]
    )
    assert "[deflate+gzip]" in (out / "report.html").read_text()
