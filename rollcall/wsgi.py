"""WSGI entry for production servers: `gunicorn rollcall.wsgi:app`."""

from rollcall.app import create_app

app = create_app()
