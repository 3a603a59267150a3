"""InfluxDB output against real servers: every turn and task record arrives, from every worker, exactly.

A real Locust master with two worker processes runs agents against the mock and writes to Debian's
InfluxDB 1.x (the v1 /write path) and to VictoriaMetrics (the v2 API through influxdb-client); what the
servers hold is compared with the JSONL records the same workers wrote. A second run stops the
database in the middle and starts it again: the writer retries and nothing is lost.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentload.influx import dashboard, schema
from agentload.launch.locust import locust_argv
from agentload.mock import MockProcess
from tests.paths import ROOT
from tests.runlocust import read_records, run_locust
from tests.servers import INFLUX_DB as DB
from tests.servers import InfluxDB1, VictoriaMetrics, wait_for

LOAD = ("--headless", "-u", "6", "-r", "20", "--processes", "2", "--tool-latency-scale", "0.02")
COUNTS = re.compile(r"InfluxDB points: written (\d+), retried (\d+), dropped (\d+)")


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProcess]:
    with MockProcess(["--latency", "zero", "--default-turns", "6", "--default-calls", "2"]) as m:
        yield m


def counts_line(stdout: str) -> tuple[int, int, int]:
    m = COUNTS.search(stdout)
    assert m, f"no InfluxDB counts line in the output:\n{stdout[-2000:]}"
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def expected_by_worker(records_path: Path) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """worker id -> {"turn": [...], "task": [...]} from the per-worker records files."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for f in sorted(records_path.parent.glob(records_path.stem + ".*" + records_path.suffix)):
        worker = f.name[len(records_path.stem) + 1 : -len(records_path.suffix)]
        recs = read_records(f)
        out[worker] = {
            "turn": [r for r in recs if r["kind"] == "turn"],
            "task": [r for r in recs if r["kind"] == "task"],
        }
    return out


def influx1_points(server: InfluxDB1, run_id: str, measurement: str) -> dict[str, list[dict[str, Any]]]:
    """worker -> raw points (every field) of one measurement of one run."""
    series = server.query(f"SELECT * FROM \"{measurement}\" WHERE run_id = '{run_id}' GROUP BY worker", DB)
    out: dict[str, list[dict[str, Any]]] = {}
    for s in series:
        cols = s["columns"]
        out[s["tags"]["worker"]] = [dict(zip(cols, v, strict=True)) for v in s["values"]]
    return out


def vm_points(server: VictoriaMetrics, run_id: str, measurement: str) -> dict[str, dict[str, list[float]]]:
    """worker -> field -> every sample value of one measurement of one run."""
    out: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for s in server.export(f'{{__name__=~"{measurement}_.*",run_id="{run_id}"}}'):
        field = s["metric"]["__name__"][len(measurement) + 1 :]
        out[s["metric"]["worker"]][field] += s["values"]
    return out


def check_records_match(
    expected: dict[str, Any], got_turns: dict[str, Any], got_tasks: dict[str, Any], exact_floats: bool
) -> None:
    """Counts and sums of the read-back points equal the records, worker by worker."""
    assert len(expected) == 2, f"expected two workers' records, got {list(expected)}"
    assert set(got_turns) == set(expected), "worker ids in the database differ from the workers' records"
    for worker, recs in expected.items():
        turns, tasks = recs["turn"], recs["task"]
        assert turns and tasks, f"worker {worker} measured nothing"
        t = got_turns[worker]
        assert len(t["bytes_sent"]) == len(turns)
        for f in (
            "bytes_sent",
            "bytes_received",
            "input_tokens",
            "cached_tokens",
            "output_tokens",
            "reasoning_tokens",
            "tool_calls",
        ):
            assert sum(t[f]) == sum(r[f] or 0 for r in turns), f  # (unknown usage: null, no point field)
        want_ttft = sorted(r["ttft_ms"] for r in turns if r["ttft_ms"] is not None)
        got_ttft = sorted(t["ttft_ms"])
        if exact_floats:  # sub-millisecond TTFT, bit for bit
            assert got_ttft == want_ttft
        else:
            assert got_ttft == pytest.approx(want_ttft, rel=1e-9)
        k = got_tasks[worker]
        assert len(k["turns"]) == len(tasks)
        for f in ("turns", "tool_calls", "bytes_sent", "bytes_received"):
            assert sum(k[f]) == sum(r[f] for r in tasks), f
        assert sum(k["duration_ms"]) == pytest.approx(sum(r["duration_ms"] for r in tasks), rel=1e-9)


def by_field(points: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, list[Any]]]:
    out: dict[str, dict[str, list[Any]]] = {}
    for worker, rows in points.items():
        fields: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            for k, v in row.items():
                if v is not None:
                    fields[k].append(v)
        out[worker] = fields
    return out


