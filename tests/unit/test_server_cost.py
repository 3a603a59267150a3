"""The mock's server-cost model: each mechanism counted on the requests that have it, priced, placed
before the first token; nothing counted when no profile is on; the calibration's model and the stored
openai-like profile."""

from __future__ import annotations

import argparse
from dataclasses import replace

import pytest

from agentload.core.link import PROFILES
from agentload.core.slowstart import SlowStart
from agentload.mock import cli as mock_cli
from agentload.mock.config import SERVER_PROFILES, LatencyModel, MockConfig, RequestWork, ServerCost
from agentload.mock.engine import Engine
from agentload.mock.requests import parse_create
from agentload.sweep.calibrate import TARGETS, Model
from agentload.sweep.timemodel import Player

OPENAI_LIKE = SERVER_PROFILES["openai-like"]


def test_each_mechanism_prices_its_own_work() -> None:
    c = ServerCost(
        admission_ms=100, ingest_ms_per_kb=10, reasoning_item_ms=50, store_load_ms=200, prompt_ms_per_1k=20
    )
    assert c.request_s(RequestWork()) == 0.0
    assert c.request_s(RequestWork(new_request=True)) == pytest.approx(0.100)
    assert c.request_s(RequestWork(body_bytes=150_000)) == pytest.approx(1.500)
    assert c.request_s(RequestWork(reasoning_items=4)) == pytest.approx(0.200)
    assert c.request_s(RequestWork(store_load=True)) == pytest.approx(0.200)
    assert c.request_s(RequestWork(prompt_tokens=5000)) == pytest.approx(0.100)
    assert c.scaled(0.1).request_s(RequestWork(new_request=True, store_load=True)) == pytest.approx(0.030)
    assert c.enabled and not ServerCost().enabled and not SERVER_PROFILES["none"].enabled


def _played(strategy: str, model: str = "gpt-5.4") -> list[RequestWork]:
    played = Player().play("fix-failing-test", strategy, model)
    return [x.work for turn in played.turns for x in turn]


def test_a_stateless_request_pays_for_its_whole_context_every_turn() -> None:
    works = _played("http-stateless")
    assert all(w.new_request and not w.store_load for w in works)
    assert [w.reasoning_items for w in works] == list(range(len(works)))  # every earlier turn's, resent
    assert works[-1].body_bytes > 5 * works[0].body_bytes  # the body grows with the history
    assert works[-1].prompt_tokens > works[0].prompt_tokens
    assert all(w.reasoning_items == 0 for w in _played("http-stateless", "gpt-4o-mini"))  # no reasoning


def test_a_warm_websocket_continuation_pays_for_its_new_items_only() -> None:
    works = _played("ws")
    assert not any(w.new_request or w.store_load or w.reasoning_items for w in works)
    stateless = _played("http-stateless")
    assert sum(w.prompt_tokens for w in works) < sum(w.prompt_tokens for w in stateless) / 8
    assert sum(w.body_bytes for w in works) < sum(w.body_bytes for w in stateless) / 8


def test_previous_response_id_over_http_loads_the_store_each_turn() -> None:
    works = _played("http-chained")
    assert not works[0].store_load and all(w.store_load and w.new_request for w in works[1:])
    assert not any(w.reasoning_items for w in works)  # (store=true: the server holds the reasoning)


def test_a_websocket_connection_that_does_not_hold_the_response_loads_it_from_the_store() -> None:
    engine = Engine(MockConfig(latency=LatencyModel.zero(), server_cost=OPENAI_LIKE))
    body = {
        "model": "gpt-4.1",
        "input": "hello",
        "store": True,
        "metadata": {"agentload_task": "fix-failing-test"},
    }
    first = engine.start(parse_create(body, websocket=False), None, body_bytes=200, new_request=True)
    state = engine.finish(first)
    follow = {"model": "gpt-4.1", "previous_response_id": state.id, "store": True, "input": [
        {"type": "function_call_output", "call_id": c, "output": "ok"} for c in state.pending_calls
    ]}  # fmt: skip
    req = parse_create({"type": "response.create", **follow}, websocket=True)
    cold = engine.start(req, engine.resolve_previous(req, None), body_bytes=300, warm=False)
    warm = engine.start(req, engine.resolve_previous(req, state), body_bytes=300, warm=True)
    assert cold.work is not None and cold.work.store_load and not cold.work.new_request
    assert warm.work is not None and not warm.work.store_load
    assert cold.server_s - warm.server_s == pytest.approx(
        OPENAI_LIKE.store_load_ms / 1000
        + OPENAI_LIKE.prompt_ms_per_1k * (cold.work.prompt_tokens - warm.work.prompt_tokens) / 1e6
    )


