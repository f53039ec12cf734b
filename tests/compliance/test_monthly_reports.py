"""Monthly reports (月报) built by the queue and downloaded within the county scope. Here, before the
browser tests of tests/maps: after them Playwright's event loop stays marked running in the test
process, and procrastinate's worker (asgiref's AsyncToSync) will not run beside it."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pypdf
import pytest

from blueprint.models import Role
from blueprint.tasks import app, run_until_idle
from compliance.models import MonthlyReport
from compliance.tasks import build_monthly_reports
from tests.compliance import statistics_world as world
from tests.maps.test_statistics_pages import as_role, count, expected_jining

pytestmark = pytest.mark.django_db


@pytest.fixture
def made(small_data):
    return world.build()


def test_monthly_reports_are_built_by_the_queue_and_downloadable(client, made, settings, tmp_path):
    settings.BLUEPRINT = {**settings.BLUEPRINT, "DATA_DIR": tmp_path}
    periodic = {p.periodic_id: p for p in app.periodic_registry.periodic_tasks.values()}
    assert periodic["monthly-reports"].cron == "0 2 1 * *"
    with world.at(dt.datetime(2026, 10, 1, 10, 0, tzinfo=world.SHANGHAI)):
        build_monthly_reports.defer(timestamp=0)
        run_until_idle(["reports"])
    reports = MonthlyReport.objects.filter(month=dt.date(2026, 9, 1))
    assert reports.count() == count("SELECT count(*) FROM layers_district WHERE level IN ('city', 'county')")
    jining = reports.get(district_id="370800")
    assert (tmp_path / "reports" / "monthly" / "2026-09" / "370800.pdf").is_file()
    september = count(
        "SELECT count(*) FROM compliance_check c JOIN layers_project p ON p.id = c.project_id"
        " WHERE p.district_id LIKE '3708%' AND c.created_at >= '2026-09-01 00:00+08'"
        " AND c.created_at < '2026-10-01 00:00+08'"
    )
    assert sum(r["checks"] for r in jining.figures) == september + sum(
        1 for c in made["previews"] if c.created_at.month == 9 and expected_jining(c)
    )
    as_role(client, Role.CITY_PLANNER)
    pdf = client.get(f"/maps/statistics/monthly/{jining.pk}.pdf")
    assert pdf.status_code == 200
    text = "".join(
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(b"".join(pdf.streaming_content))).pages
    )
    assert "济宁市" in text and "2026 年 09 月" in text
    book = openpyxl.load_workbook(
        io.BytesIO(b"".join(client.get(f"/maps/statistics/monthly/{jining.pk}.xlsx").streaming_content))
    )
    assert "区县对比（改革办考核指标）" in book.sheetnames
    # A planner of 任城区 reads its county's report, not the city's nor another county's.
    client.logout()
    as_role(client, Role.COUNTY_PLANNER, districts=["370811"])
    own = reports.get(district_id="370811")
    assert client.get(f"/maps/statistics/monthly/{own.pk}.pdf").status_code == 200
    assert client.get(f"/maps/statistics/monthly/{jining.pk}.pdf").status_code == 404
    assert client.get(f"/maps/statistics/monthly/{own.pk}.exe").status_code == 404


