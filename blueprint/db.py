"""Database helpers for hot paths: prepared statements, and rows of several tables in one statement.

**Prepared statements.** A compliance check's read is one large statement (a branch per layer
version, partitioned tables): PostgreSQL spends longer planning it than running it. Prepared once
per connection, it is planned once; each check then only executes it.

**Rows of several tables in one statement.** A check stores its result, its findings and its
audit entry together. Three ORM inserts are three round trips plus a transaction around them;
the inserts as data-modifying CTEs of one statement are one round trip, which PostgreSQL runs
atomically even in autocommit. The SQL of each insert is Django's own (its compiler prepares
every field: JSON, geometry, UUID, auto_now_add), so the rows are exactly what
`Model.objects.bulk_create` would write.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import groupby

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models.sql import InsertQuery
from django.db.utils import InterfaceError, OperationalError

__all__ = ["insert_together", "execute_prepared", "statement_timeout", "is_query_canceled",
           "database_unavailable"]

_NAMED = re.compile(r"%\((\w+)\)s")
_POSITIONAL = re.compile(r"(?<!%)%s")
_MAX_PREPARED = 64
# Statements prepared on each open connection (a psycopg2 connection, weakly: a closed and
# reopened database connection starts with none).
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def execute_prepared(cursor, sql: str, params: dict | list | tuple = ()) -> None:
    """Execute `sql` on a Django cursor as a prepared statement: planned once per connection.

    Parameters are %(name)s with a dict, or %s with a sequence. The statement is prepared on the
    cursor's connection the first time it is seen there and executed by name after that. Set
    DB_PREPARED_STATEMENTS=false behind a pooler in transaction mode (pgbouncer), where a
    session's prepared statements do not follow it.
    """
    if not settings.BLUEPRINT["PREPARED_STATEMENTS"]:
        cursor.execute(sql, params or None)
        return
    if isinstance(params, dict):
        names = list(dict.fromkeys(_NAMED.findall(sql)))
        numbered = _NAMED.sub(lambda m: f"${names.index(m.group(1)) + 1}", sql)
        values = [params[name] for name in names]
    else:
        numbers = iter(range(1, len(params) + 1))
        numbered, values = _POSITIONAL.sub(lambda m: f"${next(numbers)}", sql), list(params)
    statement = "bp_" + hashlib.sha1(sql.encode()).hexdigest()[:24]
    known = _prepared.setdefault(cursor.db.connection, set())
    if statement not in known:
        if len(known) >= _MAX_PREPARED:
            cursor.execute("DEALLOCATE ALL")
            known.clear()
        # Sent without parameters, so psycopg2 leaves "%%" as it is: unescape it here.
        cursor.execute(f"PREPARE {statement} AS {numbered.replace('%%', '%')}")  # outlives a rollback
        known.add(statement)
    arguments = f" ({', '.join(['%s'] * len(values))})" if values else ""
    cursor.execute(f"EXECUTE {statement}{arguments}", values or None)


def _insert_sql(objs: list[models.Model], using: str) -> tuple[str, tuple]:
    meta = objs[0]._meta
    fields = [f for f in meta.concrete_fields if not f.generated and not (f.primary_key and f.auto_created)]
    query = InsertQuery(type(objs[0]))
    query.insert_values(fields, objs)
    [(sql, params)] = query.get_compiler(using=using).as_sql()
    return sql, tuple(params)


def insert_together(objs: list[models.Model], using: str = "default") -> None:
    """Insert model instances (of one or more models, in that order) with one statement.

    Rows get no database-generated values back: give them their keys in Python (a UUID primary
    key, or no reference to an auto-numbered one). Foreign keys between the rows are checked at
    the end of the statement, so a child may name a parent inserted beside it.
    """
    if not objs:
        return
    # Django's compiler runs each field's pre_save (auto_now_add and friends), as save() would.
    parts = [_insert_sql(list(group), using) for _, group in groupby(objs, key=type)]
    *first, last = parts
    sql = ("WITH " + ", ".join(f"w{i} AS ({s})" for i, (s, _) in enumerate(first)) + " " if first else "")
    params = tuple(p for _, ps in parts for p in ps)
    with connections[using].cursor() as cursor:
        execute_prepared(cursor, sql + last[0], params)
    for obj in objs:
        obj._state.adding, obj._state.db = False, using


@contextmanager
def statement_timeout(milliseconds: int, using: str = "default") -> Iterator[None]:
    """Run the block in a transaction of `using` whose every statement stops after `milliseconds`.

    A statement past it raises OperationalError (`is_query_canceled`). Inside an outer transaction
    (a savepoint) the previous timeout is restored after the block, since a local setting lasts
    until the outer transaction ends.
    """
    if not connections[using].in_atomic_block:  # a transaction of its own: the setting ends with it
        with transaction.atomic(using=using), connections[using].cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(int(milliseconds))])
            yield
        return
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout'),"
                       " set_config('statement_timeout', %s, true)", [str(int(milliseconds))])
        previous = cursor.fetchone()[0]
        yield
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])


def is_query_canceled(exc: OperationalError) -> bool:
    """Whether PostgreSQL cancelled the statement (SQLSTATE 57014: a statement timeout)."""
    cause = exc.__cause__  # psycopg 3 names the SQLSTATE `sqlstate`, psycopg2 `pgcode`
    return (getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)) == "57014"


# SQLSTATEs of a database that cannot answer now, rather than of a wrong request: connection
# exceptions (class 08), too many connections, a shutting-down or starting server, a lock or a
# statement that ran out of time (lock_timeout, statement_timeout).
_UNAVAILABLE = {"53300", "57P01", "57P02", "57P03", "55P03", "57014"}


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` says the database is down, full or busy (answer 503 and Retry-After), not
    that the request or the code is wrong: a refused or broken connection (no SQLSTATE, or class
    08), too many clients, an administrator's shutdown or a recovery, a lock or statement timeout."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return state is None or state.startswith("08") or state in _UNAVAILABLE
