"""agentload's Locust entry point in a checkout: ``locust -f locustfile.py --host http://127.0.0.1:8000``.

The same locustfile ships inside the package, so an installed agentload needs no checkout:
``locust -f "$(agentload locustfile)" --host ...``. Options, listeners and the user classes (one per
strategy) come from agentload.runtime.
"""

from agentload.runtime.locustfile import *  # noqa: F403
