"""The chat strategy: POST /v1/chat/completions per turn, the whole message history every time."""

from agentload.locust_user import AgentUser


class ChatAgent(AgentUser):
    strategy_name = "chat"
