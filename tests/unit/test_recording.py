"""The recording side in process: the passive frame reader (core.websocket's codec), conversations linked from exchanges, task
documents with synthetic content of the same sizes, client profiles and the request shapes they make."""

from __future__ import annotations

import gzip
import json
import os
import random
from dataclasses import replace
from typing import Any

import pytest
import yaml

from agentload.client import Agent, AgentSettings
from agentload.client.bodies import chat_body, responses_body
from agentload.client.conversation import Conversation
from agentload.core.deflate import MessageDeflate, MessageInflate
from agentload.core.errors import TaskFileError
from agentload.core.marker import Mark, find_mark
from agentload.core.strategies import BY_NAME
from agentload.core.websocket import OP_CLOSE, OP_PING, OP_TEXT, Message, WsCodec, encode_frame
from agentload.recording.chains import Chains, sessions_of
from agentload.recording.exchange import Exchange
from agentload.recording.http1 import Head
from agentload.recording.proxy import _ReplyReader
from agentload.recording.taskdoc import task_document
from agentload.workload import api_fields, load_task, parse_task
from agentload.workload.profile import MINIMAL, ReasoningAs, load_profile, parse_profile
from tests.openapi_spec import SPEC
from tests.unit.fakes import FakeTransport, ok

TASK = load_task("fix-failing-test")


# ------------------------------------------------------------------------------------------ frames
def test_frames_fed_in_pieces_masked_fragmented_and_compressed() -> None:
    deflate = MessageDeflate(15, False)
    first, second = b'{"type":"response.create","n":1}', b'{"type":"response.create","n":2}' * 50
    frames = [
        encode_frame(OP_TEXT, deflate.compress(first), key=os.urandom(4), rsv1=True),
        encode_frame(0x9, b"ping", key=os.urandom(4)),
        # one message in two fragments (FIN clear, then a continuation), compressed as one
        _fragments(deflate.compress(second)),
        encode_frame(OP_CLOSE, b"\x03\xe8", key=os.urandom(4)),
    ]
    stream = b"".join(frames)
    reader = WsCodec(client=False, inflate=MessageInflate(15, False))  # (reading what a client sent)
    out: list[Message] = []
    for i in range(0, len(stream), 7):  # seven bytes at a time
        reader.receive_data(stream[i : i + 7])
        out += reader.events()
    assert [(opcode, payload) for opcode, payload, _ in out] == [
        (OP_TEXT, first),
        (OP_PING, b"ping"),  # a control frame is a message of its own (the proxy counts its bytes)
        (OP_TEXT, second),
        (OP_CLOSE, b"\x03\xe8"),
    ]
    assert [wire for *_, wire in out] == [len(f) for f in frames]  # a message's frames, all of them
    assert sum(wire for *_, wire in out) == len(stream)


def _fragments(payload: bytes) -> bytes:
    key = os.urandom(4)
    head = encode_frame(OP_TEXT, payload[:10], key=key, rsv1=True)
    head = bytes([head[0] & 0x7F]) + head[1:]  # FIN clear
    tail = encode_frame(0x0, payload[10:], key=key)
    return head + tail


def _read(data: bytes) -> list[tuple[int, bytes, int]]:
    reader = WsCodec(client=False)
    reader.receive_data(data)
    return list(reader.events())


def test_a_stream_that_is_not_websocket_is_refused() -> None:
    with pytest.raises(ValueError, match="RSV2"):
        _read(b"\xb1\x00")  # RSV2 set
    with pytest.raises(ValueError, match="without permessage-deflate"):
        _read(encode_frame(OP_TEXT, b"x", rsv1=True))


