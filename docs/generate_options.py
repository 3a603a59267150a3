"""Writes docs/options.md: every agentload option, rendered from the declarations themselves.

    .venv/bin/python docs/generate_options.py > docs/options.md    # regenerate
    .venv/bin/python docs/generate_options.py --check               # exit 1 if docs/options.md is stale

Two sources, both imported, never copied:

- the options agentload adds to Locust's parser: the ``opt(...)`` field tables (``RunOptions`` in
  agentload/runtime/options.py, ``InfluxOptions`` in agentload/influx/config.py, ``ProbeOptions`` in
  agentload/probe/options.py), placed in the argument groups Locust's parser shows them in. Every
  option agentload adds must come from one of these tables, or this script stops and says which;
- the ``agentload`` command's subcommands, from ``agentload.cli.build_parser()``: each subparser's
  arguments as argparse holds them (bounds taken from the ``opt(...)`` field they were made from,
  where there is one). Help texts are not formatted through argparse's ``format_help``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
from enum import Enum
from pathlib import Path
from typing import Any

from locust.argument_parser import (  # (Locust first: its gevent patches the process)
    get_empty_argument_parser,
    get_parser,
    setup_parser_arguments,
)

from agentload import cli
from agentload.core.fields import Opt, flag_of, option_fields
from agentload.influx.config import InfluxOptions
from agentload.mock.cli import FaultOptions, MockOptions
from agentload.runtime import plugin  # noqa: F401  (puts agentload's options on Locust's parser)
from agentload.runtime.options import RunOptions

# imported only after the run's parser is built: its listener adds the probe's options to every parser
PROBE_MODULE = "agentload.probe.options"

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "options.md"
REGENERATE = ".venv/bin/python docs/generate_options.py > docs/options.md"
PACKAGE = Path(cli.__file__).resolve().parent  # agentload/ (a default path inside it is shown relative)

# the option tables on Locust's parser, and where each is declared
LOCUST_TABLES: list[tuple[type, str]] = [
    (RunOptions, "agentload/runtime/options.py"),
    (InfluxOptions, "agentload/influx/config.py"),
]
PROBE_TABLE = "agentload/probe/options.py"
# tables behind subcommands: their bounds are shown beside argparse's view of them
SUBCOMMAND_TABLES: list[type] = [MockOptions, FaultOptions]


def cell(text: Any) -> str:
    """Text fit for one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def code(text: str) -> str:
    return f"`{text}`" if text else ""


