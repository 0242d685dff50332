"""The emulator's layout stays easy to find one's way in: no import cycles, no huge modules."""

from __future__ import annotations

import ast
from pathlib import Path

import shop.stripe_emulator

PACKAGE = "shop.stripe_emulator"
ROOT = Path(shop.stripe_emulator.__file__).parent
MAX_LINES = 500


def module_names() -> dict[str, Path]:
    """Every module of the emulator by dotted name (packages by their ``__init__``)."""
    names = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join([PACKAGE, *parts])] = path
    return names


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The emulator modules ``name`` imports anywhere in its source, function bodies included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # "from . import resources" imports a module; "from .api import route" a name.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def import_graph() -> dict[str, set[str]]:
    names = module_names()
    return {name: imports_of(name, path, set(names)) for name, path in names.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path of module names, or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_is_seen() -> None:
    graph = import_graph()
    assert f"{PACKAGE}.billing.scheduler" in graph[f"{PACKAGE}.core"]
    assert f"{PACKAGE}.resources" in graph[f"{PACKAGE}.app"]
    assert f"{PACKAGE}.resources.prices" in graph[f"{PACKAGE}.resources.products"]


def test_no_import_cycle_between_modules() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_is_huge() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in module_names().items()}
    assert {name: size for name, size in sizes.items() if size > MAX_LINES} == {}
