"""``agentload gateway``: a gateway between the agents and the mock, verified end to end.

The user starts ``agentload mock`` as the gateway's upstream and points the gateway at it; agentload's
agents run every strategy through the gateway; the mock says what reached it of each conversation
(mock.continuity). Per strategy: whether every turn carried its context, the bytes the gateway sent on
against those it received, the time to first token it added, the errors it made up or swallowed.
"""
