"""A front database of the tests' own (a second database beside the test database), the
reference province on it, and procrastinate's worker run on the test's connection."""

from pathlib import Path

import psycopg
import pytest
from django.db import connection

from exchange.management.commands.reference_province import TABLES, ReferenceProvince

SCHEMA = Path(__file__).resolve().parents[2] / "exchange" / "sql" / "front_tables.sql"


@pytest.fixture(scope="session")
def front_url(django_db_setup, django_db_blocker):
    """Create `<test database>_front` with the three tables (the SQL make run uses); drop it after."""
    db = connection.settings_dict
    name = f"{db['NAME']}_front"
    server = {k: v for k, v in dict(host=db["HOST"], port=db["PORT"], user=db["USER"],
                                    password=db.get("PASSWORD")).items() if v}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(dbname=name, **server)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA.read_text(encoding="utf-8"))
    _send_the_demo_rows(url, django_db_blocker)
    yield url
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _send_the_demo_rows(url: str, django_db_blocker) -> None:
    """Send (committed) what loading the demo data queued, so that each test pushes its own rows."""
    from django.conf import settings

    from exchange import delivery

    saved = settings.BLUEPRINT
    settings.BLUEPRINT = {**saved, "EXCHANGE_DATABASE_URL": url}
    try:
        with django_db_blocker.unblock():
            delivery.push()
    finally:
        settings.BLUEPRINT = saved


@pytest.fixture
def front(front_url, settings):
    """The front database, empty, as this test's EXCHANGE_DATABASE_URL."""
    with psycopg.connect(front_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)}")
    settings.BLUEPRINT = {**settings.BLUEPRINT, "EXCHANGE_DATABASE_URL": front_url}
    return front_url


@pytest.fixture
def province(front):
    province = ReferenceProvince(front)
    yield province
    province.up()


def front_rows(url: str, table: str) -> list[dict]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        cursor.execute(f"SELECT * FROM {table.lower()} ORDER BY dfsjzj")
        return cursor.fetchall()
