"""The attribute table and the exports: the right features (counted independently with shapely),
sorted and paged, written in four formats and read back by independent readers (GDAL through
pyogrio, openpyxl), within the access policy and audited."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pyogrio.raw
import pytest
import shapely
from openpyxl import load_workbook

from blueprint.models import AuditEntry, Role
from maps import tables
from tests.compliance import oracle
from tests.layers.helpers import geod_area
from tests.roles import sign_in

pytestmark = pytest.mark.django_db


def farmland_box(small_data, size: float = 0.01):
    """A box around the middle farmland patch, and the patches meeting it (shapely, independently)."""
    geoms, props = oracle.layer_features(small_data, "basic_farmland")
    centre = geoms[len(geoms) // 2].representative_point()
    box = shapely.box(centre.x - size, centre.y - size, centre.x + size, centre.y + size)
    hits = [i for i, g in enumerate(geoms) if g.intersects(box)]
    return box, [geoms[i] for i in hits], [props[i] for i in hits]


def bbox_text(box) -> str:
    return ",".join(f"{v:.6f}" for v in box.bounds)


@pytest.fixture
def county(client):
    sign_in(client, Role.COUNTY_PLANNER, districts=["370800"])
    return client


def test_the_table_counts_sorts_and_pages_the_view(county, small_data):
    box, geoms, props = farmland_box(small_data)
    assert len(props) > 60  # more than one page
    answer = county.get(f"/maps/data/basic_farmland/table?bbox={bbox_text(box)}&sort=YJJBNTTBMJ&order=desc")
    body = answer.json()
    assert answer.status_code == 200 and body["total"] == len(props) and body["pages"] == -(-len(props) // 50)
    expected = sorted((p["YJJBNTTBMJ"] for p in props), reverse=True)[:50]
    assert [r["properties"]["YJJBNTTBMJ"] for r in body["rows"]] == pytest.approx(expected)
    second = county.get(f"/maps/data/basic_farmland/table?bbox={bbox_text(box)}&sort=TBBH&page=2").json()
    assert [r["properties"]["TBBH"] for r in second["rows"]] == sorted(p["TBBH"] for p in props)[50:100]
    row = body["rows"][0]  # the box to zoom to contains the feature
    feature = next(g for g, p in zip(geoms, props, strict=True) if p["TBBH"] == row["properties"]["TBBH"])
    assert shapely.box(*row["bbox"]).buffer(1e-7).contains(feature)


def test_the_table_of_a_drawn_area(county, small_data):
    box, _, _ = farmland_box(small_data)
    triangle = shapely.Polygon([box.exterior.coords[0], box.exterior.coords[1], box.exterior.coords[2]])
    geoms, _ = oracle.layer_features(small_data, "basic_farmland")
    expected = sum(g.intersects(triangle) for g in geoms)
    area = json.dumps(shapely.geometry.mapping(triangle))
    body = county.get("/maps/data/basic_farmland/table", {"area": area}).json()
    assert body["total"] == expected and body["selection"] == "area"


@pytest.mark.parametrize("query, field", [("bbox=1,2", "bbox"), ("area=%7B%22type%22%3A1%7D", "area"),
                                          ("bbox=116,35,117,36&sort=nope", "sort")])
def test_bad_selections_are_explained(county, query, field):
    answer = county.get(f"/maps/data/basic_farmland/table?{query}")
    assert answer.status_code == 400 and answer["Content-Type"] == "application/problem+json"
    assert field in json.dumps(answer.json(), ensure_ascii=False)


def _download(client, fmt: str, box) -> bytes:
    answer = client.get(f"/maps/data/basic_farmland/export.{fmt}?bbox={bbox_text(box)}")
    assert answer.status_code == 200, answer.content[:300]
    assert answer["Content-Disposition"].startswith("attachment;")
    return answer.content


def test_exports_read_back_by_gdal_and_openpyxl(county, small_data, tmp_path):
    box, geoms, props = farmland_box(small_data, 0.004)
    before = AuditEntry.objects.filter(action="layer.export").count()
    want = sorted(p["TBBH"] for p in props)
    for fmt, name in [("geojson", "x.geojson"), ("gpkg", "x.gpkg")]:
        path = tmp_path / name
        path.write_bytes(_download(county, fmt, box))
        meta, _, wkb, fields = pyogrio.raw.read(str(path))
        columns = dict(zip(meta["fields"], fields, strict=True))
        assert sorted(columns["TBBH"]) == want
        assert set(columns["DLMC"]) <= {p["DLMC"] for p in props}  # Chinese survives
        read = sorted(shapely.from_wkb(wkb), key=lambda g: g.representative_point().x)
        assert sum(geod_area(g) for g in read) == pytest.approx(sum(geod_area(g) for g in geoms), rel=1e-6)
    assert "4490" in pyogrio.read_info(str(tmp_path / "x.gpkg"))["crs"]
    # The zipped Shapefile: GBK declared by its .cpg, a CGCS2000 .prj, read back through GDAL.
    archive = tmp_path / "x.zip"
    archive.write_bytes(_download(county, "shp", box))
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        assert {n.rsplit(".", 1)[1] for n in names} >= {"shp", "shx", "dbf", "prj", "cpg"}
        cpg = z.read(next(n for n in names if n.endswith(".cpg"))).decode().strip().upper()
        assert cpg in {"GBK", "CP936"}
        assert "CGCS2000" in z.read(next(n for n in names if n.endswith(".prj"))).decode()
        dbf = z.read(next(n for n in names if n.endswith(".dbf")))
    assert props[0]["DLMC"].encode("gbk") in dbf  # the bytes are GBK, not UTF-8
    shp = next(n for n in names if n.endswith(".shp"))
    meta, _, _, fields = pyogrio.raw.read(f"/vsizip/{archive}/{shp}")
    assert sorted(dict(zip(meta["fields"], fields, strict=True))["TBBH"]) == want
    # Excel: Chinese headers, one row per patch, the area as pyproj's Geod measures it.
    book = load_workbook(io.BytesIO(_download(county, "xlsx", box)))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert "图斑编号" in header and "面积（平方米）" in header and "面积（亩）" in header
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(props)
    # Rows come in feature-id order, the fixture's file order (patch numbers repeat across villages).
    for row, geom, prop in zip(rows, geoms, props, strict=True):
        record = dict(zip(header, row, strict=True))
        assert record["图斑编号"] == prop["TBBH"]
        assert record["面积（平方米）"] == pytest.approx(geod_area(geom), rel=1e-4)
        assert record["面积（亩）"] == pytest.approx(record["面积（平方米）"] / (10_000 / 15), rel=1e-4)
    exports = AuditEntry.objects.filter(action="layer.export").order_by("id")[before:]
    assert [e.detail["format"] for e in exports] == ["geojson", "gpkg", "shp", "xlsx"]
    assert all(e.detail["features"] == len(props) and e.target == "basic_farmland" for e in exports)


def test_exports_follow_the_access_policy(client, small_data):
    box, _, _ = farmland_box(small_data, 0.004)
    restricted = f"/maps/data/ecological_redline/export.geojson?bbox={bbox_text(box)}"
    internal = f"/maps/data/basic_farmland/export.geojson?bbox={bbox_text(box)}"
    for role, profile in [(None, {}), (Role.APPLICANT, {"organisation": "x"})]:
        if role:
            sign_in(client, role, **profile)
        for url in (restricted, internal, internal.replace("export.geojson", "table")):
            answer = client.get(url)
            assert answer.status_code == 404 and answer["Content-Type"] == "application/problem+json", url
    sign_in(client, Role.COUNTY_PLANNER, districts=["370800"])
    assert client.get(restricted).status_code == 404  # the red line is for the city level
    assert client.get(internal).status_code == 200
    sign_in(client, Role.CITY_PLANNER)
    reads = AuditEntry.objects.filter(action="layer.read", target="ecological_redline").count()
    assert client.get(restricted).status_code == 200
    assert AuditEntry.objects.filter(action="layer.read", target="ecological_redline").count() == reads + 1
    assert client.get(internal.replace(".geojson", ".exe")).status_code == 404


def test_an_export_too_large_is_refused_clearly(county, small_data, monkeypatch):
    box, _, props = farmland_box(small_data, 0.004)
    monkeypatch.setattr(tables, "MAX_EXPORT", len(props) - 1)
    answer = county.get(f"/maps/data/basic_farmland/export.gpkg?bbox={bbox_text(box)}")
    assert answer.status_code == 400 and "缩小范围" in answer.json()["detail"]


def test_the_exchange_shapefile_is_the_layers_writer():
    from exchange import attachments
    from layers import exports

    assert attachments.zipped_shapefile is exports.zipped_shapefile
    assert np.isnan(exports._column([{"a": None}], "a", "number")[0])
