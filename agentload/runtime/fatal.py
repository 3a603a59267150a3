"""A broken target is never hammered: when every task fails at once, for a reason no retry fixes, the
run stops with one line that names the cause and the fix, and exit code 2.

"At once": the task's first turn failed. "No retry fixes": the endpoint or model is not there (404,
405, 501), the WebSocket upgrade is refused (no answer, or one other than 101), the key is refused
(401, 403), every request is refused as invalid (400: the line gives the server's own error type and
message, redacted), the quota is spent, or nothing listens at the host (client.backoff.unfixable).
After ``FATAL_TASKS`` such tasks in a row on one process, with no successful turn between them, the
run stops. On a worker the line goes to the master, which stops the whole run. Between failed tasks
each agent backs off anyway (client.backoff.TaskBackoff), so the bound is reached within seconds and
with few requests.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import gevent

from ..client import api_base
from ..client.backoff import unfixable
from ..client.transports import NO_CONVERSATIONS
from ..core.protocol import API_KEY_ENV
from ..core.records import ErrorKind, TaskRecord, TurnRecord
from ..core.redact import redact
from .role import Role

if TYPE_CHECKING:
    from .context import RunContext

log = logging.getLogger("agentload")
FATAL_TASKS = 5  # tasks in a row that failed at once, for a reason no retry fixes
FATAL_MESSAGE = "agentload_fatal"
EXIT_CODE = 2


def cause_and_fix(rec: TurnRecord, host: str, said: str = "") -> str:
    """What the failing turns say, and what to change. ``said`` is the server's own message (already
    redacted: core.redact), shown where it names the cause better than a status can (a 400's, a
    refused upgrade's); never a refused key's (OpenAI's echoes part of the key)."""
    u = urlsplit(host or "")
    where = f"{u.scheme}://{u.netloc}" if u.netloc else "--host"
    status = f"HTTP {rec.http_status}" if rec.http_status else (rec.error_code or rec.error_kind or "error")
    match rec.error_kind:
        case ErrorKind.NOT_FOUND if rec.error_code == NO_CONVERSATIONS:
            path = urlsplit(api_base(host)).path + "/conversations" if host else "/v1/conversations"
            return (
                f"{where} answers {status} to POST {path}: it does not serve the Conversations API "
                "there, which http-conversation needs; run the other strategies (--strategy without "
                "http-conversation)"
            )
        case ErrorKind.NOT_FOUND:
            return (
                f"{where} answers {status} ({rec.error_code or 'no such endpoint or model'}): point --host at "
                "an OpenAI-compatible API's base (it serves /responses or /chat/completions under it; /v1 "
                "when --host has no path) and check --model"
            )
        case ErrorKind.UPGRADE_REFUSED:
            path = urlsplit(api_base(host)).path + "/responses" if host else "/v1/responses"
            return (
                f"{where} refuses the WebSocket upgrade at {path} ({said or status}): it does not serve "
                "the Responses API's WebSocket mode there; fix --host (its path is the API's base) or run "
                "an HTTP strategy (--strategy http-stateless,http-chained,chat)"
            )
        case ErrorKind.AUTH:
            return f"{where} refuses the API key ({status}): check {API_KEY_ENV}"
        case ErrorKind.QUOTA:
            return f"{where} says the account's quota is spent (insufficient_quota): waiting does not fix it"
        case ErrorKind.BAD_REQUEST:
            label = ", ".join(x for x in (rec.error_type, rec.error_code) if x) or "no error type"
            return (
                f"{where} refuses every first request ({status}, {label}: {said or 'no message'}): the "
                "server's own error; fix what it names (the key a gateway checks, --model, --strategy, a task "
                "file)"
            )
    return f"cannot connect to {where} ({rec.error_code}): start the server, or fix --host"


class FatalStop:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.streak = 0
        self.last: TurnRecord | None = None
        self.said = ""  # the last failure's own message, redacted
        self.stopped = False

    def turn(self, record: TurnRecord, outcome: Any = None) -> None:
        if record.ok:
            self.streak = 0
        elif record.error_kind != ErrorKind.INTERRUPTED:
            self.last = record
            self.said = redact(str(getattr(outcome, "error_message", None) or ""))[:200]

    def task(self, record: TaskRecord) -> None:
        last = self.last
        if record.ok or last is None or record.turns > 0 or not unfixable(last.error_kind, last.error_code):
            if record.ok:
                self.streak = 0
            return
        self.streak += 1
        if self.streak >= FATAL_TASKS and not self.stopped:
            self.stopped = True
            cause = cause_and_fix(last, self.ctx.host, self.said)
            line = f"every task failed at once ({self.streak} in a row): {cause}"
            if self.ctx.role == Role.WORKER:
                self.ctx.runner.send_message(FATAL_MESSAGE, {"line": line})
            else:
                gevent.spawn(self.stop_run, line)

    def stop_run(self, line: str) -> None:
        """On the master or a standalone run: say why, mark the exit code, end the run as any stop ends."""
        print(f"agentload: {line}", file=sys.stderr, flush=True)
        self.ctx.exit_with(EXIT_CODE)
        if getattr(self.ctx.environment.parsed_options, "headless", False):
            self.ctx.runner.quit()
        else:  # the web UI stays, to show what happened
            self.ctx.runner.stop()

    def on_message(self, environment: Any, msg: Any, **_kw: Any) -> None:
        if not self.stopped:
            self.stopped = True
            gevent.spawn(self.stop_run, str((msg.data or {}).get("line", "a worker stopped the run")))


def install(ctx: RunContext) -> FatalStop:
    fatal = FatalStop(ctx)
    if ctx.role.runs_agents:
        ctx.events.turn.add_listener(fatal.turn)
        ctx.events.task.add_listener(fatal.task)
    if ctx.role == Role.MASTER:
        ctx.runner.register_message(FATAL_MESSAGE, fatal.on_message)
    return fatal
