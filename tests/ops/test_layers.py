"""The layering of DEVELOPERS.md, read from the code's imports: store imports no door and nothing of
rollcall/, no door imports the composition root, portal and sso stay apart, and no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("store", "scim", "sso", "portal", "rollcall")
DOORS = ("scim", "sso", "portal")
COMPOSITION_ROOT = ("rollcall.app", "rollcall.wsgi", "rollcall.cli")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every project module `name` imports, at any depth of its code (type-checking ones too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                kept = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(kept + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{alias.name}" for alias in node.names}
    return (out & known) - {name}  # `from pkg import sub` inside pkg names pkg itself


GRAPH = {name: _imports(name, path, set(_modules())) for name, path in _modules().items()}


def _top(name: str) -> str:
    return name.split(".")[0]


def test_store_imports_no_door_and_nothing_of_rollcall() -> None:
    wrong = {
        name: sorted(m for m in imported if _top(m) != "store")
        for name, imported in GRAPH.items()
        if _top(name) == "store"
    }
    assert {name: found for name, found in wrong.items() if found} == {}


def test_no_door_imports_the_composition_root() -> None:
    wrong = {
        name: sorted(m for m in imported if m.startswith(COMPOSITION_ROOT))
        for name, imported in GRAPH.items()
        if _top(name) in DOORS
    }
    assert {name: found for name, found in wrong.items() if found} == {}


def test_portal_and_sso_do_not_import_each_other() -> None:
    other = {"portal": "sso", "sso": "portal"}
    wrong = {
        name: sorted(m for m in imported if _top(m) == other[_top(name)])
        for name, imported in GRAPH.items()
        if _top(name) in other
    }
    assert {name: found for name, found in wrong.items() if found} == {}


def test_there_is_no_import_cycle() -> None:
    cycles = []
    for start in GRAPH:
        seen, stack = set(), [(start, (start,))]
        while stack:
            name, trail = stack.pop()
            for imported in GRAPH[name]:
                if imported == start:
                    cycles.append(" -> ".join((*trail, start)))
                elif imported not in seen:
                    seen.add(imported)
                    stack.append((imported, (*trail, imported)))
    assert cycles == []


def test_the_walk_reads_the_imports() -> None:
    """An empty graph would pass everything above: the walk must find what the code imports."""
    assert len(GRAPH) > 50
    assert {"scim.blueprint", "sso.door", "portal.door", "store.db"} <= GRAPH["rollcall.app"]
    assert "store.users" in GRAPH["scim.users"]
