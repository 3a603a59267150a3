"""Token estimate shared by the mock (usage, latency) and the agents (sizes).

agentload does not ship a tokenizer: the load it models depends on bytes and token *counts*, and a
stable estimate is what makes the mock deterministic. One token = 4 bytes of UTF-8, rounded up, the
usual rule of thumb for English text and code under OpenAI's o200k/cl100k encodings.
"""

BYTES_PER_TOKEN = 4


def estimate_tokens(n_bytes: int) -> int:
    """Tokens for ``n_bytes`` bytes of text: ceil(n_bytes / 4)."""
    return (n_bytes + BYTES_PER_TOKEN - 1) // BYTES_PER_TOKEN


def text_tokens(text: str) -> int:
    """Tokens for a string, by its UTF-8 length."""
    return estimate_tokens(len(text.encode("utf-8")))
