"""The shape of the code, read from its import statements (issue 14).

Imports point one way (DESIGN.md): the front ends (`cli`, `tui`, `bench`) use `run`,
`labels`, `session`, which use `tables`, which uses `lm`, `taggers` and `corpora`, which use
only the base modules (`defaults`, `errors`, `files`, `visible`); `api` (the notebook API)
is a front end like `cli`, which the package hands out lazily (FACADE); the labelling queue
(`labels`) walks a browsing `session`; `bench` measures the app, and `cli` runs them all. `corpora` and `taggers`
import nothing from `inspector`. Only `tui` imports Textual. No import cycles, counting
imports inside functions too; no module over 380 lines, no function over 70.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("inspector", "taggers", "corpora")

# layer of each part; a module may import its own part and any part of a lower layer
LAYERS = {
    "inspector.base": 0,
    "corpora": 1, "taggers": 1, "inspector.lm": 1,
    "inspector.tables": 2,
    "inspector.run": 3, "inspector.session": 3,
    "inspector.labels": 4,  # the labelling queue walks a browsing session
    "inspector.tui": 5, "inspector.bench": 6, "inspector.cli": 7, "inspector.api": 7,
}  # fmt: skip
# The one upward import allowed: the package's lazy `__getattr__` handing notebooks the API
# (`import inspector; inspector.score(...)`), run on first use of those names only.
FACADE = {("inspector", "inspector.api")}
BASE = {
    "inspector",
    "inspector.defaults",
    "inspector.errors",
    "inspector.files",
    "inspector.visible",
}


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _imports(path: Path) -> set[str]:
    """Every module named by an import in `path`, at any depth (inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _part(module: str) -> str:
    if module in BASE or module == "inspector.__main__":
        return "inspector.base" if module != "inspector.__main__" else "inspector.cli"
    for part in sorted(LAYERS, key=len, reverse=True):
        if module == part or module.startswith(part + "."):
            return part
    raise AssertionError(f"{module}: in no layer; add its package to LAYERS")


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target in _imports(path):
            if target in modules and target != name:
                graph[name].add(target)
    return graph


def test_imports_point_down() -> None:
    upward = [
        f"{a} imports {b}"
        for a, targets in _graph().items()
        for b in targets
        if _part(a) != _part(b) and LAYERS[_part(b)] >= LAYERS[_part(a)] and (a, b) not in FACADE
    ]
    assert not upward, "\n".join(sorted(upward))


def test_corpora_and_taggers_stand_alone() -> None:
    leaks = [
        f"{name} imports {target}"
        for name, path in _modules().items()
        if name.split(".")[0] in ("corpora", "taggers")
        for target in _imports(path)
        if target.split(".")[0] == "inspector"
    ]
    assert not leaks, "\n".join(leaks)


def test_only_the_tui_imports_textual() -> None:
    users = [
        name
        for name, path in _modules().items()
        if any(t.split(".")[0] in ("textual", "textual_plotext") for t in _imports(path))
        and not name.startswith("inspector.tui")
    ]
    assert not users, users


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(_modules()):
        if node not in state:
            visit(node, [node])
    # a package's __init__ naming its own submodules is not a cycle of behaviour
    real = [c for c in cycles if not all(m.startswith(c.split(" -> ")[0]) for m in c.split(" -> "))]
    assert not real, "\n".join(real)


def test_modules_and_functions_stay_small() -> None:
    big = []
    for name, path in _modules().items():
        lines = path.read_text().count("\n")
        if lines > 380:
            big.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 70:
                    big.append(f"{name}.{node.name}: {length} lines")
    assert not big, "\n".join(big)


def test_every_user_message_comes_from_its_catalog() -> None:
    """User errors are raised with `message(name, **fields)` from their package's catalog
    (`inspector/errors.py`, `corpora/errors.py`, `taggers/errors.py`), and every call gives
    exactly the fields its template names."""
    import importlib
    import string

    user_errors = {"InspectorError", "CorpusError", "ModelError", "CacheError", "ExportError",
                   "TableError", "TasksError", "AnnotationError", "RulesError", "SpacyError"}  # fmt: skip
    problems = []
    for name, path in _modules().items():
        catalog = importlib.import_module(f"{name.split('.')[0]}.errors").MESSAGES
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                called = node.exc.func
                kind = called.id if isinstance(called, ast.Name) else ""
                arg = node.exc.args[0] if node.exc.args else None
                if kind in user_errors and isinstance(arg, ast.JoinedStr | ast.Constant):
                    problems.append(f"{name}:{node.lineno}: {kind} with an inline message")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "message"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                key = node.args[0].value
                if key not in catalog:
                    problems.append(f"{name}:{node.lineno}: no message '{key}'")
                    continue
                need = {f[1] for f in string.Formatter().parse(catalog[key]) if f[1]}
                given = {k.arg for k in node.keywords}
                if need != given:
                    problems.append(f"{name}:{node.lineno}: '{key}' needs {need}, given {given}")
    assert not problems, "\n".join(problems)
