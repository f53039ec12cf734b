"""The figures of the dashboard, each computed in SQL over the scoped rows of `querysets`.

Every function takes a `Scope` and returns `Table`s. Counts group in the database (COUNT, SUM,
percentile_cont); Python only arranges the grouped rows into the tables' columns.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Avg, Count, F, FloatField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Extract, TruncMonth

from compliance.models import STATUS_ORDER, Finding
from compliance.statistics import querysets as q
from compliance.statistics.scope import SHANGHAI, Scope
from compliance.statistics.tables import COUNTY_COLUMNS, Column, Table, drill
from layers.crs import SQUARE_METRES_PER_MU
from layers.models import Layer

__all__ = [
    "projects_tables",
    "checks_tables",
    "conflict_table",
    "gate_table",
    "verdict_time_table",
    "STAGE_ZH",
    "TYPE_ZH",
    "VERDICT_ZH",
    "DECISION_ZH",
    "ISSUE_STATUSES",
    "finding_area",
    "AREA_KEYS",
]

STAGE_ZH = {"1": "立项用地规划许可", "2": "工程建设许可", "3": "施工许可", "4": "竣工验收", "5": "并行推进"}
TYPE_ZH = {"01": "审批", "02": "核准", "03": "备案"}
VERDICT_ZH = {
    "pass": "通过",
    "info": "提示",
    "warn": "警告",
    "needs_review": "需人工复核",
    "not_covered": "数据未覆盖",
    "error": "检查出错",
    "fail": "不通过",
}
DECISION_ZH = {"allowed": "准予受理", "blocked": "不予受理", "needs_review": "需人工复核"}
# Findings whose area is a conflict: what the report lists as issues (not pass, not info).
ISSUE_STATUSES = ["warn", "needs_review", "not_covered", "error", "fail"]
# The area a finding is about, by the measure the engine wrote (as compliance.reports reads it).
AREA_KEYS = ("overlap", "outside", "area_within")


def _count_by(rows, *fields) -> dict[tuple, int]:
    return {tuple(r[f] for f in fields): r["n"] for r in rows.values(*fields).annotate(n=Count("pk"))}


def _county_rows(
    scope: Scope, counts: dict[tuple, int], keys: list[str], prefix: str, kind: str, param: str
) -> list[dict]:
    out = []
    for code, name in scope.counties.items():
        row = {
            "county": code,
            "county_name": name,
            "total": 0,
            "_drill": {"*": drill(kind, **scope.filters.as_params() | {"district": code})},
        }
        for key in keys:
            row[f"{prefix}{key}"] = counts.get((code, key), 0)
            row["total"] += row[f"{prefix}{key}"]
            row["_drill"][f"{prefix}{key}"] = drill(
                kind, **scope.filters.as_params() | {"district": code}, **{param: key}
            )
        out.append(row)
    return [*out, _total_row(scope, out, keys, prefix, kind, param)]


def _total_row(scope: Scope, rows: list[dict], keys: list[str], prefix: str, kind: str, param: str) -> dict:
    """The 合计 row (county ""): the sums, drilling to the lists of the whole scope."""
    total = {"county": "", "county_name": "合计", "_drill": {"*": drill(kind, **scope.filters.as_params())}}
    for key in [f"{prefix}{k}" for k in keys] + ["total"]:
        total[key] = sum(r[key] for r in rows)
    for key in keys:
        total["_drill"][f"{prefix}{key}"] = drill(kind, **scope.filters.as_params(), **{param: key})
    return total


def projects_tables(scope: Scope) -> list[Table]:
    """Projects by county and stage, by county and type (filed within the period)."""
    rows = q.projects(scope)
    by_stage, by_type = _count_by(rows, "county", "stage"), _count_by(rows, "county", "project_type")
    stage_cols = [Column(f"stage_{s}", label) for s, label in STAGE_ZH.items()]
    type_cols = [Column(f"type_{t}", label) for t, label in TYPE_ZH.items()]
    return [
        Table(
            "projects_by_stage",
            "项目数（按区县、审批阶段）",
            [*COUNTY_COLUMNS, *stage_cols, Column("total", "合计")],
            _county_rows(scope, by_stage, list(STAGE_ZH), "stage_", "projects", "stage"),
        ),
        Table(
            "projects_by_type",
            "项目数（按区县、项目类型）",
            [*COUNTY_COLUMNS, *type_cols, Column("total", "合计")],
            _county_rows(scope, by_type, list(TYPE_ZH), "type_", "projects", "type"),
        ),
    ]


def checks_tables(scope: Scope) -> list[Table]:
    """Checks by verdict per month (Beijing time) and per county."""
    rows = q.checks(scope)
    monthly = (
        rows.annotate(month=TruncMonth("created_at", tzinfo=SHANGHAI))
        .values("month", "verdict")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    months: dict[str, dict] = {}
    for r in monthly:
        label = r["month"].astimezone(SHANGHAI).strftime("%Y-%m")
        row = months.setdefault(
            label,
            {
                "month": label,
                "total": 0,
                "_drill": {"*": drill("checks", **scope.filters.as_params(), month=label)},
            },
        )
        row[f"verdict_{r['verdict']}"] = r["n"]
        row["total"] += r["n"]
        row["_drill"][f"verdict_{r['verdict']}"] = drill(
            "checks", **scope.filters.as_params(), month=label, verdict=r["verdict"]
        )
    verdict_cols = [Column(f"verdict_{v}", VERDICT_ZH[v]) for v in STATUS_ORDER]
    for row in months.values():
        for v in STATUS_ORDER:
            row.setdefault(f"verdict_{v}", 0)
            row["_drill"][f"verdict_{v}"] = drill(
                "checks", **scope.filters.as_params(), month=row["month"], verdict=v
            )
    return [
        Table(
            "checks_by_month",
            "合规性检查（按月份、结论）",
            [Column("month", "月份", "text"), *verdict_cols, Column("total", "合计")],
            list(months.values()),
        ),
        Table(
            "checks_by_district",
            "合规性检查（按区县、结论）",
            [*COUNTY_COLUMNS, *verdict_cols, Column("total", "合计")],
            _county_rows(
                scope, _count_by(rows, "county", "verdict"), STATUS_ORDER, "verdict_", "checks", "verdict"
            ),
        ),
    ]


def finding_area(prefix: str = ""):
    """A finding's conflict area in m² (SQL): its overlap, outside or within-buffer measure."""
    return Coalesce(*[Cast(KT(f"{prefix}measures__{key}__m2"), FloatField()) for key in AREA_KEYS])


