"""Rollcall served by gunicorn: a request body sent in misshapen chunks, or cut off halfway, is
a 400 in the door's own format (SCIM Error, OAuth JSON, the site's page), never a 500."""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.serving import served

pytestmark = pytest.mark.slow  # gunicorn started as a process

MISSHAPEN = b"ZZ\r\nabc\r\n0\r\n\r\n"  # a chunk size that is no hexadecimal number
CUT_SHORT = b'10\r\n{"a":'  # 16 bytes announced, 5 sent, then the client stops sending


@pytest.fixture
def gunicorn(db: Any, tmp_path: Any) -> Any:
    with served(db.url, tmp_path, "--workers", "1") as base:
        yield base


def chunked(
    base: str, path: str, content_type: str, body: bytes, token: str = ""
) -> tuple[str, str, str]:
    """The status line, Content-Type and body of the answer to a POST sent chunked by hand."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    headers, _, content = answer.decode("utf-8", "replace").partition("\r\n\r\n")
    status, *fields = headers.split("\r\n")
    kind = next(
        (f.split(":", 1)[1].strip() for f in fields if f.lower().startswith("content-type")), ""
    )
    return status, kind, content


@pytest.mark.parametrize("body", [MISSHAPEN, CUT_SHORT], ids=["misshapen", "cut-short"])
def test_a_body_that_cannot_be_read_is_a_400_in_each_doors_format(
    gunicorn: str, body: bytes, enterprise: Any, make_token: Any
) -> None:
    token = make_token(enterprise.account)
    status, kind, content = chunked(
        gunicorn, "/scim/v2/Users", "application/scim+json", body, token
    )
    assert status.startswith("HTTP/1.1 400"), content
    assert kind == "application/scim+json" and '"status":"400"' in content
    form = "application/x-www-form-urlencoded"
    status, kind, content = chunked(gunicorn, "/oauth/token", form, body)
    assert status.startswith("HTTP/1.1 400"), content
    assert kind == "application/json" and '"error":"invalid_request"' in content
    status, kind, content = chunked(gunicorn, "/signin", form, body)
    assert status.startswith("HTTP/1.1 400"), content
    assert kind.startswith("text/html") and "That cannot be done here" in content


def test_a_body_that_stops_arriving_is_a_400_before_the_worker_would_be_stopped(
    db: Any, tmp_path: Any, enterprise: Any, make_token: Any
) -> None:
    """A client that announces 500 bytes and sends 2 held the worker until gunicorn killed it
    (an HTML 500; four such clients stopped the service). It waits a third of the request's
    time for the rest."""
    token = make_token(enterprise.account)
    with served(db.url, tmp_path, "--workers", "1", env={"ROLLCALL_REQUEST_TIMEOUT": "6"}) as base:
        address = urlsplit(base)
        with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
            sock.sendall(
                (
                    f"POST /scim/v2/Users HTTP/1.1\r\nHost: {address.netloc}\r\n"
                    f"Authorization: Bearer {token}\r\nContent-Type: application/scim+json\r\n"
                    'Content-Length: 500\r\n\r\n{"'
                ).encode()
            )
            started = time.monotonic()
            received = b""
            while chunk := sock.recv(65536):  # the server closes the connection after it
                received += chunk
            waited = time.monotonic() - started
            answer = received.decode("utf-8", "replace")
    assert answer.startswith("HTTP/1.1 400"), answer
    assert "application/scim+json" in answer and "stopped arriving" in answer
    assert waited < 6
