"""Rate limits for people and anonymous callers on the expensive endpoints.

Tokens keep their own per-token limit (`blueprint.tokens.consume`); everyone else is counted per
signed-in user, or per client address when anonymous, in fixed windows, one count per group of
endpoints (checks, items, tiles, coverages). Every worker and machine shares the counts: one row per
caller and group in the UNLOGGED table `blueprint_ratecounter`, counted by one atomic UPSERT (the
technique of the token counter). Not Django's database cache: it takes four to six statements and
two durable commits per request (5–7 ms measured, bench/ratelimit_bench.py) and increments by
read-then-write; django-ratelimit refuses that cache for the same reason, and the stack has no
memcached or Redis.

The limits are settings (`BLUEPRINT["RATE_LIMITS"]`, env `RATE_LIMIT_<GROUP>`) written as
`count/period`: `600/m`, `100/10s`, `5000/h`, or `off`.
"""

from __future__ import annotations

import math
import random
import re
import time
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from blueprint.audit import client_ip

__all__ = ["GROUPS", "Rate", "Exceeded", "parse_rate", "group_for", "count"]

# (route pattern as in blueprint.access_rules, group, methods or None for any): first match wins.
GROUPS: list[tuple[str, str, frozenset[str] | None]] = [
    ("api/checks", "checks", frozenset({"POST"})),
    ("api/checks/*/rerun", "checks", None),
    ("api/checks/*/report.pdf", "checks", None),
    ("ogc/processes/*/execution", "checks", None),
    ("ogc/collections/*/items*", "items", None),
    ("ogc/collections/*/tiles/*/*/*/*", "tiles", None),
    ("ogc/collections/*/map/tiles/*/*/*/*", "tiles", None),
    ("tiles/imagery/*", "tiles", None),
    ("maps/data/*", "tiles", None),  # the map pages ask for features per view, as often as for tiles
    ("ogc/collections/*/coverage", "coverages", None),
    ("ogc/collections/*/map", "coverages", None),
    ("ogc/collections/*/styles/*/map", "coverages", None),
]
GROUP_NAMES = {"checks": "合规性检查", "items": "要素查询", "tiles": "瓦片", "coverages": "影像覆盖"}
_PERIODS = {"s": 1, "m": 60, "h": 3600}
_COUNT_SQL = """
INSERT INTO blueprint_ratecounter AS c (key, window_start, window_end, count)
VALUES (%s, %s, to_timestamp(%s), 1)
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN c.window_start = EXCLUDED.window_start THEN c.count + 1 ELSE 1 END,
  window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end
RETURNING count
"""
# Now and then, forget callers whose window ended an hour ago (one cheap DELETE per ~1000 requests).
_PRUNE_SQL = "DELETE FROM blueprint_ratecounter WHERE window_end < now() - interval '1 hour'"
_PRUNE_EVERY = 1000
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smh])\s*$")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds}s"


@dataclass(frozen=True)
class Exceeded:
    """A request over its group's limit, with the seconds until the window ends."""

    group: str
    rate: Rate
    retry_after: int

    @property
    def detail(self) -> str:
        name = GROUP_NAMES.get(self.group, self.group)
        return (f"请求过于频繁：{name}接口每 {self.rate.seconds} 秒最多 {self.rate.count} 次，"
                f"请 {self.retry_after} 秒后重试。 (Too many {self.group} requests: at most"
                f" {self.rate.count} per {self.rate.seconds} s; retry in {self.retry_after} s.)")


@lru_cache(maxsize=64)
def parse_rate(text: str) -> Rate | None:
    """`600/m` → Rate(600, 60); `100/10s` → Rate(100, 10); `off` (or empty) → None."""
    if text.strip().lower() in ("", "off", "none", "0"):
        return None
    match = _RATE.match(text)
    if not match or int(match[1]) < 1:
        raise ImproperlyConfigured(f"Rate limit {text!r} is not count/period: write e.g. 600/m, 100/10s,"
                                   " 5000/h, or off.")
    return Rate(int(match[1]), int(match[2] or 1) * _PERIODS[match[3]])


def group_for(route: str, method: str) -> str | None:
    """The group of endpoints a request counts against, or None (not limited)."""
    for pattern, group, methods in GROUPS:
        if fnmatchcase(route, pattern):
            return group if methods is None or method in methods else None
    return None


def _caller_key(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.pk:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request) or '-'}"


def count(request, route: str) -> Exceeded | None:
    """Count this request of a person or anonymous caller; say when it is over its group's limit."""
    group = group_for(route, request.method)
    rate = parse_rate(settings.BLUEPRINT["RATE_LIMITS"].get(group, "off")) if group else None
    if rate is None:
        return None
    now = time.time()
    window = int(now // rate.seconds)
    end = (window + 1) * rate.seconds
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_SQL, [f"{group}:{rate}:{_caller_key(request)}"[:200], window, end])
        (used,) = cursor.fetchone()
        if random.randrange(_PRUNE_EVERY) == 0:
            cursor.execute(_PRUNE_SQL)
    if used <= rate.count:
        return None
    return Exceeded(group, rate, max(1, math.ceil(end - now)))
