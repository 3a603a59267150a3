"""``agentload compare RUN_A RUN_B``: two runs or sweeps side by side, the differences with their
intervals, and a regression gate for CI (``--fail-if-worse``)."""
