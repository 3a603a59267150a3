"""aider (PyPI aider-chat, pinned in pyproject.toml's [tool.agentload.venvs]: its pins clash with
agentload's, so it has a virtualenv of its own, .venv/aider) as a reference client over Chat
Completions: ``aider --message`` completes its session on the mock, through ``agentload record`` too,
and the recording replays on every strategy in the registry.

aider runs as a user would run it, in a scratch git repository (its repo map goes into the request)
with a throwaway HOME: the mock as its OpenAI base URL, a dummy key in the environment, every question
answered yes, update checks, release notes and analytics off. Two things it would fetch from the
internet are made local: litellm's model cost map (LITELLM_LOCAL_MODEL_COST_MAP, its bundled copy) and
aider's own copy of it (its cache seeded with litellm's bundled file, so it is fresh).

aider edits files through its edit format (SEARCH/REPLACE blocks in the answer), not tool calls; the
mock's scripted answer is plain text, as a model's answer that edits nothing is, so a session is one
request: the system prompt, the repo map, the file and the message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from agentload.core.strategies import STRATEGIES
from agentload.mock import MockProcess
from agentload.workload import load_task
from tests.e2e.test_agents_sdk import TOLERANCE, replay_all
from tests.e2e.test_recording import Recorder, no_key_in, task_files
from tests.paths import ROOT

[REQUIREMENT] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["agentload"]["venvs"]["aider"]
PINNED = REQUIREMENT.split("==")[1]
VENV = Path(sys.prefix) / "aider"
DUMMY_KEY = "sk-aider-dummy-0123456789"
MODEL = "gpt-4.1"  # a chat model; aider sends no reasoning parameters for it
MESSAGE = "Fix the bug in add: the test fails."
ANSWER = "Done: the change is made and the tests pass."  # the mock's scripted final answer


@pytest.fixture(scope="module")
def aider() -> Path:
    exe = VENV / "bin" / "aider"
    if not exe.exists():
        pytest.fail(f"aider is not installed at {exe}: run `make test` (tests/install_clients.sh)")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == f"aider {PINNED}", f"aider --version says {out.stdout!r}, pinned {PINNED}"
    return exe


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProcess]:
    with MockProcess(["--latency", "zero"]) as m:
        yield m


def run_aider(aider: Path, base_url: str, root: Path) -> str:
    """One ``aider --message`` session in a scratch git repository; what it printed."""
    home, work = root / "home", root / "work"
    cache = home / ".aider" / "caches"
    cache.mkdir(parents=True)
    bundled = next(
        (VENV / "lib").glob("python3.*/site-packages/litellm/model_prices_and_context_window_backup.json")
    )
    (cache / "model_prices_and_context_window.json").write_bytes(bundled.read_bytes())
    work.mkdir()
    (work / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (work / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    who = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    who |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    git_env = {"PATH": os.environ["PATH"], "HOME": str(home), **who}
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "scratch"]):
        subprocess.run(["git", *cmd], cwd=work, env=git_env, check=True, timeout=30)
    env = {
        **git_env,
        "TERM": "dumb",
        "OPENAI_API_KEY": DUMMY_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "NO_COLOR": "1",
    }
    proc = subprocess.run(
        [
            str(aider), "--model", f"openai/{MODEL}", "--openai-api-base", f"{base_url}/v1",
            "--yes-always", "--no-check-update", "--no-show-release-notes", "--analytics-disable",
            "--no-analytics", "--no-pretty", "--no-fancy-input", "--no-show-model-warnings",
            "--no-detect-urls", "--no-notifications", "--message", MESSAGE, "calc.py",
        ],
        cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, f"aider exit {proc.returncode}: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    for path in home.rglob("*"):  # the key only ever in the environment
        if path.is_file():
            assert DUMMY_KEY.encode() not in path.read_bytes(), path
    return proc.stdout


def whole_session(out: str) -> None:
    """aider took the answer, counted its tokens and ended its session."""
    assert ANSWER in out and "Tokens: " in out and "Repo-map: using" in out, out[-3000:]
    assert "error" not in out.lower(), out[-3000:]


def test_aider_session_on_the_mock_recorded_and_replayed_on_every_strategy(
    aider: Path, mock: MockProcess, start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    """One session through ``agentload record`` in front of the mock (which forwards every byte
    unchanged), the task file it wrote, and that file replayed on every strategy."""
    mock.reset()
    rec = Recorder(mock.url, tmp_path / "tasks", "--name", "aider")
    try:
        out = run_aider(aider, rec.url, tmp_path)
    finally:
        stopped, _ = rec.stop()
    whole_session(out)
    requests = [e for e in mock.stats(exchanges=True)["exchanges"] if e["kind"] == "http"]
    assert [e["path"] for e in requests] == ["/v1/chat/completions"], requests
    assert requests[0]["received"] > 8_000, requests  # aider's system prompt, the repo map, the file
    no_key_in(tmp_path / "tasks")
    [path] = task_files(tmp_path / "tasks")
    task = load_task(str(path))
    doc = yaml.safe_load(path.read_text())
    assert doc["recorded"]["strategy"] == "chat" and doc["recorded"]["model"] == MODEL, doc["recorded"]
    assert not task.turns and task.prompt and task.final_message, stopped  # one request, its answer
    # aider's stream asks for no usage (stream_options), so the mock sent none: its tokens are unknown
    assert doc["recorded"]["final_turn"]["input_tokens"] is None, doc["recorded"]["final_turn"]
    # its system prompt, then the repo map and the file as user messages each answered "Ok" (and its
    # reminder of the edit format, a system message of its own)
    assert task.instructions and {"user", "assistant"} <= {m.role for m in task.context}, task.context

    want = doc["recorded"]["final_turn"]["payload_bytes_sent"]
    replays = replay_all(start_mock, path, tmp_path / "replay", "--model", MODEL)
    got = {s.name: [t["payload_bytes_sent"] for t in replays[s.name]] for s in STRATEGIES}
    # one turn on every strategy, each within 5 % of what aider sent (chat's shape said in Responses' too)
    assert all(len(g) == 1 and abs(g[0] / want - 1) < TOLERANCE for g in got.values()), (want, got)
