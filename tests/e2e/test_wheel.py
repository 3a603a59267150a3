"""The wheel works anywhere: built from the source, installed into a bare folder (not editable, no
checkout beside it), and run from an empty directory, it serves the built-in tasks from its mock and
completes tasks in a fleet, and plain ``locust`` runs its packaged locustfile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from agentload.mock.process import READY_RE
from tests.paths import ROOT

PY = sys.executable


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True
    )
    if listed.returncode == 0:  # a checkout: what git tracks (and would track)
        files = listed.stdout.split()
    else:  # a copy of the tree: everything but the virtualenv and caches
        skip = (".venv", ".git", "runs", "__pycache__", ".ruff_cache", ".mypy_cache", "build")
        files = [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if not set(p.relative_to(ROOT).parts) & set(skip)
        ]
    for name in files:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes((ROOT / name).read_bytes())
    wheels, site = tmp / "wheels", tmp / "site"
    subprocess.run([PY, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(src)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    wheel = next(wheels.glob("agentload-*.whl"))
    subprocess.run([PY, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    empty = tmp / "empty"
    empty.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    return empty, env


def test_the_installed_package_is_the_one_that_runs(installed: tuple[Path, dict[str, str]]) -> None:
    empty, env = installed
    out = subprocess.run([PY, "-c", "import agentload; print(agentload.__file__)"], cwd=empty, env=env,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "/site/agentload/" in out and str(ROOT) not in out


def test_mock_serves_the_builtin_tasks_and_a_fleet_completes_tasks(
    installed: tuple[Path, dict[str, str]],
) -> None:
    empty, env = installed
    mock = subprocess.Popen([PY, "-m", "agentload", "mock", "--port", "0", "--latency", "zero"], cwd=empty,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert mock.stdout is not None
        m = READY_RE.search(mock.stdout.readline())
        assert m, mock.stderr.read() if mock.stderr else ""
        url = m.group(1)
        body = json.dumps(
            {"model": "m", "input": "go", "metadata": {"agentload_task": "fix-failing-test"}}
        ).encode()
        req = urllib.request.Request(url + "/v1/responses", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            calls = [o["name"] for o in json.loads(r.read())["output"]]
        assert calls == ["run_tests", "list_files"]  # fix-failing-test's first turn, from the package data

        summary = empty / "s.json"
        fleet = subprocess.run(
            [PY, "-m", "agentload", "fleet", "--workers", "1", "--", "--headless", "-u", "5", "-r", "5",
             "--run-time", "6s", "--host", url, "--tool-latency-scale", "0", "--summary-json", str(summary),
             "--only-summary"],
            cwd=empty, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert fleet.returncode == 0, fleet.stderr[-3000:]
        rows = json.loads(summary.read_text())["rows"]
        assert sum(r["tasks"] for r in rows) > 0 and all(r["turn_failures"] == 0 for r in rows)

        path = subprocess.run([PY, "-m", "agentload", "locustfile"], cwd=empty, env=env, capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
        assert "/site/agentload/" in path
        plain = subprocess.run(
            [PY, "-m", "locust", "-f", path, "--headless", "-u", "1", "--run-time", "3s", "--host", url,
             "--only-summary", "--strategy", "ws"],
            cwd=empty, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert plain.returncode == 0 and "| ws |" in plain.stdout, plain.stderr[-3000:]
    finally:
        mock.terminate()
        mock.wait(10)
