"""The recorder: the proxy's exchanges linked into conversations and written as task files as they
grow: a conversation's file is rewritten when it reaches its answer, and while it runs at most once
every ``WRITE_INTERVAL_S`` (rewriting it after every turn cost the proxy more CPU than relaying:
bench/recorder.py); a stop writes every conversation not yet written, so a stop by signal loses no
completed turn."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .chains import Chains, Conversation, sessions_of
from .exchange import Exchange
from .taskdoc import task_document, write_task

log = logging.getLogger("agentload.record")
WRITE_INTERVAL_S = 1.0


@dataclass
class RecorderStats:
    exchanges: int = 0
    turns: int = 0
    failed: int = 0  # exchanges that ended in an error, or were cut off
    files: set[Path] = field(default_factory=set)


class Recorder:
    def __init__(self, out: Path, keep_content: bool = False, prefix: str = "") -> None:
        self.out = out
        self.keep_content = keep_content
        self.prefix = prefix or time.strftime("rec-%Y%m%d-%H%M%S")
        self.chains = Chains()
        self.stats = RecorderStats()
        self._dirty: dict[int, Conversation] = {}  # turns not yet on disk, by conversation
        self._written: dict[int, float] = {}  # when each conversation's file was last written

    def on_exchange(self, ex: Exchange) -> None:
        self.stats.exchanges += 1
        if not ex.ok:
            self.stats.failed += 1
        conv = self.chains.add(ex)
        if conv is None or not (ex.ok and ex.generate):
            return
        self.stats.turns += 1
        answered = not any(item.get("type") in ("function_call", "custom_tool_call") for item in ex.output)
        now = time.monotonic()
        if answered or now - self._written.get(conv.id, 0.0) >= WRITE_INTERVAL_S:
            self._dirty.pop(conv.id, None)
            self.write(conv)
            self._written[conv.id] = now
        else:
            self._dirty[conv.id] = conv
        self.flush(older_than=WRITE_INTERVAL_S)

    def flush(self, older_than: float = 0.0) -> None:
        """Writes the conversations with turns not yet on disk, last written ``older_than`` seconds ago
        or more (0: all of them, as at a stop)."""
        now = time.monotonic()
        for cid, conv in list(self._dirty.items()):
            if now - self._written.get(cid, 0.0) >= older_than:
                del self._dirty[cid]
                self.write(conv)
                self._written[cid] = now
        if len(self._written) > 4 * len(self.chains.conversations):  # (let go of conversations long gone)
            self._written = {c: t for c, t in self._written.items() if c in self.chains.conversations}

    def write(self, conv: Conversation) -> None:
        client = conv.steps[0].ex.client
        profile = "recorded-" + (re.sub(r"[^A-Za-z0-9_.-]+", "-", client).strip("-") or "client")
        for k, session in enumerate(sessions_of(conv, profile)):
            name = f"{self.prefix}-{conv.id:03d}" + (f"-p{k + 1}" if k else "")
            path = self.out / f"{name}.yaml"
            write_task(task_document(session, name, self.keep_content), path)
            self.stats.files.add(path)
