"""OpenAI-shaped errors, for HTTP bodies and WebSocket ``error`` events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ApiError(Exception):
    """An error the API reports to the client, with OpenAI's fields."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    headers: dict[str, str] | None = None

    def body(self) -> dict[str, Any]:
        """The HTTP error body: ``{"error": {message, type, param, code}}``."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def ws_event(self, stream_id: str | None = None) -> dict[str, Any]:
        """The WebSocket ``error`` event. Headers go both at the top level (what Codex reads) and in
        ``error.headers`` (the SDK's type)."""
        err: dict[str, Any] = {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
        }
        event: dict[str, Any] = {"type": "error", "status": self.status, "error": err}
        if self.headers:
            err["headers"] = dict(self.headers)
            event["headers"] = dict(self.headers)
        if stream_id is not None:
            event["stream_id"] = stream_id
        return event


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, "invalid_request_error", code, param)


def previous_not_found(response_id: str) -> ApiError:
    return ApiError(
        400,
        f"Previous response with id '{response_id}' not found.",
        "invalid_request_error",
        "previous_response_not_found",
        "previous_response_id",
    )


def conversation_not_found(conversation_id: str) -> ApiError:
    """An unknown (or deleted) conversation, on a response and on the Conversations API's own
    endpoints alike: OpenAI answers 404 with neither param nor code."""
    return ApiError(404, f"Conversation with id '{conversation_id}' not found.", "invalid_request_error")


def item_not_found(item_id: str) -> ApiError:
    return ApiError(404, f"Item with id '{item_id}' not found.", "invalid_request_error")


def invalid_api_key() -> ApiError:
    # OpenAI echoes a redacted key; the mock echoes none of it, so no log ever carries a secret.
    return ApiError(
        401,
        "Incorrect API key provided. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    )


def missing_api_key() -> ApiError:
    return ApiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an "
        "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        "invalid_request_error",
        None,
    )
