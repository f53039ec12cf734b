"""Site parsers: every format read back to the lon/lat polygon it was built from.

Oracles, all independent of the code under test: input files are built here from known lon/lat
polygons near Jining; Gauss–Krüger coordinates come from pyproj Transformers made in this file,
areas from pyproj's Geod on the CGCS2000 ellipsoid or closed-form planar geometry. No database.
"""

import io
import json
import math
import os
import re
import zipfile

import ezdxf
import numpy as np
import pyogrio.raw
import pytest
import shapely
from django.conf import settings
from django.test import override_settings
from pyproj import Geod, Transformer
from shapely.geometry import MultiPolygon, Polygon, box, mapping

from blueprint.errors import CoordinatesOutOfRange, InvalidGeometry, InvalidInput
from compliance.parsers import ParsedSite, parse_site
from layers.crs import wgs84_to_gcj02

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")

GEOD = Geod(a=6378137.0, rf=298.257222101)
# A site of about 1.8 km × 1.9 km south-east of Jining's centre, and a second one with a hole.
SITE = Polygon([(116.55, 35.40), (116.57, 35.40), (116.57, 35.415), (116.56, 35.42), (116.55, 35.415)])
HOLED = Polygon(
    box(116.60, 35.45, 116.62, 35.47).exterior.coords, [box(116.605, 35.455, 116.61, 35.46).exterior.coords]
)
XIANGYANG = box(112.10, 32.00, 112.12, 32.02)


def project(geom, epsg: int):
    """Return `geom` (lon/lat) in EPSG `epsg` as (easting, northing), by pyproj directly."""
    forward = Transformer.from_crs(4490, epsg, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])))


def unproject(geom, epsg: int):
    inverse = Transformer.from_crs(epsg, 4490, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(inverse.transform(xy[:, 0], xy[:, 1])))


def geod_area(geom) -> float:
    """Ellipsoidal area in m² of a lon/lat (multi)polygon; orient so that holes subtract."""
    parts = shapely.get_parts(geom)
    return sum(abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(p))[0]) for p in parts)


def assert_same(parsed: ParsedSite, expected, tolerance: float = 1e-8) -> None:
    geometry = parsed.geometry
    assert geometry.geom_type == "MultiPolygon" and geometry.is_valid
    assert shapely.hausdorff_distance(geometry, expected) < tolerance
    assert geod_area(geometry) == pytest.approx(geod_area(expected), rel=1e-6)


def with_limits(**changes):
    return override_settings(BLUEPRINT={**settings.BLUEPRINT, **changes})


# --- GeoJSON -------------------------------------------------------------------------------------


def test_geojson_geometry_dict_is_lon_lat_by_default():
    parsed = parse_site(mapping(SITE))
    assert_same(parsed, SITE)
    assert (parsed.source_format, parsed.source_crs, parsed.warnings, parsed.repair) == (
        "geojson",
        "OGC:CRS84",  # RFC 7946's own CRS, longitude first, recorded as such
        [],
        None,
    )


def test_geojson_feature_collection_is_the_union_and_drops_points_with_a_warning():
    west, east = box(116.55, 35.40, 116.56, 35.41), box(116.56, 35.40, 116.57, 35.41)
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {}, "geometry": mapping(west)},
            {"type": "Feature", "properties": {}, "geometry": mapping(east)},
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [116.5, 35.4]},
            },
        ],
    }
    parsed = parse_site(json.dumps(doc).encode(), filename="site.geojson")
    assert_same(parsed, box(116.55, 35.40, 116.57, 35.41))
    assert len(parsed.geometry.geoms) == 1  # the shared border is dissolved
    assert any("Point" in w for w in parsed.warnings)


def test_geojson_in_gauss_kruger_declared_by_parameter():
    doc = {"type": "Feature", "properties": {}, "geometry": mapping(project(SITE, 4527))}
    parsed = parse_site(doc, crs="EPSG:4527")
    assert_same(parsed, SITE)
    assert parsed.source_crs == "EPSG:4527" and parsed.warnings == []