@pytest.mark.parametrize("cut", [1, 2, 3])  # inside the CRLF CRLF boundary: after its 1st, 2nd, 3rd byte
def test_a_reply_whose_event_boundary_falls_between_two_reads(cut: int) -> None:
    """The proxy's SSE reader (core.sse): a CRLF CRLF boundary split across reads is one boundary
    between two events (the recorder's old reader merged them into one, not JSON, when the cut fell
    inside a CRLF), and one space after the colon is stripped, not more."""
    ex = Exchange(1, "http", "/v1/responses", 0.0)
    head = Head("HTTP/1.1 200 OK", [("Content-Type", "text/event-stream")], 0)
    reader = _ReplyReader(ex, head)
    created = b'{"type":"response.created","response":{"id":"resp_1"}}'
    done = b'{"type":"response.completed","response":{"id":"resp_1","output":[],"usage":null}}'
    body = b"event: response.created\r\ndata: " + created + b"\r\n\r\n"
    body += b"event: response.completed\r\ndata:  " + done + b"\r\n\r\n"
    at = body.index(b"\r\n\r\n") + cut
    reader.feed(body[:at])
    reader.feed(body[at:])
    reader.finish()
    assert ex.unparsed is None and ex.events == 2 and ex.complete and ex.response_id == "resp_1"


# ---------------------------------------------------------------------------------------- chains
def exchange(
    request: dict[str, Any], output: list[dict[str, Any]], rid: str, at: float, via: str = "http"
) -> Exchange:
    ex = Exchange(
        1, via, "/v1/responses", at, client="test/1.0", request=request, output=output, response_id=rid
    )
    ex.complete, ex.sent_at, ex.ended_at, ex.ended = True, 1.0, 1.2, at + 0.2
    ex.bytes_sent, ex.payload_sent = 100, 300
    return ex


def call(i: int) -> dict[str, Any]:
    return {
        "type": "function_call",
        "call_id": f"c{i}",
        "name": "read_file",
        "arguments": json.dumps({"path": f"f{i}.py"}, separators=(",", ":")),
    }


def answer(i: int, n: int) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": f"c{i}", "output": "x" * n}


PROMPT = {"type": "message", "role": "user", "content": "Fix it, please."}
DONE = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "All done."}]}


def test_stateless_requests_link_by_their_growing_input_and_chained_ones_by_id() -> None:
    chains = Chains()
    tools = TASK.tools
    # stateless: every request resends the history
    h = [PROMPT]
    a = chains.add(
        exchange({"model": "m", "input": h, "tools": tools, "store": False}, [call(1)], "r1", 10.0)
    )
    h = [*h, call(1), answer(1, 700)]
    b = chains.add(exchange({"model": "m", "input": h, "tools": tools, "store": False}, [DONE], "r2", 12.0))
    # chained: another conversation, continued by previous_response_id with the new items only
    other = {"type": "message", "role": "user", "content": "Something else."}
    c = chains.add(exchange({"model": "m", "input": [other], "tools": tools}, [call(2)], "r3", 20.0))
    d = chains.add(
        exchange({"model": "m", "previous_response_id": "r3", "input": [answer(2, 50)]}, [DONE], "r4", 21.0)
    )
    assert a is b and c is d and a is not c
    assert a is not None and c is not None
    (s,) = sessions_of(a, "p")
    assert s.recorded["strategy"] == "http-stateless" and s.prompt == "Fix it, please."
    assert [len(c.output or "") for t in s.turns for c in t.calls] == [700] and s.final_message == "All done."
    assert s.turns[0].tool_time_s == pytest.approx(1.8)
    (s2,) = sessions_of(c, "p")
    assert s2.recorded["strategy"] == "http-chained" and s2.turns[1].measured["continued"]


def test_a_full_resend_after_a_chain_continues_it() -> None:
    """Codex over WebSocket mode, then (its connection lost) the whole history over HTTP, its earlier
    output items resent without their ids and status: one conversation."""
    chains = Chains()
    out = {**call(1), "id": "fc_1", "status": "completed"}
    a = chains.add(exchange({"model": "m", "input": [PROMPT], "store": False}, [out], "r1", 1.0, via="ws"))
    b = chains.add(
        exchange(
            {"model": "m", "previous_response_id": "r1", "input": [answer(1, 10)]},
            [call(2)],
            "r2",
            2.0,
            via="ws",
        )
    )
    full = [PROMPT, call(1), answer(1, 10), call(2), answer(2, 20)]
    c = chains.add(exchange({"model": "m", "input": full, "store": False}, [DONE], "r3", 3.0))
    assert a is b is c
    assert a is not None
    (s,) = sessions_of(a, "p")
    assert [len(c.output or "") for t in s.turns for c in t.calls] == [10, 20] and s.final_message


