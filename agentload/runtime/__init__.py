"""agentload inside Locust: its options, the run context, and the components that install themselves on
Locust's events (summary, records file, Locust stats, CPU watch, InfluxDB output, final reports, the web
UI's Agents tab, the way a run stops). ``agentload.runtime.locustfile`` is the packaged locustfile."""
