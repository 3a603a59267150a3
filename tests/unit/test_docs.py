"""The docs hold: README.md stays short, docs/options.md is what its generator prints now, and every
``agentload`` and ``locust`` command in a shell block of README.md and docs/*.md still parses.

Nothing is run: each command goes through the parser that would read it (``agentload.cli``'s, or
Locust's own with agentload's options added), in a child process, since importing Locust
monkey-patches the process that imports it. Lines that are not an ``agentload`` or ``locust`` command
(``make``, ``docker``, ``kubectl``, ``terraform``, ``export``, ...) are left alone by rule.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
GENERATOR = ROOT / "docs" / "generate_options.py"
REGENERATE = ".venv/bin/python docs/generate_options.py > docs/options.md"
MAX_README_LINES = 250
MIN_COMMANDS = 60  # what the docs hold (62 when written): the check cannot pass by finding none
SHELL_BLOCKS = ("sh", "bash", "console", "shell")
PROGRAMS = ("agentload", "locust")
SEPARATORS = {"&&", "||", ";", "&", "|", ";;", "|&"}
REDIRECTS = {">", ">>", "<", ">&", "<&", "&>"}
SUBSTITUTION = re.compile(r"\$\(([^()]*)\)")
ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
PYTHON_CLASS = re.compile(r"^class (\w+)\b", re.M)


@dataclass(frozen=True)
class Command:
    where: str  # docs/file.md:LINE
    text: str  # as written (continuations joined)
    argv: list[str]  # program first


def test_readme_is_at_most_250_lines() -> None:
    n = len(README.read_text().splitlines())
    assert n <= MAX_README_LINES, (
        f"README.md has {n} lines (at most {MAX_README_LINES}): move detail to docs/"
    )


def test_options_md_is_what_the_generator_prints() -> None:
    out = subprocess.run(
        [sys.executable, str(GENERATOR)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, f"docs/generate_options.py failed:\n{out.stderr}"
    committed = (ROOT / "docs" / "options.md").read_text()
    if committed != out.stdout:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(True), out.stdout.splitlines(True), "docs/options.md", "generated"
                )
            )[:40]
        )
        raise AssertionError(f"docs/options.md is out of date; regenerate it:\n    {REGENERATE}\n{diff}")


def shell_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, command text) of every command in the file's shell blocks, continuations joined."""
    out: list[tuple[int, str]] = []
    fence: str | None = None
    pending: tuple[int, str] | None = None
    for n, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else stripped[3:].strip().lower()
            pending = None
            continue
        if fence not in SHELL_BLOCKS:
            continue
        if pending is None:
            if fence == "console":
                if not stripped.startswith("$ "):
                    continue
                stripped = stripped[2:]
            elif stripped.startswith("$ "):
                stripped = stripped[2:]
            pending = (n, "")
        start, text = pending
        if stripped.endswith("\\"):
            pending = (start, text + stripped[:-1] + " ")
            continue
        out.append((start, text + stripped))
        pending = None
    return out