def test_geojson_legacy_crs_member_is_honoured_and_a_contradiction_refused():
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4548"}},
        "features": [{"type": "Feature", "properties": {}, "geometry": mapping(project(HOLED, 4548))}],
    }
    parsed = parse_site(doc)
    assert_same(parsed, HOLED)
    assert parsed.source_crs == "EPSG:4548"
    assert parse_site(doc, crs="EPSG:4548").source_crs == "EPSG:4548"
    with pytest.raises(InvalidInput, match="4527.*4548|4548.*4527"):
        parse_site(doc, crs="EPSG:4527")


def test_geojson_declared_gcj02_is_shifted_back_to_cgcs2000():
    exterior = np.array(SITE.exterior.coords)
    lon, lat = wgs84_to_gcj02(exterior[:, 0], exterior[:, 1])  # the published forward offset
    mars = Polygon(np.column_stack([lon, lat]))
    offset_m = GEOD.inv(exterior[0, 0], exterior[0, 1], lon[0], lat[0])[2]
    assert 100 < offset_m < 1000  # the input really is offset
    parsed = parse_site(mapping(mars), crs="GCJ02")
    assert parsed.source_crs == "GCJ02"
    assert_same(parsed, SITE, tolerance=1e-7)
    # Undeclared, nothing is guessed: the coordinates stay where they were given.
    assert_same(parse_site(mapping(mars)), mars)


# --- WKT -----------------------------------------------------------------------------------------


def test_wkt_is_cgcs2000_lon_lat():
    parsed = parse_site(SITE.wkt)
    assert_same(parsed, SITE)
    assert (parsed.source_format, parsed.source_crs) == ("wkt", "EPSG:4490")


def test_ewkt_srid_wins_and_a_contradicting_parameter_is_refused():
    ewkt = f"SRID=4527;{project(HOLED, 4527).wkt}"
    parsed = parse_site(ewkt)
    assert_same(parsed, HOLED)
    assert parsed.source_crs == "EPSG:4527"
    assert parse_site(ewkt, crs="EPSG:4527").source_crs == "EPSG:4527"
    with pytest.raises(InvalidInput, match="EPSG:4548"):
        parse_site(ewkt, crs="EPSG:4548")


# --- 界址坐标 TXT ---------------------------------------------------------------------------------

HEADER = (
    "[属性描述]\n格式版本号=1.01版本\n数据产生单位=国土资源部\n坐标系={datum}\n几度分带={width}\n"
    "投影类型=高斯克吕格\n计量单位=米\n{zone}精度=0.0001\n转换参数=,,,,,,\n[地块坐标]\n"
)


def txt_file(
    parcels,
    epsg: int,
    *,
    zone: str = "39",
    width: str = "3",
    datum: str = "2000国家大地坐标系",
    swap: bool = False,
    areas: list[float] | None = None,
    encoding: str = "gbk",
    close: bool = True,
) -> bytes:
    """Write a 界址坐标 file: per parcel a header, then J-points `J,圈号,X(北),Y(东)` per ring.

    Without `close` a ring ends where the 圈号 changes, not by repeating its first point.
    """
    lines = [HEADER.format(datum=datum, width=width, zone=f"带号={zone}\n" if zone else "")]
    for index, polygon in enumerate(parcels, start=1):
        projected = project(polygon, epsg)
        rings = [projected.exterior, *projected.interiors]
        points, counter = [], 0
        for ring_number, ring in enumerate(rings, start=1):
            coords = list(ring.coords) if close else list(ring.coords)[:-1]
            first = counter + 1
            for j, (east, north) in enumerate(coords):
                x, y = (east, north) if swap else (north, east)
                closing = close and j == len(coords) - 1  # repeats the ring's first point and name
                counter += not closing
                name = f"J{first if closing else counter}"
                points.append(f"{name},{ring_number},{x:.4f},{y:.4f}")
        hectares = (areas[index - 1] if areas else geod_area(polygon)) / 10_000
        lines.append(
            f"{len(points)},{hectares:.4f},DK{index:03d},地块{index},面,J50G077073,工业用地,0601,@\n"
        )
        lines += [p + "\n" for p in points]
    return "".join(lines).replace("\n", "\r\n").encode(encoding)


