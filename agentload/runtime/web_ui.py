"""agentload in Locust's web UI: the "Agents" tab, and agentload's options in the swarm form.

The tab (bytes sent per turn and TTFT by strategy, live) uses Locust's documented extension points:
``extended_tabs``/``extended_tables`` in the template args, and an ``extended_stats`` entry appended
to ``/stats/requests``, which the UI polls; RESET clears it with Locust's own stats.

The swarm form carries agentload's options (those whose field says ``web_ui``). Before Locust starts a
swarm, they are checked here as every value is (a bad one answers ``success: false`` with the one-line
message, and nothing starts), and the strategies they name choose the user classes the swarm runs (runtime.selection).
Locust then puts the form's values into the options, which the master hands to its workers.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import TYPE_CHECKING, Any

from flask import jsonify, request

from ..core.errors import AgentloadError
from ..metrics import WEB_COLUMNS, text_rows
from . import selection
from .options import STRATEGIES_KEY, RunSettings

if TYPE_CHECKING:
    from .context import RunContext
    from .summary import Summary

log = logging.getLogger("agentload")
TAB_KEY = "agentload"
TOTALS_PATH = "/agentload/totals"
SAMPLES_PATH = "/agentload/samples"


def tab_rows(summary: Summary) -> list[dict[str, str]]:
    return text_rows(summary.recent_rows(), WEB_COLUMNS)


def install(ctx: RunContext, summary: Summary) -> None:
    """Add the tab (``summary``'s rows) to the web UI (where there is one)."""
    web_ui = ctx.environment.web_ui
    if web_ui is None:
        return
    assert web_ui.app is not None
    web_ui.template_args["extended_tabs"] = [{"title": "Agents", "key": TAB_KEY}]
    web_ui.template_args["extended_tables"] = [
        {"key": TAB_KEY, "structure": [{"key": c.key, "title": c.title} for c in WEB_COLUMNS]}
    ]

    @web_ui.app.route(TOTALS_PATH)
    def _totals() -> Any:
        """The run's cumulative per-strategy totals (merged from every worker on a master): what
        ``agentload sweep --master-url`` measures a cell with, as the difference of two reads."""
        return {name: t.as_dict() for name, t in summary.by_strategy.items()}

    @web_ui.app.route(SAMPLES_PATH)
    def _samples() -> Any:
        """The run's per-task and per-turn samples so far (merged from every worker; they only grow
        until a reset): a sweep on a master takes a cell's as what was added between two reads."""
        return {name: s.as_dict() for name, s in summary.samples.items()}

    @web_ui.app.before_request
    def _check_swarm() -> Any:
        if request.path != "/swarm" or request.method != "POST":
            return None
        try:
            settings, users = swarm_settings(ctx, request.form)
            chosen = swarm_selection(ctx, settings, request.form, web_ui.userclass_picker_is_active)
            if ctx.environment.shape_class is None and (
                warning := selection.check_users(users, chosen.classes)
            ):
                log.warning("agentload: %s", warning)
        except AgentloadError as e:
            return jsonify({"success": False, "message": str(e), "host": ctx.environment.host})
        if not web_ui.userclass_picker_is_active:  # (with the picker, Locust sets the classes itself)
            use_user_classes(ctx, chosen.classes)
        return None

    ctx.environment.events.reset_stats.add_listener(summary.reset)

    @web_ui.app.after_request
    def _extend_stats(response: Any) -> Any:
        if request.path != "/stats/requests" or not response.is_json:
            return response
        data = response.get_json()
        data["extended_stats"] = [{"key": TAB_KEY, "data": tab_rows(summary)}]
        response.set_data(json.dumps(data))
        return response


def swarm_settings(ctx: RunContext, form: Any) -> tuple[RunSettings, int]:
    """The settings a swarm with this form would run with, checked, and its agent count."""
    options = argparse.Namespace(**vars(ctx.environment.parsed_options))
    options.__dict__.pop(STRATEGIES_KEY, None)  # (the form's --strategy and classes choose anew)
    for key, value in form.items():
        if key in ("user_count", "spawn_rate", "user_classes", "run_time", "shape_class", "profile"):
            continue
        current = getattr(options, key, None)
        if key == "host":
            setattr(options, key, value)
        elif isinstance(current, bool):
            setattr(options, key, value == "true")
        elif key in vars(options):
            setattr(options, key, value)  # as text: the settings check converts and names the flag
    try:
        users = int(form.get("user_count", "1"))
    except ValueError:
        raise AgentloadError(f"-u/--users: {form.get('user_count')!r} is not a whole number") from None
    return RunSettings.build(options, form.get("host") or ctx.environment.host or ""), users


def swarm_selection(ctx: RunContext, settings: RunSettings, form: Any, picker: bool) -> selection.Selection:
    """The classes a swarm with this form runs (runtime.selection): the picker's choice, else those
    named on the command line, else the locustfile's; --strategy from the form beside them."""
    env = ctx.environment
    available: dict[str, Any] = dict(env.available_user_classes or {}) or {
        c.__name__: c for c in env.user_classes
    }
    named = (
        list(form.getlist("user_classes"))
        if picker
        else list(getattr(env.parsed_options, "user_classes", []) or [])
    )
    classes = [available[n] for n in named if n in available] or list(available.values())
    return selection.select(classes, settings.options.strategy, bool(named))


def use_user_classes(ctx: RunContext, classes: tuple[Any, ...]) -> None:
    """The swarm runs these classes (the master dispatches by class)."""
    env, runner = ctx.environment, ctx.environment.runner
    if classes and runner is not None and runner.state not in ("running", "spawning"):
        env.user_classes = list(classes)
        runner._users_dispatcher = None  # rebuilt for these classes when the swarm starts
