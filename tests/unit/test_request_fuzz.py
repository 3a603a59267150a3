"""The mock's request parser on any body: it parses, or it is a 400 in OpenAI's error shape (in-process;
the running mock on the wire is tests/e2e/test_reliability.py's)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from agentload.mock.errors import ApiError
from agentload.mock.requests import parse_create
from tests.unit.request_bodies import CREATE, JSON, error_shape


@settings(max_examples=400, deadline=None)
@given(body=CREATE | JSON)
def test_any_create_body_parses_or_is_a_400_in_openai_shape(body: Any) -> None:  # (any JSON value)
    for websocket in (False, True):
        try:
            parse_create(body, websocket=websocket)
        except ApiError as e:
            assert e.status == 400 and error_shape(e.body())
