"""The soak: 200 agents of every strategy, a Locust master and two workers, every fault at 2 %, for
two minutes, writing to InfluxDB. At the end:

- no worker crashed: both sent their final report, and nothing logged a traceback;
- every turn attempt that started is accounted for: started = succeeded + failed (+ cut off by the
  stop), per the master's counters and per the records, and every failure carries a known class;
- what the mock injected matches what the agents classified: each failing fault is one failed attempt;
- the InfluxDB point count equals the record count;
- the workers' memory did not grow after warm-up;
- stopping the run closed every socket (the mock holds no open connection).
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from typing import Any

import pytest

from agentload.core.records import ErrorKind
from agentload.core.strategies import NAMES as STRATEGIES
from agentload.influx import schema
from agentload.launch.locust import locust_argv
from agentload.mock import MockProcess
from agentload.mock.faults import FAULTS, NOT_FAILING
from tests.paths import ROOT
from tests.runlocust import read_records
from tests.servers import INFLUX_DB, InfluxDB1

RUN_S = 120
MOCK_GC_S = 20  # the mock's full collections (none in between): six in the run
RUN_ID = "soak"
KNOWN_KINDS = set(ErrorKind)
# the Locust run, its summary, its records, the mock's stats and the mock's log
SoakRun = tuple[subprocess.CompletedProcess[str], dict[str, Any], list[dict[str, Any]], dict[str, Any], str]


@pytest.fixture(scope="module")
def soak(
    influx1: InfluxDB1, busy_neighbor: subprocess.Popen[bytes], tmp_path_factory: pytest.TempPathFactory
) -> SoakRun:
    tmp = tmp_path_factory.mktemp("soak")
    mock_args = [
        "--ttft-ms", "100", "--prefill-ms-per-1k", "0", "--cached-ms-per-1k", "0", "--output-tps", "400",
        "--faults", "all=0.02", "--fault-slow-s", "1", "--fault-stall-s", "4", "--fault-seed", "7",
        "--gc-interval", str(MOCK_GC_S),
    ]  # fmt: skip
    with MockProcess(mock_args) as mock:
        proc = subprocess.run(
            locust_argv(
                "--host",
                mock.url,
                "-u",
                "200",
                "-r",
                "50",
                "--run-time",
                f"{RUN_S}s",
                "--processes",
                "2",
                "--tool-latency-scale",
                "0.05",
                "--first-token-timeout",
                "3",
                "--idle-timeout",
                "2",
                "--stop-timeout",
                "5",
                "--run-id",
                RUN_ID,
                "--records",
                str(tmp / "records.jsonl"),
                "--summary-json",
                str(tmp / "summary.json"),
                "--influx-url",
                influx1.url,
                "--influx-db",
                INFLUX_DB,
                "--only-summary",
            ),  # fmt: skip
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=RUN_S + 180,
        )
        stats = mock.stats(exchanges=False)
        log = "".join(mock.log_tail)
    summary = json.loads((tmp / "summary.json").read_text())
    print(f"\nsoak: turns {summary['turns']}, workers {summary['workers']}, faults {stats['faults']}")
    return proc, summary, read_records(tmp / "records.jsonl"), stats, log


def test_no_worker_crashed_and_nothing_raised(soak: SoakRun) -> None:
    proc, summary, _, _, mock_log = soak
    assert "Traceback" not in proc.stderr + proc.stdout + mock_log, proc.stderr[-3000:]
    assert summary["missing_workers"] == [] and len(summary["workers"]) == 2, summary["workers"]
    assert {r["strategy"] for r in summary["rows"]} == set(STRATEGIES)
    assert "started but never recorded" not in proc.stdout


def test_every_turn_that_started_is_accounted_for(soak: SoakRun) -> None:
    _, summary, records, _, _ = soak
    t = summary["turns"]
    assert t["started"] == t["ok"] + t["failed"] + t["interrupted"], t
    assert t["started"] > 5000 and t["failed"] > 100, t  # a real load, with real faults in it
    turns = [r for r in records if r["kind"] == "turn"]
    assert len(turns) == t["started"]
    assert sum(r["ok"] for r in turns) == t["ok"]
    failed = [r for r in turns if not r["ok"]]
    assert all(r["error_kind"] in KNOWN_KINDS for r in failed), Counter(r["error_kind"] for r in failed)
    tasks = [r for r in records if r["kind"] == "task"]
    assert tasks and all(r["ok"] or r["error_kind"] in KNOWN_KINDS for r in tasks)
    for row in summary["rows"]:
        assert row["turns_started"] == row["turns"] + row["turns_interrupted"], row


def test_each_injected_fault_is_one_classified_failure(soak: SoakRun) -> None:
    _, summary, records, stats, _ = soak
    injected = stats["faults"]["injected"]
    assert all(injected[name] > 0 for name in FAULTS), injected
    failing = sum(n for name, n in injected.items() if name not in NOT_FAILING)
    turns = [r for r in records if r["kind"] == "turn"]
    failed = sum(1 for r in turns if not r["ok"] and r["error_kind"] != ErrorKind.INTERRUPTED)
    interrupted = summary["turns"]["interrupted"]
    # a fault drawn for a request whose agent was stopped mid-turn is the one allowed difference
    assert failed <= failing <= failed + interrupted, (failed, failing, interrupted, injected)
    codes = Counter(r["error_code"] or r["error_kind"] for r in turns if not r["ok"])
    for code in ("ws_close_1006", "ws_close_1011", "ws_close_1000", "connection_lost", "truncated_stream",
                 "malformed_event", "idle_timeout", "websocket_connection_limit_reached"):  # fmt: skip
        assert codes[code] > 0, (code, codes)
    assert sum(r["recovery"] for r in turns if r["ok"] and r["strategy"] == "ws") > 0  # full resends


def test_influxdb_holds_one_point_per_record(soak: SoakRun, influx1: InfluxDB1) -> None:
    _, _, records, _, _ = soak
    for measurement, kind in ((schema.TURN, "turn"), (schema.TASK, "task")):
        series = influx1.query(
            f'SELECT COUNT("duration_ms") FROM "{measurement}" WHERE run_id = \'{RUN_ID}\'', INFLUX_DB
        )
        count = series[0]["values"][0][1] if series else 0
        assert count == sum(1 for r in records if r["kind"] == kind), measurement


def test_worker_memory_did_not_grow(soak: SoakRun) -> None:
    _, summary, _, _, _ = soak
    for worker, w in summary["workers"].items():
        third, last = w["rss_mib_third"], w["rss_mib_last"]
        assert third > 0, (worker, w)
        assert last - third < max(4.0, 0.05 * third), (worker, w)


def test_the_mock_collected_garbage_on_its_schedule_only(soak: SoakRun) -> None:
    """No automatic collector pausing the mock's tokens; its scheduled full collections ran."""
    _, _, _, stats, _ = soak
    assert stats["gc"]["automatic"] is False, stats["gc"]
    assert stats["gc"]["full_collections"] >= RUN_S // MOCK_GC_S, stats["gc"]


def test_stopping_closed_every_socket(soak: SoakRun) -> None:
    _, _, _, stats, _ = soak
    assert stats["totals"]["open"] == 0, stats["totals"]
