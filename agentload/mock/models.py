"""The models the mock plays: which reason, how much, and what their reasoning costs on the wire.

OpenAI's reasoning models (gpt-5.x, the o-series) think before they answer: a ``reasoning`` output
item comes first, ``usage.output_tokens_details.reasoning_tokens`` counts the thinking (billed as
output), and the thinking takes time before the first visible token. The non-reasoning models
(gpt-4.1, gpt-4o and their minis) answer at once. How many tokens a turn reasons depends on the
requested effort (default ``medium``); a task file may say it per turn.
"""

from __future__ import annotations

from dataclasses import dataclass

# reasoning tokens per model turn, by reasoning.effort (OpenAI's default effort is medium)
REASONING_TOKENS = {"none": 0, "minimal": 16, "low": 96, "medium": 256, "high": 768, "xhigh": 1536}
DEFAULT_EFFORT = "medium"
_REASONING_PREFIXES = ("gpt-5", "o1", "o3", "o4", "codex")
_NOT_REASONING = ("gpt-5-chat",)  # the chat-tuned gpt-5 variants answer without reasoning items
# encrypted_content: the reasoning, encrypted and base64-encoded (about 4 bytes a token before base64)
ENCRYPTED_BYTES_PER_TOKEN = 4
ENCRYPTED_OVERHEAD_BYTES = 320
SUMMARY_TOKENS_PER_REASONING_TOKEN = 1 / 8  # a summary is a short account of the thinking


@dataclass(frozen=True)
class ModelInfo:
    name: str
    reasons: bool

    def reasoning_tokens(self, effort: str | None) -> int:
        """Tokens one turn reasons at ``effort`` (None: the model's default); 0 for other models."""
        if not self.reasons:
            return 0
        return REASONING_TOKENS[effort or DEFAULT_EFFORT]

    @property
    def default_effort(self) -> str | None:
        return DEFAULT_EFFORT if self.reasons else None


def model_info(name: str) -> ModelInfo:
    n = name.lower()
    reasons = n.startswith(_REASONING_PREFIXES) and not n.startswith(_NOT_REASONING)
    return ModelInfo(name, reasons)


def encrypted_size(reasoning_tokens: int) -> int:
    """Characters of a reasoning item's encrypted_content (base64)."""
    raw = ENCRYPTED_OVERHEAD_BYTES + ENCRYPTED_BYTES_PER_TOKEN * reasoning_tokens
    return 4 * ((raw + 2) // 3)
