"""Real agent sessions as workloads: the recording proxy (``agentload record``), the importers of agent
logs (``agentload import``), and the task files both write."""
