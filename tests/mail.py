"""A real SMTP server (aiosmtpd) that catches the mails Rollcall sends during the tests."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.serving import free_port


@dataclass
class CaughtMail:
    to: list[str]
    subject: str
    text: str
    html: str | None
    message: EmailMessage

    def link(self, path_prefix: str) -> str:
        """The first address in the text body whose path starts with `path_prefix`."""
        for url in re.findall(r"https?://\S+", self.text):
            if re.match(r"https?://[^/]+" + re.escape(path_prefix), url):
                return url
        raise AssertionError(f"no {path_prefix} link in:\n{self.text}")


class Mailbox:
    """Every mail the server accepted; tests wait for the one they expect."""

    def __init__(self) -> None:
        self.mails: list[CaughtMail] = []
        self._changed = threading.Condition()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        caught = CaughtMail(
            to=list(envelope.rcpt_tos),
            subject=str(message["Subject"]),
            text=text.get_content() if text else "",
            html=html.get_content() if html else None,
            message=message,
        )
        with self._changed:
            self.mails.append(caught)
            self._changed.notify_all()
        return "250 OK"

    def clear(self) -> None:
        with self._changed:
            self.mails.clear()

    def to(self, address: str) -> list[CaughtMail]:
        return [m for m in self.mails if address.casefold() in (a.casefold() for a in m.to)]

    def wait_for(
        self, address: str, subject_contains: str = "", *, count: int = 1, timeout: float = 10
    ) -> CaughtMail:
        """The `count`-th mail to `address` whose subject has `subject_contains`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [m for m in self.to(address) if subject_contains in m.subject]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(m.to, m.subject) for m in self.mails]
                    raise AssertionError(f"no mail {subject_contains!r} to {address}; got {seen}")
                self._changed.wait(left)

    def settle(self, seconds: float = 0.3) -> None:
        """Give mails that would be sent a moment to arrive (before asserting none did)."""
        time.sleep(seconds)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[str, Mailbox]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", mailbox
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[str, Mailbox]) -> Iterator[Mailbox]:
    _, box = smtp_server
    box.clear()
    yield box
    box.clear()