def test_the_server_work_comes_before_the_first_event_and_the_first_token() -> None:
    engine = Engine(MockConfig(latency=LatencyModel(ttft_ms=100, output_tps=100), server_cost=OPENAI_LIKE))
    body = {"model": "gpt-4.1", "input": "x" * 4000, "metadata": {"agentload_task": "fix-failing-test"}}
    gen = engine.start(parse_create(body, websocket=False), None, body_bytes=4100, new_request=True)
    assert gen.work == RequestWork(new_request=True, body_bytes=4100, prompt_tokens=gen.usage["input_tokens"])
    assert gen.server_s == pytest.approx(OPENAI_LIKE.request_s(gen.work))
    events = list(gen.events())
    assert events[0][0] == pytest.approx(gen.server_s)  # response.created once admitted and read
    first_delta = next(t for t, e in events if e["type"].endswith(".delta"))
    assert first_delta == pytest.approx(gen.first_output_s) and gen.first_output_s > gen.server_s + 0.099


def test_no_profile_counts_nothing() -> None:
    engine = Engine(MockConfig(latency=LatencyModel.zero()))
    assert not engine.count_work
    body = {"model": "gpt-4.1", "input": "hello", "metadata": {"agentload_task": "fix-failing-test"}}
    gen = engine.start(parse_create(body, websocket=False), None, body_bytes=100, new_request=True)
    assert gen.work is None and gen.server_s == 0.0


def _mock_config(*args: str) -> MockConfig:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    mock_cli.add_parser(sub)
    return mock_cli.mock_config(p.parse_args(["mock", *args]))


def test_the_mock_takes_a_profile_its_overrides_and_a_time_scale() -> None:
    assert not _mock_config().server_cost.enabled  # none unless asked for
    c = _mock_config("--server-profile", "openai-like", "--admission-ms", "7").server_cost
    assert c.admission_ms == 7 and c.store_load_ms == OPENAI_LIKE.store_load_ms
    scaled = _mock_config("--server-profile", "openai-like", "--time-scale", "0.1")
    assert scaled.server_cost.store_load_ms == pytest.approx(OPENAI_LIKE.store_load_ms * 0.1)
    assert scaled.latency.ttft_ms == pytest.approx(LatencyModel().ttft_ms * 0.1)
    assert scaled.latency.output_tps == pytest.approx(LatencyModel().output_tps * 10)
    zero = _mock_config("--latency", "zero")
    assert zero.latency == LatencyModel.zero() and not zero.server_cost.enabled  # the capacity preset


def test_the_openai_like_profile_lands_each_published_figure_in_its_range() -> None:
    """What `agentload calibrate` fits, checked on the stored profile (the fit itself: docs/time-model.md)."""
    model = Model()
    link = PROFILES["broadband"]
    for t in TARGETS:
        saving = model.saving(t, link, OPENAI_LIKE)
        assert t.low <= saving <= t.high, (t.name, saving)
    none = model.saving(TARGETS[0], link, ServerCost())
    assert abs(none) < 0.02  # without the server's work, the link alone moves little on these tasks


def test_the_saving_grows_from_datacenter_to_mobile_with_what_slow_start_makes_of_resent_bytes() -> None:
    """The link's share of the gap (docs/time-model.md): a stateless request's resent context after a
    turn's pause waits for its windows, a continuation does not; more so the longer the round trip."""
    model = Model()
    names = ("datacenter", "broadband", "mobile")
    with_ss = [model.saving(TARGETS[0], PROFILES[n], OPENAI_LIKE) for n in names]
    without = [
        model.saving(TARGETS[0], replace(PROFILES[n], slow_start=SlowStart.OFF), OPENAI_LIKE) for n in names
    ]
    assert with_ss[0] < with_ss[1] < with_ss[2]
    assert with_ss[2] - with_ss[0] > without[2] - without[0] > 0
