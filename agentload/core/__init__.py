"""The small core both sides share: records, errors, tokens, the JSON codec, rate-limit headers, protocol
constants, the strategy registry and the declarative options. It imports nothing else of agentload."""
