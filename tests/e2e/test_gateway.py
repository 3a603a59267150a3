"""``agentload gateway`` against a real LiteLLM proxy (pinned in pyproject.toml's [tool.agentload.venvs],
installed into a virtualenv of its own by tests/install_clients.sh), the mock over TLS as its upstream
(LiteLLM's WebSocket relay fails on a plain ws:// upstream), all on loopback, LiteLLM's telemetry and
cost-map download off, dummy keys.

One LiteLLM serves three model names, one set-up each: ``gpt-5.4`` passes every API through to the
mock (``openai/``), ``proxy-gpt-5.4`` is its ``litellm_proxy/`` provider (its WebSocket mode sends each
turn on as an HTTP request of its own, without the conversation's system prompt and tools) and
``chat-gpt-5.4`` its Responses-to-chat bridge (``openai/chat_completions/``; without a database a
``previous_response_id`` is passed over). The check passes the first on every strategy of the registry
(the Conversations API, which LiteLLM does not serve, reported as such), every task with its scripted
number of turns, and fails the other two naming the strategies that lost context.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentload.core.strategies import NAMES, STRATEGIES
from agentload.workload.files import load_task
from tests.paths import ROOT
from tests.servers import free_port, make_tls_files, wait_for

LITELLM = Path(sys.prefix) / "litellm" / "bin" / "litellm"


def answers(url: str, cafile: Path | None = None) -> bool:
    """The mock at ``url`` answers its health check."""
    try:
        ctx = ssl.create_default_context(cafile=str(cafile)) if cafile else None
        with urllib.request.urlopen(f"{url}/_agentload/health", timeout=2, context=ctx) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


TASK = "fix-failing-test"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The mock (https) and LiteLLM in front of it; what a gateway run needs to reach them."""
    if not LITELLM.exists():
        pytest.fail(f"LiteLLM is not installed at {LITELLM}: run `make test` (tests/install_clients.sh)")
    root = tmp_path_factory.mktemp("gateway")
    ca, cert, key = make_tls_files(root)
    mock_port, port = free_port(), free_port()
    env = {**os.environ, "SSL_CERT_FILE": str(ca)}
    mock = subprocess.Popen(
        [sys.executable, "-m", "agentload", "mock", "--port", str(mock_port), "--latency", "zero",
         "--tls-cert", str(cert), "--tls-key", str(key)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    upstream = f"https://127.0.0.1:{mock_port}/v1"
    models = {"gpt-5.4": "openai/gpt-5.4", "proxy-gpt-5.4": "litellm_proxy/gpt-5.4",
              "chat-gpt-5.4": "openai/chat_completions/gpt-5.4"}  # fmt: skip
    config = root / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        + "".join(
            f"  - model_name: {name}\n    litellm_params: {{model: {model}, api_base: '{upstream}', api_key: dummy}}\n"
            for name, model in models.items()
        )
        + "litellm_settings: {telemetry: false}\n"
    )
    master = "sk-" + secrets.token_hex(16)  # a dummy: LiteLLM refuses to start without a strong one
    log = root / "litellm.log"
    litellm_env = {**env, "LITELLM_MASTER_KEY": master, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                   "LITELLM_TELEMETRY": "False", "DISABLE_SCHEMA_UPDATE": "True"}  # fmt: skip
    with log.open("w") as out:
        proxy = subprocess.Popen(
            [str(LITELLM), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=litellm_env,
        )  # fmt: skip
    try:
        wait_for(lambda: answers(f"https://127.0.0.1:{mock_port}", ca), 60, "the mock up")
        wait_for(lambda: "Uvicorn running" in log.read_text() or proxy.poll() is not None, 180, "LiteLLM up")
        assert proxy.poll() is None, log.read_text()[-3000:]
        yield {"gateway": f"http://127.0.0.1:{port}", "upstream": upstream, "root": root,
               "env": {**env, "OPENAI_API_KEY": master}}  # fmt: skip
    finally:
        for p in (proxy, mock):
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def check(gw: dict[str, Any], model: str, strategies: tuple[str, ...]) -> tuple[int, str, dict[str, Any]]:
    """One ``agentload gateway`` run: its exit code, its stderr and its gateway.json by strategy."""
    out = gw["root"] / model
    proc = subprocess.run(
        [sys.executable, "-m", "agentload", "gateway", "--gateway", gw["gateway"], "--upstream", gw["upstream"],
         "--model", model, "--task", TASK, "--duration", "2", "--strategies", ",".join(strategies),
         "--out", str(out)],
        capture_output=True, text=True, timeout=240, env=gw["env"], cwd=ROOT,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    verdict = json.loads((out / "gateway.json").read_text())
    return proc.returncode, proc.stderr, {s["strategy"]: s for s in verdict["strategies"]}


def task_turns(out: Path) -> dict[str, set[int]]:
    """Each strategy's completed tasks' turn counts, from the agents' records."""
    turns: dict[str, set[int]] = {}
    for f in out.glob("records*.jsonl"):
        for line in f.read_text().splitlines():
            r = json.loads(line)
            if r["kind"] == "task" and r["ok"]:
                turns.setdefault(r["strategy"], set()).add(r["turns"])
    return turns


def test_a_gateway_that_keeps_context_passes_on_every_strategy(gateway: dict[str, Any]) -> None:
    code, err, by = check(gateway, "gpt-5.4", NAMES)
    assert set(by) == set(NAMES), err
    assert code == 0, err
    served = [s for s in NAMES if not by[s]["turns_failed"]]
    # LiteLLM has no Conversations API (POST /v1/conversations is a 404): said, not failed
    assert set(NAMES) - set(served) <= {"http-conversation"}, err
    assert "not served by the gateway" in err or "http-conversation" in served
    scripted = len(load_task(TASK).turns) + 1  # its calls' turns, then the final answer's
    turns = task_turns(gateway["root"] / "gpt-5.4")
    for s in served:  # the workload through the gateway is the one sent direct: every turn of the task
        assert by[s]["failure"] is None and by[s]["lost"] == 0, by[s]
        assert turns.get(s) == {scripted}, (s, turns)
        assert by[s]["upstream_turns"] == by[s]["turns_ok"], by[s]


def test_litellm_proxy_websocket_mode_loses_context(gateway: dict[str, Any]) -> None:
    websocket = tuple(s.name for s in STRATEGIES if s.websocket)  # every one in the registry
    code, err, by = check(gateway, "proxy-gpt-5.4", ("http-stateless", *websocket))
    assert code == 1, err
    for s in websocket:
        assert f"FAIL {s}: " in err and by[s]["lost"] > 0, err
        assert by[s]["amplification"] > 2, by[s]  # each continuation sent on as the whole context
    assert "FAIL http-stateless" not in err and by["http-stateless"]["lost"] == 0


def test_chained_turns_through_the_chat_bridge_without_a_database_lose_context(
    gateway: dict[str, Any],
) -> None:
    chained = tuple(s.name for s in STRATEGIES if s.chained and not s.websocket)  # by previous_response_id
    code, err, by = check(gateway, "chat-gpt-5.4", (*chained, "chat"))
    assert code == 1, err
    for s in chained:
        assert f"FAIL {s}: " in err and by[s]["lost"] > 0, err
    assert "FAIL chat" not in err and by["chat"]["lost"] == 0


def test_bad_gateway_input_is_one_line_and_exit_2(gateway: dict[str, Any]) -> None:
    """A wrong key, a gateway that is not OpenAI-compatible (here LiteLLM at a path it does not serve),
    a gateway nobody listens at: one line naming the flag or the variable, exit 2, no traceback."""
    cases = [
        ({"OPENAI_API_KEY": "sk-wrong"}, gateway["gateway"], "OPENAI_API_KEY"),
        ({}, gateway["gateway"] + "/not/an/api", "not an OpenAI-compatible API"),
        ({}, f"http://127.0.0.1:{free_port()}", "--gateway"),
    ]
    for env, url, says in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "agentload", "gateway", "--gateway", url, "--upstream", gateway["upstream"],
             "--out", str(gateway["root"] / "bad")],
            capture_output=True, text=True, timeout=60, env={**gateway["env"], **env}, cwd=ROOT,
        )  # fmt: skip
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and says in lines[0], proc.stderr
        assert "sk-wrong" not in proc.stderr and gateway["env"]["OPENAI_API_KEY"] not in proc.stderr


def test_the_mock_as_its_own_gateway_keeps_everything(tmp_path: Path) -> None:
    """No gateway at all (the agents straight at the mock): every strategy of the registry keeps its
    context, the upstream saw each turn and exactly the bytes the agents sent; a session's forked
    subagents are counted apart."""
    port = free_port()
    example = ROOT / "tasks" / "example-subagents.yaml"
    mock = subprocess.Popen(
        [sys.executable, "-m", "agentload", "mock", "--port", str(port), "--latency", "zero", "--task", str(example)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: answers(url), 60, "the mock up")
        proc = subprocess.run(
            [sys.executable, "-m", "agentload", "gateway", "--gateway", url, "--upstream", url, "--task", str(example),
             "--duration", "2", "--out", str(tmp_path)],
            capture_output=True, text=True, timeout=180, cwd=ROOT,
        )  # fmt: skip
    finally:
        mock.terminate()
        mock.wait(timeout=20)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    by = {s["strategy"]: s for s in json.loads((tmp_path / "gateway.json").read_text())["strategies"]}
    assert set(by) == set(NAMES)
    for s in by.values():
        assert s["lost"] == 0 and s["turns_ok"] == s["upstream_turns"] > 0, s
        # the same bytes (http-conversation's agents count the Conversation's creation in its first turn)
        assert 0.99 * s["sent_bytes"] <= s["upstream_bytes"] <= s["sent_bytes"], s
        assert s["made_up"] == s["swallowed"] == 0, s
        assert s["forked"] > 0, s  # (the example's three forks ran)
