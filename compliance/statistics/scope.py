"""What a statistics request covers: the date range and district asked for, within the caller's scope.

The scope is the set of counties (区县, GB/T 2260 six-digit codes) whose figures the caller may read:
every county for the city level and for a token without districts, a county planner's (or a
token's) own districts otherwise (`blueprint.access.districts_q`). Applicants, the security and
audit administrators and anonymous visitors have no statistics at all (`Forbidden`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import Q

from blueprint import access
from blueprint.errors import Forbidden, InvalidInput, NotFound, echo
from layers.models import District

__all__ = ["Filters", "Scope", "parse_filters", "resolve_scope", "SHANGHAI", "local_bounds"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 366 * 10


@dataclass(frozen=True)
class Filters:
    """A date range (inclusive, Beijing dates) and a district (a county or a city code, or all)."""

    start: dt.date | None = None
    end: dt.date | None = None
    district: str = ""

    def as_params(self) -> dict[str, str]:
        """The filters as query parameters (for links and exports)."""
        params = {
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "district": self.district,
        }
        return {k: v for k, v in params.items() if v}


@dataclass(frozen=True)
class Scope:
    """The caller, the filters, and the counties whose figures they read (code → name)."""

    who: access.Principal
    filters: Filters
    counties: dict[str, str] = field(default_factory=dict)
    cities: dict[str, str] = field(default_factory=dict)
    county_city: dict[str, str] = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        return list(self.counties)

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The date range as aware datetimes [start, end) in Beijing time."""
        return local_bounds(self.filters.start, self.filters.end)


def local_bounds(start: dt.date | None, end: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    low = dt.datetime.combine(start, dt.time(), SHANGHAI) if start else None
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), SHANGHAI) if end else None
    return low, high


def _date(params, name: str) -> dt.date | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"日期参数 {name} 应为 YYYY-MM-DD，收到 “{echo(text, 40)}”。 ({name} must be a date YYYY-MM-DD.)",
            field=name,
        ) from None


def parse_filters(params) -> Filters:
    """Read ?from=YYYY-MM-DD&to=YYYY-MM-DD&district=CODE; a clear error for anything else."""
    start, end = _date(params, "from"), _date(params, "to")
    if start and end and start > end:
        raise InvalidInput(
            f"起始日期 {start} 晚于结束日期 {end}：请交换两者。 (from is after to: swap them.)", field="from"
        )
    if start and end and (end - start).days > MAX_DAYS:
        raise InvalidInput("日期范围最长十年。 (The date range may span at most ten years.)", field="to")
    district = (params.get("district") or "").strip()
    if district and not (district.isdigit() and len(district) == 6):
        raise InvalidInput(
            f"行政区代码应为 6 位数字（GB/T 2260，如 370811），收到 “{echo(district, 20)}”。"
            " (district must be a six-digit GB/T 2260 code.)",
            field="district",
        )
    return Filters(start, end, district)


def _require_statistics(who: access.Principal) -> None:
    if not access.allows(who, access.Perm.READ_STATISTICS):
        raise Forbidden(
            "统计分析仅供规划管理人员和授权系统查看。"
            " (Statistics are for planning staff and authorised systems only.)"
        )


def resolve_scope(who, filters: Filters) -> Scope:
    """The counties `who` may read, narrowed to the filter's district; Forbidden or NotFound else."""
    who = who if isinstance(who, access.Principal) else access.principal(who)
    _require_statistics(who)
    visible = District.objects.filter(access.districts_q(who), level=District.Level.COUNTY)
    rows = list(visible.order_by("code").values_list("code", "name", "parent_id"))
    if filters.district:
        prefix = filters.district[:4] if filters.district.endswith("00") else filters.district
        rows = [r for r in rows if r[0].startswith(prefix)]
        if not rows:
            raise NotFound(
                f"行政区 {filters.district} 不存在或不在您的查看范围内。"
                f" (No district {filters.district}, or not yours to see.)",
                field="district",
            )
    cities = dict(
        District.objects.filter(Q(code__in={r[2] for r in rows if r[2]}))
        .order_by("code")
        .values_list("code", "name")
    )
    return Scope(
        who=who,
        filters=filters,
        counties={c: n for c, n, _ in rows},
        cities=cities,
        county_city={c: p or "" for c, _, p in rows},
    )
