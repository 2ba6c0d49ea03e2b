"""WSGI entry for production servers: `gunicorn rollcall.wsgi:app`."""

from rollcall.app import create_app
from rollcall.settings import Settings
from store import passwords

settings = Settings.from_env()
passwords.use_cost(settings.password_hashing)
app = create_app(settings)
