"""Locust's own ``locust.contrib.oai.OpenAIUser`` running the baseline agent loop (bench/sdk_agent.py).

Two changes to it. Locust 2.47's module imports ``httpx``; the openai SDK 3.x is built on its
successor ``httpx2`` (same API) and accepts only its clients, so ``httpx`` is aliased to it. And, needed
to stream at all: its response hook calls ``response.json()`` to read usage,
which raises on an event stream; here the hook reads the body and counts its length instead. Writes
``{"rows": [{"events", "turns"}]}`` to --summary-json like agentload does, for bench/harness.py.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENAI_API_KEY", "sk-bench-loopback")  # OpenAIUser insists; the mock ignores it

import sys  # noqa: E402

import httpx2 as httpx  # noqa: E402

sys.modules.setdefault("httpx", httpx)
logging.getLogger("httpx2").setLevel(logging.WARNING)  # a line per request at INFO: not the client's cost
from locust import events, task  # noqa: E402
from locust.contrib.oai import OpenAIClient, OpenAIUser  # noqa: E402

from agentload.client import api_base  # noqa: E402
from agentload.influx.config import add_influx_options  # noqa: E402
from agentload.runtime.options import add_run_options  # noqa: E402
from agentload.workload import TextCache, load_task  # noqa: E402
from bench.harness import MODEL  # noqa: E402
from bench.sdk_agent import run_task  # noqa: E402

COUNTS = {"events": 0, "turns": 0}
CACHE = TextCache()


def _options(parser: Any) -> None:
    add_run_options(parser)  # the same flags as agentload's locustfile, so the harness drives both alike
    add_influx_options(parser)


events.init_command_line_parser.add_listener(_options)


class StreamingOpenAIClient(OpenAIClient):
    def __init__(self, request_event: Any, user: Any, *args: Any, **kwargs: Any) -> None:
        def request_start(request: httpx.Request) -> None:
            request.extensions["t0"] = (time.time(), time.perf_counter())

        def request_end(response: httpx.Response) -> None:
            response.read()
            t0, p0 = response.request.extensions["t0"]
            request_event.fire(
                request_type=response.request.method,
                name=response.url.path,
                context={},
                response=response,
                exception=None if response.is_success else RuntimeError(response.status_code),
                start_time=t0,
                response_time=(time.perf_counter() - p0) * 1000,
                response_length=len(response.content),
                url=response.url,
            )

        super(OpenAIClient, self).__init__(
            *args,
            **kwargs,
            http_client=httpx.Client(event_hooks={"request": [request_start], "response": [request_end]}),
        )
        self.request_name = None
        self.user = user


class BaselineOpenAIUser(OpenAIUser):
    def on_start(self) -> None:
        self.client = StreamingOpenAIClient(
            self.environment.events.request, self, base_url=api_base(self.host or ""), max_retries=0
        )
        self.task_def = load_task(self.environment.parsed_options.task)

    @task
    def one_task(self) -> None:
        def respond(kwargs: dict[str, Any]) -> Any:
            return self.client.responses.create(stream=True, **kwargs)

        def count(n: int) -> None:
            COUNTS["events"] += n
            COUNTS["turns"] += 1

        run_task(self.task_def, MODEL, True, respond, CACHE, count)


def _write(environment: Any, **_kw: Any) -> None:
    path = environment.parsed_options.summary_json
    if path:
        Path(path).write_text(json.dumps({"rows": [dict(COUNTS)]}))


events.quitting.add_listener(_write)
