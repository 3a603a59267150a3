"""agentload's Locust entry point, shipped inside the package: ``locust -f "$(agentload locustfile)"``.

Its users are agentload's, one class per strategy (HttpStatelessAgent, HttpChainedAgent,
HttpConversationAgent, WsAgent, WsStoredAgent, WsMuxAgent, ChatAgent); importing them installs
agentload's options and listeners. A locustfile of your own does the same with ``from agentload import *`` and may define users of its own beside them.
"""

from agentload import *  # noqa: F403
