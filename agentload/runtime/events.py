"""agentload's own events, beside Locust's: what the run's components listen to.

The agents fire ``attempt``, ``turn`` and ``task``; the records file, the summary, the Locust stats,
InfluxDB and the probe each add their own listener (as Locust's stats listen to ``request``). A worker
collects every component's figures for the master with ``report`` (on Locust's report_to_master, and
once more at the end of the run), and the master hands each report to ``merge``. ``agents_stopped``
fires on a process whose agents have all stopped (every cut-off attempt recorded); ``run_stopped`` on
the master or a standalone run once every worker's last figures are in; ``finish`` once, at the end,
on every process, in the order the components were installed.
"""

from __future__ import annotations

from locust.event import EventHook


class AgentloadEvents:
    def __init__(self) -> None:
        self.attempt = EventHook()  # (strategy: str): an attempt starts
        self.turn = EventHook()  # (record: TurnRecord, outcome: TurnOutcome)
        self.task = EventHook()  # (record: TaskRecord)
        self.report = EventHook()  # (data: dict): put this process's figures since the last report in
        self.merge = EventHook()  # (worker: str, data: dict): a worker's report, on the master
        self.agents_stopped = EventHook()  # (): this process's agents stopped; flush what they wrote
        self.run_stopped = EventHook()  # (): the run stopped and every worker's last figures are in
        self.finish = EventHook()  # (): the run is over: print, write, close
