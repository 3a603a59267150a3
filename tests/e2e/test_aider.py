"""aider (PyPI aider-chat, pinned in pyproject.toml's [tool.agentload.venvs]: its pins clash with
agentload's, so it has a virtualenv of its own, .venv/aider) as a reference client over Chat
Completions: a chat session of several user messages, as a user has it, completes on the mock through
``agentload record``, and the recording replays on every strategy in the registry.

aider runs as a user would run it, in a scratch git repository (its repo map goes into the request)
with a throwaway HOME: the mock as its OpenAI base URL, a dummy key in the environment, every question
answered yes, update checks, release notes and analytics off. Two things it would fetch from the
internet are made local: litellm's model cost map (LITELLM_LOCAL_MODEL_COST_MAP, its bundled copy) and
aider's own copy of it (its cache seeded with litellm's bundled file, so it is fresh).

The session is aider's own interactive loop, one process: with ``--no-fancy-input`` it reads each
message as a line of its standard input (a pipe here, as a script feeds it), answers it, and ends at
the end of input. Every request resends the history: aider rebuilds its prompt each time, its system
prompt, example exchange, repo map and files first, then the earlier messages and answers, the new
message, and last its reminder of the edit format (a system message). So no request begins with the
whole input of the one before (the reminder ends each), and the recorder writes each request as a task
of its own whose context carries the history it resent: replayed, each sends what aider sent (a task
linked across prompts would replay only its first one: docs/recording.md, "What is not replayed yet").

aider edits files through its edit format (SEARCH/REPLACE blocks in the answer's text), not tool calls.
The mock's default answer is plain text, as a model's answer that edits nothing is. Its reflection
loop (an edit applied, ``--auto-test`` failing, the failure sent back as the next message, at most three
times) runs on the mock too, faithfully and with nothing of aider's in the mock: a task file whose final
message is a SEARCH/REPLACE block, which aider names to the mock as any chat client can, in the task
header (aider's ``extra_headers`` model setting; agentload's own agents mark their system prompt, which
aider's is not). The scripted model answers that edit to every request whatever it holds (a script,
not a model that reads the failure), and the edit (a docstring line added) always applies and never
fixes add, so the loop runs to aider's limit: one message, four requests, each the one before with the
answer and the test's failure added. That session runs straight on the mock, unrecorded: its requests
are of the chat session's kind (the history resent), whose replay the first test checks.

Wall time: 37-42 s on a 2-core machine running another test suite: the chat session 29-33 s (aider
7 s, then one Locust run of 4 s per task file, three), the reflection loop 6 s.
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

from agentload.core.protocol import TASK_HEADER
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
# the user's messages, one a line on aider's standard input
MESSAGES = ("Fix the bug in add: the test fails.", "Why did it subtract?", "Add a docstring to add.")
ANSWER = "Done: the change is made and the tests pass."  # the mock's default final answer
EDIT_TASK = "aider-edit"  # the task whose final message is an edit (the reflection loop)
# a SEARCH/REPLACE block that always matches (it adds a docstring line) and never fixes add
EDIT = 'calc.py\n```python\n<<<<<<< SEARCH\ndef add(a, b):\n=======\ndef add(a, b):\n    """Add."""\n>>>>>>> REPLACE\n```\n'
TEST_CMD = "python3 -c 'from calc import add; assert add(2, 3) == 5, add(2, 3)'"
FLAGS = (
    "--yes-always", "--no-check-update", "--no-show-release-notes", "--analytics-disable", "--no-analytics",
    "--no-pretty", "--no-fancy-input", "--no-show-model-warnings", "--no-detect-urls", "--no-notifications",
    "--no-auto-commits", "--no-dirty-commits",
)  # fmt: skip


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


def run_aider(aider: Path, base_url: str, root: Path, messages: tuple[str, ...], *args: str) -> str:
    """One aider process in a scratch git repository, its chat fed ``messages`` on standard input (it
    ends at the end of input); what it printed."""
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
        [str(aider), "--model", f"openai/{MODEL}", "--openai-api-base", f"{base_url}/v1", *FLAGS, *args, "calc.py"],
        cwd=work, env=env, input="".join(f"{m}\n" for m in messages), capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, f"aider exit {proc.returncode}: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    for path in home.rglob("*"):  # the key only ever in the environment
        if path.is_file():
            assert DUMMY_KEY.encode() not in path.read_bytes(), path
    assert "Repo-map: using" in proc.stdout, proc.stdout[-3000:]
    return proc.stdout


def chat_requests(mock: MockProcess) -> list[int]:
    """The bytes the mock received in each request, all of them chat completions."""
    requests = [e for e in mock.stats(exchanges=True)["exchanges"] if e["kind"] == "http"]
    assert {e["path"] for e in requests} == {"/v1/chat/completions"}, requests
    return [int(e["received"]) for e in requests]


def test_aider_chat_session_on_the_mock_recorded_and_replayed_on_every_strategy(
    aider: Path, mock: MockProcess, start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    """A session of three messages through ``agentload record`` in front of the mock (which forwards
    every byte unchanged), the task file of each request (its texts synthetic, of their sizes), and
    each replayed on every strategy."""
    mock.reset()
    rec = Recorder(mock.url, tmp_path / "tasks", "--name", "aider")
    try:
        out = run_aider(aider, rec.url, tmp_path, MESSAGES)
    finally:
        stopped, _ = rec.stop()
    # each message answered, its tokens counted, then the end of input ended the session
    assert out.count(ANSWER) == len(MESSAGES) and out.count("Tokens: ") == len(MESSAGES), out[-3000:]
    assert "error" not in out.lower(), out[-3000:]
    received = chat_requests(mock)
    assert len(received) == len(MESSAGES), received  # one request a message
    # each request resends the one before and its answer: the history grows by at least that
    grew = [b - a for a, b in zip(received, received[1:], strict=False)]
    assert received[0] > 8_000, received  # aider's system prompt, its examples, the repo map, the file
    assert all(g >= len(m) + len(ANSWER) for g, m in zip(grew, MESSAGES, strict=False)), received
    no_key_in(tmp_path / "tasks")
    paths = task_files(tmp_path / "tasks")
    assert len(paths) == len(MESSAGES), (paths, stopped)
    tasks = [load_task(str(p)) for p in paths]
    docs = [yaml.safe_load(p.read_text()) for p in paths]
    said = [[(m.role, len("".join(m.parts))) for m in t.context] for t in tasks]  # roles and sizes
    for k, (task, doc) in enumerate(zip(tasks, docs, strict=True)):
        recorded = doc["recorded"]
        assert recorded["strategy"] == "chat" and recorded["model"] == MODEL, recorded
        assert "notes" not in recorded, recorded  # each request whole: nothing left out of its task
        # aider asks for no usage in its stream (stream_options), so the mock sent none: tokens unknown
        assert recorded["final_turn"]["input_tokens"] is None, recorded["final_turn"]
        assert task.instructions and not task.turns and len(task.final_message) == len(ANSWER), task
        assert len(task.prompt) == len(MESSAGES[k]), task.prompt
        # the context of the first request (its examples, repo map and file, answered "Ok", and the
        # edit format's reminder last), with the earlier messages and their answers before the reminder
        history = [x for m in MESSAGES[:k] for x in (("user", len(m)), ("assistant", len(ANSWER)))]
        assert said[k] == said[0][:-1] + history + said[0][-1:], said[k]
    assert said[0][-1][0] == "system" and {"user", "assistant"} <= {r for r, _ in said[0]}, said[0]

    got: dict[str, list[list[int]]] = {s.name: [] for s in STRATEGIES}
    want = [d["recorded"]["final_turn"]["payload_bytes_sent"] for d in docs]
    for k, path in enumerate(paths):
        replays = replay_all(start_mock, path, tmp_path / f"replay{k}", "--model", MODEL)
        for s in STRATEGIES:
            got[s.name].append([t["payload_bytes_sent"] for t in replays[s.name]])
    # one turn a task on every strategy, each within 5 % of what aider sent (chat's shape said in
    # Responses' too)
    off = {n: [g[0] / w - 1 for g, w in zip(gs, want, strict=True)] for n, gs in got.items()}
    assert all(len(g) == 1 for gs in got.values() for g in gs), got
    assert all(abs(x) < TOLERANCE for xs in off.values() for x in xs), (want, got)
    print(f"aider sent {want}; replays off by {off}")


def test_aider_reflection_loop_on_the_mock(
    aider: Path, start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    """aider applies the edit the mock answers, its test still fails, and it sends the failure back:
    four requests for one message (aider stops after three reflections), each longer than the last."""
    task = tmp_path / f"{EDIT_TASK}.yaml"
    task.write_text(
        yaml.safe_dump(
            {
                "schema": 1,
                "name": EDIT_TASK,
                "prompt": MESSAGES[0],
                "instructions": "Edit the files you are given.",
                "tools": [],
                "turns": [],
                "final_message": EDIT,
            }
        )
    )
    edit_mock = start_mock("--latency", "zero", "--task", str(task))
    # aider's own settings for the model (a file's entry replaces them), the task header added
    bundled = next((VENV / "lib").glob("python3.*/site-packages/aider/resources/model-settings.yml"))
    [own] = [m for m in yaml.safe_load(bundled.read_text()) if m["name"] == f"openai/{MODEL}"]
    settings = tmp_path / "model-settings.yml"
    headers = {"extra_headers": {TASK_HEADER: EDIT_TASK}}
    settings.write_text(yaml.safe_dump([{**own, "extra_params": headers}]))
    out = run_aider(
        aider, edit_mock.url, tmp_path, MESSAGES[:1], "--model-settings-file", str(settings),
        "--auto-test", "--test-cmd", TEST_CMD,
    )  # fmt: skip
    received = chat_requests(edit_mock)
    assert "Only 3 reflections allowed, stopping." in out, out[-3000:]
    # each time: the edit applied, the test run and failed, its output added to the chat and sent back
    for line in ("Applied edit to calc.py", "AssertionError: -1", "Added 3 lines of output to the chat."):
        assert out.count(line) == 4, (line, out[-3000:])
    assert (tmp_path / "work" / "calc.py").read_text().count('"""Add."""') == 4
    # four requests, each the one before with its answer and the failure added: the same growth each time
    grew = {b - a for a, b in zip(received, received[1:], strict=False)}
    assert len(received) == 4 and len(grew) == 1 and min(grew) > len(EDIT), received
    print(f"reflection requests received {received}")
