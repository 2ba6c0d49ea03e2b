"""Logging for the process: text lines in development, one JSON object per line when
ROLLCALL_LOG_FORMAT=json, each carrying the fields of the request it was logged in."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from rollcall.web import request_log


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= request_log.current()
        entry |= getattr(record, "request", {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextLines(logging.Formatter):
    """Plain lines for people, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = request_log.current()
        if "request_id" in fields:
            extra = " ".join(
                f"{k}={fields[k]}"
                for k in ("request_id", "door", "account", "token")
                if k in fields
            )
            line = f"{line} [{extra}]"
        return line


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record comes (a worker's, a test's capture)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(level: str, form: str) -> None:
    """Send every logger's records to stderr in the chosen form (once per process)."""
    handler = _Stderr()
    handler.setFormatter(JsonLines() if form == "json" else TextLines())
    root = logging.getLogger()
    for previous in [h for h in root.handlers if getattr(h, "rollcall", False)]:
        root.removeHandler(previous)
    handler.rollcall = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # health checks read the revision
    # Werkzeug's own request lines show whole paths, and links carry tokens in theirs: the
    # request log says what they said, without the path.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
