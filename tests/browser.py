"""Browser tests: one Chromium for the whole run (Playwright), a Rollcall served per test in a
thread, mails caught by the SMTP server of tests/mail.py. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rollcall import senders
from rollcall.settings import Settings
from store.db import Database
from tests.live import live
from tests.mail import Mailbox

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass(frozen=True)
class LiveServer:
    """A Rollcall served by `tests.live.live`: its app, and the base URL it answers at."""

    app: Any
    url: str


@pytest.fixture
def live_server(db: Database, smtp_server: tuple[str, Mailbox]) -> Iterator[LiveServer]:
    """Rollcall on a free port, sending mail inline to the test SMTP server."""
    from rollcall.app import create_app

    smtp_url, _ = smtp_server
    settings = Settings(database_url=db.url, smtp_url=smtp_url, mail_inline=True)
    app = create_app(settings, db)
    with live(app) as url:
        yield LiveServer(app, url)
    senders.wait()  # before the database is emptied under them


class Page:
    """A Playwright page at the live server, with screenshots named after the test."""

    def __init__(self, page: Any, base_url: str, test_name: str) -> None:
        self.page = page
        self.base_url = base_url
        self.name = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        self.shots = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)

    def open(self, path: str) -> Any:
        return self.page.goto(path if path.startswith("http") else self.base_url + path)

    def screenshot(self, label: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.shots += 1
        path = ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)

    def sign_in(self, login: str, password: str) -> None:
        """The sign-in page filled in and sent, as a person does."""
        self.open("/signin")
        self.page.get_by_label("Username or email").fill(login)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.page.get_by_role("button", name="Sign in").click()

    def heading(self) -> str:
        return self.page.locator("h1").first.inner_text()


@pytest.fixture
def second_page(
    chromium: Any, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """Another person's browser at the same server (cookies of its own)."""
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    try:
        yield Page(context.new_page(), live_server.url, request.node.name + "-other")
    finally:
        context.close()


@pytest.fixture
def page(chromium: Any, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    try:
        yield Page(context.new_page(), live_server.url, request.node.name)
    finally:
        context.close()
