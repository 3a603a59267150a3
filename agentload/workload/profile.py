"""Client profiles: the request shape a client sends every turn, a part of the workload as much as the
task is (what is resent on a continuation moves the very bytes agentload compares).

A profile says where the system prompt goes (the ``instructions`` field, or a developer message), how a
message's content is written (a string, or ``input_text`` parts), whether the client puts its own ids on
the items it makes, whether tools and instructions are resent on continuations, when
``prompt_cache_key`` is sent, what ``include`` asks for, ``client_metadata`` (key names and value sizes:
the values are synthetic), constant extra fields (``tool_choice``, ``parallel_tool_calls``, ``text``...),
``reasoning.summary``, and on WebSocket mode ``stream`` inside ``response.create`` and a ``generate:
false`` warm-up. What a client resends of the model's output is part of it too: output items with
their ids and status (the OpenAI Agents SDK) or without, reasoning as it came, by reference
(``item_reference``) or not at all, and whether it continues by ``previous_response_id`` at all (a
client that never does resends the whole context every turn, whatever the strategy). Constant fields
are per API: ``extra`` for Responses requests, ``chat_extra`` for Chat Completions (a chat-only field
in a Responses request is a 400 at OpenAI; agentload.workload.api_fields). Built-in: ``minimal`` (the published harness's shape, the default) and ``codex``
(recorded from Codex CLI 0.171 by ``agentload record``). A recorded task carries its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import TaskFileError
from .api_fields import CHAT_ONLY, RESPONSES_ONLY

PROFILES_DIR = Path(__file__).resolve().parent / "builtin" / "profiles"
DEFAULT_PROFILE = "minimal"


class InstructionsAs(StrEnum):
    FIELD = "field"  # the request's ``instructions``
    DEVELOPER_MESSAGE = "developer_message"  # the first input item (as Codex sends its system prompt)


class ReasoningAs(StrEnum):
    """How a client resends the model's reasoning items on a turn that carries the history."""

    ITEM = "item"  # the item as it came (id, summary, encrypted content when asked for): Codex, the SDKs
    WITHOUT_ID = "without_id"  # the item without its id (opencode: store=false, encrypted content alone)
    REFERENCE = "reference"  # ``{"type": "item_reference", "id": ...}``: the server holds the item
    NONE = "none"  # not resent


class CacheKeyOn(StrEnum):
    FIRST = "first"  # only on requests that send the whole context
    EVERY = "every"  # on every request (Codex: its thread id)
    NEVER = "never"


@dataclass(frozen=True)
class ClientProfile:
    name: str
    instructions: InstructionsAs = InstructionsAs.FIELD
    content_parts: bool = False
    item_ids: bool = False
    resend_tools: bool = False
    prompt_cache_key: CacheKeyOn = CacheKeyOn.FIRST
    include: tuple[str, ...] | None = None  # None: encrypted reasoning when store=false, else nothing
    client_metadata: tuple[tuple[str, int], ...] = ()  # (key, value length)
    extra: tuple[tuple[str, Any], ...] = field(default=())  # constant fields, in order
    reasoning_summary: str | None = None
    ws_stream: bool = False
    ws_warmup: bool = False
    typed_messages: bool = True  # messages carry ``type: message`` (the spec makes it optional)
    output_ids: bool = False  # the model's output items are resent with their ``id`` and ``status``
    reasoning: ReasoningAs = ReasoningAs.ITEM
    continues: bool = True  # False: never by previous_response_id; every turn resends the whole context
    chat_extra: tuple[tuple[str, Any], ...] = field(default=())  # constant fields of chat requests

    def as_document(self) -> dict[str, Any]:
        """The profile as a task file or profile file writes it."""
        doc: dict[str, Any] = {
            "name": self.name,
            "instructions": str(self.instructions),
            "content_parts": self.content_parts,
            "item_ids": self.item_ids,
            "resend_tools": self.resend_tools,
            "prompt_cache_key": str(self.prompt_cache_key),
        }
        if self.include is not None:
            doc["include"] = list(self.include)
        if self.client_metadata:
            doc["client_metadata"] = dict(self.client_metadata)
        if self.extra:
            doc["extra"] = dict(self.extra)
        if self.reasoning_summary is not None:
            doc["reasoning_summary"] = self.reasoning_summary
        doc["ws_stream"] = self.ws_stream
        doc["ws_warmup"] = self.ws_warmup
        # (written only where they differ from the defaults: older files and the built-ins stay as
        # they were)
        if not self.typed_messages:
            doc["typed_messages"] = False
        if self.output_ids:
            doc["output_ids"] = True
        if self.reasoning != ReasoningAs.ITEM:
            doc["reasoning"] = str(self.reasoning)
        if not self.continues:
            doc["continues"] = False
        if self.chat_extra:
            doc["chat_extra"] = dict(self.chat_extra)
        return doc


