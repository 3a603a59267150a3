"""The recorder and the importer with other clients and with bad input: the openai SDK's Responses
(chained, not streamed) and Chat Completions (streamed) loops through ``agentload record``; traffic the
recorder cannot read forwarded unchanged and kept raw with one warning line; upstream failures passed on
exactly as the upstream sent them; a Claude Code transcript built from its documented format imported;
malformed logs and bad flags named in one line, exit 2."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam
from openai.types.responses import FunctionToolParam, ResponseInputParam
from openai.types.shared_params import FunctionDefinition

from agentload.core.protocol import MOCK_KEY_ENV
from agentload.mock import MockProcess
from agentload.workload import load_task
from tests.e2e.test_recording import AGENTLOAD, Recorder, no_key_in, task_files
from tests.runlocust import read_records, run_locust
from tests.servers import free_port

KEY = "sk-recorder-secret-0123456789"
READ_FILE: FunctionDefinition = {
    "name": "read_file",
    "description": "Read a file",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
}
# (no "strict", as clients send it: the SDK's type requires the key, the API does not)
TOOLS: list[FunctionToolParam] = [{"type": "function", **READ_FILE}]  # type: ignore[typeddict-item]


def post(url: str, body: bytes, key: str = KEY) -> tuple[int, bytes]:
    req = urllib.request.Request(
        url, data=body, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def upgrade(base: str, key: str) -> bytes:
    """A WebSocket upgrade of /v1/responses; the whole answer (a refusal's body included)."""
    host, port = base.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            f"GET /v1/responses HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {key}\r\n\r\n".encode()
        )
        data = b""
        while chunk := s.recv(65536):
            data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(h.split(b":")[1])
                    for h in head.split(b"\r\n")
                    if h.lower().startswith(b"content-length")
                ),
                None,
            )
            if length is not None and len(body) >= length:
                break
        return data


def without_dates(answer: bytes) -> bytes:
    return b"\r\n".join(
        h for h in answer.split(b"\r\n") if not h.lower().startswith((b"date:", b"x-request-id"))
    )


def test_openai_sdk_loops_through_the_recorder(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    mock = start_mock("--latency", "zero", "--default-turns", "3")
    rec = Recorder(mock.url, tmp_path / "tasks", "--name", "sdk")
    client = openai.OpenAI(base_url=f"{rec.url}/v1", api_key=KEY, max_retries=0)
    # Responses, not streamed, chained by previous_response_id
    resp = client.responses.create(model="gpt-5.4", input="Fix the failing test", tools=TOOLS)
    while calls := [o for o in resp.output if o.type == "function_call"]:
        outputs: ResponseInputParam = [
            {"type": "function_call_output", "call_id": c.call_id, "output": "x" * 500} for c in calls
        ]
        resp = client.responses.create(
            model="gpt-5.4", previous_response_id=resp.id, input=outputs, tools=TOOLS
        )
    # Chat Completions, streamed, the whole history every turn
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Rename it."},
    ]
    chat_tools: list[ChatCompletionFunctionToolParam] = [{"type": "function", "function": READ_FILE}]
    for _ in range(5):
        stream = client.chat.completions.create(
            model="gpt-5.4", messages=messages, tools=chat_tools, stream=True
        )
        chat_calls: dict[int, dict[str, str]] = {}
        for chunk in stream:
            for choice in chunk.choices:
                for tc in choice.delta.tool_calls or []:
                    c = chat_calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                    assert tc.function is not None
                    c["id"] = tc.id or c["id"]
                    c["name"] += tc.function.name or ""
                    c["arguments"] += tc.function.arguments or ""
        if not chat_calls:
            break
        messages.append({"role": "assistant", "tool_calls": [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in chat_calls.values()]})  # fmt: skip
        messages += [
            {"role": "tool", "tool_call_id": c["id"], "content": "y" * 300} for c in chat_calls.values()
        ]
    rec.stop()
    docs = {yaml.safe_load(p.read_text())["recorded"]["strategy"]: p for p in task_files(tmp_path / "tasks")}
    assert set(docs) == {"http-chained", "chat"}, docs
    for strategy, path in docs.items():
        t = load_task(str(path))
        assert len(t.turns) == 3 and all(
            c.result.bytes in (300, 500) for turn in t.turns for c in turn.calls
        ), strategy
        assert t.final_message
    chat = load_task(str(docs["chat"]))
    assert len(chat.instructions) == len("Be brief.") and chat.prompt != "Rename it."  # synthetic, same size
    no_key_in(tmp_path / "tasks")


