"""The province's front database (前置库): insert our rows, read the province's verdicts.

Writing into it and reading back from it is the whole protocol. Its own connection (psycopg),
committed on its own: a row is in the province's table before our outbox calls it sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager

import psycopg
from django.conf import settings
from psycopg import sql

from blueprint.errors import BlueprintError

__all__ = ["FrontUnavailable", "connect", "insert", "feedback", "COLUMNS"]

# Each table's columns the city writes, in the standard's order (SJSCZT/SBYY are the province's).
COLUMNS = {
    "SPGL_DFGHKZXXXB": ["DFSJZJ", "XZQHDM", "KZXWJXH", "KZXWJMC", "KZXSYKSSJ", "KZXWJSM", "KZXWJFJ",
                        "SJYXBS", "SJWXYY", "SJSCZT", "GXSJ"],
    "SPGL_XMYDHXJZXXB": ["DFSJZJ", "XZQHDM", "XMDM", "JZWJXH", "JZWJMC", "JZWJSM", "JZWJFJ", "SJYXBS",
                         "SJWXYY", "SJSCZT", "GXSJ"],
    "SPGL_XMQQYJXXB": ["DFSJZJ", "XZQHDM", "XMDM", "QQYJSLBM", "BLDWDM", "BLDWMC", "FKSJ", "BLR", "QQYJ",
                       "FJMC", "FJID", "SJYXBS", "SJWXYY", "SJSCZT", "GXSJ"],
}


class FrontUnavailable(BlueprintError):
    """The front database cannot be reached (or answers too slowly): the push is retried."""

    status = 503
    code = "front-database-unavailable"
    title = "Front database unavailable"


@contextmanager
def connect():
    """A transaction on the front database (EXCHANGE_DATABASE_URL)."""
    url = settings.BLUEPRINT["EXCHANGE_DATABASE_URL"]
    if not url:
        raise FrontUnavailable("未配置省级前置库 (EXCHANGE_DATABASE_URL)。 (No front database configured.)")
    timeout_ms = settings.BLUEPRINT["EXCHANGE_STATEMENT_TIMEOUT_S"] * 1000
    try:
        with psycopg.connect(url, connect_timeout=5, options=f"-c statement_timeout={timeout_ms}") as conn:
            yield conn
    except psycopg.OperationalError as exc:
        raise FrontUnavailable(f"省级前置库暂不可用：{exc}。 (The front database is unavailable.)") from exc


def insert(conn, table: str, records: list[dict]) -> int:
    """Insert the records not there yet (by DFSJZJ); return how many were new.

    The check is in the statement, not a constraint, since a province's tables may have none:
    a retried push finds its rows and writes nothing twice.
    """
    if not records:
        return 0
    columns = COLUMNS[table]
    statement = sql.SQL("INSERT INTO {t} ({cols}) SELECT {vals} WHERE NOT EXISTS"
                        " (SELECT 1 FROM {t} WHERE DFSJZJ = %s)").format(
        t=sql.Identifier(table.lower()), cols=sql.SQL(", ").join(sql.Identifier(c.lower()) for c in columns),
        vals=sql.SQL(", ").join(sql.Placeholder() * len(columns)))
    new = 0
    with conn.cursor() as cursor:
        for record in records:
            cursor.execute(statement, [record.get(c) for c in columns] + [record["DFSJZJ"]])
            new += cursor.rowcount
    return new


def feedback(conn, table: str, keys: Iterable[str]) -> dict[str, tuple[int, str]]:
    """The province's SJSCZT and SBYY of our rows, by DFSJZJ."""
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT dfsjzj, sjsczt, sbyy FROM {t} WHERE dfsjzj = ANY(%s)").format(
            t=sql.Identifier(table.lower())), [list(keys)])
        return {key: (status, reason or "") for key, status, reason in cursor.fetchall()}
