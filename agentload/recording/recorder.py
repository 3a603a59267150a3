"""The recorder: the proxy's exchanges linked into conversations and written as task files as they
grow, so whatever stops the recorder, every turn that completed is on disk."""

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

    def on_exchange(self, ex: Exchange) -> None:
        self.stats.exchanges += 1
        if not ex.ok:
            self.stats.failed += 1
        conv = self.chains.add(ex)
        if conv is not None and ex.ok and ex.generate:
            self.stats.turns += 1
            self.write(conv)

    def write(self, conv: Conversation) -> None:
        client = conv.steps[0].ex.client
        profile = "recorded-" + (re.sub(r"[^A-Za-z0-9_.-]+", "-", client).strip("-") or "client")
        for k, session in enumerate(sessions_of(conv, profile)):
            name = f"{self.prefix}-{conv.id:03d}" + (f"-p{k + 1}" if k else "")
            path = self.out / f"{name}.yaml"
            write_task(task_document(session, name, self.keep_content), path)
            self.stats.files.add(path)
