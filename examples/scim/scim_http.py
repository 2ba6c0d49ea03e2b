"""A few lines of HTTP for the examples: standard library only, so they run anywhere."""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class Scim:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any = None, **query: str) -> tuple[int, Any]:
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Content-Type", "application/scim+json")
        request.add_header("Accept", "application/scim+json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        payload = json.loads(raw) if raw else None
        print(f"{method:6} {path:<60} -> {status}")
        return status, payload

    def expect(self, wanted: int, method: str, path: str, body: Any = None, **query: str) -> Any:
        status, payload = self.call(method, path, body, **query)
        if status != wanted:
            raise SystemExit(f"expected {wanted}, got {status}: {payload}")
        return payload


def connect(description: str) -> Scim:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--base-url", default=os.environ.get("ROLLCALL_SCIM_URL", "http://127.0.0.1:8000/scim/v2")
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("ROLLCALL_SCIM_TOKEN"),
        help="a provisioning token (rollcall token create --account NAME)",
    )
    args = parser.parse_args()
    if not args.token:
        parser.error("give --token or set ROLLCALL_SCIM_TOKEN")
    return Scim(args.base_url, args.token)