def test_txt_two_parcels_with_a_hole_gbk_zone_prefixed():
    parsed = parse_site(txt_file([SITE, HOLED], 4527))
    assert_same(parsed, MultiPolygon([SITE, HOLED]), tolerance=1e-8)
    assert (parsed.source_format, parsed.source_crs, parsed.warnings) == ("txt", "EPSG:4527", [])
    assert [len(p.interiors) for p in parsed.geometry.geoms if p.interiors] == [1]
    first, second = parsed.parcels
    fields = (first["编号"], first["名称"], first["用途"], first["地类编码"])
    assert fields == ("DK001", "地块1", "工业用地", "0601")
    assert first["申报面积"] == pytest.approx(geod_area(SITE) / 10_000, abs=1e-4)
    assert second["计算面积_m2"] == pytest.approx(geod_area(HOLED), rel=1e-6)
    assert second["界址点数"] == second["点数"] == 10


def test_txt_rings_may_end_where_the_ring_number_changes():
    parsed = parse_site(txt_file([HOLED], 4527, close=False))
    assert_same(parsed, HOLED)
    assert parsed.parcels[0]["界址点数"] == 8 and parsed.warnings == []


def test_txt_without_prefix_takes_the_zone_from_the_header():
    parsed = parse_site(txt_file([SITE, HOLED], 4548), filename="坐标.txt")
    assert_same(parsed, MultiPolygon([SITE, HOLED]))
    assert parsed.source_crs == "EPSG:4548"


def test_txt_prefixed_without_header_zone_uses_the_prefix():
    parsed = parse_site(txt_file([SITE], 4527, zone="").decode("gbk"))
    assert_same(parsed, SITE)
    assert parsed.source_crs == "EPSG:4527"


def test_txt_without_prefix_or_zone_is_refused():
    with pytest.raises(InvalidInput, match="带号"):
        parse_site(txt_file([SITE], 4548, zone=""))


@pytest.mark.parametrize("epsg", [4527, 4548])
def test_txt_with_x_and_y_swapped_is_refused(epsg):
    with pytest.raises(CoordinatesOutOfRange, match="颠倒") as caught:
        parse_site(txt_file([SITE], epsg, swap=True))
    assert "swapped" in caught.value.detail


def test_txt_declared_area_off_by_more_than_one_percent_warns():
    parsed = parse_site(txt_file([SITE], 4527, areas=[geod_area(SITE) * 1.02]))
    assert len(parsed.warnings) == 1
    assert "1%" in parsed.warnings[0] and "differs" in parsed.warnings[0]


def test_txt_six_degree_zone_is_read_with_its_own_epsg_code():
    # CGCS2000 6-degree zone 20 (central meridian 117°E) with prefix is EPSG:4498.
    parsed = parse_site(txt_file([SITE], 4498, zone="20", width="6"))
    assert_same(parsed, SITE)
    assert parsed.source_crs == "EPSG:4498"


def test_txt_in_xian80_is_refused():
    with pytest.raises(InvalidInput, match="CGCS2000"):
        parse_site(txt_file([SITE], 4527, datum="1980西安坐标系"))


def test_xiangyang_site_declared_in_zone_39_warns_about_the_zone():
    # Coordinates really computed in zone 39: the site is placed right, but the zone is implausible.
    parsed = parse_site(txt_file([XIANGYANG], 4527, zone="39"))
    assert_same(parsed, XIANGYANG, tolerance=1e-8)
    assert any("37" in w and "39" in w for w in parsed.warnings)


