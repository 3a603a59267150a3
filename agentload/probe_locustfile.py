"""Locust entry for the rate-limit probe: the agents of locustfile.py plus the probe's ramp.

``agentload probe`` runs it; by hand: ``locust -f agentload/probe_locustfile.py --headless --host URL
--strategy ws --task probe-requests --task-rate 1 --probe-steps 4,8,16``. Distributed, give the same
file to the master and the workers; the master drives the ramp.
"""

import agentload.locust_plugin  # noqa: F401  (registers the options and listeners)
from agentload.probe_shape import ProbeShape
from users import ChatAgent, HttpChainedAgent, HttpStatelessAgent, WsAgent, WsStoredAgent

__all__ = [
    "ChatAgent",
    "HttpChainedAgent",
    "HttpStatelessAgent",
    "RateLimitProbe",
    "WsAgent",
    "WsStoredAgent",
]


class RateLimitProbe(ProbeShape):
    abstract = False
