"""agentload's Locust entry point, shipped inside the package: ``locust -f "$(agentload locustfile)"``.

It installs agentload into Locust (its options, its listeners) and defines one user class per
strategy (HttpStatelessAgent, HttpChainedAgent, WsAgent, WsStoredAgent, ChatAgent). A locustfile of
your own can do the same with ``from agentload.runtime.locustfile import *``.
"""

from agentload.runtime import plugin  # noqa: F401  (registers agentload's options and listeners)
from agentload.runtime.users import USER_CLASSES

globals().update({cls.__name__: cls for cls in USER_CLASSES.values()})  # Locust finds users by name here
__all__ = sorted(cls.__name__ for cls in USER_CLASSES.values())
