"""The statistics' figures against independent counts: SQL written here, shapely for where a
preview lies, numpy for the percentiles — on generated activity over three months."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import numpy as np
import pytest
import shapely
from django.db import connection

from blueprint.access import ROLE_PERMS, Principal, Role
from blueprint.errors import Forbidden, InvalidInput, NotFound
from compliance import statistics
from compliance.statistics import lists
from tests.compliance import statistics_world as world

pytestmark = pytest.mark.django_db
MU = 10_000 / 15


def city() -> Principal:
    return Principal(role=Role.CITY_PLANNER, name="t-city", perms=ROLE_PERMS[Role.CITY_PLANNER])


def county(*codes: str) -> Principal:
    return Principal(
        role=Role.COUNTY_PLANNER, name="t-county", districts=codes, perms=ROLE_PERMS[Role.COUNTY_PLANNER]
    )


@pytest.fixture
def made(small_data):
    return world.build()


def sql(query: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def counties() -> dict[str, shapely.Geometry]:
    return {
        code: shapely.from_wkb(bytes(wkb))
        for code, wkb in sql("SELECT code, ST_AsBinary(geom) FROM layers_district WHERE level = 'county'")
    }


def expected_county(check) -> str:
    """The check's county, independently: its project's, or (shapely) the one holding its site."""
    if check.project_id:
        return check.project.district_id[:6]
    point = shapely.from_wkb(bytes(check.geom.wkb)).representative_point()
    return next(code for code, geom in counties().items() if geom.contains(point))


def cells(table, prefix: str) -> dict[tuple[str, str], int]:
    return {
        (row["county"], key[len(prefix) :]): value
        for row in table.rows
        if row["county"]
        for key, value in row.items()
        if key.startswith(prefix) and value
    }


def board(who=None, **filters):
    return statistics.dashboard(statistics.resolve_scope(who or city(), statistics.Filters(**filters)))


def test_projects_by_district_stage_and_type(made):
    dash = board()
    by_stage = Counter(
        {
            (c, s): n
            for c, s, n in sql(
                "SELECT left(district_id, 6), stage, count(*) FROM layers_project GROUP BY 1, 2"
            )
        }
    )
    by_type = Counter(
        {
            (c, t): n
            for c, t, n in sql(
                "SELECT left(district_id, 6), project_type, count(*) FROM layers_project GROUP BY 1, 2"
            )
        }
    )
    assert cells(dash.table("projects_by_stage"), "stage_") == by_stage
    assert cells(dash.table("projects_by_type"), "type_") == by_type
    total = next(r for r in dash.table("projects_by_stage").rows if r["county"] == "")
    assert total["total"] == sql("SELECT count(*) FROM layers_project")[0][0]


def test_checks_by_verdict_over_time_and_district(made):
    dash = board()
    months = Counter(
        {
            (m, v): n
            for m, v, n in sql(
                "SELECT to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), verdict, count(*)"
                " FROM compliance_check GROUP BY 1, 2"
            )
        }
    )
    got = {
        (r["month"], k[8:]): v
        for r in dash.table("checks_by_month").rows
        for k, v in r.items()
        if k.startswith("verdict_") and v
    }
    assert got == months
    # 2026-09-30 23:40 Beijing is September there (and 15:40 UTC): months are Beijing months.
    assert any(m == "2026-09" for m, _ in got)
    from compliance.models import Check

    by_county = Counter((expected_county(c), c.verdict) for c in Check.objects.select_related("project"))
    assert cells(dash.table("checks_by_district"), "verdict_") == by_county
    # Every check this world made is counted (other tests' committed checks may be there too).
    assert sum(by_county.values()) >= len(made["checks"]) + len(made["previews"])


def test_conflict_areas_by_layer_and_district(made):
    rows = sql("""
        WITH latest AS (
          SELECT c.*, row_number() OVER (PARTITION BY c.site_revision_id, c.input_hash
                                         ORDER BY c.created_at DESC) AS n FROM compliance_check c)
        SELECT l.id, f.layer, COALESCE((f.measures->'overlap'->>'m2')::float,
                                       (f.measures->'outside'->>'m2')::float,
                                       (f.measures->'area_within'->>'m2')::float) AS m2
          FROM latest l JOIN compliance_finding f ON f.check_result_id = l.id
         WHERE l.n = 1 AND f.status NOT IN ('pass', 'info')""")
    from compliance.models import Check

    checks = Check.objects.select_related("project").in_bulk([r[0] for r in rows])
    expected: dict[tuple[str, str], float] = defaultdict(float)
    sites: dict[tuple[str, str], set] = defaultdict(set)
    for check_id, layer, m2 in rows:
        if m2 and m2 > 0:
            key = (layer, expected_county(checks[check_id]))
            expected[key] += m2
            sites[key].add(check_id)
    assert expected, "the generated sites have conflicts"
    table = board().table("conflicts")
    got = {(r["layer"], r["county"]): r for r in table.rows}
    assert set(got) == set(expected)
    for key, m2 in expected.items():
        assert got[key]["m2"] == pytest.approx(m2, abs=0.01)
        assert got[key]["mu"] == pytest.approx(m2 / MU, abs=1e-4)
        assert got[key]["hectare"] == pytest.approx(m2 / 10_000, abs=1e-4)
        assert got[key]["sites"] == len(sites[key])
    # Re-runs do not count twice: each site's latest check only.
    rerun = [c for c in made["checks"] if c.rerun_of_id]
    assert rerun and all(c.rerun_of_id not in {cid for s in sites.values() for cid in s} for c in rerun)


def test_gate_answers_and_time_to_verdict(made):
    dash = board()
    answers = Counter(
        {
            (c, d): n
            for c, d, n in sql(
                "SELECT left(p.district_id, 6), g.decision, count(*) FROM compliance_gatedecision g"
                " JOIN layers_project p ON p.code = g.project_code GROUP BY 1, 2"
            )
        }
    )
    assert answers and cells(dash.table("gate"), "decision_") == answers
    durations: dict[str, list[float]] = defaultdict(list)
    waiting: Counter = Counter()
    for code, hours in sql(
        "SELECT left(p.district_id, 6), EXTRACT(EPOCH FROM (SELECT min(c.created_at) FROM compliance_check c"
        "  WHERE c.site_revision_id = r.id) - r.created_at) / 3600"
        " FROM layers_siterevision r JOIN layers_project p ON p.id = r.project_id"
    ):
        if hours is None:
            waiting[code] += 1
        else:
            durations[code].append(float(hours))
    table = {r["county"]: r for r in dash.table("verdict_time").rows}
    for code, values in durations.items():
        assert table[code]["decided"] == len(values)
        assert table[code]["median_hours"] == pytest.approx(np.percentile(values, 50), abs=0.01)
        assert table[code]["p90_hours"] == pytest.approx(np.percentile(values, 90), abs=0.01)
        assert table[code]["waiting"] == waiting[code]
    # The generated checks came 2 + 3i hours after their revisions: some county waited > 2 hours.
    assert max(r["median_hours"] or 0 for r in table.values()) > 2
    assert table[made["waiting"].project.district_id[:6]]["waiting"] >= 1


def test_data_vintage_per_county(made):
    versions = sql(
        "SELECT l.slug, v.number, ST_AsBinary(v.coverage) FROM layers_layer l"
        " JOIN layers_layerversion v ON v.id = l.active_version_id"
        " WHERE l.kind = 'vector' AND l.slug NOT IN ('admin_district', 'project_site')"
    )
    shapes = counties()
    expected = {
        (code, slug, number)
        for slug, number, cover in versions
        for code, geom in shapes.items()
        if cover is None or shapely.from_wkb(bytes(cover)).intersects(geom)
    }
    got = {(r["county"], r["layer"], r["version"]) for r in board().table("vintage").rows}
    assert got == expected
    # A county planner reads only the layers it may: no restricted red line in its rows.
    scoped = board(county("370811")).table("vintage")
    assert {r["county"] for r in scoped.rows} == {"370811"}
    assert "ecological_redline" not in {r["layer"] for r in scoped.rows}


def test_quality_rows_are_the_latest_reports_of_the_active_versions(made):
    """Each (county, layer) row counts that layer's latest report on its active version, read here in
    SQL from the stored failures; a county planner sees no restricted layer's report."""
    rows = board().table("quality").rows
    readable = {r["layer"] for r in board().table("vintage").rows}  # the layers the caller may read
    expected = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT ON (l.id) l.slug, l.title_zh, r.id,"
                       " (SELECT count(*) FROM jsonb_object_keys(r.counts::jsonb))"
                       " FROM layers_layer l JOIN layers_qualityreport r"
                       " ON r.version_id = l.active_version_id"
                       " ORDER BY l.id, r.created_at DESC")
        for slug, title, report, rules in cursor.fetchall():
            if slug not in readable:
                continue
            cursor.execute("SELECT county, count(DISTINCT rule), count(*) FROM layers_qualityfailure"
                           " WHERE report_id = %s GROUP BY county", [report])
            by_county = {c: (failed, problems) for c, failed, problems in cursor.fetchall()}
            for code in {r["county"] for r in rows}:
                failed, problems = by_county.get(code, (0, 0))
                expected[(code, title)] = (rules - failed, failed, problems)
    served = {(r["county"], r["layer"]): (r["passed"], r["failed"], r["problems"]) for r in rows}
    assert rows and served == expected
    scoped = board(county("370811")).table("quality").rows
    assert {r["county"] for r in scoped} == {"370811"} and "生态保护红线" not in {r["layer"] for r in scoped}
    assert {r["quality"] for r in board().table("comparison").rows} == {"有报告"}


