"""agentload's Locust entry point in a checkout: ``locust -f locustfile.py --host http://127.0.0.1:8000``.

The same locustfile ships inside the package (``locust -f "$(agentload locustfile)"``). Its users are
agentload's, one class per strategy; choose some by name as Locust does
(``locust -f locustfile.py ... WsAgent``). A locustfile of your own: ``from agentload import *``, and
users of your own beside them.
"""

from agentload import *  # noqa: F403