def influx1_args(influx1: InfluxDB1, run_id: str) -> list[str]:
    """The options of a run that writes to the test's InfluxDB 1.x, one point a second."""
    return ["--run-id", run_id, "--influx-url", influx1.url, "--influx-db", DB, "--influx-interval", "1"]


@pytest.fixture(scope="module")
def influx1_run(
    influx1: InfluxDB1, mock: MockProcess, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path, str]:
    """One distributed run (master + 2 workers) writing to InfluxDB 1.x, shared by the tests below."""
    run_id, tmp = "it-influx1", tmp_path_factory.mktemp("influx1-run")
    proc, _ = run_locust(
        mock.url,
        tmp,
        *LOAD,
        "--run-time",
        "4s",
        *influx1_args(influx1, run_id),
        "--slo",
        SLO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, tmp, run_id


SLO = "ttft_p99_ms=60000,task_s_p90=600"  # met on a zero-latency mock: goodput is every task


def test_distributed_run_to_influxdb1_reads_back_every_record(
    influx1: InfluxDB1, influx1_run: tuple[subprocess.CompletedProcess[str], Path, str]
) -> None:
    proc, tmp_path, run_id = influx1_run
    expected = expected_by_worker(tmp_path / "records.jsonl")
    turns = by_field(influx1_points(influx1, run_id, schema.TURN))
    tasks = by_field(influx1_points(influx1, run_id, schema.TASK))
    check_records_match(expected, turns, tasks, exact_floats=True)
    for worker, recs in expected.items():  # every point names the client profile its record does
        assert sorted(turns[worker]["profile"]) == sorted(r["profile"] for r in recs["turn"])
        assert set(tasks[worker]["profile"]) == {"minimal"} == {r["profile"] for r in recs["task"]}

    # the throughput series of each worker adds up to its turns and tasks
    thr = by_field(influx1_points(influx1, run_id, schema.THROUGHPUT))
    for worker, recs in expected.items():
        assert sum(thr[worker]["turns"]) == len(recs["turn"])
        assert sum(thr[worker]["tasks"]) == len(recs["task"])
        assert max(thr[worker]["active_agents"]) == 3  # 6 agents over 2 workers
    # the master wrote only run-level points, and its end point agrees with the records
    run = influx1_points(influx1, run_id, schema.RUN)
    assert list(run) == ["master"]
    end = [p for p in run["master"] if p["event"] == "end"]
    assert len(end) == 1
    assert end[0]["turns_ok"] == sum(1 for r in expected.values() for t in r["turn"] if t["ok"])
    assert end[0]["tasks_ok"] == sum(1 for r in expected.values() for t in r["task"] if t["ok"])
    assert end[0]["turns_usage_unknown"] == 0  # (the mock reports every turn's usage)
    # and one point per strategy and objective (--slo), with the goodput
    slo = influx1_points(influx1, run_id, schema.SLO)
    assert list(slo) == ["master"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    points = {(p["strategy"], p["objective"]): p for p in slo["master"]}
    assert len(points) == 2 * len(summary["rows"])
    for row in summary["rows"]:
        for v in row["slo"]:
            p = points[(row["strategy"], v["metric"])]
            assert p["met"] is True and p["limit"] == v["limit"] and p["value"] == pytest.approx(v["value"])
            assert p["tasks"] == row["tasks"] == p["good_tasks"] > 0
            assert p["goodput_tasks_per_s"] == pytest.approx(row["goodput_tasks_per_s"])
            assert row["goodput_tasks_per_s"] == pytest.approx(row["tasks"] / summary["seconds"])

    # the counts the run printed are what the database holds
    written, retried, dropped = counts_line(proc.stdout)
    stored = sum(len(v) for m in schema.MEASUREMENTS for v in influx1_points(influx1, run_id, m).values())
    assert (written, retried, dropped) == (stored, 0, 0)


def test_distributed_run_to_victoriametrics_v2_reads_back_every_record(
    victoria: VictoriaMetrics, mock: MockProcess, tmp_path: Path
) -> None:
    run_id = "it-vm"
    proc, _ = run_locust(
        mock.url,
        tmp_path,
        *LOAD,
        "--run-time",
        "4s",
        "--run-id",
        run_id,
        "--influx-url",
        victoria.url,
        "--influx-org",
        "agentload",
        "--influx-bucket",
        "agentload",
        "--influx-interval",
        "1",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    written, retried, dropped = counts_line(proc.stdout)
    assert dropped == 0 and retried == 0 and written > 0
    expected = expected_by_worker(tmp_path / "records.jsonl")
    check_records_match(
        expected, vm_points(victoria, run_id, schema.TURN), vm_points(victoria, run_id, schema.TASK), False
    )


RECOVERED = "accepts writes again"  # what a writer logs when InfluxDB takes its writes again


def write_failures(stderr: str) -> list[str]:
    """The writers' failed-write warnings (each writer logs the first failure of an outage)."""
    return re.findall(r"InfluxDB at \S+ (?:unreachable|answered)", stderr)


def tasks_recorded(records: Path) -> int:
    """Tasks the workers have written to their records files so far (flushed task by task)."""
    files = records.parent.glob(records.stem + ".*" + records.suffix)
    return sum(f.read_text().count('"kind":"task"') for f in files)


def test_database_restart_mid_run_loses_no_point(
    influx1: InfluxDB1, mock: MockProcess, tmp_path: Path
) -> None:
    run_id = "it-restart"
    records = tmp_path / "records.jsonl"
    cmd = locust_argv(
        "--host",
        mock.url,
        *LOAD,
        "--run-time",
        "9s",
        "--stop-timeout",
        "30",
        "--only-summary",
        "--records",
        str(records),
        *influx1_args(influx1, run_id),
        "--influx-flush-interval",
        "0.2",
    )
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    with out.open("w") as stdout_file, err.open("w") as stderr_file:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=stdout_file, stderr=stderr_file, text=True)
    try:
        wait_for(
            lambda: influx1_points(influx1, run_id, schema.TURN), 60, "the run's first points in InfluxDB"
        )
        influx1.stop()  # mid-run: writes now fail and are retried
        tasks_before = tasks_recorded(records)
        # points buffered while it is down: both workers' writes failed, and tasks ended (their points
        # are held for a retry)
        wait_for(
            lambda: len(write_failures(err.read_text())) >= 2 and tasks_recorded(records) >= tasks_before + 2,
            60,
            "both workers' writes to fail and tasks to end while InfluxDB is down",
        )
        influx1.start()
        # ... and written after: every writer that failed says it writes again
        wait_for(
            lambda: err.read_text().count(RECOVERED) >= len(write_failures(err.read_text())),
            60,
            "the writers to write their buffered points to the restarted InfluxDB",
        )
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
    stdout, stderr = out.read_text(), err.read_text()
    assert proc.returncode == 0, stderr[-3000:]
    written, retried, dropped = counts_line(stdout)
    assert retried > 0, "the database outage did not happen during the run"
    assert dropped == 0
    expected = expected_by_worker(records)
    turns = by_field(influx1_points(influx1, run_id, schema.TURN))
    tasks = by_field(influx1_points(influx1, run_id, schema.TASK))
    check_records_match(expected, turns, tasks, exact_floats=True)
    stored = sum(len(v) for m in schema.MEASUREMENTS for v in influx1_points(influx1, run_id, m).values())
    assert written == stored


def test_unreachable_database_counts_every_point_dropped_and_fails_the_run(
    mock: MockProcess, tmp_path: Path
) -> None:
    from tests.servers import free_port

    proc, _ = run_locust(
        mock.url,
        tmp_path,
        "--headless",
        "-u",
        "5",
        "-r",
        "10",
        "--tool-latency-scale",
        "0.02",
        "--run-time",
        "2s",
        "--influx-url",
        f"http://127.0.0.1:{free_port()}",
        "--influx-db",
        DB,
        "--influx-flush-timeout",
        "1",
        "--influx-interval",
        "60",
    )
    assert proc.returncode == 1
    written, _, dropped = counts_line(proc.stdout)
    recs = read_records(tmp_path / "records.jsonl")
    assert written == 0
    # every record, one (final, partial) throughput point, and the run's start and end points
    assert len(recs) > 0
    assert dropped == len(recs) + 1 + 2


def test_dashboard_file_is_current_and_every_query_runs(
    influx1: InfluxDB1, influx1_run: tuple[subprocess.CompletedProcess[str], Path, str]
) -> None:
    """The checked-in dashboard equals `agentload dashboard`, and each InfluxQL query returns data
    from the points of a real run."""
    run_id = influx1_run[2]
    path = ROOT / "deploy" / "grafana" / "dashboards" / "agentload.json"
    assert path.read_text() == dashboard.render(), "regenerate: agentload dashboard --out " + str(path)
    board = json.loads(path.read_text())
    run_var = board["templating"]["list"][1]
    assert influx1.query(run_var["query"], DB), "the run variable lists no runs"
    for panel in board["panels"]:
        for target in panel["targets"]:
            q = (
                target["query"]
                .replace("$run_id", run_id)
                .replace("$timeFilter", "time > now() - 1h")
                .replace("$__interval", "1s")
            )
            if "outcome\" != 'ok'" in q:  # no turn failed in these runs: the query must still parse
                assert influx1.query(q, DB) == []
                continue
            assert influx1.query(q, DB), f"panel {panel['title']!r} query returns nothing: {q}"