# --- Shapefile and KML ---------------------------------------------------------------------------


def write_layer(path, geometries, *, driver: str, crs: str | None) -> None:
    wkb = np.array(shapely.to_wkb(np.array(geometries, dtype=object)), dtype=object)
    pyogrio.raw.write(
        str(path),
        wkb,
        [np.array(["红线"] * len(geometries), dtype=object)],
        ["name"],
        driver=driver,
        crs=crs,
        geometry_type="Polygon",
    )


def zipped(folder, pattern: str = "*") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(folder.glob(pattern)):
            bundle.write(path, path.name)
    return buffer.getvalue()


def test_zipped_shapefile_uses_its_prj(tmp_path):
    write_layer(
        tmp_path / "红线.shp",
        [project(SITE, 4527), project(HOLED, 4527)],
        driver="ESRI Shapefile",
        crs="EPSG:4527",
    )
    parsed = parse_site(zipped(tmp_path))
    assert_same(parsed, MultiPolygon([SITE, HOLED]))
    assert (parsed.source_format, parsed.source_crs) == ("shapefile", "EPSG:4527")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_zipped_shapefile_without_prj_needs_a_crs(tmp_path):
    write_layer(tmp_path / "site.shp", [project(SITE, 4548)], driver="ESRI Shapefile", crs=None)
    data = zipped(tmp_path)
    with pytest.raises(InvalidInput, match=r"\.prj"):
        parse_site(data, filename="site.zip")
    assert_same(parse_site(data, crs="EPSG:4548"), SITE)


def test_kml_and_kmz_are_lon_lat(tmp_path):
    write_layer(tmp_path / "site.kml", [SITE], driver="KML", crs="EPSG:4326")
    kml = (tmp_path / "site.kml").read_bytes()
    parsed = parse_site(kml)
    assert_same(parsed, SITE)
    assert (parsed.source_format, parsed.source_crs) == ("kml", "EPSG:4326")
    assert_same(parse_site(zipped(tmp_path, "*.kml")), SITE)
    with pytest.raises(InvalidInput, match="KML"):
        parse_site(kml, crs="EPSG:4527")


# --- DXF -----------------------------------------------------------------------------------------


def dxf_file(tmp_path, layers: dict[str, list], *, noise: bool = True, version: str = "R2010") -> bytes:
    """Write closed LWPOLYLINEs per layer (points may carry a bulge) plus noise on layer 标注."""
    doc = ezdxf.new(version)
    if version < "R2007":
        doc.encoding = "gbk"  # $DWGCODEPAGE ANSI_936, as Chinese AutoCAD writes pre-2007 DXF
    space = doc.modelspace()
    for layer, rings in layers.items():
        for ring in rings:
            space.add_lwpolyline(ring, format="xyb", close=True, dxfattribs={"layer": layer})
    if noise:
        space.add_line((0, 0), (100, 100), dxfattribs={"layer": "标注"})
        space.add_text("用地红线", dxfattribs={"layer": "标注"})
        space.add_lwpolyline([(0, 0), (5, 0), (5, 5)], dxfattribs={"layer": "标注"})  # open
    doc.saveas(tmp_path / "site.dxf")
    return (tmp_path / "site.dxf").read_bytes()


def ring(polygon) -> list[tuple[float, float, float]]:
    return [(x, y, 0.0) for x, y in polygon.exterior.coords[:-1]]


@pytest.mark.parametrize("version", ["R2000", "R2010"])
def test_dxf_two_closed_polylines_on_the_red_line_layer(tmp_path, version):
    second = box(116.58, 35.40, 116.59, 35.41)
    rings = [ring(project(SITE, 4527)), ring(project(second, 4527))]
    data = dxf_file(tmp_path, {"红线": rings}, version=version)
    assert ("红线".encode("gbk") in data) == (version == "R2000")
    parsed = parse_site(data)  # the zone comes from the eastings' prefix
    assert_same(parsed, MultiPolygon([SITE, second]))
    assert (parsed.source_format, parsed.source_crs) == ("dxf", "EPSG:4527")


