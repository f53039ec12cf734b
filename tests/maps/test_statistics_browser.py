"""统计分析 in Chromium: the charts and the county map drawn by ECharts (vendored, no other host),
and a drill-down from a figure to the checks behind it, then to one check."""

from __future__ import annotations

import datetime as dt

import pytest
import shapely
from django.db import connection

from compliance import services
from layers.models import Project
from tests.compliance import statistics_world as world
from tests.maps.conftest import ARTIFACTS, STAFF

pytestmark = pytest.mark.django_db
MONTH = dt.datetime(2026, 7, 20, 10, 0, tzinfo=world.SHANGHAI)


@pytest.fixture(scope="module")
def previews(django_db_setup, django_db_blocker):
    """Project-less checks by the staff account (its own), committed for the live server: July 2026,
    one per demo site. Previews touch no project, so other tests see the demo projects unchanged."""
    with django_db_blocker.unblock():
        made = []
        for i, project in enumerate(Project.objects.order_by("code")):
            site = shapely.from_wkb(bytes(project.current_site.geom.wkb))
            with world.at(MONTH + dt.timedelta(hours=i)):
                made.append(services.run_check(site, created_by=STAFF[0]))
        return made


def july_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT verdict, count(*) FROM compliance_check WHERE created_by = %s"
            " AND created_at >= '2026-07-01 00:00+08' AND created_at < '2026-08-01 00:00+08'"
            " GROUP BY 1",
            [STAFF[0]],
        )
        return dict(cursor.fetchall())


def test_dashboard_draws_and_drills_down_to_the_checks(staff, previews):
    page = staff.page
    page.goto("/maps/statistics/?from=2026-07-01&to=2026-07-31")
    page.wait_for_function("() => window.BPStats && BPStats.ready", timeout=20_000)
    charts = page.evaluate("Object.keys(BPStats.charts)")
    assert set(charts) == {
        "bp-chart-map",
        "bp-chart-checks",
        "bp-chart-stages",
        "bp-chart-gate",
        "bp-chart-conflicts",
    }
    # The map has one region per county of the scope (both demo cities: 20).
    regions = page.evaluate("BPStats.charts['bp-chart-map'].getOption().series[0].data.length")
    assert regions == page.locator("#bp-table-comparison tbody tr").count() == 20
    page.wait_for_timeout(800)  # the charts' entry animation
    page.screenshot(path=str(ARTIFACTS / "statistics-dashboard.png"), full_page=True)
    counts = july_counts()
    verdict, expected = max(counts.items(), key=lambda kv: kv[1])
    # Drill down from the chart: click the July bar of the most frequent verdict.
    series = page.evaluate("BPStats.charts['bp-chart-checks'].getOption().series.map(s => s.name)")
    from compliance.statistics.figures import VERDICT_ZH

    index = series.index(VERDICT_ZH[verdict])
    page.locator("#bp-chart-checks").scroll_into_view_if_needed()
    point = page.evaluate(f"""() => {{
        const c = BPStats.charts['bp-chart-checks'];
        const [x, y] = c.convertToPixel({{seriesIndex: {index}}}, ['2026-07', 0.5]);
        const box = c.getDom().getBoundingClientRect();
        const stack = c.getModel().getSeriesByIndex({index}).getData();
        const layout = stack.getItemLayout(0);
        return [box.left + layout.x + layout.width / 2, box.top + layout.y + layout.height / 2];
    }}""")
    page.mouse.click(point[0], point[1])
    page.wait_for_url("**/maps/statistics/checks?**")
    assert f"verdict={verdict}" in page.url and "month=2026-07" in page.url
    assert int(page.locator("#bp-list-total").inner_text()) == expected
    assert page.locator("table.bp-list tbody tr").count() == expected
    page.screenshot(path=str(ARTIFACTS / "statistics-drilldown.png"), full_page=True)
    # … and on to one of those checks.
    page.locator("table.bp-list tbody tr a").first.click()
    page.wait_for_url("**/maps/checks/**")
    assert page.locator("#bp-check-result").count() == 1


def test_a_table_cell_drills_down_to_the_projects(staff):
    page = staff.page
    page.goto("/maps/statistics/")
    page.wait_for_function("() => window.BPStats && BPStats.ready", timeout=20_000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM layers_project WHERE district_id LIKE '370811%' AND stage = '1'")
        expected = cursor.fetchone()[0]
    row = page.locator("#bp-table-projects_by_stage tbody tr", has_text="任城区")
    row.locator("td").nth(2).locator("a").click()
    page.wait_for_url("**/maps/statistics/projects?**")
    assert int(page.locator("#bp-list-total").inner_text()) == expected > 0
    codes = page.locator("table.bp-list tbody tr td:first-child").all_inner_texts()
    assert all("-370811-" in code for code in codes)


def test_the_applicant_gets_the_403_page(applicant):
    applicant.allow_console("403")
    response = applicant.page.goto("/maps/statistics/")
    assert response.status == 403
    assert "统计" in applicant.page.content() or "无权" in applicant.page.content()
