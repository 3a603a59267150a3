"""Protocol facts both sides use: the agents (agentload.client) and the mock (agentload.mock).

Each name is defined once here, so a client and the server it is measured against cannot disagree on
an event type, an error code or agentload's own metadata key.
"""

from __future__ import annotations

# agentload's own conversation markers: the mock's scripted model follows the task named here
TASK_METADATA_KEY = "agentload_task"  # Responses API: metadata of a conversation's first request
TASK_HEADER = "X-Agentload-Task"  # Chat Completions carries no metadata the mock may rely on

# where the API key comes from (never from a flag, a file or a log)
API_KEY_ENV = "OPENAI_API_KEY"
MOCK_KEY_ENV = "AGENTLOAD_MOCK_API_KEY"

# where OpenAI (and most compatible servers) serve the API: a --host or --upstream without a path
API_PATH = "/v1"

# the mock's control endpoints (its ledger, reset, health): not part of OpenAI's API
CONTROL_PREFIX = "/_agentload"

# Responses API stream events (HTTP SSE and WebSocket mode alike)
DELTA_EVENTS = frozenset(
    {
        "response.output_text.delta",
        "response.function_call_arguments.delta",
        "response.refusal.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.delta",
        "response.custom_tool_call_input.delta",
    }
)
ENCRYPTED_REASONING = "reasoning.encrypted_content"  # the include value that asks for it
COMPLETED_EVENTS = frozenset({"response.completed", "response.done"})  # response.done: older servers
FAILED_EVENTS = frozenset({"response.failed", "response.incomplete"})
ERROR_EVENT = "error"

# error codes with a meaning of their own to a client
PREVIOUS_NOT_FOUND = "previous_response_not_found"
CONNECTION_LIMIT = "websocket_connection_limit_reached"
RATE_LIMIT_EXCEEDED = "rate_limit_exceeded"
INSUFFICIENT_QUOTA = "insufficient_quota"

# reasoning.effort values a request may ask for (Responses API ``reasoning.effort``, Chat Completions
# ``reasoning_effort``), lowest first
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")


def default_port(scheme: str) -> int:
    """The port of a URL that names none: 443 for https and wss, 80 for http and ws."""
    return 443 if scheme in ("https", "wss") else 80
