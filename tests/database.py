"""The environment of a subprocess (gunicorn, manage.py) on the test database, as the service's
own database account: the app role of DATABASE_URL, not the owner the test run connects as."""

from __future__ import annotations

import os

from django.conf import settings
from django.db import connection

from blueprint.db_roles import database_url

__all__ = ["app_database_url", "app_env"]


def app_database_url() -> str:
    """DATABASE_URL of the app role, on the test database."""
    app = settings.DATABASE_APP
    return database_url(connection.settings_dict, USER=app["USER"], PASSWORD=app["PASSWORD"])


def app_env(**extra: str) -> dict[str, str]:
    """os.environ for a subprocess serving the test database as the app role."""
    env = {**os.environ, "DATABASE_URL": app_database_url(), **extra}
    env.pop("DATABASE_AS_OWNER", None)  # else it would connect as the owner, to the real database
    return env
