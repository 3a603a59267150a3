"""Locust entry for the rate-limit probe: agentload's agents plus the probe's ramp.

``agentload probe`` runs it; by hand: ``locust -f "$(agentload locustfile --probe)" --headless --host URL
--strategy ws --task probe-requests --task-rate 1 --probe-steps 4,8,16``. Distributed, give the same
file to the master and the workers; the master drives the ramp.
"""

from agentload import *  # noqa: F403  (agentload's users, options and listeners)
from agentload.probe import options  # noqa: F401  (first: the probe's options, checked before --host is)
from agentload.probe.shape import ProbeShape


class RateLimitProbe(ProbeShape):
    abstract = False
