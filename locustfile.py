"""agentload's Locust entry point: ``locust -f locustfile.py --host http://127.0.0.1:8000``.

The options (--strategy, --task, --model, --tool-latency-scale, --records, ...) and listeners live in
agentload.locust_plugin; each strategy's user class lives in users/.
"""

import agentload.locust_plugin  # noqa: F401  (registers the options and listeners)
from users import ChatAgent, HttpChainedAgent, HttpStatelessAgent, WsAgent, WsStoredAgent

__all__ = ["ChatAgent", "HttpChainedAgent", "HttpStatelessAgent", "WsAgent", "WsStoredAgent"]