def test_a_task_document_keeps_sizes_and_shapes_not_content() -> None:
    chains = Chains()
    conv = chains.add(exchange({"model": "m", "input": [PROMPT], "tools": TASK.tools}, [call(1)], "r1", 1.0))
    chains.add(
        exchange({"model": "m", "previous_response_id": "r1", "input": [answer(1, 1234)]}, [DONE], "r2", 2.0)
    )
    assert conv is not None
    (s,) = sessions_of(conv, "p")
    doc = task_document(s, "t")
    text = yaml.safe_dump(doc)
    assert "Fix it" not in text and "f1.py" not in text and "All done" not in text
    t = parse_task(yaml.safe_load(text), "t.yaml")
    assert len(t.prompt) == len(PROMPT["content"]) and len(t.final_message) == len("All done.")
    assert json.loads(t.turns[0].calls[0].arguments).keys() == {"path"}
    assert len(t.turns[0].calls[0].arguments) == len(call(1)["arguments"])
    assert t.turns[0].recorded is not None
    assert t.turns[0].calls[0].result.bytes == 1234 and t.turns[0].recorded["bytes_sent"] == 100
    kept = parse_task(task_document(s, "t", keep_content=True), "t.yaml")
    assert kept.prompt == PROMPT["content"] and kept.turns[0].calls[0].result.text == "x" * 1234


# -------------------------------------------------------------------------------------- profiles
def test_the_minimal_profile_sends_the_published_harness_shape() -> None:
    s = AgentSettings(BY_NAME["ws"], "gpt-5.4")
    conv = Conversation(TASK)
    assert conv.profile == MINIMAL
    full = responses_body(conv, s, True)
    assert list(full) == [
        "model",
        "instructions",
        "tools",
        "input",
        "store",
        "include",
        "metadata",
        "prompt_cache_key",
    ]
    assert full["input"] == [{"type": "message", "role": "user", "content": TASK.prompt}]
    conv.previous_response_id = "r1"
    assert list(responses_body(conv, s, False)) == [
        "model",
        "previous_response_id",
        "input",
        "store",
        "include",
    ]