_FIELDS = {
    "name", "instructions", "content_parts", "item_ids", "resend_tools", "prompt_cache_key", "include",
    "client_metadata", "extra", "reasoning_summary", "ws_stream", "ws_warmup", "typed_messages",
    "output_ids", "reasoning", "continues", "chat_extra",
}  # fmt: skip
# fields agentload's own body builders set (Responses and chat): a profile's ``extra`` may not set
# them too, and a recorded client's other fields are what its profile's ``extra`` keeps
BUILT_FIELDS = frozenset({
    "model", "input", "instructions", "tools", "previous_response_id", "store", "include", "metadata",
    "prompt_cache_key", "client_metadata", "reasoning", "stream", "generate", "type",
    "messages", "stream_options", "reasoning_effort", "conversation",
})  # fmt: skip
# chat's own: what agentload's chat body builder sets
CHAT_BUILT_FIELDS = frozenset({
    "model", "messages", "tools", "stream", "stream_options", "prompt_cache_key", "reasoning_effort",
})  # fmt: skip


def parse_profile(data: Any, file: str, where: str = "") -> ClientProfile:
    """A profile document (a mapping); every problem raises TaskFileError naming the field."""

    def fail(key: str, problem: str, fix: str) -> TaskFileError:
        return TaskFileError(file, f"{where}.{key}" if where else key, problem, fix)

    if not isinstance(data, dict):
        raise TaskFileError(file, where, "must be a mapping", "write the profile's fields, or a profile name")
    extra_keys = sorted(set(data) - _FIELDS)
    if extra_keys:
        raise fail(extra_keys[0], "unknown field", f"use one of: {', '.join(sorted(_FIELDS))}")

    def typed(key: str, typ: type, default: Any) -> Any:
        value = data.get(key, default)
        if value is None and default is None:
            return None
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            raise fail(
                key, f"must be {typ.__name__}, got {type(value).__name__}", f"make `{key}` a {typ.__name__}"
            )
        return value

    def choice(key: str, enum: type[StrEnum], default: StrEnum) -> Any:
        value = data.get(key, str(default))
        try:
            return enum(value)
        except ValueError:
            raise fail(
                key, f"unknown value {value!r}", f"use one of: {', '.join(e.value for e in enum)}"
            ) from None

    name = typed("name", str, "")
    if not name:
        raise fail("name", "missing", "give the profile a name (it labels the run's records)")
    include = data.get("include")
    if include is not None and (
        not isinstance(include, list) or not all(isinstance(i, str) for i in include)
    ):
        raise fail("include", "must be a list of strings", "write e.g. `[reasoning.encrypted_content]`")
    meta = typed("client_metadata", dict, {})
    for k, v in meta.items():
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 2048:
            raise fail(
                f"client_metadata.{k}", f"{v!r} is not a size", "give each key its value's length, 0 to 2048"
            )
    extra = typed("extra", dict, {})
    clash = sorted(set(extra) & BUILT_FIELDS)
    if clash:
        raise fail(
            f"extra.{clash[0]}", "set by agentload itself", "remove it; the profile's own fields shape it"
        )
    chat_extra = typed("chat_extra", dict, {})
    clash = sorted(set(chat_extra) & CHAT_BUILT_FIELDS)
    if clash:
        raise fail(
            f"chat_extra.{clash[0]}",
            "set by agentload itself",
            "remove it; the profile's own fields shape it",
        )
    for key, fields, other, own in (("extra", extra, CHAT_ONLY, "chat_extra"), ("chat_extra", chat_extra,
                                    RESPONSES_ONLY, "extra")):  # fmt: skip
        wrong = sorted(set(fields) & other)
        if wrong:
            raise fail(
                f"{key}.{wrong[0]}",
                "is not a field of this API's requests (OpenAI refuses it)",
                f"move it to `{own}`",
            )
    return ClientProfile(
        name=name,
        instructions=choice("instructions", InstructionsAs, InstructionsAs.FIELD),
        content_parts=typed("content_parts", bool, False),
        item_ids=typed("item_ids", bool, False),
        resend_tools=typed("resend_tools", bool, False),
        prompt_cache_key=choice("prompt_cache_key", CacheKeyOn, CacheKeyOn.FIRST),
        include=tuple(include) if include is not None else None,
        client_metadata=tuple((str(k), int(v)) for k, v in meta.items()),
        extra=tuple(extra.items()),
        reasoning_summary=typed("reasoning_summary", str, None),
        ws_stream=typed("ws_stream", bool, False),
        ws_warmup=typed("ws_warmup", bool, False),
        typed_messages=typed("typed_messages", bool, True),
        output_ids=typed("output_ids", bool, False),
        reasoning=choice("reasoning", ReasoningAs, ReasoningAs.ITEM),
        continues=typed("continues", bool, True),
        chat_extra=tuple(chat_extra.items()),
    )


def builtin_profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def load_profile(name_or_path: str) -> ClientProfile:
    """A profile by built-in name (``codex``) or by file path (YAML or JSON)."""
    path = Path(name_or_path)
    if path.is_dir():
        raise TaskFileError(
            str(path), "", "is a folder", "give a profile file (YAML or JSON) or a built-in name"
        )
    if path.suffix not in (".yaml", ".yml", ".json"):
        path = PROFILES_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            names = ", ".join(builtin_profile_names())
            raise TaskFileError(
                name_or_path, "", "no such client profile", f"use a profile file or one of: {names}"
            )
    elif not path.is_file():
        raise TaskFileError(
            str(path), "", "file not found", "give an existing profile file or a built-in name"
        )
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as e:
        raise TaskFileError(
            str(path), "", f"cannot read: {e.__class__.__name__}", "make it a YAML or JSON mapping"
        ) from None
    return parse_profile(data, str(path))


MINIMAL = ClientProfile(name=DEFAULT_PROFILE)
