"""Libraries whose private names Rollcall calls are pinned to the minor version the code was
written against (pyproject.toml says which), and the installed ones are inside those pins."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

# What calls the library's private names, and what to re-check before moving its pin.
PATCHED = {
    "scim2-models": (
        "scim/request_checks.py calls BaseModel._enforce_scim_context, _check_mutability, "
        "_check_necessity, _check_primary_uniqueness and _is_unresolved_bulk_reference, and "
        "patch_op._apply_operation and _effective_policy (patch_copy): check that they still "
        "exist with the same signatures and meaning, and run tests/scim/test_request_checks.py "
        "(it compares the outcome with scim2-models' own) and tests/scim/test_patch*.py"
    ),
    "gunicorn": (
        "rollcall/gunicorn.py overrides Worker.handle_error(req, client, addr, exc) of the sync "
        "worker to answer LimitRequestLine itself, and Worker.handle(listener, client, addr) to "
        "time the client's socket out: check that gunicorn still calls them so, with the "
        "client's socket, and run tests/ops/test_served_outage.py and test_served_bodies.py"
    ),
    "sqlalchemy": (
        "store.rows.write_columns reads InstanceState.committed_state and calls "
        "InstanceState._commit_all, and store.statements.Compiled reads the compiler's binds "
        "and positiontup: check that they still exist with the same meaning, and run "
        "tests/store/test_db_fetch.py and tests/scim/test_etags.py on PostgreSQL"
    ),
}


def pins() -> dict[str, Requirement]:
    dependencies = tomllib.loads(PYPROJECT.read_text("utf-8"))["project"]["dependencies"]
    return {(r := Requirement(line)).name.lower(): r for line in dependencies}


@pytest.mark.parametrize("library", sorted(PATCHED))
def test_a_patched_library_is_pinned_to_one_minor_version(library: str) -> None:
    requirement = pins()[library]
    bounds = {spec.operator for spec in requirement.specifier}
    assert {">=", "<"} <= bounds, (
        f"pyproject.toml must pin {library} to a minor version (>=X.Y.Z,<X.Y+1): "
        f"{PATCHED[library]}."
    )


@pytest.mark.parametrize("library", sorted(PATCHED))
def test_the_installed_version_is_inside_the_pin(library: str) -> None:
    requirement = pins()[library]
    installed = version(library)
    assert requirement.specifier.contains(installed, prereleases=True), (
        f"{library} {installed} is installed, but the code was written against "
        f"{library}{requirement.specifier} (pyproject.toml). Before moving the pin: "
        f"{PATCHED[library]}."
    )
