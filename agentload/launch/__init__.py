"""Starting agentload's processes: the Locust command (the packaged locustfile), the local fleet."""