def test_the_codex_profile_resends_tools_and_metadata_and_warms_up() -> None:
    p = load_profile("codex")
    s = AgentSettings(BY_NAME["ws"], "gpt-5.4", tool_latency_scale=0)
    transport = FakeTransport([ok(response_id="w"), ok(calls=1, response_id="r1"), ok()], websocket=True)
    agent = Agent(AgentSettings(BY_NAME["ws"], "gpt-5.4", tool_latency_scale=0, profile=p), transport, 1,
                  on_turn=lambda *_: None, on_task=lambda _: None, sleep=lambda _: None, rng=random.Random(1))  # fmt: skip
    rec = agent.run_task(TASK)
    assert rec.ok and rec.profile == "codex" and rec.turns == 2
    (warm, _), (first, _), (second, _) = transport.requests
    assert warm["generate"] is False and [i["role"] for i in warm["input"]] == ["developer"]
    text = warm["input"][0]["content"][0]["text"]  # the system prompt, agentload's marker on it (core.marker)
    assert warm["input"][0]["content"][0]["type"] == "input_text" and text.startswith(TASK.instructions)
    mark = find_mark(text)
    assert mark is not None and (mark.task, mark.strategy) == (TASK.name, "ws")
    assert warm["input"][0]["id"].startswith("msg_") and "instructions" not in warm
    assert first["previous_response_id"] == "w" and [i["role"] for i in first["input"]] == ["user"]
    assert second["previous_response_id"] == "r1" and second["tools"] == list(TASK.tools)
    assert second["input"][0]["id"].startswith("fco_")
    assert {k: len(v) for k, v in second["client_metadata"].items()} == dict(p.client_metadata)
    assert second["prompt_cache_key"] == first["prompt_cache_key"] and second["tool_choice"] == "auto"
    assert second["reasoning"] == {"summary": "auto"} and second["include"] == ["reasoning.encrypted_content"]
    assert Conversation(TASK, p).warmup_count == 1 and s.profile is None


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "x", "instructions": "header"}, "instructions"),
        ({"name": "x", "extra": {"input": []}}, "extra.input"),
        ({"name": "x", "extra": {"max_tokens": 100}}, "extra.max_tokens"),  # chat's, not Responses'
        ({"name": "x", "chat_extra": {"text": {"verbosity": "low"}}}, "chat_extra.text"),
        ({"name": "x", "chat_extra": {"messages": []}}, "chat_extra.messages"),
        ({"name": "x", "reasoning": "encrypted"}, "reasoning"),
        ({"name": "x", "client_metadata": {"k": 5000}}, "client_metadata.k"),
        ({"name": ""}, "name"),
    ],
)
def test_a_bad_profile_names_its_field(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(TaskFileError) as e:
        parse_profile(doc, "p.yaml")
    assert e.value.path == field


def test_recorded_task_fields_validate() -> None:
    doc = {
        "name": "rec",
        "instructions": "",
        "tools": [{"type": "custom", "name": "apply_patch", "description": "patch"}, {"type": "web_search"}],
        "context": [
            {"role": "developer", "parts": [30, "literal"], "warmup": True},
            {"role": "user", "bytes": 12},
        ],
        "prompt": "p",
        "turns": [
            {
                "calls": [{"tool": "apply_patch", "input": {"synth": "diff", "bytes": 80}}],
                "recorded": {"bytes_sent": 9},
            }
        ],
        "final_message": "ok",
        "client_profile": "codex",
        "recorded": {"client": "x"},
    }
    t = parse_task(doc, "rec.yaml")
    call = t.turns[0].calls[0]
    assert call.custom and len(call.arguments) == 80 and t.turns[0].recorded == {"bytes_sent": 9}
    assert [len("".join(c.parts)) for c in t.context] == [37, 12] and t.context[0].warmup
    assert t.client_profile is not None and t.client_profile.name == "codex" and t.function_tools == ()
    with pytest.raises(TaskFileError, match=r"turns\[0\].calls\[0\].args: a custom tool takes `input`"):
        parse_task({**doc, "turns": [{"calls": [{"tool": "apply_patch", "args": {}}]}]}, "rec.yaml")
    with pytest.raises(TaskFileError, match=r"client_profile: no such client profile"):
        parse_task({**doc, "client_profile": "nope"}, "rec.yaml")


@pytest.mark.parametrize("name", ["codex-exec-ws", "codex-exec-http"])
def test_the_shipped_recordings_validate_and_carry_codexs_shape(name: str) -> None:
    from tests.paths import ROOT

    t = load_task(str(ROOT / "tasks" / "recorded" / f"{name}.yaml"))
    assert t.name == name and len(t.turns) >= 4 and t.client_profile is not None
    assert t.client_profile.item_ids and t.recorded["client"].startswith("codex_exec/0.171")
    assert all(turn.recorded and turn.recorded["bytes_sent"] > 0 for turn in t.turns)


# ------------------------------------------------------------------ what real clients send back
SDK_PROMPT = {"role": "user", "content": "Fix it, please."}  # (no type: the spec's EasyInputMessage)


def test_the_agents_sdk_shape_is_read_and_replayed() -> None:
    """The OpenAI Agents SDK over HTTP: typeless messages, the model's items resent whole (reasoning by
    id, calls with their ids and status), never previous_response_id, a structured output's text.format."""
    chains = Chains()
    fmt = {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": True}}
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": []}
    out = {**call(1), "id": "fc_1", "status": "completed"}
    base = {"model": "m", "instructions": "Be brief.", "tools": TASK.tools, "include": [], "text": fmt}
    conv = chains.add(exchange({**base, "input": [SDK_PROMPT]}, [reasoning, out], "r1", 1.0))
    h = [SDK_PROMPT, reasoning, out, answer(1, 100)]
    assert chains.add(exchange({**base, "input": h}, [DONE], "r2", 2.0)) is conv and conv is not None
    (s,) = sessions_of(conv, "sdk")
    assert s.prompt == SDK_PROMPT["content"] and not s.notes, s.notes
    p = s.profile
    assert p is not None and s.recorded["strategy"] == "http-stateless"
    assert not p.typed_messages and p.output_ids and p.reasoning == ReasoningAs.ITEM and not p.continues
    assert dict(p.extra) == {"text": fmt} and dict(p.chat_extra) == {
        "response_format": {
            "type": "json_schema",
            "json_schema": {k: v for k, v in fmt["format"].items() if k != "type"},
        }
    }
    # replayed over WebSocket mode, or in a Conversation, it sends what the SDK sent: the whole context,
    # no chaining, no conversation
    task = parse_task(task_document(s, "t"), "t.yaml")
    for strategy in ("ws", "http-conversation"):
        st = BY_NAME[strategy]
        transport = FakeTransport([ok(calls=1, response_id="r1"), ok()], websocket=st.websocket)
        agent = Agent(AgentSettings(st, "gpt-5.4", tool_latency_scale=0, profile=p), transport, 1,
                      on_turn=lambda *_: None, on_task=lambda _: None, sleep=lambda _: None, rng=random.Random(1))  # fmt: skip
        assert agent.run_task(task).ok, strategy
        (first, _), (second, _) = transport.requests
        assert "previous_response_id" not in second and "conversation" not in second, strategy
        assert "instructions" in second  # (the whole context)
        assert [i.get("type") for i in second["input"]] == [None, "function_call", "function_call_output"]
        assert second["input"][0] == {"role": "user", "content": task.prompt} and first["text"] == fmt
        assert second["input"][1]["status"] == "completed"


def test_a_websocket_session_that_never_continued_is_ws_not_ws_stored() -> None:
    chains = Chains()
    conv = chains.add(exchange({"model": "m", "input": [PROMPT]}, [call(1)], "r1", 1.0, via="ws"))
    chains.add(
        exchange({"model": "m", "input": [PROMPT, call(1), answer(1, 9)]}, [DONE], "r2", 2.0, via="ws")
    )
    assert conv is not None
    (s,) = sessions_of(conv, "p")
    assert s.recorded["strategy"] == "ws" and s.profile is not None and not s.profile.continues


def test_a_chat_recordings_fields_stay_on_chat_and_are_translated_for_responses() -> None:
    """max_tokens is chat's (a Responses request with it is a 400): chat requests keep it, Responses
    requests say max_output_tokens; response_format becomes text.format."""
    chains = Chains()
    fmt = {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}}}
    body = {"model": "m", "max_tokens": 500, "seed": 7, "temperature": 0.2, "response_format": fmt}
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Go."}]
    ex = exchange({**body, "messages": msgs}, [call(1)], "r1", 1.0)
    ex.path = "/v1/chat/completions"
    conv = chains.add(ex)
    assert conv is not None
    (s,) = sessions_of(conv, "p")
    p = s.profile
    assert p is not None and s.recorded["strategy"] == "chat"
    assert dict(p.chat_extra) == {"max_tokens": 500, "seed": 7, "temperature": 0.2, "response_format": fmt}
    assert dict(p.extra) == {
        "max_output_tokens": 500,
        "temperature": 0.2,
        "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}}},
    }
    parse_profile(p.as_document(), "p.yaml")  # (loads again: each field on its own API)
    conv2 = Conversation(TASK, p)
    chat, _ = chat_body(conv2, AgentSettings(BY_NAME["chat"], "gpt-5.4"))
    resp = responses_body(conv2, AgentSettings(BY_NAME["http-stateless"], "gpt-5.4"), True)
    assert chat["max_tokens"] == 500 and "max_tokens" not in resp and "seed" not in resp
    assert resp["max_output_tokens"] == 500 and "text" not in chat


