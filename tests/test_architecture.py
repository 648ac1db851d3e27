"""The package's structure: no import cycle, layers pointing down, public names outside the core.

An AST walk over ``src/runlife`` (no dependency): every ``import`` and ``from`` anywhere in
a module counts (module level, inside functions, under ``TYPE_CHECKING``); a submodule's
import of its package's ``__init__`` (``from . import x``, ``from runlife import x``) counts
as an import of that package. Print the graph's summary with
``python tests/test_architecture.py``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"
PACKAGE = SRC / "runlife"

#: Layers, lowest first; a module may import its own layer or lower ones only.
LAYERS = (
    ("core", lambda m: m.startswith("runlife._") and not m.startswith("runlife.__")),
    ("facade", lambda m: m == "runlife"),
    ("friends", lambda m: m.split(".")[1] in {"aio", "paths", "diagrams", "simulation"}),
    ("users", lambda m: m.split(".")[1] in {"testing", "store"}),
    ("service", lambda m: m.split(".")[1] == "serve"),
    ("cli", lambda m: m.split(".")[1] in {"cli", "__main__"}),
)
#: Allowed upward imports, each with its reason.
ALLOWED_UP = {
    # The deprecated runlife.sse_encode shim, resolved on use; serve.sse imports no runlife.
    ("runlife._events", "runlife.serve.sse"),
    # `python -m runlife.serve`: an entry point that runs the `runlife serve` command.
    ("runlife.serve.__main__", "runlife.cli"),
}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """The runlife modules *name* imports, with the line of each import."""
    is_package = path.name == "__init__.py"
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target not in known:
                continue
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
            if subs and len(subs) == len(node.names):
                out += [(s, node.lineno) for s in subs]
            else:
                out += [(target, node.lineno)] + [(s, node.lineno) for s in subs]
    return [(t, line) for t, line in out if t != name]


def graph() -> dict[str, list[tuple[str, int]]]:
    found = modules()
    known = set(found)
    return {name: imports(name, path, known) for name, path in found.items()}


def cycles(edges: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk, each as the modules along it."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dest, _ in edges[node]:
            if state.get(dest) == 1:
                found.append([*stack[stack.index(dest) :], dest])
            elif dest not in state:
                visit(dest)
        stack.pop()
        state[node] = 2

    for node in edges:
        if node not in state:
            visit(node)
    return found


def layer(name: str) -> int:
    return next(i for i, (_, test) in enumerate(LAYERS) if test(name))


def test_no_import_cycle() -> None:
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_a_cycle_is_named() -> None:
    """The walk finds and names a cycle (the check can fail)."""
    edges = {"a": [("b", 1)], "b": [("c", 2)], "c": [("a", 3)], "d": []}
    assert cycles(edges) == [["a", "b", "c", "a"]]


def test_imports_point_down() -> None:
    up = [
        f"{src} ({layer(src)}) imports {dest} ({layer(dest)}) at line {line}"
        for src, dests in graph().items()
        for dest, line in dests
        if layer(dest) > layer(src) and (src, dest) not in ALLOWED_UP
    ]
    assert not up, "upward imports: " + "; ".join(up)


def _package(name: str) -> str:
    return ".".join(name.split(".")[:2])


def test_outside_the_core_only_public_names() -> None:
    """No runlife._x module, no _name of another package, no _attribute of a runlife object."""
    bad: list[str] = []
    core_names = {
        n.attr if isinstance(n, ast.Attribute) else n.name
        for p in PACKAGE.glob("_*.py")
        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(n, ast.FunctionDef | ast.ClassDef)
        or (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self")
    }
    for name, path in modules().items():
        if layer(name) == 0:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(SRC)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.ImportFrom) and node.module:
                target = node.module if not node.level else None
                if (
                    target
                    and target.startswith("runlife")
                    and any(part.startswith("_") for part in target.split(".")[1:])
                    and _package(target) != _package(name)
                ):
                    bad.append(f"{where} imports {target}")
                if target and target.startswith("runlife") and _package(target) != _package(name):
                    bad += [
                        f"{where} imports {a.name} from {target}"
                        for a in node.names
                        if a.name.startswith("_")
                    ]
            elif (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})
                and node.attr in core_names
                and node.attr not in {"_replace", "_asdict", "_fields", "_make"}
            ):
                bad.append(f"{where} touches .{node.attr}")
    assert not bad, "private names used outside the core: " + "; ".join(bad)


def test_one_writer() -> None:
    """Only the commit writes a run's slots; the makers fill records nobody holds yet."""
    allowed = {"_commit.py", "_makers.py", "_events.py"}  # _events fills its own new events
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in allowed and path.parent == PACKAGE:
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "object.__setattr__(" in line or ".__set__(" in line or ".__set__\n" in line:
                bad.append(f"{path.relative_to(SRC)}:{i}: {line.strip()}")
    assert not bad, "slot writes outside runlife._commit and the makers: " + "; ".join(bad)


if __name__ == "__main__":
    g = graph()
    n_edges = sum(len(v) for v in g.values())
    found = cycles(g)
    sys.stdout.write(f"modules {len(g)}; imports {n_edges}; cycles {len(found)}\n")
