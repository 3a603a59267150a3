"""The ws-stored strategy: one WebSocket per agent, store=true (a reconnect continues from storage)."""

from agentload.locust_user import AgentUser


class WsStoredAgent(AgentUser):
    strategy_name = "ws-stored"
