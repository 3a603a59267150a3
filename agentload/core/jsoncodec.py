"""Compact JSON for the hot paths: every event the mock streams, every request body an agent sends.

Why not ``json.dumps(obj, separators=...)``: given any argument it builds a new encoder per call, which
for a 100-byte delta event costs more than the encoding (docs/performance.md). These reuse one C encoder, the same one ``json.dumps`` ends up in, so the bytes are identical.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _enc
from typing import Any


def _make(ensure_ascii: bool) -> Callable[[Any], bytes]:
    fallback = json.JSONEncoder(separators=(",", ":"), ensure_ascii=ensure_ascii)
    make_encoder = getattr(_enc, "c_make_encoder", None)
    if make_encoder is None:  # a Python build without the C accelerator

        def slow(obj: Any) -> bytes:
            return fallback.encode(obj).encode()

        return slow
    strings = getattr(_enc, "c_encode_basestring_ascii" if ensure_ascii else "c_encode_basestring")
    c = make_encoder(None, fallback.default, strings, None, ":", ",", False, False, True)

    def fast(obj: Any) -> bytes:
        return "".join(c(obj, 0)).encode()

    return fast


dumps_ascii: Callable[[Any], bytes] = _make(True)
"""Compact JSON with non-ASCII escaped, as OpenAI's servers send events."""

dumps_utf8: Callable[[Any], bytes] = _make(False)
"""Compact JSON in UTF-8, as the SDK and agentload's clients send requests."""
