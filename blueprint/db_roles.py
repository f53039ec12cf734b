"""The service's database account (等保三级: least privilege, the audit log out of its reach).

Migrations and the test run connect as the **owner** of the tables (`DATABASE_OWNER_URL`, chosen
with `DATABASE_AS_OWNER=true`); the service connects as the **app role** of `DATABASE_URL`. After
every `migrate` run as the owner, `grant_app_role` gives the app role what the service needs and
nothing more:

- SELECT, INSERT, UPDATE, DELETE (and REFERENCES) on the owner's tables, the use of its sequences;
  no TRUNCATE, no TRIGGER, no ownership of anything it could alter;
- on the audit log (`blueprint_auditentry`) only SELECT and INSERT: with the append-only trigger
  (which only the owner could disable) it can neither change nor remove an entry, and as a
  non-superuser it cannot `SET session_replication_role = replica` to skip the trigger;
- the partitioned feature tables, because a layer import is DDL: it creates a version's partition
  and attaches it, which PostgreSQL allows only to the owner of the parent table. The owner role is
  a member of the app role (scripts/pg.sh), so migrations still alter those tables.

The roles themselves, their passwords and scram-sha-256 authentication are made by scripts/pg.sh.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.db import connections

__all__ = ["AUDIT_TABLE", "grant_app_role", "grant_after_migrate", "database_url", "check_database_account"]

AUDIT_TABLE = "blueprint_auditentry"

_GRANT_SQL = """
DO $grant$
DECLARE
  app text := %(app)s;
  obj record;
BEGIN
  IF NOT pg_has_role(current_user, app, 'MEMBER') THEN
    RAISE EXCEPTION 'the owner role %% must be a member of the app role %% (GRANT %% TO %%)',
      current_user, app, app, current_user;
  END IF;
  EXECUTE format('GRANT USAGE, CREATE ON SCHEMA public TO %%I', app);
  FOR obj IN
    SELECT c.oid::regclass::text AS name, c.relkind, c.relispartition
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
      AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
  LOOP
    IF obj.relkind = 'p' OR obj.relispartition THEN
      EXECUTE format('ALTER TABLE %%s OWNER TO %%I', obj.name, app);
    ELSIF obj.relkind = 'S' THEN
      EXECUTE format('GRANT USAGE, SELECT, UPDATE ON SEQUENCE %%s TO %%I', obj.name, app);
    ELSE
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE, REFERENCES ON %%s TO %%I', obj.name, app);
    END IF;
  END LOOP;
  EXECUTE format('REVOKE ALL ON %%I FROM %%I', %(audit)s, app);
  EXECUTE format('GRANT SELECT, INSERT ON %%I TO %%I', %(audit)s, app);
END $grant$;
"""


def grant_app_role(app_role: str, using: str = "default") -> None:
    """Give `app_role` the service's privileges on the tables of the connected (owner) role."""
    with connections[using].cursor() as cursor:
        cursor.execute(_GRANT_SQL, {"app": app_role, "audit": AUDIT_TABLE})


def grant_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate: grant the app role when migrations ran as another (the owner) role."""
    app_role = settings.DATABASE_APP["USER"]
    if app_role and connections[using].settings_dict["USER"] != app_role:
        grant_app_role(app_role, using)


def database_url(settings_dict: dict, **changes) -> str:
    """A DATABASE_URL for a subprocess, with the password, e.g. of the test database."""
    s = {**settings_dict, **changes}
    password = f":{quote(s['PASSWORD'], safe='')}" if s.get("PASSWORD") else ""
    return f"postgis://{quote(s['USER'], safe='')}{password}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


@register(Tags.database, deploy=True)
def check_database_account(app_configs=None, databases=None, **kwargs):
    """`manage.py check --deploy --database default`: warn when the service could alter its audit log."""
    warnings = []
    for alias in databases or []:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT rolsuper, pg_has_role(current_user, c.relowner, 'USAGE')"
                           " FROM pg_roles, pg_class c WHERE rolname = current_user AND c.oid = %s::regclass",
                           [AUDIT_TABLE])
            superuser, owns_audit = cursor.fetchone()
        if superuser or owns_audit:
            what = "a superuser" if superuser else "the audit log's owner"
            warnings.append(Warning(
                f"The database account of '{alias}' is {what}: it could switch off or remove the audit log.",
                hint="Connect the service as a role with only SELECT and INSERT on the audit log "
                     "(scripts/pg.sh makes blueprint_app; migrations as the owner, DATABASE_AS_OWNER=true).",
                id="blueprint.W010"))
    return warnings