def test_sharing_per_county(made):
    rows = sql(
        "SELECT left(district_id, 6), state, EXTRACT(EPOCH FROM sent_at - created_at) / 60"
        " FROM exchange_outboxrow"
    )
    states: Counter = Counter((c, s) for c, s, _ in rows)
    lags: dict[str, list[float]] = defaultdict(list)
    for code, _, lag in rows:
        if lag is not None:
            lags[code].append(float(lag))
    table = {r["county"]: r for r in board().table("sharing").rows}
    for code, row in table.items():
        assert row["accepted"] == states[(code, "accepted")]
        assert row["rejected"] == states[(code, "rejected")]
        assert row["pending"] == states[(code, "pending")]
        assert row["sent"] == len(lags[code])
        if lags[code]:
            assert row["median_upload_minutes"] == pytest.approx(np.median(lags[code]), abs=0.01)
            assert row["within_5min_share"] == pytest.approx(
                sum(v <= 5 for v in lags[code]) / len(lags[code]), abs=1e-4
            )
    assert any(r["rejected"] for r in table.values()) and any(r["accepted"] for r in table.values())


def test_date_range_and_district_filters(made):
    september = board(start=dt.date(2026, 9, 1), end=dt.date(2026, 9, 30))
    expected = sql(
        "SELECT count(*) FROM compliance_check WHERE created_at >= '2026-09-01 00:00+08'"
        " AND created_at < '2026-10-01 00:00+08'"
    )[0][0]
    assert expected and sum(r["total"] for r in september.table("checks_by_month").rows) == expected
    assert [r["month"] for r in september.table("checks_by_month").rows] == ["2026-09"]
    jining = board(district="370800")
    assert set(jining.scope.counties) == {
        c for (c,) in sql("SELECT code FROM layers_district WHERE level = 'county' AND parent_id = '370800'")
    }
    one = board(district="370811")
    assert [r["county"] for r in one.table("comparison").rows] == ["370811"]


