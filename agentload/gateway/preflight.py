"""Before the run: is ``--upstream`` agentload's mock, and does ``--gateway`` answer as an OpenAI API
with the key? Each mistake is one line that names the flag or the variable and the fix (exit 2):
without it a wrong port, a wrong key or a gateway that is not OpenAI-compatible would show as a run
of failed turns and a verdict about nothing."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from ..client import api_base
from ..client.wire.counting import trust
from ..core.errors import AgentloadError
from ..core.protocol import API_KEY_ENV, CONTROL_PREFIX


def origin(url: str) -> str:
    """The URL as printed: scheme, name and port (no path, query or credentials)."""
    u = urlsplit(url)
    return f"{u.scheme}://{u.hostname}" + (f":{u.port}" if u.port else "")


def _tls(url: str) -> ssl.SSLContext | None:
    if not url.startswith("https"):
        return None
    ctx = ssl.create_default_context()
    trust(ctx)  # what the agents trust (SSL_CERT_FILE too)
    return ctx


def get_json(url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, Any]:
    """(status, the JSON body or None) of a GET; raises OSError when nothing answers."""
    req = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s, context=_tls(url)) as resp:
            status, body = resp.status, resp.read(4 << 20)
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read(65536)
    except urllib.error.URLError as e:
        raise OSError(getattr(e.reason, "strerror", None) or str(e.reason)) from None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def upstream_root(upstream: str) -> str:
    """The mock's origin, where its control endpoints are (whatever base path was given)."""
    u = urlsplit(upstream)
    return f"{u.scheme}://{u.netloc}"


def check_upstream(upstream: str, timeout_s: float) -> None:
    where = origin(upstream)
    try:
        status, body = get_json(upstream_root(upstream) + f"{CONTROL_PREFIX}/health", {}, timeout_s)
    except OSError as e:
        raise AgentloadError(
            f"--upstream {where}: cannot connect ({e}); start agentload mock there (agentload mock --port N) "
            "and point your gateway's upstream at it"
        ) from None
    if status != 200 or not isinstance(body, dict) or body.get("ok") is not True:
        raise AgentloadError(
            f"--upstream {where}: not agentload's mock (GET {CONTROL_PREFIX}/health answered HTTP {status}); "
            "the check reads what reached the upstream from the mock: start agentload mock and give its URL"
        )


def check_gateway(gateway: str, key: str, timeout_s: float) -> None:
    """GET /models through the gateway, with the key: it answers, it takes the key, it speaks OpenAI."""
    where = origin(gateway)
    url = api_base(gateway) + "/models"
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        status, body = get_json(url, headers, timeout_s)
    except OSError as e:
        raise AgentloadError(
            f"--gateway {where}: cannot connect ({e}); start the gateway or fix --gateway"
        ) from None
    if status in (401, 403):
        raise AgentloadError(
            f"--gateway {where}: the API key was refused (HTTP {status}); set {API_KEY_ENV} to a key the "
            "gateway accepts (LiteLLM: its master key or a virtual key)"
        )
    if status == 400 and isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        # its type and code only: a gateway's message may echo the key it refused
        said = ", ".join(str(error[k]) for k in ("type", "code") if error.get(k)) or "no error type"
        raise AgentloadError(
            f"--gateway {where}: GET {urlsplit(url).path} answers HTTP 400 ({said}), and so would every "
            f"request: fix what the gateway names ({API_KEY_ENV} is the key it checks)"
        )
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise AgentloadError(
            f"--gateway {where}: not an OpenAI-compatible API (GET {urlsplit(url).path} answered HTTP "
            f"{status}{'' if isinstance(body, dict) else ', not JSON'}); give the gateway's OpenAI base URL "
            "(with its base path, e.g. http://host:4000 or http://host:4000/openai/v1)"
        )
