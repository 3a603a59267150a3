"""agentload: a distributed load generator for AI coding agents, on Locust."""

__version__ = "0.1.0"
