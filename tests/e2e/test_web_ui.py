"""The web UI: its form's agentload options apply to the swarm they start; a bad one is refused with its
message; RESET clears the Agents tab; the header's request rate counts turns only; and the page itself,
in headless Chromium, shows agentload's fields with their labels as written."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentload.launch import procs
from agentload.launch.locust import free_port, locust_argv
from agentload.mock import MockProcess
from tests.paths import ROOT


def _call(base: str, path: str, form: dict[str, str] | None = None) -> Any:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    with urllib.request.urlopen(urllib.request.Request(base + path, data=data), timeout=10) as r:
        body = r.read()
    try:
        return json.loads(body)
    except ValueError:
        return body.decode()


WebUi = tuple[str, MockProcess]  # the web UI's base URL, and the mock it runs against


@pytest.fixture
def web_ui(start_mock: Callable[..., MockProcess], tmp_path: Path) -> Iterator[WebUi]:
    mock = start_mock("--ttft-ms", "20", "--output-tps", "2000")
    port = free_port()
    proc = procs.start(
        locust_argv("--host", mock.url, "--web-port", str(port), "--tool-latency-scale", "0.05", headless=False),
        cwd=ROOT, stdout=(tmp_path / "out.log").open("w"), stderr=(tmp_path / "err.log").open("w"),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            _call(base, "/agentload/totals")
            break
        except OSError:
            assert time.monotonic() < deadline, (tmp_path / "err.log").read_text()[-2000:]
            time.sleep(0.3)
    yield base, mock
    procs.stop_group(proc, grace_s=10)


def _swarm(base: str, mock: Any, **fields: str) -> Any:
    return _call(base, "/swarm", {"user_count": "2", "spawn_rate": "2", "host": mock.url, **fields})


def _rows(base: str) -> dict[str, dict[str, str]]:
    ext = _call(base, "/stats/requests").get("extended_stats", [])
    return {r["strategy"]: r for r in next(e["data"] for e in ext if e["key"] == "agentload")}


def _wait(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.3)


def test_the_forms_strategy_chooses_what_the_swarm_runs(web_ui: WebUi, tmp_path: Path) -> None:
    base, mock = web_ui
    answer = _swarm(base, mock, strategy="ws")
    assert answer["success"], answer
    _wait(lambda: _rows(base).get("ws", {}).get("tasks", "0") not in ("0", "-"))
    # Locust's own stats in that answer are cached for a moment: wait for them to show the turns too
    _wait(lambda: any(e["name"] == "task" for e in _call(base, "/stats/requests")["stats"]))
    stats = _call(base, "/stats/requests")
    assert {e["method"] for e in stats["stats"] if e["name"] != "Aggregated"} == {"ws"}, stats["stats"]
    turns = next(e for e in stats["stats"] if e["name"] == "turn")
    total = next(e for e in stats["stats"] if e["name"] == "Aggregated")
    assert total["num_requests"] == turns["num_requests"]  # ttft and task entries are not requests
    _call(base, "/stop", {})
    _wait(lambda: _call(base, "/stats/requests")["state"] == "stopped")
    # the Stop button ends the run as every stop does: the comparison table is printed
    _wait(lambda: "agentload: per-strategy comparison" in (tmp_path / "out.log").read_text())
    _wait(lambda: re.search(r"^\| ws \| [1-9]", (tmp_path / "out.log").read_text(), flags=re.M) is not None)
    _call(base, "/stats/reset", {})
    assert _rows(base) == {}  # RESET cleared the Agents tab too
    answer = _swarm(base, mock, strategy="http-stateless,chat", user_count="2")
    assert answer["success"], answer
    _wait(lambda: {"http-stateless", "chat"} <= set(_rows(base)))
    assert "ws" not in _rows(base)
    _call(base, "/stop", {})


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"strategy": "bogus"}, "--strategy"),
        ({"tool_latency_scale": "abc"}, "--tool-latency-scale"),
        ({"link": "rtt=-5ms"}, "--link"),
        ({"user_count": "0"}, "-u/--users"),
        ({"model": ""}, "--model"),
        ({"strategy": ""}, "--strategy"),
    ],
)
def test_a_bad_value_in_the_form_is_refused_with_its_message(
    web_ui: WebUi, fields: dict[str, str], needle: str
) -> None:
    base, mock = web_ui
    answer = _swarm(base, mock, **fields)
    assert answer["success"] is False and needle in answer["message"], answer
    assert _call(base, "/stats/requests")["state"] in ("ready", "stopped")  # nothing started


def test_the_page_shows_agentloads_fields_and_tab_in_chromium(web_ui: WebUi, tmp_path: Path) -> None:
    base, _ = web_ui
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is installed by tests/install_services.sh"
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
             "--virtual-time-budget=5000"]  # fmt: skip
    shot = tmp_path / "ui.png"
    subprocess.run(
        [*flags, "--window-size=1280,1600", f"--screenshot={shot}", base], capture_output=True, timeout=120
    )
    assert shot.exists() and shot.stat().st_size > 20_000
    dom = subprocess.run([*flags, "--dump-dom", base], capture_output=True, text=True, timeout=120).stdout
    assert "Agents" in dom  # the tab
    labels = re.findall(r"<label[^>]*>(.*?)</label>", dom, flags=re.S)
    text = " ".join(re.sub(r"<[^>]+>", "", label) for label in labels)
    assert "Strategy" in text and "On Rate Limit" in text and "Tool Latency Scale" in text, text[:2000]
    assert not re.search(r"\d \d", text), text  # no "4 29" where a name had digits


def test_the_class_picker_and_the_strategy_field_agree_or_the_swarm_is_refused(
    start_mock: Callable[..., MockProcess], tmp_path: Path
) -> None:
    mock = start_mock("--ttft-ms", "20", "--output-tps", "2000")
    port = free_port()
    proc = procs.start(
        locust_argv("--host", mock.url, "--web-port", str(port), "--class-picker", "--tool-latency-scale", "0.05",
                    headless=False),
        cwd=ROOT, stdout=(tmp_path / "out.log").open("w"), stderr=(tmp_path / "err.log").open("w"),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _reachable(base), timeout=30)
        picked = urllib.parse.urlencode(
            [("user_count", "1"), ("spawn_rate", "1"), ("host", mock.url), ("user_classes", "WsAgent"),
             ("strategy", "chat")]
        ).encode()  # fmt: skip
        with urllib.request.urlopen(urllib.request.Request(base + "/swarm", data=picked), timeout=10) as r:
            answer = json.loads(r.read())
        assert answer["success"] is False and "ChatAgent" in answer["message"], answer
        assert _call(base, "/stats/requests")["state"] in ("ready", "stopped")  # nothing started
        picked = picked.replace(b"strategy=chat", b"strategy=all")
        with urllib.request.urlopen(urllib.request.Request(base + "/swarm", data=picked), timeout=10) as r:
            assert json.loads(r.read())["success"]
        _wait(lambda: _rows(base).get("ws", {}).get("tasks", "0") not in ("0", "-"))
        assert set(_rows(base)) == {"ws"}  # the picked class, and only it
        _call(base, "/stop", {})
    finally:
        procs.stop_group(proc, grace_s=10)


def _reachable(base: str) -> bool:
    try:
        _call(base, "/agentload/totals")
        return True
    except OSError:
        return False
