"""The rate-limit probe: ramp agents in steps until 429s or TTFT say stop, and report the limits found.
It installs itself (probe.shape) on top of agentload.runtime; its locustfile is probe/locustfile.py."""