def test_dxf_nested_polylines_are_holes_and_the_zone_may_be_given(tmp_path):
    projected = project(HOLED, 4548)
    hole = Polygon(projected.interiors[0])
    data = dxf_file(tmp_path, {"红线": [ring(projected), ring(hole)]})
    with pytest.raises(InvalidInput, match="zone"):
        parse_site(data)
    parsed = parse_site(data, zone=39)
    assert_same(parsed, HOLED)
    assert parsed.source_crs == "EPSG:4548"


def test_dxf_bulge_arcs_are_approximated(tmp_path):
    # A 300 m × 200 m rectangle whose east side bulges out as a half circle of radius 100 m.
    east, north = project(SITE, 4548).exterior.coords[0]
    # The bulge of a vertex shapes the segment that starts there; 1.0 is a counter-clockwise half circle.
    points = [
        (east, north, 0.0),
        (east + 300, north, 1.0),
        (east + 300, north + 200, 0.0),
        (east, north + 200, 0.0),
    ]
    data = dxf_file(tmp_path, {"红线": [points]}, noise=False)
    parsed = parse_site(data, crs="EPSG:4548")
    planar = project(parsed.geometry, 4548).area
    assert planar == pytest.approx(300 * 200 + math.pi * 100**2 / 2, rel=5e-4)
    assert project(parsed.geometry, 4548).bounds[2] == pytest.approx(east + 400, abs=0.02)


def test_dxf_with_closed_polylines_on_several_layers_needs_the_layer_named(tmp_path):
    data = dxf_file(tmp_path, {"红线": [ring(project(SITE, 4527))], "道路": [ring(project(HOLED, 4527))]})
    with pytest.raises(InvalidInput, match="dxf_layer") as caught:
        parse_site(data, filename="红线.dxf")
    assert "红线" in caught.value.detail and "道路" in caught.value.detail
    assert_same(parse_site(data, dxf_layer="红线"), SITE)
    with pytest.raises(InvalidInput, match="道路"):
        parse_site(data, dxf_layer="图框")


# --- Geometry rules, validity, limits, detection -------------------------------------------------


def bow_tie() -> tuple[Polygon, tuple[float, float]]:
    """A self-crossing quadrilateral in EPSG:4527 and its crossing point (easting, northing)."""
    (e0, n0), (e1, n1) = project(SITE, 4527).exterior.coords[0], project(SITE, 4527).exterior.coords[2]
    return Polygon([(e0, n0), (e1, n1), (e1, n0), (e0, n1)]), ((e0 + e1) / 2, (n0 + n1) / 2)


def test_invalid_bow_tie_reports_where_in_source_and_lon_lat():
    polygon, (east, north) = bow_tie()
    with pytest.raises(InvalidGeometry) as caught:
        parse_site(f"SRID=4527;{polygon.wkt}")
    detail = caught.value.detail
    assert "自相交" in detail and "Self-intersection" in detail
    assert f"X(北)={north:.3f}" in detail and f"Y(东)={east:.3f}" in detail
    assert f"X (northing) {north:.3f}" in detail
    lon, lat = Transformer.from_crs(4527, 4490, always_xy=True).transform(east, north)
    found = re.search(r"经度 ([\d.]+), 纬度 ([\d.]+)", detail)
    assert float(found.group(1)) == pytest.approx(lon, abs=2e-7)
    assert float(found.group(2)) == pytest.approx(lat, abs=2e-7)


