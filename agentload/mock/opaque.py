"""The opaque strings OpenAI puts on the wire, at their real sizes: delta ``obfuscation`` and reasoning
``encrypted_content``.

Neither means anything to a client, but both are bytes it receives (and, for encrypted reasoning that a
``store: false`` client resends, bytes it sends), so a mock without them understates both directions.

Obfuscation: OpenAI pads each streamed delta with random characters in an ``obfuscation`` field unless
``stream_options.include_obfuscation`` is false. Captured streams (Codex's and other clients' test
fixtures of real responses) show delta plus padding at 16 characters for short deltas ("{" with 15,
"**Craft" with 9); here the padding brings the delta to the next multiple of 16, at least one
character. The characters come from a fixed random pool at a rotating offset: random-looking, cheap.
"""

from __future__ import annotations

import base64
import random

from .models import encrypted_size

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_POOL = "".join(random.Random(20250801).choices(_ALPHABET, k=4096))
_B64_POOL = base64.b64encode(random.Random(7692).randbytes(3 * 4096)).decode()
OBFUSCATION_BLOCK = 16


def obfuscation_length(delta: str) -> int:
    return OBFUSCATION_BLOCK - len(delta) % OBFUSCATION_BLOCK


class Obfuscator:
    """Padding for one response's deltas (each response starts at its own offset)."""

    def __init__(self, seed: int) -> None:
        self.pos = seed % len(_POOL)

    def pad(self, delta: str) -> str:
        n = obfuscation_length(delta)
        start = self.pos
        self.pos = (start + n) % (len(_POOL) - OBFUSCATION_BLOCK)
        return _POOL[start : start + n]


def encrypted_content(reasoning_tokens: int, seed: int) -> str:
    """A reasoning item's ``encrypted_content``: base64 of the size OpenAI's has for that much thinking
    (Fernet-style tokens begin ``gAAAAA``)."""
    n = encrypted_size(reasoning_tokens)
    body = "gAAAAA"
    out = [body]
    need = n - len(body)
    pos = seed % len(_B64_POOL)
    while need > 0:
        piece = _B64_POOL[pos : pos + need]
        out.append(piece)
        need -= len(piece)
        pos = 0
    return "".join(out)
