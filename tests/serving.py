"""Running Rollcall for tests: a real server over the network, or a command in this process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from rollcall import cli

ROLLCALL = [sys.executable, "-m", "rollcall"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# What every Rollcall the tests run is told: hash passwords at the cheap cost (hundreds of
# production-cost hashes would take a minute of the run).
TEST_SETTINGS = {"ROLLCALL_PASSWORD_HASHING": "cheap"}


def clean_env() -> dict[str, str]:
    """The environment without ROLLCALL_* settings but the tests' own, so only the given options
    count."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    return env | TEST_SETTINGS


def wait_for(url: str, process: subprocess.Popen[str], seconds: float = 90) -> bytes:
    """The body of `url` once the server answers; a loaded machine can take its time to start."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer")


@contextmanager
def served(
    database_url: str,
    log_dir: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    ready: str = "/healthz",
) -> Iterator[str]:
    """`rollcall serve` on a free port (with `env` added to a clean environment); yields its base
    URL once `ready` answers 200, and stops it afterwards."""
    port = free_port()
    with (log_dir / f"server-{port}.log").open("w") as log:  # an unread pipe would block it
        process = subprocess.Popen(
            [*ROLLCALL, "--database", database_url, "serve", "--port", str(port), *extra],
            stdout=log,
            stderr=log,
            text=True,
            env=clean_env() | (env or {}),
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}{ready}", process)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


@dataclass(frozen=True)
class Ran:
    """What a command said and how it ended, as a finished process reports them."""

    returncode: int
    stdout: str
    stderr: str


def run(database_url: str, *args: str) -> Ran:
    """A `rollcall` command run to its end on the database, its output captured. It runs in this
    process (click's runner) with the environment `clean_env` gives: a process of its own would
    spend over a second importing. An exception the command did not turn into its one-line
    error fails the test, as its traceback would show."""
    unset = {name: None for name in os.environ if name.startswith("ROLLCALL_")}
    result = CliRunner().invoke(
        cli.main,
        ["--database", database_url, *args],
        env=unset | TEST_SETTINGS,
        catch_exceptions=False,
    )
    return Ran(result.exit_code, result.stdout, result.stderr)
