"""The service's database account cannot touch the audit log (等保三级: records protected from
deletion and modification, including by the application's own database account).

Each bypass is tried for real, on the test database, through a connection as the app role of
DATABASE_URL — the account gunicorn and the worker use — while the test run itself is the owner.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.db import connection

from blueprint.db_roles import AUDIT_TABLE
from tests.database import app_env

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db

BYPASSES = [
    f"UPDATE {AUDIT_TABLE} SET actor = 'someone else' WHERE id = %(id)s",
    f"DELETE FROM {AUDIT_TABLE} WHERE id = %(id)s",
    f"TRUNCATE {AUDIT_TABLE}",
    "SET session_replication_role = replica",
    f"ALTER TABLE {AUDIT_TABLE} DISABLE TRIGGER audit_append_only",
    f"DROP TRIGGER audit_append_only ON {AUDIT_TABLE}",
    f"ALTER TABLE {AUDIT_TABLE} OWNER TO CURRENT_USER",
    "CREATE OR REPLACE FUNCTION blueprint_audit_append_only() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN RETURN OLD; END $$",
    f"DROP TABLE {AUDIT_TABLE}",
]

def app_connection():
    """A connection as the app role to the test database, committing each statement."""
    app = settings.DATABASE_APP
    own = connection.settings_dict
    conn = psycopg2.connect(dbname=own["NAME"], host=own["HOST"], port=own["PORT"], user=app["USER"],
                            password=app["PASSWORD"])
    conn.autocommit = True
    return conn


def _append(cursor) -> int:
    cursor.execute(f"INSERT INTO {AUDIT_TABLE} (at, actor, role, action, target, bbox, path, detail)"
                   " VALUES (now(), 'tester', '', 'check.run', 'db-role-test', '', '', '{}') RETURNING id")
    return cursor.fetchone()[0]


@pytest.mark.parametrize("sql", BYPASSES)
def test_the_app_role_cannot_change_or_remove_audit_entries(sql):
    conn = app_connection()
    try:
        with conn.cursor() as cursor:
            entry = _append(cursor)  # it appends to the log …
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):  # … and cannot get round it
                cursor.execute(sql, {"id": entry})
            cursor.execute(f"SELECT actor FROM {AUDIT_TABLE} WHERE id = %s", [entry])
            assert cursor.fetchone() == ("tester",)
    finally:
        conn.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit_append_only'")
        assert cursor.fetchone() == ("O",)  # still enabled


def test_the_app_role_is_no_superuser_and_owns_no_audit_table():
    conn = app_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles"
                           " WHERE rolname = current_user")
            assert cursor.fetchone() == (False, False, False, False)
            cursor.execute("SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class"
                           " WHERE oid = %s::regclass", [AUDIT_TABLE])
            assert cursor.fetchone() == (False,)
    finally:
        conn.close()


def test_the_cluster_refuses_a_connection_without_password():
    own = connection.settings_dict
    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect(dbname=own["NAME"], host=own["HOST"], port=own["PORT"], user=own["USER"],
                         password="", passfile="/dev/null")


def test_the_deploy_check_warns_of_an_account_that_could_alter_the_log():
    from django.core.checks import run_checks

    from blueprint.db_roles import check_database_account

    as_owner = check_database_account(databases=["default"])  # the test run is the owner
    assert [w.id for w in as_owner] == ["blueprint.W010"]
    found = run_checks(databases=["default"], include_deployment_checks=True)
    assert "blueprint.W010" in {w.id for w in found}
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--database", "default"],
                          cwd=ROOT, env=app_env(), capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert "security.W008" in out and "blueprint.W010" not in out  # checks ran; the app role is fine
