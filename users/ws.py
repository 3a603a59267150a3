"""The ws strategy: one WebSocket per agent, store=false, continuing from the connection's cached response."""

from agentload.locust_user import AgentUser


class WsAgent(AgentUser):
    strategy_name = "ws"
