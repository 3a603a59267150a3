"""The start-up check: before any agent starts, does --host answer, and does it take the API key?

Without it, a wrong port or a revoked key shows up as thousands of identical failed turns and a
non-zero exit a run-time later. With it, the run stops at once with one line that names the flag or
the variable and the fix. One ``GET /models`` under --host's base (``/v1/models`` for a bare origin:
client.api_base): every OpenAI-compatible server has it, and it costs no tokens. Any answer other than 401/403 and 400 counts as reachable (a server without
/models answers 404, which is fine); a 400 to a GET with no body is a server that refuses every
request (LiteLLM checking a key without its database): the run stops with the server's own error
type and message, redacted (core.redact).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from urllib.parse import urlencode, urlsplit

from ..client import TurnOutcome, api_base
from ..client.stream import error_from_body
from ..client.wire.counting import trust
from ..core.errors import AgentloadError
from ..core.protocol import CONTROL_PREFIX
from ..core.redact import redact
from ..workload import Task

AUTH_STATUSES = (401, 403)
BAD_REQUEST = 400  # on GET /models: a server that refuses it so refuses every request (a gateway's
# key check that fails for want of its database: LiteLLM's no_db_connection)


def _origin(host: str) -> str:
    """The host as printed: scheme, name and port only (no path, query or credentials)."""
    u = urlsplit(host)
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{u.hostname}{port}"


def _tls_for(url: str) -> ssl.SSLContext | None:
    """For an https URL, what the agents trust (so the checks agree with them); None for http."""
    if not url.startswith("https"):
        return None
    ctx = ssl.create_default_context()
    trust(ctx)
    return ctx


def check_host(host: str, headers: dict[str, str], timeout_s: float, key_env: str) -> None:
    """Raises AgentloadError (one line, no secret in it) when ``host`` cannot serve the run."""
    url = api_base(host) + "/models"
    req = urllib.request.Request(url, headers=headers, method="GET")
    where = _origin(host)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s, context=_tls_for(url)) as resp:
            resp.read(65536)
    except urllib.error.HTTPError as e:
        if e.code in AUTH_STATUSES:
            # Not the server's message: OpenAI's echoes part of the key it refused.
            raise AgentloadError(
                f"--host {where}: the API key was refused (HTTP {e.code}); check {key_env} "
                "(for the mock: the key it was started with, --api-key / AGENTLOAD_MOCK_API_KEY)"
            ) from None
        if e.code == BAD_REQUEST:
            raise AgentloadError(
                f"--host {where}: GET {urlsplit(url).path} answers HTTP 400 ({_servers_error(e)}), and so "
                f"would every request: fix what the server names (a gateway checks {key_env} too; "
                "--no-preflight skips this check)"
            ) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        text = getattr(reason, "strerror", None) or reason.__class__.__name__
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            text = f"no answer within --connect-timeout {timeout_s:g} s"
        raise AgentloadError(
            f"--host {where}: cannot connect ({text}); start the server (agentload mock --port N) or fix "
            "--host (--no-preflight skips this check)"
        ) from None


def _servers_error(e: urllib.error.HTTPError) -> str:
    """A refusal's own error type, code and message (OpenAI's error shape), redacted; or what it was."""
    try:
        body = e.read(65536)
    except OSError:
        body = b""
    out = TurnOutcome()
    error_from_body(out, e.code, body)
    label = ", ".join(x for x in (out.error_type, out.error_code) if x)
    if not label:
        kind = (e.headers.get("content-type") or "no content type").split(";")[0]
        return f"{kind}, {len(body)} bytes"
    return redact(f"{label}: {out.error_message}")[:300]


def check_tasks(host: str, headers: dict[str, str], timeout_s: float, tasks: Sequence[Task]) -> None:
    """Against agentload's mock (it answers ``/_agentload/tasks``; any other server does not, and is
    not asked again): does it know every task the run plays? A task it does not know would fail every
    first turn with a 400."""
    query = urlencode([("name", t.name) for t in tasks])
    u = urlsplit(host)
    url = f"{u.scheme}://{u.netloc}{CONTROL_PREFIX}/tasks?{query}"
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout_s, context=_tls_for(url)
        ) as r:
            unknown = set(json.loads(r.read(1 << 20)).get("unknown") or [])
    except (urllib.error.URLError, OSError, ValueError, AttributeError):
        return  # not the mock (or no answer): the model decides what each task does
    for t in tasks:
        if t.name in unknown:
            given = f" {t.source}" if t.source else " FILE"
            raise AgentloadError(
                f"--task {t.source or t.name}: the mock at {_origin(host)} does not know task {t.name!r}; "
                f"start it with agentload mock --task{given} (or give a built-in task)"
            )
