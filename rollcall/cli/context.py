"""What every `rollcall` command shares: the database it works on, and the operator it acts as."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from rollcall.settings import Settings
from store.actors import Actor
from store.db import Database, Tx


class Context:
    def __init__(self, database_url: str | None) -> None:
        self._override = database_url
        self._database: Database | None = None

    @property
    def settings(self) -> Settings:
        settings = Settings.from_env()
        if self._override:
            settings = replace(settings, database_url=self._override)
        return settings

    @property
    def database_url(self) -> str:
        return self._override or Settings.from_env().database_url

    @property
    def database(self) -> Database:
        if self._database is None:
            url = self.database_url  # a SettingsError (a bad ROLLCALL_*) says what it is itself
            try:
                self._database = Database(url)
            except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
                raise click.ClickException(f"Bad database URL: {exc}") from None
        return self._database

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.database.transaction() as tx:
            yield tx


pass_context = click.make_pass_decorator(Context)
OPERATOR = Actor.system()


def safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"
