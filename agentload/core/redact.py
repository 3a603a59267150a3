"""Key material out of a server's own words, before agentload prints them.

Why: a line that stops a run is most useful with what the server said (LiteLLM without a database
answers a wrong key with ``400 no_db_connection``; an upgrade refused with a JSON error), but servers
echo what they were sent: OpenAI quotes part of a refused key (``Incorrect API key provided:
sk-abc***xyz``), LiteLLM the key and its hash. So every server message agentload shows goes through
``redact`` first: the key itself wherever it appears, bearer tokens, anything shaped like an OpenAI key
(``sk-...``), and long hex or token-like strings (a key's hash, a JWT's parts).
"""

from __future__ import annotations

import os
import re

from .protocol import API_KEY_ENV, MOCK_KEY_ENV

MASK = "[redacted]"
_PATTERNS = (
    re.compile(r"(?i)\bbearer\s+\S+"),
    re.compile(r"\bsk-[A-Za-z0-9_\-*.]+"),
    re.compile(r"\b[0-9a-fA-F]{24,}\b"),  # a key's hash
    re.compile(r"[A-Za-z0-9_\-+/=.]{40,}"),  # a token or key of another shape
)


def redact(text: str) -> str:
    """``text`` with every piece of key material in it replaced by ``[redacted]``."""
    for name in (API_KEY_ENV, MOCK_KEY_ENV):
        key = os.environ.get(name, "")
        if len(key) >= 4:
            text = text.replace(key, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(MASK, text)
    return text
