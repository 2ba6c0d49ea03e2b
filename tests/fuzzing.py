"""Arbitrary input for every door (the fuzz tests of tests/*/test_fuzz.py): values as text or raw
bytes, the forms a page shows (every field, its CSRF token kept), and one check: whatever is
sent, the answer is never a server fault (5xx).

Each endpoint gets a small number of examples (`EXAMPLES`, or ROLLCALL_FUZZ_EXAMPLES for a
longer hunt), so a run stays short on either database; a failure prints the example that made
it, which hypothesis replays first next time.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("ROLLCALL_FUZZ_EXAMPLES", "20"))

# For a function given inside a test: its examples share the test's fixtures (the app, a signed-in
# client), on purpose: the database fills up as examples run, which only adds cases.
fuzz_settings = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Values people and programs get wrong: empty, huge, NUL, controls, signs, exponents, lone halves
# of UTF-16 pairs as JSON escapes, Unicode that folds or normalizes into something longer.
EDGES = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "-1",
    "0",
    "9" * 40,
    "1e309",
    "NaN",
    "null",
    "true",
    "[]",
    "{}",
    "%00",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\u202e",
    "\ufdfa" * 40,
    "ß" * 200,
    "x" * 5000,
    "a@b",
    "@",
    "a@example.com",
]

texts = st.one_of(st.text(max_size=300), st.sampled_from(EDGES))
# Form and query values as a browser never sends them: any bytes, UTF-8 or not.
values = st.one_of(texts, st.binary(max_size=200))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities too: json.dumps writes them as no JSON parser reads them
    | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)

_addresses = itertools.count(1)


def client_address() -> str:
    """A new client address for each request, so the pages' rate limits count none of them
    together (a 429 is no fault, but it would end the fuzzing of the page behind it)."""
    n = next(_addresses)
    return f"10.{(n >> 16) % 256}.{(n >> 8) % 256}.{n % 256}"


def form_body(fields: dict[str, str | bytes]) -> bytes:
    """application/x-www-form-urlencoded, bytes values percent-encoded as they are."""
    return urlencode(list(fields.items())).encode("ascii")


def no_server_fault(response: Any, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.get_data()[:800])


@dataclass
class Form:
    """A form as a page shows it: where it posts, its fields, and what the page puts in them."""

    action: str
    method: str
    fields: list[str] = field(default_factory=list)
    hidden: dict[str, str] = field(default_factory=dict)  # its CSRF token
    shown: dict[str, list[str]] = field(default_factory=dict)  # values, options, choices


class _Forms(HTMLParser):
    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = found.get("action") or self.page_path
            self.current = Form(action, found.get("method", "get").lower())
            self.forms.append(self.current)
            return
        if self.current is None:
            return
        if tag == "option" and self.select is not None:
            self.current.shown.setdefault(self.select, []).append(found.get("value", ""))
            return
        name = found.get("name")
        if not name or tag not in ("input", "select", "textarea", "button"):
            return
        if name.endswith("csrf_token"):
            self.current.hidden[name] = found.get("value", "")
            return
        if name not in self.current.fields:
            self.current.fields.append(name)
        if tag == "select":
            self.select = name
        elif "value" in found:
            self.current.shown.setdefault(name, []).append(found["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


def forms_on(page: str, page_path: str) -> list[Form]:
    """The POST forms of a page, each with every field it has."""
    parser = _Forms(page_path)
    parser.feed(page)
    return [form for form in parser.forms if form.method == "post"]


@st.composite
def fuzzed_form(
    draw: st.DrawFn, form: Form, plausible: dict[str, str] | None = None
) -> dict[str, str | bytes]:
    """The form filled in: some of its fields (any number, few more often) with arbitrary values,
    the others with a value the page shows or a `plausible` one, so many requests get past the
    form's own checks into the store; the CSRF token as the page gave it; now and then one field
    more."""
    plausible = plausible or {}
    wild = draw(st.sets(st.sampled_from(form.fields))) if form.fields else set()
    fields: dict[str, str | bytes] = draw(st.dictionaries(texts, values, max_size=1))
    for name in form.fields:
        shown = form.shown.get(name, [])
        known = [plausible[name]] if name in plausible else []
        known += [v for v in shown if v and v not in known] or shown or [""]
        tame = st.sampled_from(known)
        fields[name] = draw(values if name in wild else tame)
    return fields | form.hidden