def test_invalid_bow_tie_is_repaired_on_request():
    polygon, (east, north) = bow_tie()
    (e0, n0), (e1, n1) = polygon.exterior.coords[0], polygon.exterior.coords[1]
    triangles = [Polygon([(e0, n0), (east, north), (e0, n1)]), Polygon([(e1, n1), (east, north), (e1, n0)])]
    parsed = parse_site(f"SRID=4527;{polygon.wkt}", repair=True)
    assert "自相交" in parsed.repair and "Self-intersection" in parsed.repair
    assert f"X(北)={north:.3f}" in parsed.repair and f"Y (easting) {east:.3f}" in parsed.repair
    assert len(parsed.geometry.geoms) == 2 and parsed.geometry.is_valid
    expected = MultiPolygon([unproject(t, 4527) for t in triangles])
    assert geod_area(parsed.geometry) == pytest.approx(geod_area(expected), rel=1e-6)


@pytest.mark.parametrize("wkt", ["POINT (116.5 35.4)", "LINESTRING (116.5 35.4, 116.6 35.4)"])
def test_points_and_lines_are_not_sites(wkt):
    with pytest.raises(InvalidInput, match="用地红线必须是面"):
        parse_site(wkt)


def test_mixed_collection_keeps_polygons_with_a_warning():
    parsed = parse_site(f"GEOMETRYCOLLECTION ({SITE.wkt}, LINESTRING (116.5 35.4, 116.6 35.4))")
    assert_same(parsed, SITE)
    assert any("LineString" in w for w in parsed.warnings)


@pytest.mark.parametrize("data", ["POLYGON EMPTY", {"type": "FeatureCollection", "features": []}])
def test_empty_input_is_refused(data):
    with pytest.raises(InvalidInput, match="为空|empty"):
        parse_site(data)


def test_vertex_limit_says_limit_and_actual_count():
    circle = shapely.Point(116.56, 35.41).buffer(0.005, quad_segs=50)
    count = len(circle.exterior.coords)
    with with_limits(SITE_MAX_VERTICES=100), pytest.raises(InvalidInput) as caught:
        parse_site(mapping(circle))
    assert f"{count}" in caught.value.detail and "100" in caught.value.detail


def test_area_limit_says_limit_and_actual_area():
    big = box(116.5, 35.3, 116.7, 35.5)  # about 400 km², default limit 100 km²
    with pytest.raises(InvalidInput) as caught:
        parse_site(big.wkt)
    assert f"{geod_area(big) / 1e6:.2f}" in caught.value.detail and "100" in caught.value.detail


def test_byte_limit_says_limit_and_actual_size():
    feature = {"type": "Feature", "properties": {"note": "x" * 2000}, "geometry": mapping(SITE)}
    data = json.dumps(feature).encode()
    with with_limits(SITE_MAX_BYTES=1000), pytest.raises(InvalidInput) as caught:
        parse_site(data)
    assert str(len(data)) in caught.value.detail and "1000" in caught.value.detail


@pytest.mark.parametrize(
    "data,filename,expected",
    [
        (b'{"type": "Polygon"}', None, "geojson"),
        ("SRID=4527;POLYGON ((1 1, 2 1, 2 2, 1 1))", None, "wkt"),
        ("[属性描述]\n坐标系=2000国家大地坐标系\n".encode("gbk"), None, "txt"),
        (b"<?xml version='1.0'?><kml xmlns='http://www.opengis.net/kml/2.2'>", None, "kml"),
        (b"  0\r\nSECTION\r\n  2\r\nHEADER\r\n", None, "dxf"),
        (b"anything", "site.json", "geojson"),
    ],
)
def test_format_detection(data, filename, expected):
    from compliance.parsers import _detect

    assert _detect.detect_format(data, None, filename) == expected


def test_unknown_format_names_the_accepted_ones():
    with pytest.raises(InvalidInput, match="GeoJSON.*DXF") as caught:
        parse_site(b"\x00\x01 not a site", filename="site.xyz")
    assert "KML" in caught.value.detail and ".zip" in caught.value.detail
