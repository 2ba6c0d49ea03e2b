"""The tests stay where people look for them: in the folder of the door they test, sharing helpers
through conftest.py files and helper modules, never through another test module."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
DOORS = ("store", "scim", "sso", "portal", "journeys", "ops")


def python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "artifacts" not in p.parts)


def is_test_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last.startswith("test_") or last.endswith("_test")


def imported_modules(path: Path, source: str) -> list[str]:
    """Every module the source of `path` imports, relative imports resolved against its package
    (`from tests.x import y` counts as importing tests.x and, should y be a module, tests.x.y)."""
    package = ["tests", *path.relative_to(TESTS).parent.parts]
    found: list[str] = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names]
    return found


def test_every_test_module_sits_in_a_door_folder() -> None:
    misplaced = [
        str(path.relative_to(TESTS))
        for path in python_files()
        if is_test_module(path.stem)
        and not (len(path.relative_to(TESTS).parts) == 2 and path.parent.name in DOORS)
    ]
    assert not misplaced, (
        f"Test modules outside tests/{{{','.join(DOORS)}}}/: {misplaced}. Put each in the folder "
        "of the door it tests (tests/journeys/ for a browser walk across doors)."
    )


def test_no_module_imports_a_test_module() -> None:
    offenders = [
        f"{path.relative_to(TESTS)} imports {name}"
        for path in python_files()
        for name in imported_modules(path, path.read_text("utf-8"))
        if name.startswith("tests.") and any(is_test_module(part) for part in name.split("."))
    ]
    assert not offenders, (
        f"{offenders}: move what they share into a conftest.py (fixtures) or a helper module "
        "(tests/serving.py, tests/oidc.py, tests/scim/resources.py, ...)."
    )


def test_the_import_check_sees_every_spelling() -> None:
    spellings = {
        "from tests.scim.test_users import x": "tests.scim.test_users.x",
        "from tests.scim import test_users": "tests.scim.test_users",
        "import tests.scim.test_users": "tests.scim.test_users",
        "from .test_users import x": "tests.scim.test_users.x",
        "from ..sso import test_errors": "tests.sso.test_errors",
    }
    probe = TESTS / "scim" / "probe.py"
    for source, expected in spellings.items():
        assert expected in imported_modules(probe, source), source
