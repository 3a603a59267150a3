"""A sweep against a running Locust master (workers on other machines): each cell is started through
the master's ``/swarm``, stopped with ``/stop``, and measured from the master's merged totals
(``/agentload/totals``, and its samples from ``/agentload/samples``) as the difference of two reads:
tasks count when they finished inside the window, and TTFT by turn comes from the same totals."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ..core.errors import AgentloadError
from ..core.strategies import BY_NAME
from ..launch.locust import REPORT_LAG_S
from ..metrics import Totals
from ..metrics.spread import Samples
from .cells import CellResult
from .spec import COMPRESSION_ARGS, CellSpec, SweepSpec, compression_args


class MasterClient:
    """A running Locust master's web API: /swarm, /stop, and agentload's /agentload/totals."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _call(self, path: str, form: list[tuple[str, str]] | None = None) -> Any:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with urllib.request.urlopen(urllib.request.Request(self.url + path, data=data), timeout=30) as r:
                return json.loads(r.read() or b"null")
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise AgentloadError(
                f"--master-url {self.url}: {path} failed ({getattr(e, 'reason', e)}); is a Locust master with "
                "the agentload locustfile and --class-picker running there?"
            ) from None

    def totals(self, strategy: str) -> Totals:
        return Totals.from_dict((self._call("/agentload/totals") or {}).get(strategy, {}))

    def samples(self, strategy: str) -> Samples:
        return Samples().merge((self._call("/agentload/samples") or {}).get(strategy, {}))

    def swarm(self, cell: CellSpec, host: str, spec: SweepSpec) -> None:
        answer = self._call(
            "/swarm",
            [
                ("user_count", str(cell.agents)),
                ("spawn_rate", str(cell.agents)),
                ("host", host),
                ("user_classes", BY_NAME[cell.strategy].user_class),
                ("strategy", cell.strategy),
                ("task", cell.task),
                ("model", cell.model),
                ("link", spec.cell_link(cell) or "none"),
                ("tool_latency_scale", f"{spec.tool_latency_scale:g}"),
                *compression_form(cell.compression),
            ],
        )
        if not (answer or {}).get("success"):
            raise AgentloadError(f"--master-url {self.url}: the master refused the cell: {answer}")

    def stop(self) -> None:
        self._call("/stop", [])  # POST


def compression_form(variant: str) -> list[tuple[str, str]]:
    """The swarm form's fields for a compression variant (the options' names, without dashes): every
    compression option, "off" where the variant leaves it, so a cell does not inherit the last one's."""
    args = compression_args(variant)
    given = dict(zip(args[::2], args[1::2], strict=True))
    flags = dict.fromkeys(flag for flag, _ in COMPRESSION_ARGS.values())
    return [(k.removeprefix("--").replace("-", "_"), given.get(k, "off")) for k in flags]


def run_cell_on_master(spec: SweepSpec, cell: CellSpec, host: str) -> CellResult:
    """One cell on a running master: the master's totals at the end of the window minus those at the
    end of the warm-up."""
    master = MasterClient(spec.master_url)
    master.swarm(cell, host, spec)
    try:
        time.sleep(spec.warmup_s + REPORT_LAG_S)
        before, t0 = master.totals(cell.strategy), time.time()
        samples_before = master.samples(cell.strategy)
        time.sleep(spec.duration_s)
        after, t1 = master.totals(cell.strategy), time.time()
        samples = master.samples(cell.strategy).since(samples_before)
    finally:
        master.stop()
    time.sleep(REPORT_LAG_S)  # the workers' last reports, before the next cell reads its first
    return CellResult(cell, t0, t1 - t0, after.minus(before), samples)
