"""The dashboard: the registry of figure sections, and the comparison of counties built from them.

A section is a function `Scope -> list[Table]`, registered once by name. compliance registers its
own here; a face that owns other data registers its section from its AppConfig.ready() (exchange:
sharing with the province), so that compliance imports no face.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from compliance.statistics import figures, vintage
from compliance.statistics.scope import SHANGHAI, Scope
from compliance.statistics.tables import COUNTY_COLUMNS, Column, Table, drill

__all__ = ["register_section", "SECTIONS", "Dashboard", "dashboard", "COMPARISON_COLUMNS"]

Section = Callable[[Scope], list[Table]]
SECTIONS: dict[str, Section] = {}


def register_section(name: str, section: Section) -> None:
    """Add (or replace) a section of figures; sections appear in the order they were registered."""
    SECTIONS[name] = section


register_section("projects", figures.projects_tables)
register_section("checks", figures.checks_tables)
register_section("conflicts", lambda scope: [figures.conflict_table(scope)])
register_section("gate", lambda scope: [figures.gate_table(scope), figures.verdict_time_table(scope)])
register_section("vintage", lambda scope: [vintage.vintage_table(scope), vintage.quality_table(scope)])


@dataclass
class Dashboard:
    scope: Scope
    tables: list[Table]
    generated_at: str

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables if t.key == key), None)

    def as_dict(self) -> dict:
        return {
            "generated_at": self.generated_at,
            "filters": self.scope.filters.as_params(),
            "counties": [
                {"code": c, "name": n, "city": self.scope.county_city.get(c, "")}
                for c, n in self.scope.counties.items()
            ],
            "tables": [t.as_dict() for t in self.tables],
        }


def dashboard(scope: Scope, sections: list[str] | None = None) -> Dashboard:
    """Compute every registered section (or those named) and the comparison of counties."""
    tables = [
        t
        for name, section in SECTIONS.items()
        if sections is None or name in sections
        for t in section(scope)
    ]
    found = {t.key: t for t in tables}
    if sections is None:
        tables.insert(0, comparison(scope, found))
    moment = timezone.localtime(timezone.now(), SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return Dashboard(scope, tables, moment)


COMPARISON_COLUMNS = [
    *COUNTY_COLUMNS,
    Column("projects", "新增项目"),
    Column("checks", "检查次数"),
    Column("fail_share", "不通过占比", "share"),
    Column("blocked_share", "闸口不予受理占比", "share"),
    Column("median_hours", "提交至结论中位用时（小时）", "hours"),
    Column("conflict_mu", "冲突面积（亩）", "number"),
    Column("oldest_layer", "最旧现行图层日期", "date"),
    Column("shared_accepted_share", "省级接收占比", "share"),
    Column("shared_median_minutes", "共享中位时延（分钟）", "minutes"),
    Column("quality", "数据质量", "text"),
]


def _by_county(table: Table | None) -> dict[str, dict]:
    return {r["county"]: r for r in table.rows} if table else {}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def comparison(scope: Scope, found: dict[str, Table]) -> Table:
    """The figures the reform office compares across counties, one row per county."""
    projects, checks = _by_county(found.get("projects_by_stage")), _by_county(found.get("checks_by_district"))
    gate, timing = _by_county(found.get("gate")), _by_county(found.get("verdict_time"))
    sharing = _by_county(found.get("sharing"))
    oldest = vintage.oldest_by_county(found["vintage"]) if "vintage" in found else {}
    conflict: dict[str, float] = {}
    for row in found["conflicts"].rows if "conflicts" in found else []:
        conflict[row["county"]] = round(conflict.get(row["county"], 0) + row["mu"], 4)
    quality = {r["county"] for r in found["quality"].rows} if "quality" in found else set()
    rows = []
    for code, name in scope.counties.items():
        c, g, s = checks.get(code, {}), gate.get(code, {}), sharing.get(code, {})
        rows.append(
            {
                "county": code,
                "county_name": name,
                "projects": projects.get(code, {}).get("total", 0),
                "checks": c.get("total", 0),
                "fail_share": _share(c.get("verdict_fail", 0), c.get("total", 0)),
                "blocked_share": _share(g.get("decision_blocked", 0), g.get("total", 0)),
                "median_hours": timing.get(code, {}).get("median_hours"),
                "conflict_mu": conflict.get(code, 0.0),
                "oldest_layer": oldest.get(code, {}).get("imported"),
                "shared_accepted_share": s.get("accepted_share"),
                "shared_median_minutes": s.get("median_upload_minutes"),
                "quality": "有报告" if code in quality else vintage.NO_QUALITY,
                "_drill": {
                    "projects": drill("projects", **scope.filters.as_params() | {"district": code}),
                    "checks": drill("checks", **scope.filters.as_params() | {"district": code}),
                    "fail_share": drill(
                        "checks", **scope.filters.as_params() | {"district": code}, verdict="fail"
                    ),
                },
            }
        )
    return Table("comparison", "区县对比（改革办考核指标）", COMPARISON_COLUMNS, rows)
