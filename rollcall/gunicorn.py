"""Running the app under gunicorn from `rollcall serve --workers N`."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from rollcall.app import create_app
from rollcall.settings import Settings


class _Server(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        # Each worker builds its own app (and its own connection pool) after the fork.
        return create_app(self.settings)


def serve_with_gunicorn(settings: Settings, host: str, port: int, workers: int) -> None:
    """Workers are stopped after ROLLCALL_REQUEST_TIMEOUT, the time a Bulk plans its work in."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "accesslog": "-",
        "timeout": settings.request_timeout,
    }
    _Server(settings, options).run()