def conflict_table(scope: Scope) -> Table:
    """Conflict areas by layer and county: the issue findings' areas of each site's latest check."""
    findings = Finding.objects.filter(
        check_result__in=q.latest_checks(scope).values("pk"), status__in=ISSUE_STATUSES
    ).annotate(m2=finding_area())
    grouped = (
        q.attributed(findings.filter(m2__gt=0), "check_result__")
        .values("layer", "county")
        .annotate(sites=Count("check_result", distinct=True), m2_sum=Sum("m2"))
        .order_by("layer", "county")
    )
    titles = dict(Layer.objects.values_list("slug", "title_zh"))
    rows = [
        {
            "layer": r["layer"],
            "layer_title": titles.get(r["layer"], r["layer"]),
            "county": r["county"],
            "county_name": scope.counties.get(r["county"], r["county"]),
            "sites": r["sites"],
            "m2": round(r["m2_sum"], 2),
            "mu": round(r["m2_sum"] / SQUARE_METRES_PER_MU, 4),
            "hectare": round(r["m2_sum"] / 10_000, 4),
            "_drill": {
                "*": drill(
                    "checks",
                    **scope.filters.as_params() | {"district": r["county"]},
                    layer=r["layer"],
                    latest="1",
                )
            },
        }
        for r in grouped
    ]
    return Table(
        "conflicts",
        "冲突面积（按图层、区县；每个用地取期间内最近一次检查）",
        [
            Column("layer", "图层标识", "text"),
            Column("layer_title", "图层", "text"),
            *COUNTY_COLUMNS,
            Column("sites", "涉及用地数"),
            Column("m2", "面积（平方米）", "number"),
            Column("mu", "面积（亩）", "number"),
            Column("hectare", "面积（公顷）", "number"),
        ],
        rows,
        note="冲突指检查结论为不通过、警告、需复核等问题项的占用 / 界外 / 缓冲区面积。",
    )


def gate_table(scope: Scope) -> Table:
    """The acceptance gate's answers by county: allowed, blocked, needs review."""
    counts = _count_by(q.gate_answers(scope), "county", "decision")
    rows = _county_rows(scope, counts, list(DECISION_ZH), "decision_", "projects", "gate")
    return Table(
        "gate",
        "受理闸口答复（按区县）",
        [
            *COUNTY_COLUMNS,
            *[Column(f"decision_{d}", z) for d, z in DECISION_ZH.items()],
            Column("total", "合计"),
        ],
        rows,
    )


def verdict_time_table(scope: Scope) -> Table:
    """Time from a site's submission (its revision) to its first verdict, by county (hours)."""
    hours = Extract(F("first_check_at") - F("created_at"), "epoch") / 3600.0
    grouped = {
        r["county"]: r
        for r in q.site_revisions(scope)
        .values("county")
        .annotate(
            submitted=Count("pk"),
            decided=Count("pk", filter=Q(first_check_at__isnull=False)),
            median=q.Percentile(hours, 0.5),
            p90=q.Percentile(hours, 0.9),
            mean=Avg(hours),
        )
    }
    rows = []
    for code, name in scope.counties.items():
        r = grouped.get(code, {})
        submitted, decided = r.get("submitted", 0), r.get("decided", 0)
        rows.append(
            {
                "county": code,
                "county_name": name,
                "submitted": submitted,
                "decided": decided,
                "waiting": submitted - decided,
                "median_hours": _round(r.get("median")),
                "p90_hours": _round(r.get("p90")),
                "mean_hours": _round(r.get("mean")),
                "_drill": {
                    "*": drill("projects", **scope.filters.as_params() | {"district": code}, submitted="1"),
                    "waiting": drill(
                        "projects",
                        **scope.filters.as_params() | {"district": code},
                        submitted="1",
                        waiting="1",
                    ),
                },
            }
        )
    return Table(
        "verdict_time",
        "用地提交至检查结论用时（按区县）",
        [
            *COUNTY_COLUMNS,
            Column("submitted", "提交用地数"),
            Column("decided", "已有结论"),
            Column("waiting", "尚无结论"),
            Column("median_hours", "中位用时（小时）", "hours"),
            Column("p90_hours", "90% 用时（小时）", "hours"),
            Column("mean_hours", "平均用时（小时）", "hours"),
        ],
        rows,
        note="提交时间为用地红线版本的登记时间，结论时间为该版本第一次合规性检查的时间。",
    )


def _round(value, digits: int = 2):
    return None if value is None else round(float(value), digits)


def group_rows(rows: list[dict], key: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        out[row[key]].append(row)
    return out
