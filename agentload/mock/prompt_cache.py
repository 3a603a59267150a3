"""Prompt caching as OpenAI applies it: a prompt whose prefix was seen recently is partly cached.

OpenAI caches the prefixes of prompts of 1,024 tokens or more, per organisation (here: per API key)
and routing key (``prompt_cache_key``), and reports the cached part in steps of 128 tokens as
``usage.input_tokens_details.cached_tokens``; cached tokens are cheaper and faster to prefill. It
applies to every request, stateless resends included, which is why a stateless client that resends
the same growing history is not charged its whole prefill every turn.

Here the prompt (tools, instructions, then each input item, as the server renders them) is cut into
blocks of 128 tokens (512 bytes, agentload.core.tokens' 4 bytes a token), each block hashed together
with everything before it. A request's cached tokens are the blocks of its longest prefix seen before
(when that is 1,024 tokens or more); its own blocks are then remembered. Memory is bounded: at most
``max_blocks`` block hashes, least recently used out first, each forgotten after ``ttl_s`` unused.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from ..core.tokens import BYTES_PER_TOKEN

BLOCK_TOKENS = 128
MIN_TOKENS = 1024
BLOCK_BYTES = BLOCK_TOKENS * BYTES_PER_TOKEN


class PromptCache:
    def __init__(
        self, ttl_s: float = 300.0, max_blocks: int = 1_000_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.max_blocks = max_blocks
        self.clock = clock
        self._blocks: OrderedDict[int, float] = OrderedDict()  # block hash -> last use
        self.hits = 0
        self.lookups = 0

    @staticmethod
    def _hashes(scope: str, parts: Iterable[bytes]) -> list[int]:
        """One key per whole block of the prompt, each over the scope and everything before it: a
        chain of Python's 64-bit SipHash (a block's key hashes the previous key and the block). The
        mock's own process is its only reader, so a per-process hash seed is fine, and a collision
        (one in 2^64 a pair) would at worst count one prefix as cached."""
        key = hash(scope)
        blob = b"".join(parts)
        out: list[int] = []
        for start in range(0, len(blob) - BLOCK_BYTES + 1, BLOCK_BYTES):
            key = hash((key, blob[start : start + BLOCK_BYTES]))
            out.append(key)
        return out

    def cached_tokens(self, scope: str, parts: Iterable[bytes]) -> int:
        """The tokens of this prompt that hit the cache, then remembers the prompt's blocks."""
        now = self.clock()
        hashes = self._hashes(scope, parts)
        self.lookups += 1
        hit = 0
        for i, key in enumerate(hashes):
            seen = self._blocks.get(key)
            if seen is None or now - seen > self.ttl_s:
                break
            hit = i + 1
        for key in hashes:
            self._blocks[key] = now
            self._blocks.move_to_end(key)
        while self._blocks and (
            len(self._blocks) > self.max_blocks or now - next(iter(self._blocks.values())) > self.ttl_s
        ):
            self._blocks.popitem(last=False)  # least recently used first: the expired are at the head
        tokens = hit * BLOCK_TOKENS
        if tokens < MIN_TOKENS:
            return 0
        self.hits += 1
        return tokens

    def snapshot(self) -> dict[str, int]:
        return {"blocks": len(self._blocks), "lookups": self.lookups, "hits": self.hits}


def reported(cached: int) -> int:
    """Cached tokens as usage reports them: whole blocks of 128 tokens, and none below 1,024. Also for
    context a server holds (a continuation by previous_response_id, on a connection or from the store):
    it reaches the model as a cached prompt prefix, reported by the same rules."""
    return 0 if cached < MIN_TOKENS else cached // BLOCK_TOKENS * BLOCK_TOKENS


def scope_of(rate_key: str, prompt_cache_key: str | None) -> str:
    return f"{rate_key}\x00{prompt_cache_key or ''}"