def test_what_the_recorder_cannot_read_is_forwarded_and_kept_raw(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    mock = start_mock("--latency", "zero", env={MOCK_KEY_ENV: KEY})
    rec = Recorder(mock.url, tmp_path / "tasks")
    bad = b'{"model": "gpt-5.4", "input": [truncated'
    direct, proxied = post(f"{mock.url}/v1/responses", bad), post(f"{rec.url}/v1/responses", bad)
    assert proxied == direct and direct[0] == 400, (direct, proxied)
    # an upstream failure reaches the client exactly as the upstream sent it: a refused key, over HTTP ...
    body = json.dumps({"model": "gpt-5.4", "input": "hi"}).encode()
    direct, proxied = (
        post(f"{mock.url}/v1/responses", body, "sk-wrong"),
        post(f"{rec.url}/v1/responses", body, "sk-wrong"),
    )
    assert proxied == direct and direct[0] == 401, (direct, proxied)
    # ... and on the WebSocket upgrade
    d, p = upgrade(mock.url, "sk-wrong"), upgrade(rec.url, "sk-wrong")
    assert d.startswith(b"HTTP/1.1 401") and without_dates(p) == without_dates(d), (d, p)
    # the recorder is still there, and records what it can read
    ok, _ = post(f"{rec.url}/v1/responses", body)
    assert ok == 200
    _, err = rec.stop()
    warnings = [line for line in err.splitlines() if "kept raw" in line]
    assert len(warnings) == 1 and "request body is not JSON" in warnings[0], err
    raw = sorted((tmp_path / "tasks" / "raw").glob("*.request"))
    assert len(raw) == 1 and raw[0].read_bytes() == bad
    no_key_in(tmp_path / "tasks")


def test_an_unreachable_upstream_is_a_502_and_one_line(tmp_path: Path) -> None:
    rec = Recorder(f"http://127.0.0.1:{free_port()}", tmp_path / "tasks")
    status, body = post(f"{rec.url}/v1/responses", b"{}")
    assert status == 502 and json.loads(body)["error"]["type"] == "bad_gateway"
    _, err = rec.stop()
    assert len([line for line in err.splitlines() if "unreachable" in line]) == 1, err


def transcript_lines() -> list[dict[str, Any]]:
    """A Claude Code session as its transcript records it: a prompt, two assistant turns of tool calls
    (the first written as two lines sharing a message id), their results, an answer, then a follow-up."""

    def line(kind: str, n: int, message: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"type": kind, "uuid": f"u{n}", "parentUuid": f"u{n - 1}" if n else None, "sessionId": "s1",
                "timestamp": f"2026-12-02T10:00:{n:02d}.000Z", "cwd": "/repo", "message": message, **extra}  # fmt: skip

    usage = {"input_tokens": 12, "cache_read_input_tokens": 4000, "output_tokens": 90}
    return [
        {"type": "summary", "summary": "Fix the date parser", "leafUuid": "u9"},
        line("user", 0, {"role": "user", "content": "Fix the failing date test."}),
        line(
            "assistant",
            1,
            {
                "id": "m1",
                "role": "assistant",
                "model": "claude-x",
                "content": [
                    {"type": "thinking", "thinking": "t" * 400},
                    {"type": "text", "text": "Let me run the tests first."},
                    {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "pytest -q"}},
                ],
            },
        ),  # fmt: skip
        line(
            "assistant",
            2,
            {
                "id": "m1",
                "role": "assistant",
                "model": "claude-x",
                "usage": usage,
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_2",
                        "name": "Read",
                        "input": {"file_path": "src/dates.py"},
                    }
                ],
            },
        ),  # fmt: skip
        line(
            "user",
            3,
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "F" * 1200}],
            },
        ),
        line(
            "user",
            4,
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "content": [{"type": "text", "text": "d" * 2400}],
                    }
                ],
            },
        ),  # fmt: skip
        line(
            "assistant",
            6,
            {
                "id": "m2",
                "role": "assistant",
                "model": "claude-x",
                "usage": usage,
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_3",
                        "name": "Edit",
                        "input": {"file_path": "src/dates.py", "old_string": "a", "new_string": "b"},
                    }
                ],
            },
        ),  # fmt: skip
        line(
            "user",
            7,
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_3", "content": "ok"}]},
        ),
        line(
            "assistant",
            8,
            {"id": "side", "role": "assistant", "content": [{"type": "text", "text": "sub"}]},
            isSidechain=True,
        ),
        line(
            "assistant",
            9,
            {
                "id": "m3",
                "role": "assistant",
                "model": "claude-x",
                "usage": usage,
                "content": [{"type": "text", "text": "Fixed: the parser now handles time zones."}],
            },
        ),  # fmt: skip
        line("user", 10, {"role": "user", "content": "Now add a test for it."}),
        line(
            "assistant",
            11,
            {
                "id": "m4",
                "role": "assistant",
                "usage": usage,
                "content": [{"type": "text", "text": "Added."}],
            },
        ),
    ]