def commands_in(text: str) -> list[list[str]]:
    """The simple commands in one line of shell: ``$(...)`` taken out as commands of their own (and
    replaced by a path), split at ``&&``, ``;``, ``&``, ``|``, redirections dropped, env-var
    assignments before the program dropped, bare ``...`` (an elision) dropped."""
    found: list[list[str]] = []
    for inner in SUBSTITUTION.findall(text):
        found += commands_in(inner)
    lexer = shlex.shlex(SUBSTITUTION.sub("locustfile.py", text), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    current: list[str] = []
    segments = [current]
    skip_next = False
    for token in lexer:
        if skip_next:
            skip_next = False
        elif token in SEPARATORS:
            current = []
            segments.append(current)
        elif token in REDIRECTS:
            skip_next = True
        elif token != "...":
            current.append(token)
    for seg in segments:
        while seg and ENV_ASSIGNMENT.match(seg[0]):
            seg.pop(0)
        if seg:
            found.append(seg)
    return found


def doc_commands() -> list[Command]:
    out = []
    for path in DOCS:
        rel = path.relative_to(ROOT)
        for n, text in shell_lines(path):
            for argv in commands_in(text):
                name = Path(argv[0]).name
                if name in PROGRAMS:
                    out.append(Command(f"{rel}:{n}", text, [name, *argv[1:]]))
    return out


def user_classes_in_docs() -> list[str]:
    """Classes a doc defines in its Python examples (a locustfile of your own), which its commands may name."""
    return sorted({c for path in DOCS for c in PYTHON_CLASS.findall(path.read_text())})


def parse_in_child(argvs: list[list[str]], classes: list[str]) -> list[str | None]:
    """For each argv, None when it parses, else the parser's complaint (see child())."""
    out = subprocess.run(
        [sys.executable, __file__, "--child"],
        input=json.dumps({"argvs": argvs, "classes": classes}),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, f"the parsing child failed:\n{out.stderr}"
    complaints: list[str | None] = json.loads(out.stdout.strip().splitlines()[-1])
    return complaints


# made-up flags and classes that must not parse (so the check is known to catch them)
MUST_FAIL = [
    ["agentload", "sweep", "--no-such-flag", "1"],
    ["agentload", "sweep", "--agents", "2", "--", "--no-such-flag"],
    ["agentload", "no-such-command"],
    ["agentload", "probe", "--host", "http://127.0.0.1:8000", "--no-such-flag", "1"],
    ["locust", "-f", "locustfile.py", "--no-such-flag"],
    ["locust", "-f", "locustfile.py", "--headless", "NoSuchAgent"],
    ["locust", "-f", "locustfile.py", "--probe-steps", "1,2"],  # the probe's options are not a plain run's
]


def test_every_command_in_the_docs_parses() -> None:
    commands = doc_commands()
    results = parse_in_child([c.argv for c in commands] + MUST_FAIL, user_classes_in_docs())
    mine, selfcheck = results[: len(commands)], results[len(commands) :]
    bad = [f"{c.where}: {c.text}\n    {err}" for c, err in zip(commands, mine, strict=True) if err]
    assert not bad, "commands in the docs that no longer parse:\n" + "\n".join(bad)
    caught = [" ".join(argv) for argv, err in zip(MUST_FAIL, selfcheck, strict=True) if err is None]
    assert not caught, f"the check let these through: {caught}"
    assert len(commands) >= MIN_COMMANDS, f"only {len(commands)} commands found in the docs"


def test_commands_are_read_as_a_shell_would() -> None:
    line = 'OPENAI_API_KEY=x locust -f "$(agentload locustfile)" --host https://h ... --records r.jsonl &  # note'
    assert commands_in(line) == [
        ["agentload", "locustfile"],
        ["locust", "-f", "locustfile.py", "--host", "https://h", "--records", "r.jsonl"],
    ]
    assert commands_in("agentload dashboard > out.json && locust --help | head") == [
        ["agentload", "dashboard"],
        ["locust", "--help"],
        ["head"],
    ]


def child() -> None:
    """Parse each argv of stdin's JSON and print, as JSON, None or the complaint for each."""
    import contextlib  # noqa: I001  (the child's imports: Locust first, it patches the process)
    import io

    from locust.argument_parser import get_parser

    import agentload.runtime.plugin  # noqa: F401  (agentload's options on Locust's parser)
    from agentload import cli
    from agentload.core.strategies import STRATEGIES

    request = json.load(sys.stdin)
    run_parser = get_parser(default_config_files=[])
    import agentload.probe.options  # noqa: F401  (after the run's parser: its listener adds the probe's options)

    probe_parser = get_parser(default_config_files=[])
    classes = {s.user_class for s in STRATEGIES} | {"AgentUser"} | set(request["classes"])

    def parse(
        parser: argparse.ArgumentParser, args: list[str]
    ) -> tuple[argparse.Namespace | None, str | None]:
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                return parser.parse_args(args), None
        except SystemExit as e:
            if e.code in (0, None):  # --help
                return None, None
            lines = err.getvalue().strip().splitlines()
            first = next((i for i, line in enumerate(lines) if "error:" in line), max(len(lines) - 1, 0))
            return None, (" ".join(lines[first:]) or f"exit {e.code}")

    def locust(args: list[str], probe: bool) -> str | None:
        ns, err = parse(probe_parser if probe else run_parser, args)
        if err or ns is None:
            return err
        unknown = [c for c in getattr(ns, "user_classes", []) if c not in classes]
        return f"no such user class: {', '.join(unknown)}" if unknown else None

    def check(argv: list[str]) -> str | None:
        program, args = argv[0], argv[1:]
        if program == "locust":
            return locust(args, probe=False)
        if args[:1] in (["locust"], ["probe"]):  # everything after these is Locust's (agentload.cli.main)
            return locust(args[1:], probe=args[0] == "probe")
        ns, err = parse(cli.build_parser(), args)
        if err or ns is None:
            return err
        rest = getattr(ns, "locust_args", None)  # sweep, demo, fleet: Locust's options after --
        return locust(rest, probe=False) if rest else None

    print(json.dumps([check(argv) for argv in request["argvs"]]))


if __name__ == "__main__" and sys.argv[1:] == ["--child"]:
    child()
