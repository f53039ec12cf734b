"""Monthly reports (月报): each city's and each county's figures for a calendar month (Beijing
time), kept as PDF and Excel under REPORTS_DIR with a MonthlyReport row.

A city's report compares its counties; a county's report shows its own figures. They are built with
the city level's view of the data (the system builds them, for the reform office), and read by who
may see their district (`readable_reports`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from blueprint import access, audit
from blueprint.access import Principal, Role
from compliance.models import MonthlyReport
from compliance.statistics import export
from compliance.statistics.dashboard import dashboard
from compliance.statistics.scope import SHANGHAI, Filters, resolve_scope
from layers.models import District

__all__ = ["reports_dir", "previous_month", "build_report", "build_month", "readable_reports", "report_path"]

# The builder's view: the city level's (every county, every project and check).
BUILDER = Principal(
    role=Role.CITY_PLANNER, name="system:monthly-report", perms=access.ROLE_PERMS[Role.CITY_PLANNER]
)


def reports_dir() -> Path:
    return settings.BLUEPRINT["DATA_DIR"] / "reports" / "monthly"


def report_path(report: MonthlyReport, fmt: str) -> Path:
    return reports_dir() / (report.pdf_file if fmt == "pdf" else report.xlsx_file)


def previous_month(today: dt.date | None = None) -> dt.date:
    """The first day of the month before `today` (Beijing date)."""
    today = today or timezone.localdate(timezone=SHANGHAI)
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _month_end(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def build_report(district: District, month: dt.date) -> MonthlyReport:
    """Compute and write one report (the same month again replaces its files and figures)."""
    month = month.replace(day=1)
    scope = resolve_scope(BUILDER, Filters(month, _month_end(month), district.code))
    dash = dashboard(scope)
    level = "市" if district.level == District.Level.CITY else "区县"
    heading = f"{district.name}{level}“一张蓝图”统计月报（{month:%Y 年 %m 月}）"
    folder = reports_dir() / f"{month:%Y-%m}"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{month:%Y-%m}/{district.code}"
    pdf, xlsx = export.pdf_bytes(dash, heading), export.workbook_bytes(dash)
    # Files first (written aside, then renamed): a row never points at a half-written file.
    for suffix, content in (("pdf", pdf), ("xlsx", xlsx)):
        partial = reports_dir() / f"{stem}.{suffix}.part"
        partial.write_bytes(content)
        partial.replace(reports_dir() / f"{stem}.{suffix}")
    figures = [
        {k: v for k, v in row.items() if not k.startswith("_")} for row in dash.table("comparison").rows
    ]
    with transaction.atomic():
        report, _ = MonthlyReport.objects.update_or_create(
            district=district,
            month=month,
            defaults={"pdf_file": f"{stem}.pdf", "xlsx_file": f"{stem}.xlsx", "figures": figures},
        )
        audit.record("statistics.monthly", target=f"{district.code}:{month:%Y-%m}", actor=BUILDER.name)
    return report


def build_month(month: dt.date | None = None) -> list[MonthlyReport]:
    """Build the month's report of every city and every county (default: last month)."""
    month = (month or previous_month()).replace(day=1)
    districts = District.objects.filter(level__in=[District.Level.CITY, District.Level.COUNTY]).order_by(
        "code"
    )
    return [build_report(d, month) for d in districts]


def readable_reports(who) -> QuerySet[MonthlyReport]:
    """The reports `who` may read: all for the city level; a county planner's counties and the
    city reports of cities wholly theirs; nothing without the statistics permission."""
    who = who if isinstance(who, Principal) else access.principal(who)
    rows = MonthlyReport.objects.select_related("district")
    if not access.allows(who, access.Perm.READ_STATISTICS):
        return rows.none()
    counties = District.objects.filter(access.districts_q(who)).values("code")
    return rows.filter(Q(district__in=counties)).order_by("-month", "district_id")