def test_api_fields_are_the_specs() -> None:
    with gzip.open(SPEC) as f:
        spec = yaml.load(f, Loader=yaml.CSafeLoader)["components"]["schemas"]

    def props(name: str) -> set[str]:
        schema = spec[name]
        out: set[str] = set()
        for part in schema.get("allOf", [schema]):
            if "$ref" in part:
                out |= props(part["$ref"].split("/")[-1])
            out |= set(part.get("properties", {}))
        return out

    responses, chat = props("CreateResponse"), props("CreateChatCompletionRequest")
    assert responses - chat == api_fields.RESPONSES_ONLY
    assert chat - responses == api_fields.CHAT_ONLY
    assert responses & chat == api_fields.SHARED


@pytest.mark.parametrize(
    ("how", "resent"),
    [
        (ReasoningAs.ITEM, [{"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "e"}]),
        (ReasoningAs.WITHOUT_ID, [{"type": "reasoning", "summary": [], "encrypted_content": "e"}]),
        (ReasoningAs.REFERENCE, [{"type": "item_reference", "id": "rs_1"}]),
        (ReasoningAs.NONE, []),
    ],
)
def test_reasoning_is_resent_as_the_profile_says(how: ReasoningAs, resent: list[dict[str, Any]]) -> None:
    conv = Conversation(TASK, replace(MINIMAL, reasoning=how, output_ids=True))
    reply = ok(calls=1)
    reply.output_items = [
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "e", "status": None},
        {"type": "function_call", "id": "fc_1", "call_id": "call_0", "name": "read_file", "arguments": "{}"},
    ]
    conv.add_reply(reply, 0)
    assert conv.items[1:-1] == resent
    assert conv.items[-1]["id"] == "fc_1" and conv.items[-1]["status"] == "completed"


def test_requests_naming_one_conversation_are_one_session() -> None:
    """A client on the Conversations API sends each turn's new items with ``conversation``: linked by
    it (its id, or ``{"id": ...}``) as chained requests are by previous_response_id."""
    chains = Chains()
    a = chains.add(
        exchange({"model": "m", "input": [PROMPT], "conversation": "conv_1"}, [call(1)], "r1", 1.0)
    )
    other = chains.add(
        exchange({"model": "m", "input": [PROMPT], "conversation": "conv_2"}, [call(1)], "r9", 1.5)
    )
    b = chains.add(
        exchange(
            {"model": "m", "input": [answer(1, 70)], "conversation": {"id": "conv_1"}}, [DONE], "r2", 2.0
        )
    )
    assert a is b and a is not other and a is not None
    (s,) = sessions_of(a, "p")
    assert s.recorded["strategy"] == "http-conversation" and s.turns[1].measured["continued"]
    assert [len(c.output or "") for t in s.turns for c in t.calls] == [70] and s.final_message
    assert s.profile is not None and s.profile.continues and "conversation" not in dict(s.profile.extra)


def test_agentloads_marker_is_kept_off_a_recording_and_names_its_task() -> None:
    """A recording of agentload's own agents (through a proxy that dropped the metadata): the system
    prompt without the marker (a replay marks its own), the task named from it; chat and Responses."""
    marked = Mark("fix-failing-test", "agentload-1", "chat").on("Be brief.")
    for api, body in (
        ("chat", {"messages": [{"role": "system", "content": marked}, {"role": "user", "content": "Go."}]}),
        ("responses", {"instructions": marked, "input": [PROMPT], "store": False}),
    ):
        ex = exchange({"model": "m", **body}, [DONE], "r1", 1.0)
        if api == "chat":
            ex.path = "/v1/chat/completions"
        conv = Chains().add(ex)
        assert conv is not None
        (s,) = sessions_of(conv, "p")
        assert s.instructions == "Be brief." and s.recorded["agentload_task"] == "fix-failing-test", api
