"""The statistics pages, exports and monthly reports through HTTP (Django's client): access for
every role, the county scope, Excel read back with openpyxl, PDF with pypdf and pdftoppm."""

from __future__ import annotations

import io
import shutil
import subprocess

import openpyxl
import pypdf
import pytest
from django.db import connection

from blueprint.models import Interface, Role
from tests.compliance import statistics_world as world
from tests.maps.conftest import ARTIFACTS
from tests.roles import log_in, make_person, make_token

pytestmark = pytest.mark.django_db
PAGE = "/maps/statistics/"


@pytest.fixture
def made(small_data):
    return world.build()


def as_role(client, role, **profile):
    log_in(client, make_person(role, f"s-{role}-{len(profile)}", **profile))
    return client


def count(query: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchone()[0]


def test_city_planner_sees_every_county_with_charts_and_drill_links(client, made):
    response = as_role(client, Role.CITY_PLANNER).get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "vendor/echarts/echarts.min.js" in page and 'id="bp-stats-data"' in page
    assert page.count('id="bp-table-') == len(response.context["dash"].tables)
    assert "/maps/statistics/checks?district=370811&amp;verdict=fail" in page or "verdict=fail" in page
    assert "数据质量（质量检查报告）" in page
    assert len(response.context["dash"].scope.counties) == count(
        "SELECT count(*) FROM layers_district WHERE level = 'county'"
    )


def test_county_planner_sees_its_districts_only(client, made):
    response = as_role(client, Role.COUNTY_PLANNER, districts=["370811"]).get(PAGE)
    assert response.status_code == 200
    assert list(response.context["dash"].scope.counties) == ["370811"]
    # Another county is answered as missing, on the page and in the drill-down.
    assert client.get(PAGE + "?district=420602").status_code == 404
    assert client.get("/maps/statistics/checks?district=420602").status_code == 404
    listed = client.get("/maps/statistics/checks")
    expected = count(
        "SELECT count(*) FROM compliance_check c JOIN layers_project p ON p.id = c.project_id"
        " WHERE p.district_id LIKE '370811%'"
    )
    assert listed.status_code == 200 and listed.context["total"] == expected > 0


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN])
def test_people_without_statistics_get_a_403_page(client, small_data, role):
    as_role(client, role)
    for path in (
        PAGE,
        "/maps/statistics/projects",
        "/maps/statistics/export.xlsx",
        "/maps/statistics/export.pdf",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "text/html" in response["Content-Type"]


def test_anonymous_is_sent_to_sign_in_and_tokens_are_refused(client, small_data):
    assert client.get(PAGE).status_code == 302
    _, raw = make_token("s-page-token", interfaces=[Interface.STATISTICS])
    assert client.get(PAGE, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 403


def test_bad_filters_answer_a_page_saying_what_is_wrong(client, small_data):
    as_role(client, Role.CITY_PLANNER)
    response = client.get(PAGE + "?from=2026-02-30")
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.content.decode()
    assert client.get("/maps/statistics/checks?verdict=maybe").status_code == 400


def test_excel_export_reads_back_as_the_figures(client, made):
    as_role(client, Role.CITY_PLANNER)
    response = client.get("/maps/statistics/export.xlsx?from=2026-08-01&to=2026-10-31")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    dash = client.get(PAGE + "?from=2026-08-01&to=2026-10-31").context["dash"]
    assert len(book.sheetnames) == len(dash.tables) + 1  # and the 说明 sheet
    sheet = book["合规性检查（按月份、结论）"]
    header = [c.value for c in sheet[1]]
    assert header[0] == "月份" and header[-1] == "合计"
    months = {row[0]: row[-1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    expected = {}
    with connection.cursor() as cursor:
        cursor.execute(  # the export's period, in Beijing days, as asked for
            "SELECT to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), count(*)"
            " FROM compliance_check WHERE created_at >= '2026-08-01 00:00+08'"
            " AND created_at < '2026-11-01 00:00+08' GROUP BY 1"
        )
        expected = dict(cursor.fetchall())
    assert months == expected
    one = openpyxl.load_workbook(
        io.BytesIO(client.get("/maps/statistics/export.xlsx?table=conflicts").content)
    )
    assert one.sheetnames == ["说明", "冲突面积（按图层、区县；每个用地取期间内最近一次检查）"[:29]]
    assert client.get("/maps/statistics/export.xlsx?table=nothing").status_code == 404


def test_pdf_export_has_the_tables_and_the_map(client, made, tmp_path):
    as_role(client, Role.CITY_PLANNER)
    response = client.get("/maps/statistics/export.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    for words in ("区县对比", "冲突面积", "受理闸口答复", "数据共享", "数据质量", "任城区", "襄城区"):
        assert words in text, words
    if shutil.which("pdftoppm"):
        (tmp_path / "s.pdf").write_bytes(response.content)
        ARTIFACTS.mkdir(exist_ok=True)
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                str(tmp_path / "s.pdf"),
                str(ARTIFACTS / "statistics-pdf"),
            ],
            check=True,
        )
        from PIL import Image

        image = Image.open(next(ARTIFACTS.glob("statistics-pdf*.png"))).convert("L")
        assert len(set(image.getdata())) > 20  # drawn: the map's shades and the table lines


def expected_jining(check) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM layers_district WHERE level = 'county' AND parent_id = '370800'"
            " AND ST_Contains(geom, ST_PointOnSurface(ST_GeomFromEWKB(%s)))",
            [bytes(check.geom.ewkb)],
        )
        return cursor.fetchone()[0] == 1
