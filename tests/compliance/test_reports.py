"""The check report: HTML page, offline PDF, site map and verification of the result hash."""

import json
import re
import shutil
import socket
import subprocess
import uuid
from xml.etree import ElementTree

import pytest
import shapely
from django.utils.html import escape

from compliance import reports
from compliance.mapsvg import site_map_svg
from compliance.models import Check
from compliance.services import check_project, run_check
from layers.models import LayerVersion, Project
from tests.compliance import oracle
from tests.layers.helpers import CGCS2000_GEOD
from tests.roles import sign_in

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def planner(client):
    """Reports are read by a city planner here (tests/blueprint/test_access_matrix.py covers roles)."""
    return sign_in(client, "city_planner")


@pytest.fixture
def failing_check(small_data) -> Check:
    """A project-less check of a site pushed clearly into one farmland patch: verdict fail."""
    site, _ = oracle.border_site(small_data, "basic_farmland", 150.0)
    check = run_check(site)
    assert check.verdict == "fail"
    return check


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


def path_points(d: str) -> list[tuple[float, float]]:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def test_html_report_of_a_failing_site(client, failing_check, small_data):
    response = client.get(f"/api/checks/{failing_check.id}/report", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    farmland = failing_check.findings.get(rule_id="basic_farmland")
    overlap = farmland.measures["overlap"]
    # The printed figure is the stored measure; the measure agrees with an independent overlay.
    geoms, _ = oracle.layer_features(small_data, "basic_farmland")
    site = shapely.from_wkb(bytes(failing_check.geom.wkb))
    assert overlap["m2"] == pytest.approx(oracle.overlap_m2(site, geoms), rel=1e-4)
    assert f"{overlap['m2']:,.2f}" in page and f"{overlap['mu']:,.4f}" in page
    assert "建设项目用地合规性检查报告" in page and "预审（未关联项目）" in page
    assert 'class="verdict verdict-fail"' in page and "不通过" in page
    for version_id in failing_check.layer_versions.values():
        assert f"第 {LayerVersion.objects.get(pk=version_id).number} 版" in page
    assert str(failing_check.id) in page and failing_check.result_hash in page
    assert f"/api/checks/{failing_check.id}/verify?hash={failing_check.result_hash}" in page
    assert "<svg" in page and "《中华人民共和国土地管理法》" in page


def test_site_map_draws_site_conflict_and_a_true_scale(failing_check):
    svg = ElementTree.fromstring(site_map_svg(failing_check, width=720, height=480))
    paths = {}
    for path in svg.iter(f"{SVG}path"):
        paths.setdefault(path.get("class"), []).append(path_points(path.get("d")))
    assert len(paths["site"]) == 1 and paths["conflict"] and paths["layer layer-basic_farmland"]
    xs, ys = zip(*paths["site"][0], strict=True)
    map_w, map_h = 720 - 170, 480  # the legend panel takes the right-hand 170 px
    # The view is the site's extent grown by half, centred, at one scale for x and y.
    assert max((max(xs) - min(xs)) / map_w, (max(ys) - min(ys)) / map_h) == pytest.approx(1 / 1.5, abs=0.01)
    assert (max(xs) + min(xs)) / 2 == pytest.approx(map_w / 2, abs=1)
    conflict = [point for part in paths["conflict"] for point in part]
    assert all(min(xs) - 1 <= x <= max(xs) + 1 and min(ys) - 1 <= y <= max(ys) + 1 for x, y in conflict)
    # Scale bar: its length in pixels times metres per pixel, measured here on the ellipsoid.
    west, south, east, north = shapely.from_wkb(bytes(failing_check.geom.wkb)).bounds
    _, _, site_width_m = CGCS2000_GEOD.inv(west, (south + north) / 2, east, (south + north) / 2)
    metres_per_px = site_width_m / (max(xs) - min(xs))
    bar = next(g for g in svg.iter(f"{SVG}g") if g.get("class") == "scale-bar")
    bar_px = sum(float(r.get("width")) for r in bar.iter(f"{SVG}rect")
                 if r.get("height") == "6")
    label = [t.text for t in bar.iter(f"{SVG}text")][-1]
    value, unit = re.match(r"([\d.]+) (米|公里)", label).groups()
    assert bar_px * metres_per_px == pytest.approx(float(value) * (1000 if unit == "公里" else 1), rel=0.01)
    legend = "".join(t.text or "" for g in svg.iter(f"{SVG}g") if g.get("class") == "legend"
                     for t in g.iter(f"{SVG}text"))
    assert "用地红线" in legend and "永久基本农田" in legend and "冲突范围" in legend


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)")
def test_pdf_report_is_chinese_text(client, failing_check):
    response = client.get(f"/api/checks/{failing_check.id}/report.pdf", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f'filename="check-{failing_check.id}.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=response.content,
                          capture_output=True, check=True).stdout.decode()
    joined = "".join(text.split())  # long identifiers may wrap across lines
    assert "永久基本农田" in joined and "建设项目用地合规性检查报告" in joined and "不通过" in joined
    assert str(failing_check.id) in joined and failing_check.result_hash in joined


def test_pdf_render_never_touches_the_network(monkeypatch, failing_check):
    attempts = []

    def refuse(sock, address):
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    external = ('<html><head><link rel="stylesheet" href="http://192.0.2.1/x.css"></head>'
                '<body><p>外部资源</p><img src="https://192.0.2.1/tile.png"></body></html>')
    from weasyprint import HTML

    HTML(string=external).write_pdf()
    assert attempts, "the guard itself must notice a default render reaching out"
    attempts.clear()
    monkeypatch.setattr(reports, "render_report_html", lambda check, request=None: external)
    assert reports.render_report_pdf(failing_check).startswith(b"%PDF") and attempts == []


def test_verify_endpoint(client, failing_check):
    url = f"/api/checks/{failing_check.id}/verify"
    good = client.get(url, {"hash": failing_check.result_hash})
    assert good.status_code == 200
    assert good.json() == {"valid": True, "check_id": str(failing_check.id)}  # never the hash itself
    tampered = failing_check.result_hash[:-1] + ("0" if failing_check.result_hash[-1] != "0" else "1")
    assert client.get(url, {"hash": tampered}).json()["valid"] is False
    assert "hash" in json.dumps(assert_problem(client.get(url), 400))


def test_verify_recomputes_from_the_stored_rows(failing_check):
    fresh = Check.objects.get(pk=failing_check.pk)  # findings as read back from jsonb
    assert reports.verify(fresh, fresh.result_hash.upper())
    assert not reports.verify(fresh, "")


@pytest.mark.parametrize("suffix,accept", [("report", "text/html"), ("report.pdf", "application/pdf")])
def test_unknown_check_is_a_problem_404(client, suffix, accept):
    assert_problem(client.get(f"/api/checks/{uuid.uuid4()}/{suffix}", HTTP_ACCEPT=accept), 404)


def test_project_report_names_the_project(client, small_data):
    project = Project.objects.exclude(category="major_state_council").order_by("code").first()
    check = check_project(project)
    page = client.get(f"/api/checks/{check.id}/report").content.decode()
    assert project.code in page and escape(project.name) in page and escape(project.applicant) in page
    assert "预审（未关联项目）" not in page
    assert f'class="verdict verdict-{check.verdict}"' in page
