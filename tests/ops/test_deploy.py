"""deploy/: the entrypoint the image runs migrates and serves, tested here in a fresh virtual
environment with the package installed as the image installs it (this machine builds no
images); the dashboard asks only for metrics Rollcall has."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from rollcall.web import metrics
from tests.serving import clean_env, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


@pytest.mark.slow
def test_the_entrypoint_migrates_and_serves_from_a_fresh_install(db: Any, tmp_path: Path) -> None:
    """On the suite's PostgreSQL when it runs there (migrated already: the upgrade finds nothing
    to do), else on a new SQLite file it creates."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    port = free_port()
    env = clean_env() | {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "ROLLCALL_ENV": "production",
        "ROLLCALL_SECRET_KEY": "k" * 40,
        "ROLLCALL_ISSUER": "https://id.example.com",
        "ROLLCALL_DATABASE_URL": db.url
        if db.dialect == "postgresql"
        else f"sqlite:///{tmp_path / 'rollcall.db'}",
        "ROLLCALL_HOST": "127.0.0.1",
        "ROLLCALL_PORT": str(port),
        "ROLLCALL_WORKERS": "1",
        "ROLLCALL_LOG_FORMAT": "json",
    }
    env.pop("ROLLCALL_PASSWORD_HASHING", None)  # production hashes at the standard cost
    log = tmp_path / "entrypoint.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["sh", str(DEPLOY / "entrypoint.sh")], env=env, stdout=out, stderr=out, cwd=tmp_path
        )
        try:
            body = wait_for(f"http://127.0.0.1:{port}/health/ready", process, seconds=120)
            assert json.loads(body)["status"] == "ok"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live") as live:
                assert live.status == 200
        finally:
            process.terminate()
            process.wait(timeout=30)
    said = log.read_text()
    assert "is at revision" in said and "Booting worker" in said, said


def test_the_image_runs_the_entrypoint_as_a_user_with_a_health_check() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") == 2  # built in one stage, run in another
    assert re.search(r"^USER rollcall$", dockerfile, re.M)
    assert "/health/ready" in dockerfile and "deploy/entrypoint.sh" in dockerfile
    compose = (DEPLOY / "docker-compose.yml").read_text()
    for service in ("postgres:", "redis:", "mailpit:", "rollcall-1:", "rollcall-2:"):
        assert service in compose


def test_the_dashboard_asks_only_for_metrics_rollcall_has() -> None:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    asked = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"rollcall_[a-z_]+", target["expr"])
    }
    known = {
        m._name + suffix
        for m in vars(metrics).values()
        if hasattr(m, "_name")
        for suffix in ("", "_total", "_bucket")
    } | {"rollcall_outbox_messages", "rollcall_outbox_oldest_age_seconds", "rollcall_database_up"}
    assert asked and asked <= known, asked - known
