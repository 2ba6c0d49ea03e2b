"""The database of the application handling the current request (put there by create_app)."""

from __future__ import annotations

from flask import Flask, current_app

from store.db import Database

KEY = "rollcall.database"


def init_app(app: Flask, db: Database) -> None:
    app.extensions[KEY] = db


def database() -> Database:
    """The database of the application handling the current request."""
    return database_of(current_app)


def database_of(app: Flask) -> Database:
    """The database of an application (outside a request: a sender's thread)."""
    return app.extensions[KEY]
