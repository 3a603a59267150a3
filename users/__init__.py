"""The Locust user classes, one per continuation strategy, for locustfiles of your own:
``from users import WsAgent`` in a checkout, ``from agentload.runtime.users import USER_CLASSES``
anywhere. They are made from the strategy registry (agentload.core.strategies)."""

from agentload.runtime.users import USER_CLASSES, AgentUser

globals().update({cls.__name__: cls for cls in USER_CLASSES.values()})
__all__ = ["USER_CLASSES", "AgentUser", *sorted(cls.__name__ for cls in USER_CLASSES.values())]
