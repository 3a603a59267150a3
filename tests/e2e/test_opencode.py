"""opencode (npm opencode-ai, pinned in pyproject.toml) as a reference client: ``opencode run`` completes
whole sessions on the mock with a Responses provider (@ai-sdk/openai, a reasoning model: its reasoning
items come back without ids) and a Chat Completions provider (@ai-sdk/openai-compatible); each through
``agentload record``, each recording replayed on every strategy in the registry.

opencode runs as a user would run it, with a throwaway HOME and XDG directories: a custom provider whose
baseURL is the mock, a dummy key (read from the environment by the config's ``{env:...}``), autoupdate,
sharing, the models.dev fetch, LSP downloads and Claude Code's files off. Two things it would fetch from
the internet are made local: ripgrep (its glob and grep tools; Debian's ``rg`` on PATH, from
tests/install_services.sh) and the ``@opencode-ai/plugin`` package it installs into its config
directory (seeded as installed; the npm registry is pointed at a closed loopback port besides). Its
tools (bash, glob, read, ...) really run, in a scratch directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentload.core.strategies import STRATEGIES, Api
from agentload.mock import MockProcess
from agentload.workload import load_task
from tests.e2e.test_agents_sdk import TOLERANCE, replay_all
from tests.e2e.test_recording import Recorder, no_key_in, task_files
from tests.paths import ROOT

PINNED = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["agentload"]["npm"]["opencode-ai"]
OPENCODE = Path(sys.prefix) / "opencode-ai" / "node_modules" / ".bin" / "opencode"
KEY_ENV = "AGENTLOAD_OPENCODE_TEST_KEY"
DUMMY_KEY = "sk-opencode-dummy-0123456789"
PROMPT = "Look around this repository and tell me what is in it."
TURNS, CALLS = 2, 2  # the mock's script: 2 turns of 2 calls, then the answer (3 model requests)
# provider: (its AI SDK package, the model, the API it speaks). Chat is given a model that is not a
# reasoning one: @ai-sdk/openai-compatible sends max_tokens, which OpenAI (and so the mock) refuses
# for reasoning models.
PROVIDERS = {
    "responses": ("@ai-sdk/openai", "gpt-5.4", Api.RESPONSES),
    "chat": ("@ai-sdk/openai-compatible", "gpt-4.1", Api.CHAT),
}


@pytest.fixture(scope="module")
def opencode() -> Path:
    if not OPENCODE.exists():
        pytest.fail(f"opencode is not installed at {OPENCODE}: run `make test` (tests/install_clients.sh)")
    out = subprocess.run([str(OPENCODE), "--version"], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == PINNED, (
        f"opencode --version says {out.stdout!r}, pyproject.toml pins {PINNED}"
    )
    return OPENCODE


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProcess]:
    with MockProcess(
        ["--latency", "zero", "--default-turns", str(TURNS), "--default-calls", str(CALLS)]
    ) as m:
        yield m


def config(base_url: str, provider: str) -> dict[str, Any]:
    package, model, api = PROVIDERS[provider]
    return {
        "$schema": "https://opencode.ai/config.json",
        "model": f"agentload/{model}",
        "small_model": f"agentload/{model}",  # the title request (no tools) goes to the mock too
        "autoupdate": False,
        "share": "disabled",
        "provider": {
            "agentload": {
                "npm": package,
                "name": "agentload mock",
                "options": {"baseURL": f"{base_url}/v1", "apiKey": f"{{env:{KEY_ENV}}}"},
                "models": {model: {"name": model, "reasoning": api == Api.RESPONSES, "tool_call": True}},
            }
        },
    }


def run_opencode(opencode: Path, base_url: str, root: Path, provider: str) -> list[dict[str, Any]]:
    """One ``opencode run`` session in a scratch directory; its JSON events."""
    home, work = root / "home", root / "work"
    plugin_dir = home / ".config" / "opencode"  # installed, so opencode does not fetch it
    (plugin_dir / "node_modules").mkdir(parents=True)
    deps = {"@opencode-ai/plugin": PINNED}
    (plugin_dir / "package.json").write_text(json.dumps({"dependencies": deps}))
    (plugin_dir / "package-lock.json").write_text(json.dumps({"packages": {"": {"dependencies": deps}}}))
    (root / "opencode.json").write_text(json.dumps(config(base_url, provider)))
    work.mkdir()
    (work / "README.md").write_text("# scratch\nA repository for the opencode test.\n")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "OPENCODE_CONFIG": str(root / "opencode.json"),
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
        "OPENCODE_DISABLE_SHARE": "1",
        "OPENCODE_DISABLE_MODELS_FETCH": "1",
        "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
        "OPENCODE_DISABLE_CLAUDE_CODE": "1",
        "npm_config_registry": "http://127.0.0.1:9/",
        KEY_ENV: DUMMY_KEY,
        "NO_COLOR": "1",
    }
    proc = subprocess.run(
        [str(opencode), "run", "--format", "json", PROMPT],
        cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, (
        f"opencode exit {proc.returncode}: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    )
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    for path in home.rglob("*"):  # the key only ever in the environment
        if path.is_file() and path.stat().st_size < 50_000_000:
            assert DUMMY_KEY.encode() not in path.read_bytes(), path
    return events


def whole_session(events: list[dict[str, Any]]) -> None:
    """Every model request of the mock's script was a step of the session, every tool call ran to its
    end in the scratch directory, and the last step answered."""
    assert not [e for e in events if e["type"] == "error"], events
    steps = [e["part"] for e in events if e["type"] == "step_finish"]
    assert len(steps) == TURNS + 1, [s.get("reason") for s in steps]
    assert [s["reason"] for s in steps] == ["tool-calls"] * TURNS + ["stop"], steps
    tools = [e["part"] for e in events if e["type"] == "tool_use"]
    assert len(tools) == TURNS * CALLS, tools
    assert all(t["state"]["status"] == "completed" for t in tools), [t["state"] for t in tools]
    assert any(e["type"] == "text" and e["part"]["text"] for e in events)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_opencode_session_on_the_mock_recorded_and_replayed_on_every_strategy(
    provider: str,
    opencode: Path,
    mock: MockProcess,
    start_mock: Callable[..., MockProcess],
    tmp_path: Path,
) -> None:
    """One whole session through ``agentload record`` in front of the mock (which forwards every byte
    unchanged), the task file it wrote, and that file replayed on every strategy."""
    mock.reset()
    rec = Recorder(mock.url, tmp_path / "tasks", "--name", f"opencode-{provider}")
    try:
        events = run_opencode(opencode, rec.url, tmp_path, provider)
    finally:
        out, _ = rec.stop()
    whole_session(events)
    stats = mock.stats(exchanges=False)["model"]
    if provider == "responses":  # its reasoning items, resent without ids, were taken (a 400 before)
        assert stats["input_items"].get("reasoning", 0) >= TURNS, stats
    no_key_in(tmp_path / "tasks")
    # two sessions: the title request (no tools declared, so a plain answer: no calls) and the agent's
    by_calls = sorted(task_files(tmp_path / "tasks"), key=lambda p: len(load_task(str(p)).turns))
    assert len(by_calls) == 2, (by_calls, out)
    title, path = load_task(str(by_calls[0])), by_calls[1]
    assert not title.turns and not title.tools and title.final_message, title.turns
    task = load_task(str(path))
    assert len(task.turns) == TURNS and all(len(t.calls) == CALLS for t in task.turns), task.turns
    assert {c.tool for t in task.turns for c in t.calls} <= {t["name"] for t in task.tools}
    assert task.prompt, "the user's prompt (a message without a type) was dropped"
    doc = yaml.safe_load(path.read_text())
    api = PROVIDERS[provider][2]
    assert doc["recorded"]["strategy"] == ("chat" if api == Api.CHAT else "http-stateless"), doc["recorded"]
    assert doc["recorded"]["client"] == f"opencode/{PINNED}", doc["recorded"]

    recorded = [t["recorded"] for t in doc["turns"]] + [doc["recorded"]["final_turn"]]
    want = [r["payload_bytes_sent"] for r in recorded]
    # with the session's own model (a chat model: max_tokens, which a reasoning model refuses)
    replays = replay_all(start_mock, path, tmp_path / "replay", "--model", doc["recorded"]["model"])
    off = {}  # strategy: its turns' payload bytes, where a turn is missing or off by more than 5 %
    for s in STRATEGIES:
        got = [t["payload_bytes_sent"] for t in replays[s.name]]
        # on the other API only more is off: chat has no place for the reasoning items opencode resends
        # over Responses, so a reasoning session's chat replay sends less
        dev = [g / w - 1 if s.api != api else abs(g / w - 1) for g, w in zip(got, want, strict=False)]
        if len(got) != len(want) or max(dev) >= TOLERANCE:
            off[s.name] = got
    assert not off, (want, off)