def test_a_county_planner_sees_its_districts_only(made):
    dash = board(county("370811"))
    assert list(dash.scope.counties) == ["370811"]
    expected = sql(
        "SELECT count(*) FROM compliance_check c JOIN layers_project p ON p.id = c.project_id"
        " WHERE p.district_id LIKE '370811%%'"
    )[0][0]
    row = dash.table("comparison").rows[0]
    assert expected and row["checks"] == expected
    with pytest.raises(NotFound):
        board(county("370811"), district="420602")
    # A planner of the whole city (370800) sees its counties, not Xiangyang's.
    assert all(c.startswith("3708") for c in board(county("370800")).scope.counties)


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN, Role.ANONYMOUS])
def test_roles_without_statistics_are_refused(small_data, role):
    who = Principal(role=role, name="t-x", perms=ROLE_PERMS[role])
    with pytest.raises(Forbidden):
        statistics.resolve_scope(who, statistics.Filters())


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-10-01", "to": "2026-09-01"}, "from"),
        ({"district": "37"}, "district"),
    ],
)
def test_bad_filters_say_what_is_wrong(params, field):
    with pytest.raises(InvalidInput) as caught:
        statistics.parse_filters(params)
    assert caught.value.context.get("field") == field


def test_drill_down_lists_match_their_figures(made):
    scope = statistics.resolve_scope(city(), statistics.Filters())
    dash = statistics.dashboard(scope)
    for table in ("checks_by_district", "checks_by_month", "projects_by_stage", "conflicts"):
        for row in dash.table(table).rows:
            for key, value in row.items():
                target = dash.table(table).cell_drill(row, key)
                if not target or not isinstance(value, int) or key in ("sites",):
                    continue
                params = {k: v for k, v in target.items() if k != "kind"}
                scoped = statistics.resolve_scope(city(), statistics.parse_filters(params))
                listed = (lists.check_list if target["kind"] == "checks" else lists.project_list)(
                    scoped, params
                )
                assert listed.count() == value, (table, row.get("county") or row.get("month"), key)
    conflict = dash.table("conflicts").rows[0]
    params = {k: v for k, v in conflict["_drill"]["*"].items() if k != "kind"}
    listed = lists.check_list(statistics.resolve_scope(city(), statistics.parse_filters(params)), params)
    assert listed.count() == conflict["sites"]