def test_a_claude_code_transcript_imports_and_replays(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    log = tmp_path / "session.jsonl"
    log.write_text("\n".join(json.dumps(x) for x in transcript_lines()) + "\n")
    out = tmp_path / "tasks"
    proc = subprocess.run(
        [*AGENTLOAD, "import", str(log), "--out", str(out)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in task_files(out)] == ["session-p2.yaml", "session.yaml"]
    first, follow = out / "session.yaml", out / "session-p2.yaml"
    t = load_task(str(first))
    assert [[c.tool for c in turn.calls] for turn in t.turns] == [["Bash", "Read"], ["Edit"]]
    assert [c.result.bytes for c in t.turns[0].calls] == [1200, 2400]
    assert t.turns[0].calls[0].result.kind == "test_log" and t.turns[0].calls[1].result.kind == "python"
    assert t.turns[0].reasoning_tokens == 100 and t.turns[0].calls[0].result.latency_s == pytest.approx(1.0)
    assert len(t.turns[0].message or "") == len("Let me run the tests first.") and t.turns[1].message is None
    assert len(t.prompt) == len("Fix the failing date test.") and t.client_profile is None
    notes = yaml.safe_load(first.read_text())["recorded"]["notes"]
    assert any("side-chain" in n for n in notes), notes
    assert load_task(str(follow)).turns == () and "follow-up" in follow.read_text()
    mock = start_mock("--latency", "zero", "--task", str(first))
    # stateless HTTP and chat resend the message the model wrote beside its calls with the history
    proc, summary = run_locust(mock.url, tmp_path, "--headless", "-u", "2", "-r", "2", "--run-time", "3s",
                               "--strategy", "http-stateless,chat", "--task", str(first), "--tool-latency-scale", "0")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert summary["client_profiles"] == ["minimal"], summary
    assert all(r["tasks"] >= 1 and r["turn_failures"] == 0 for r in summary["rows"]), summary
    turns = [r for r in read_records(tmp_path / "records.jsonl") if r["kind"] == "turn"]
    # (a turn still in flight when --run-time ends is recorded as interrupted: not a failure)
    assert {r["strategy"] for r in turns} == {"http-stateless", "chat"}
    assert all(r["ok"] or r["error_kind"] == "interrupted" for r in turns), [r for r in turns if not r["ok"]]
    assert sum(r["ok"] for r in turns) >= 4


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (
            '{"type":"session_meta","payload":{}}\n{"type":"response_item","payload":{"type":"message"}}\nnot json\n',
            ":3: not JSON",
        ),
        ('{"hello": "world"}\n', ":1: neither a Codex rollout nor a Claude Code transcript"),
        (
            '{"type":"session_meta","payload":{"id":"x"}}\n{"type":"response_item","payload":7}\n',
            ":2: a rollout line without a payload object",
        ),
        ("", ": empty"),
    ],
)
def test_a_malformed_log_is_one_line_naming_the_file_and_line(
    tmp_path: Path, content: str, expect: str
) -> None:
    log = tmp_path / "bad.jsonl"
    log.write_text(content)
    proc = subprocess.run(
        [*AGENTLOAD, "import", str(log), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert str(log) + expect in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--upstream", "ftp://example", "--out", "{tmp}/o"], "--upstream 'ftp://example'"),
        (["--upstream", "http://127.0.0.1:1", "--out", "{tmp}/file"], "--out {tmp}/file: is a file"),
        (["--upstream", "http://127.0.0.1:1", "--out", "{tmp}/o", "--port", "70000"], "--port 70000"),
    ],
)
def test_bad_record_flags_are_one_line(tmp_path: Path, args: list[str], expect: str) -> None:
    (tmp_path / "file").write_text("x")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = subprocess.run([*AGENTLOAD, "record", *argv], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert expect.replace("{tmp}", str(tmp_path)) in proc.stderr, proc.stderr
