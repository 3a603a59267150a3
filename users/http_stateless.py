"""The http-stateless strategy: a fresh POST /v1/responses per turn, store=false, the whole history every time."""

from agentload.locust_user import AgentUser


class HttpStatelessAgent(AgentUser):
    strategy_name = "http-stateless"
