"""OpenAI's Codex CLI itself (npm @openai/codex, pinned in pyproject.toml) runs whole sessions against
the mock, over HTTP and over Responses WebSocket mode.

Codex runs as a user would run it (``codex exec --json``), with a throwaway CODEX_HOME: a model provider
whose base_url is the mock, a dummy key, a read-only sandbox, no approvals, retries 0 (a failure shows
as one), and its update check, analytics, feedback, plugins and apps off. It works in a scratch git
repository with one file, so the read-only commands the mock's tool-aware model asks for really run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentload.mock import MockProcess
from tests.paths import ROOT

PINNED = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["agentload"]["npm"]["@openai/codex"]
CODEX = Path(sys.prefix) / "codex" / "node_modules" / ".bin" / "codex"
KEY_ENV = "AGENTLOAD_CODEX_TEST_KEY"
DUMMY_KEY = "sk-codex-dummy-0123456789"
PROMPT = "Look around this repository and tell me what is in it."
# Codex asks the provider for model metadata the mock does not serve; it says so once and goes on.
KNOWN_WARNING = "Model metadata for"


def config_toml(base_url: str, websockets: bool) -> str:
    return f"""
model = "gpt-5.4"
model_provider = "agentload"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false

[model_providers.agentload]
name = "agentload mock"
base_url = "{base_url}/v1"
env_key = "{KEY_ENV}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = {"true" if websockets else "false"}

[analytics]
enabled = false

[feedback]
enabled = false

[features]
plugins = false
apps = false
"""


@pytest.fixture(scope="module")
def codex() -> Path:
    if not CODEX.exists():
        pytest.fail(f"Codex CLI is not installed at {CODEX}: run `make test` (tests/install_clients.sh)")
    out = subprocess.run([str(CODEX), "--version"], capture_output=True, text=True, timeout=60)
    assert PINNED in out.stdout, f"codex --version says {out.stdout!r}, pyproject.toml pins {PINNED}"
    return CODEX


def run_codex(codex: Path, base_url: str, root: Path, websockets: bool) -> tuple[list[dict[str, Any]], Path]:
    """One ``codex exec`` session; its JSON events and its CODEX_HOME."""
    home, work = root / "codex-home", root / "work"
    home.mkdir()
    work.mkdir()
    (home / "config.toml").write_text(config_toml(base_url, websockets))
    (work / "README.md").write_text("# scratch\nA repository for the Codex test.\n")
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(root),
        "CODEX_HOME": str(home),
        KEY_ENV: DUMMY_KEY,
        "NO_COLOR": "1",
    }
    proc = subprocess.run(
        [str(codex), "exec", "--json", "--skip-git-repo-check", "--strict-config", PROMPT],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, f"codex exit {proc.returncode}: {proc.stderr[-3000:]}"
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return events, home


def check_session(events: list[dict[str, Any]], home: Path) -> None:
    """Every turn completed, Codex's own tools ran, and none of its calls was refused as unsupported."""
    types = [e["type"] for e in events]
    assert "turn.completed" in types and "turn.failed" not in types, types
    errors = [e["item"]["message"] for e in events if e.get("item", {}).get("type") == "error"]
    assert all(m.startswith(KNOWN_WARNING) for m in errors), errors
    items = [e["item"] for e in events if e["type"] == "item.completed"]
    commands = [i for i in items if i["type"] == "command_execution"]
    assert len(commands) >= 3, [i["type"] for i in items]
    assert all(i["exit_code"] is not None for i in commands), commands  # each ran to an exit code
    assert any(i["exit_code"] == 0 and "README.md" in i["aggregated_output"] for i in commands), commands
    assert any(i["type"] == "reasoning" and i["text"] for i in items)  # the summary Codex asked for
    assert items[-1]["type"] == "agent_message"
    usage = next(e for e in events if e["type"] == "turn.completed")["usage"]
    assert usage["cached_input_tokens"] > 0 and usage["reasoning_output_tokens"] > 0, usage
    # the rollout Codex wrote: the outputs it sent back for each call are its tools' own
    rollouts = list((home / "sessions").rglob("rollout-*.jsonl"))
    assert rollouts, "Codex wrote no session rollout"
    outputs = []
    for line in rollouts[0].read_text().splitlines():
        payload = json.loads(line).get("payload") or {}
        if payload.get("type") in ("function_call_output", "custom_tool_call_output"):
            outputs.append(json.dumps(payload.get("output")))
    assert len(outputs) >= len(commands)
    assert not [o for o in outputs if "unsupported call" in o.lower()], outputs


def no_key_written(home: Path) -> None:
    for path in home.rglob("*"):
        if path.is_file():
            assert DUMMY_KEY not in path.read_text(errors="replace"), path


def codex_session(
    codex: Path, start_mock: Callable[..., MockProcess], tmp_path: Path, websockets: bool, *mock_args: str
) -> dict[str, Any]:
    """A whole Codex session against a mock of its own, checked (check_session, no key written);
    the mock's stats after it."""
    mock = start_mock("--latency", "zero", *mock_args)
    events, home = run_codex(codex, mock.url, tmp_path, websockets)
    check_session(events, home)
    no_key_written(home)
    return mock.stats(exchanges=True)


def frames_received(stats: dict[str, Any]) -> list[int]:
    """Bytes of each WebSocket message the mock received, the warm-up first."""
    return [e["received"] for e in stats["exchanges"] if e["kind"] == "ws-message"]


def test_codex_over_http(codex: Path, start_mock: Callable[..., MockProcess], tmp_path: Path) -> None:
    stats = codex_session(codex, start_mock, tmp_path, False)
    starts = stats["model"]["requests"]
    # stateless HTTP: every request carries the whole history, and the prompt cache holds its prefix
    assert starts.get("new", 0) >= 4 and not starts.get("continued"), starts
    assert stats["model"]["prompt_cache"]["hits"] >= 3, stats["model"]
    # store=false: Codex resends its encrypted reasoning (and its calls) with every request
    assert stats["model"]["input_items"].get("reasoning", 0) >= 3, stats["model"]
    assert {e["kind"] for e in stats["exchanges"]} == {"http"}


def test_codex_over_websocket_mode(
    codex: Path, start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    stats = codex_session(codex, start_mock, tmp_path, True)
    starts = stats["model"]["requests"]
    # a warm-up (generate: false), then each turn continued by previous_response_id on the connection
    assert starts.get("warmup", 0) >= 1 and starts.get("continued", 0) >= 4, starts
    assert starts.get("new", 0) <= 1, starts
    kinds = [e["kind"] for e in stats["exchanges"]]
    assert kinds.count("ws-handshake") == 1 and kinds.count("ws-message") >= 5, kinds
    # Codex offers permessage-deflate; the mock accepts it by default, and the frames are compressed
    assert stats["websocket"]["deflate_connections"] == 1
    assert max(frames_received(stats)[1:]) < 8_000, frames_received(stats)


def test_codex_over_websocket_mode_without_deflate(
    codex: Path, start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    """--ws-compression off: the mock declines the extension and Codex sends its frames uncompressed
    (tools and client_metadata resent on every frame: about 11 KB each)."""
    stats = codex_session(codex, start_mock, tmp_path, True, "--ws-compression", "off")
    assert stats["websocket"]["deflate_connections"] == 0
    assert min(frames_received(stats)[1:]) > 8_000, frames_received(stats)