def show_default(value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if value is None or value == "" or value == () or value == []:
        return "-"
    if value is False:
        return "off"
    if value is True:
        return "on"
    if isinstance(value, Path) or (isinstance(value, str) and value.startswith("/")):
        path = Path(value).resolve()
        if path.is_relative_to(PACKAGE):
            return code(str(Path("agentload") / path.relative_to(PACKAGE)))
    return code(str(value))


def bounds(o: Opt) -> str:
    low = o.minimum if o.minimum is not None else o.above
    strict = o.minimum is None and o.above is not None
    parts = []
    if low is not None:
        parts.append(f"{'>' if strict else '>='} {low:g}")
    if o.maximum is not None:
        parts.append(f"<= {o.maximum:g}")
    text = ", ".join(parts)
    if o.meaning:
        text = f"{text} ({o.meaning})" if text else o.meaning
    return text


def values_of(o: Opt | None, tp: Any, action: argparse.Action | None) -> str:
    """Choices or bounds of one option."""
    choices: list[str] = []
    if action is not None and action.choices:
        choices = [str(c) for c in action.choices]
    elif o is not None and o.choices:
        choices = list(o.choices)
    elif isinstance(tp, type) and issubclass(tp, Enum):
        choices = [str(m.value) for m in tp]
    if choices:
        return ", ".join(code(c) if c else "(empty)" for c in choices)
    return bounds(o) if o is not None else ""


def formatted(text: str, params: dict[str, Any]) -> str:
    """An argparse help string as it prints (``%%`` is ``%``; ``%(default)s`` filled in); the raw text
    where it would not format (a stray ``%``)."""
    try:
        return text % params
    except (KeyError, TypeError, ValueError):
        return text


def help_of(action: argparse.Action) -> str:
    text = action.help or ""
    return "" if text == argparse.SUPPRESS else formatted(text, {**vars(action), "prog": ""})


def field_of(table: type, dest: str) -> tuple[dataclasses.Field, Opt, Any] | None:
    for f, o, tp in option_fields(table):
        if f.name == dest:
            return f, o, tp
    return None


def locust_actions(
    parser: argparse.ArgumentParser, known: set[str]
) -> list[tuple[str, list[argparse.Action]]]:
    """(group title, actions) of every argument on ``parser`` whose dest is not in ``known``."""
    out = []
    for group in parser._action_groups:
        mine = [a for a in group._group_actions if a.dest not in known]
        if mine:
            out.append((group.title or "options", mine))
    return out


def locust_table(title: str, actions: list[argparse.Action], tables: list[tuple[type, str]]) -> list[str]:
    lines = [
        "| option | default | environment | web UI | values | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for action in actions:
        found = next(
            ((t, src, field_of(t, action.dest)) for t, src in tables if field_of(t, action.dest)), None
        )
        if found is None:
            flags = "/".join(action.option_strings) or action.dest
            sys.exit(
                f"generate_options: {flags} (group {title!r}) is on Locust's parser but in none of the "
                "opt(...) tables this script renders; add its class to LOCUST_TABLES in docs/generate_options.py"
            )
        table, _src, (f, o, tp) = found
        flag = flag_of(f, o)
        lines.append(
            "| "
            + " | ".join(
                [
                    code(flag),
                    cell(show_default(f.default)),
                    code(getattr(action, "env_var", "") or ""),
                    "yes" if o.web_ui else "",
                    cell(values_of(o, _base(tp), None)),
                    cell(o.help),
                ]
            )
            + " |"
        )
    return lines


def _base(tp: Any) -> Any:
    args = [a for a in getattr(tp, "__args__", ()) if a is not type(None)]
    return args[0] if len(args) == 1 else tp


def source_of(actions: list[argparse.Action], tables: list[tuple[type, str]]) -> str:
    names = []
    for table, src in tables:
        if any(field_of(table, a.dest) for a in actions):
            names.append(f"`{table.__name__}` in {src}")
    return ", ".join(names)


def locust_section() -> list[str]:
    bare = get_empty_argument_parser()
    setup_parser_arguments(bare)
    locusts = {a.dest for a in bare._actions}
    run_parser = get_parser(default_config_files=[])  # Locust's, with agentload's run options
    probe = importlib.import_module(PROBE_MODULE)
    probe_parser = get_parser(default_config_files=[])
    run_dests = {a.dest for a in run_parser._actions}

    out = [
        "## Options of a Locust run",
        "",
        "agentload adds these to Locust's own parser, so they work wherever Locust's do: on the command line",
        "(`locust -f locustfile.py ...`, `agentload locust ...`, after `--` of `agentload sweep`, `demo` and",
        "`fleet`), in `locust.conf`, as the `LOCUST_<NAME>` environment variable shown, and, where marked, in",
        'the web UI\'s form ("Custom parameters"). Every value passes the same checks whichever way it came;',
        "a bad one stops the run at start with one line naming the flag. `agentload locust --help` lists them",
        "beside Locust's own ([Locust's configuration](https://docs.locust.io/en/stable/configuration.html)).",
        "",
    ]
    for title, actions in locust_actions(run_parser, locusts):
        out += [f"### {title}", "", f"Declared by {source_of(actions, LOCUST_TABLES)}.", ""]
        out += locust_table(title, actions, LOCUST_TABLES) + [""]
    probe_tables = [(probe.ProbeOptions, PROBE_TABLE)]
    for title, actions in locust_actions(probe_parser, locusts | run_dests):
        out += [
            f"### {title}",
            "",
            f"Declared by {source_of(actions, probe_tables)}; on the parser of `agentload probe` and of the",
            "probe's locustfile (`agentload locustfile --probe`) only.",
            "",
        ]
        out += locust_table(title, actions, probe_tables) + [""]

    changed = []
    defaults = {a.dest: a.default for a in bare._actions}
    for a in run_parser._actions:
        if a.dest in defaults and run_parser.get_default(a.dest) != defaults[a.dest]:
            changed.append((a, defaults[a.dest], run_parser.get_default(a.dest)))
    if changed:
        out += [
            "### Locust options whose default agentload changes",
            "",
            "| option | Locust's default | under agentload | Locust's help |",
            "|---|---|---|---|",
        ]
        for a, was, now in changed:
            out.append(
                f"| {code('/'.join(a.option_strings))} | {cell(show_default(was))} | "
                f"{cell(show_default(now))} | {cell(help_of(a))} |"
            )
        out.append("")
    helps = {a.dest: a.help for a in bare._actions}
    reread = [a for a in run_parser._actions if a.dest in helps and a.help != helps[a.dest]]
    if reread:
        out += [
            "### Locust options agentload reads its own way",
            "",
            "| option | under agentload |",
            "|---|---|",
        ]
        out += [f"| {code('/'.join(a.option_strings))} | {cell(help_of(a))} |" for a in reread]
        out.append("")
    return out


def subcommand_fields() -> dict[tuple[str, str], tuple[Opt, Any]]:
    """(dest, help as argparse holds it) -> the opt(...) field an argument was made from."""
    out = {}
    for table in [*SUBCOMMAND_TABLES, *(t for t, _ in LOCUST_TABLES)]:
        for f, o, tp in option_fields(table):
            out[(f.name, o.help.replace("%", "%%"))] = (o, _base(tp))
    return out


def argument_name(action: argparse.Action) -> str:
    if action.option_strings:
        flags = ", ".join(action.option_strings)
        if action.nargs == 0:
            return code(flags)
        metavar = action.metavar or action.dest.upper()
        return code(f"{flags} {metavar}")
    name = action.metavar or action.dest
    return code(f"{name} ..." if action.nargs in ("*", "+") else str(name))


def subcommands_section() -> list[str]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: formatted(a.help or "", {"prog": ""}) for a in sub._choices_actions}
    fields = subcommand_fields()
    out = [
        "## The `agentload` command",
        "",
        "`agentload SUBCOMMAND --help` prints the same. Each subcommand's arguments, by its argument groups:",
        "",
    ]
    out += [f"- [`agentload {name}`](#agentload-{name}): {cell(helps.get(name, ''))}" for name in sub.choices]
    out.append("")
    for name, p in sub.choices.items():
        out += [f"### agentload {name}", ""]
        if p.description:
            out += [cell(p.description), ""]
        elif helps.get(name):
            out += [cell(helps[name][:1].upper() + helps[name][1:]) + ".", ""]
        actions = [a for a in p._actions if not isinstance(a, argparse._HelpAction)]
        if not actions:
            probe = name == "probe"
            out += [
                "Everything after it is Locust's own command line (`-f` defaults to the packaged "
                + ("probe's locustfile; `--headless` is added" if probe else "locustfile")
                + "), with the options of a Locust run above"
                + (" and the probe's" if probe else "")
                + ": `agentload "
                + name
                + " --help` lists them all.",
                "",
            ]
            continue
        groups = [(g.title, g.description, g._group_actions) for g in p._action_groups]
        plain = [a for title, _, acts in groups if title in ("positional arguments", "options") for a in acts]
        groups = [("", None, plain)] + [g for g in groups if g[0] not in ("positional arguments", "options")]
        for title, description, group_actions in groups:
            mine = [a for a in group_actions if not isinstance(a, argparse._HelpAction)]
            if not mine:
                continue
            if title:
                out += [f"*{title}*" + (f": {cell(description)}" if description else ""), ""]
            out += ["| argument | default | values | meaning |", "|---|---|---|---|"]
            for a in mine:
                o, tp = fields.get((a.dest, a.help or ""), (None, None))
                required = " (required)" if a.required and a.option_strings else ""
                default = "-" if a.required or a.default == argparse.SUPPRESS else show_default(a.default)
                out.append(
                    f"| {argument_name(a)}{required} | {cell(default)} | {cell(values_of(o, tp, a))} | "
                    f"{cell(help_of(a))} |"
                )
            out.append("")
    return out


def render() -> str:
    lines = [
        "# Options reference",
        "",
        "<!-- Generated by docs/generate_options.py from the option declarations; do not edit by hand.",
        f"     Regenerate: {REGENERATE} -->",
        "",
        'Every option, as declared in the code. A "default" of `-` means empty or not set; `off` is a flag',
        "not given. Values: the choices, or the bounds a number is checked against (with what a special",
        "value means).",
        "",
    ]
    lines += locust_section()
    lines += subcommands_section()
    while lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="Render docs/options.md from agentload's option declarations.")
    ap.add_argument(
        "--check", action="store_true", help="exit 1 when docs/options.md differs from the output"
    )
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        if not OUT.is_file() or OUT.read_text() != text:
            print(f"docs/options.md is out of date; regenerate it: {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
