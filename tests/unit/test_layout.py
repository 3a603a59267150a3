"""The package's shape, checked: roles as packages, imports only downward, no import circles (type-only
imports included), imports inside functions only with a reason written beside them."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from agentload.launch.locust import WORKER_REPORT_INTERVAL_S

PKG = Path(__file__).resolve().parents[2] / "agentload"
# a package may import from its own level and below, never above
LEVELS = {
    "core": 0,
    "workload": 1, "metrics": 1, "influx": 1, "launch": 1,
    "client": 2, "mock": 2, "recording": 2,
    "runtime": 3,
    "probe": 4, "sweep": 4, "gateway": 4,
    "compare": 5,
    "cli": 5, "__main__": 5, "locust_main": 5, "__init__": 0,
}  # fmt: skip


@functools.cache
def modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PKG.parent).with_suffix("").parts): p for p in PKG.rglob("*.py")}


def _resolve(mod: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".")
    is_pkg = modules()[mod].name == "__init__.py"
    parent = base if is_pkg else base[:-1]
    parent = parent[: len(parent) - node.level + 1]
    return ".".join(parent + ([node.module] if node.module else []))


def module_level(tree: ast.Module) -> list[ast.AST]:
    """What a module runs when it is imported, and what a type checker reads as if it did: every node
    but those inside its functions (``if TYPE_CHECKING:`` blocks included)."""
    out: list[ast.AST] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))
    return out


def imports(mod: str, path: Path, top_level_only: bool) -> set[str]:
    """The agentload modules ``mod`` imports: at the module level (type-only imports included), or
    anywhere (inside functions too)."""
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    nodes = module_level(tree) if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            target = _resolve(mod, node)
            if target.startswith("agentload"):
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    out.add(sub if sub in modules() else target)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("agentload")}
    return {t for t in out if t in modules()}


def package_of(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_at_most_ten_modules_at_the_top_level() -> None:
    top = sorted(p.name for p in PKG.glob("*.py"))
    assert len(top) <= 10, top


def test_each_package_imports_only_its_own_level_and_below() -> None:
    bad = []
    for mod, path in modules().items():
        mine = LEVELS[package_of(mod).removesuffix(".py")]
        for target in imports(mod, path, top_level_only=False):
            theirs = LEVELS[package_of(target)]
            if theirs > mine:
                bad.append(f"{mod} -> {target}")
            elif (
                theirs == mine and package_of(target) != package_of(mod) and (PKG / package_of(mod)).is_dir()
            ):
                bad.append(f"{mod} -> {target} (a sibling package)")
    assert not bad, bad


def test_no_import_circles() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for mod, path in modules().items():
        graph[mod] = {t for t in imports(mod, path, top_level_only=True) if t != mod}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(m: str, stack: list[str]) -> bool:
        state[m] = 1
        for n in graph[m]:
            if state.get(n) == 1:
                cycle.extend(stack[stack.index(n) :] + [n])
                return True
            if n not in state and visit(n, [*stack, n]):
                return True
        state[m] = 2
        return False

    for m in sorted(graph):
        if m not in state and visit(m, [m]):
            break
    # a package's __init__ re-exporting its modules is not a circle of its own
    assert not cycle, " -> ".join(cycle)


def test_type_only_imports_count_as_imports(tmp_path: Path) -> None:
    """An import under ``if TYPE_CHECKING:`` is an edge of the circle check's graph like any other."""
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from agentload.runtime.summary import Summary\n"
    )
    assert imports("agentload.m", source, top_level_only=True) == {"agentload.runtime.summary"}


def test_imports_inside_functions_say_why() -> None:
    silent = []
    for mod, path in modules().items():
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        first = inner.lineno - 1  # the first line of its block of imports
                        while lines[first - 1].strip().startswith(("import ", "from ")):
                            first -= 1
                        here, above = lines[inner.lineno - 1], lines[first - 1]
                        if "#" not in here and "#" not in lines[first] and not above.strip().startswith("#"):
                            silent.append(f"{mod}:{inner.lineno}: {here.strip()}")
    assert not silent, silent


def test_the_report_interval_is_locusts() -> None:
    """(In a child: importing Locust monkey-patches the process that imports it.)"""
    code = "import locust.runners; print(locust.runners.WORKER_REPORT_INTERVAL)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert float(out.stdout) == WORKER_REPORT_INTERVAL_S


def test_the_package_exports_what_the_users_module_does() -> None:
    """``agentload/__init__.py`` names the user classes itself (it imports Locust only on first use),
    so its list and the users module's must not drift apart: each name it offers resolves to the class.
    In a process of its own: Locust patches ssl for gevent, which must come before anything imports ssl."""
    check = (
        "import agentload\n"
        "from agentload.runtime import users\n"
        "assert sorted(agentload.__all__) == sorted(users.__all__), (agentload.__all__, users.__all__)\n"
        "assert all(getattr(agentload, n) is getattr(users, n) for n in agentload.__all__)\n"
        "users.check_registry()\n"
    )
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
