"""A sweep of ws against ws-mux over agents per user and subagents (#29), as a user runs it: the
embedded mock at 4 WebSocket connections per key, one engineer with 1 and with 8 agents, each agent on
the built-in fan-out-forks task (three forked subagents a session). Four cells of 2 s; 25 s of
wall time on the shared two cores (each cell's Locust start-up and its in-flight tasks let finish).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT


def test_ws_against_ws_mux_with_eight_agents_an_engineer_and_forked_subagents(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable, "-m", "agentload", "sweep", "--out", str(out), "--strategies", "ws,ws-mux",
            "--agents", "1", "--agents-per-user", "1,8", "--subagents", "forks", "--max-connections", "4",
            "--duration", "2", "--warmup", "0", "--processes", "1",
            # a refused upgrade fails its task at once: waiting out 429s would hold the cell to its stop-timeout
            "--", "--on-429", "fail", "--reasoning-effort", "minimal",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    cells = {
        (c := json.loads(line))["id"]: c for line in (out / "cells.jsonl").read_text().splitlines() if line
    }
    assert set(cells) == {
        "ws-a1-fan-out-forks-gpt-5.4-sforks",
        "ws-mux-a1-fan-out-forks-gpt-5.4-sforks",
        "ws-a1-x8-fan-out-forks-gpt-5.4-sforks",
        "ws-mux-a1-x8-fan-out-forks-gpt-5.4-sforks",
    }
    ws8, mux8 = (
        cells["ws-a1-x8-fan-out-forks-gpt-5.4-sforks"],
        cells["ws-mux-a1-x8-fan-out-forks-gpt-5.4-sforks"],
    )
    assert ws8["spec"]["agents_per_user"] == 8 and ws8["spec"]["subagents"] == "forks"
    # 8 agents and their forks on a connection each meet the limit; on one WebSocket's lanes they do not
    assert ws8["rate_limited"] > 0, ws8["failures"]
    assert mux8["rate_limited"] == 0 and mux8["tasks_ok"] > 0, mux8["failures"]
    records = out / "cells" / "ws-mux-a1-x8-fan-out-forks-gpt-5.4-sforks"
    tasks = [
        r
        for f in records.glob("records*.jsonl")
        for line in f.read_text().splitlines()
        if (r := json.loads(line))["kind"] == "task"
    ]
    assert len({r["agent"] for r in tasks if r["depth"] == 0}) == 8  # the one engineer's 8 agents
    assert {r["spawn"] for r in tasks} == {"", "fork"}
    report = json.loads((out / "report.json").read_text())
    assert report["baseline"] == "ws"  # http-stateless did not run: the first strategy is the baseline
    rows = {r["label"]: r for r in report["rows"]}
    assert set(rows) == {"ws [forks]", "ws-mux [forks]", "ws [x8 forks]", "ws-mux [x8 forks]"}
    assert rows["ws-mux [forks]"]["sent_reduction"] is not None  # against ws of its own variant
    header = report["header"]
    assert header["agents per user"].startswith("per cell: 1, 8")
    assert "fan-out-forks" in header["subagents"]
    assert "4 WebSocket connections per key" in header["target"]
    assert "| ws-mux [x8 forks] |" in (out / "report.md").read_text()
