"""The http-chained strategy: POST /v1/responses with store=true, continuing by previous_response_id."""

from agentload.locust_user import AgentUser


class HttpChainedAgent(AgentUser):
    strategy_name = "http-chained"
