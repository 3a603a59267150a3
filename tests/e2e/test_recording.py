"""Real agent sessions as workloads, end to end: Codex CLI's sessions recorded through ``agentload
record`` against the mock (over WebSocket mode and over HTTP), the task files it writes validated and
replayed by agentload's own agents (a WebSocket replay within 5 % of the recorded bytes per turn; the
same file as ``http-stateless``), the rollout Codex wrote for the session imported into the same turns
and calls, and no key in anything either writes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from agentload.mock import MockProcess
from agentload.workload import load_task
from tests.e2e.test_codex import DUMMY_KEY, codex, run_codex  # noqa: F401  (codex: the fixture)
from tests.runlocust import read_records, run_locust

AGENTLOAD = [sys.executable, "-m", "agentload"]


class Recorder:
    """``agentload record`` in a process of its own, stopped by SIGINT as a user stops it."""

    def __init__(self, upstream: str, out: Path, *args: str) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [*AGENTLOAD, "record", "--port", "0", "--upstream", upstream, "--out", str(out), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        line = self.proc.stdout.readline()
        assert "listening on" in line, (line, self.proc.stderr.read() if self.proc.poll() is not None else "")
        self.url = line.split()[4]

    def stop(self) -> tuple[str, str]:
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        assert "Traceback" not in err, err
        return out, err


def task_files(out: Path) -> list[Path]:
    return sorted(out.glob("*.yaml"))


def no_key_in(*folders: Path) -> None:
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert DUMMY_KEY.encode() not in path.read_bytes(), path


def recorded_codex(
    codex: Path,  # noqa: F811
    start_mock: Callable[..., MockProcess],
    root: Path,
    websockets: bool,
    *mock_args: str,
) -> tuple[Path, str, Path]:
    """One Codex session through the recorder; the task file it wrote, the recorder's stdout, Codex's home."""
    mock = start_mock("--latency", "zero", *mock_args)
    rec = Recorder(mock.url, root / "tasks", "--name", "codex")
    events, home = run_codex(codex, rec.url, root, websockets)
    assert any(e["type"] == "turn.completed" for e in events)
    out, _ = rec.stop()
    files = task_files(root / "tasks")
    assert len(files) == 1, (files, out)
    return files[0], out, home


def replay(
    start_mock: Callable[..., MockProcess], task: Path, tmp: Path, strategy: str, *args: str
) -> list[dict[str, Any]]:
    """The task file replayed by one agentload agent against a mock that plays it; the turn records of
    its first task (which must have completed: a 4 s run of a zero-latency replay does many)."""
    mock = start_mock("--latency", "zero", "--task", str(task))
    tmp.mkdir()
    proc, summary = run_locust(
        mock.url, tmp, "--headless", "-u", "1", "-r", "1", "--run-time", "4s", "--strategy", strategy,
        "--task", str(task), "--tool-latency-scale", "0", *args, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    profile = args[args.index("--client-profile") + 1] if "--client-profile" in args else None
    if not profile:  # the task's own
        recorded_profile = load_task(str(task)).client_profile
        assert recorded_profile is not None
        profile = recorded_profile.name
    assert summary["client_profiles"] == [profile], summary
    records = read_records(tmp / "records.jsonl")
    first = [r for r in records if r["kind"] == "task" and r["task_seq"] == 1]
    assert first and first[0]["ok"], first
    turns = [r for r in records if r["kind"] == "turn" and r["task_seq"] == 1]
    assert turns and all(t["ok"] for t in turns), turns
    return turns


def recorded_turns(task: Path) -> list[dict[str, Any]]:
    doc = yaml.safe_load(task.read_text())
    return [t["recorded"] for t in doc["turns"]] + [doc["recorded"]["final_turn"]]


def test_codex_over_websocket_recorded_replayed_and_imported(
    codex: Path,  # noqa: F811
    start_mock: Callable[..., MockProcess],
    tmp_path: Path,
) -> None:
    # uncompressed frames (the mock declines permessage-deflate), so wire bytes compare turn by turn
    task, out, home = recorded_codex(codex, start_mock, tmp_path, True, "--ws-compression", "off")
    t = load_task(str(task))  # validates
    doc = yaml.safe_load(task.read_text())
    assert doc["recorded"]["via"] == "ws" and doc["recorded"]["strategy"] == "ws", doc["recorded"]
    assert doc["recorded"]["client"].startswith("codex"), doc["recorded"]
    assert len(t.turns) >= 4 and all(turn.calls for turn in t.turns)
    p = t.client_profile
    assert p is not None and p.resend_tools and p.ws_warmup and p.ws_stream and p.item_ids
    assert dict(p.client_metadata).get("x-codex-turn-metadata", 0) > 100, p.client_metadata
    assert t.context and t.context[0].warmup and t.context[0].role == "developer"
    assert sum(len(json.dumps(x)) for x in t.tools) > 8_000  # Codex's own tools, as it declared them
    assert "5 turn(s)" in out or f"{len(t.turns) + 1} turn(s)" in out, out

    # a WebSocket replay sends, turn by turn, within 5 % of what Codex sent
    rec = recorded_turns(task)
    turns = replay(start_mock, task, tmp_path / "ws", "ws")
    assert len(turns) == len(rec)
    for got in turns:
        want = rec[got["turn"]]["bytes_sent"]
        assert abs(got["bytes_sent"] / want - 1) < 0.05, (got["turn"], got["bytes_sent"], want)
    assert turns[0]["warmup"] and turns[0]["profile"] == p.name

    # the same file as stateless HTTP: every turn resends the history, so each sends more than the last
    http = replay(start_mock, task, tmp_path / "http", "http-stateless")
    sent = [r["bytes_sent"] for r in sorted(http, key=lambda r: r["turn"])]
    assert len(sent) == len(rec) and sent == sorted(sent) and sent[-1] > 2 * rec[-1]["bytes_sent"], sent

    # Codex's own rollout of the session, imported: the same turns and calls, outputs of the same size
    rollout = next((home / "sessions").rglob("rollout-*.jsonl"))
    imported_dir = tmp_path / "imported"
    proc = subprocess.run(
        [*AGENTLOAD, "import", str(rollout), "--out", str(imported_dir), "--tools-from", str(task)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    imported = load_task(str(task_files(imported_dir)[0]))
    assert [[(c.tool, len(c.arguments), c.result.bytes) for c in turn.calls] for turn in imported.turns] == [
        [(c.tool, len(c.arguments), c.result.bytes) for c in turn.calls] for turn in t.turns
    ]
    assert imported.tools == t.tools and imported.client_profile is not None
    no_key_in(tmp_path / "tasks", imported_dir)


def test_codex_over_http_recorded_and_replayed_over_websocket(
    codex: Path,  # noqa: F811
    start_mock: Callable[..., MockProcess],
    tmp_path: Path,
) -> None:
    task, _, _ = recorded_codex(codex, start_mock, tmp_path, False)
    t = load_task(str(task))
    doc = yaml.safe_load(task.read_text())
    assert doc["recorded"]["strategy"] == "http-stateless", doc["recorded"]
    rec = recorded_turns(task)
    sent = [r["bytes_sent"] for r in rec]
    assert len(sent) >= 4 and sent == sorted(sent), sent  # stateless: each request resends the history
    assert all(not r["continued"] for r in rec)
    assert t.client_profile is not None and not t.client_profile.resend_tools
    # replayed as Codex would have sent it over WebSocket mode (its profile: a warm-up first, then
    # continuations that carry the tools and metadata but not the history)
    turns = sorted(
        replay(start_mock, task, tmp_path / "ws", "ws", "--client-profile", "codex"), key=lambda r: r["turn"]
    )
    assert turns[0]["profile"] == "codex" and turns[0]["warmup"] and len(turns) == len(sent)
    for got, stateless in zip(turns[1:], sent[1:], strict=True):
        assert got["bytes_sent"] < 0.6 * stateless, (got["turn"], got["bytes_sent"], stateless)
    no_key_in(tmp_path / "tasks")


def test_codex_websocket_with_deflate_recorded_as_it_went(
    codex: Path,  # noqa: F811
    start_mock: Callable[..., MockProcess],
    tmp_path: Path,
) -> None:
    """Codex offers permessage-deflate and the mock accepts it: the recorder leaves the agreement to them,
    reads the compressed frames, and records wire bytes apart from payload bytes."""
    task, _, _ = recorded_codex(codex, start_mock, tmp_path, True)
    doc = yaml.safe_load(task.read_text())
    assert doc["recorded"]["compression"] == "deflate"
    rec = recorded_turns(task)
    assert all(r["payload_bytes_sent"] > 3 * r["bytes_sent"] for r in rec[1:]), rec
    # replayed with deflate: the payload per turn within 5 % (the wire depends on how the content compresses)
    turns = replay(
        start_mock, task, tmp_path / "ws", "ws", "--ws-compression", "deflate", "--ws-window-bits", "15"
    )
    for got in turns:
        want = rec[got["turn"]]["payload_bytes_sent"]
        assert abs(got["payload_bytes_sent"] / want - 1) < 0.05, (
            got["turn"],
            got["payload_bytes_sent"],
            want,
        )
        assert got["bytes_sent"] < got["payload_bytes_sent"]
