"""The thematic print (专题图): a PDF at A4/A3 landscape, read back by poppler (pdfinfo, pdftotext,
pdftoppm) — title, legend, north arrow, scale bar, data vintage — within the access policy."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from blueprint.models import AuditEntry, Role
from tests.roles import sign_in

pytestmark = pytest.mark.django_db
VIEW = "116.50,35.30,116.70,35.45"  # 任城区 and around: farmland, the development boundary, water
PAPER_POINTS = {"A4": (842, 595), "A3": (1191, 842)}  # landscape, 1 pt = 1/72 in


def poppler(tool: str, pdf: bytes, *args: str) -> bytes:
    return subprocess.run([tool, *args, "-", "-"] if tool != "pdfinfo" else [tool, "-"], input=pdf,
                          capture_output=True, check=True).stdout


@pytest.mark.parametrize("size", ["A4", "A3"])
def test_a_print_has_what_a_map_sheet_needs(client, size, tmp_path):
    sign_in(client, Role.COUNTY_PLANNER, districts=["370800"])
    answer = client.get(f"/maps/print.pdf?bbox={VIEW}&size={size}&title=任城区管控线专题图"
                        "&layers=basic_farmland,urban_development_boundary,water_body,admin_district")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    pdf = answer.content
    info = poppler("pdfinfo", pdf).decode()
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert (round(width), round(height)) == PAPER_POINTS[size]
    assert re.search(r"Pages:\s+1\n", info)  # one sheet
    text = poppler("pdftotext", pdf, "-enc", "UTF-8").decode()
    for words in ["任城区管控线专题图", "图例", "永久基本农田", "城镇开发边界", "北", "数据时点", "第 1 版",
                  "CGCS2000"]:
        assert words in text, words
    assert re.search(r"\d+(\.\d+)? (米|公里)", text)  # the scale bar's length
    assert "生态保护红线" not in text  # not asked for (and not the county planner's to see)
    (tmp_path / "print.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(tmp_path / "print.pdf"),
                    str(tmp_path / f"print-{size}")], check=True)
    from PIL import Image

    image = np.asarray(Image.open(tmp_path / f"print-{size}.png").convert("L"))
    Image.open(tmp_path / f"print-{size}.png").save(f"artifacts/maps-print-{size}.png")
    assert (image < 200).mean() > 0.02  # a drawn map (a blank page has none)


def test_prints_keep_to_the_access_policy(client):
    url = f"/maps/print.pdf?bbox={VIEW}&layers=ecological_redline"
    assert client.get(url).status_code == 400  # anonymous: no readable layer asked for
    sign_in(client, Role.COUNTY_PLANNER, districts=["370800"])
    refused = client.get(url)
    assert refused.status_code == 400 and "图层" in refused.json()["detail"]
    sign_in(client, Role.CITY_PLANNER)
    before = AuditEntry.objects.filter(action="layer.read", target="ecological_redline").count()
    assert client.get(url).status_code == 200
    assert AuditEntry.objects.filter(action="layer.read", target="ecological_redline").count() == before + 1


@pytest.mark.parametrize("query, words", [("bbox=1,2&layers=water_body", "bbox"),
                                          (f"bbox={VIEW}&layers=water_body&size=B5", "A4")])
def test_bad_prints_are_explained(client, query, words):
    answer = client.get(f"/maps/print.pdf?{query}")
    assert answer.status_code == 400 and words in answer.json()["detail"]
