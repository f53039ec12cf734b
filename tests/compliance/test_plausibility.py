"""Plausibility of a site's place: China's real outline, not a box; zone prefixes that match.

Sites are built here in lon/lat (and projected with pyproj directly); no database."""

import json
import os

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import box, mapping

from blueprint.errors import CoordinatesOutOfRange
from compliance.parsers import parse_site
from layers import crs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")


def site_at(lon: float, lat: float, size: float = 0.002) -> dict:
    return mapping(box(lon, lat, lon + size, lat + size))


@pytest.mark.parametrize("city,lon,lat", [
    ("Seoul", 126.978, 37.566), ("Hanoi", 105.834, 21.028), ("Osaka", 135.502, 34.694),
    ("Pyongyang", 125.754, 39.039), ("Ulaanbaatar", 106.917, 47.918), ("Manila", 120.984, 14.599),
])
def test_sites_in_neighbouring_countries_are_refused(city, lon, lat):
    west, south, east, north = crs.CHINA_BOUNDS
    assert west <= lon <= east and south <= lat <= north  # the old box let every one of them in
    with pytest.raises(CoordinatesOutOfRange, match="中国境内"):
        parse_site(site_at(lon, lat), crs="CRS84")


@pytest.mark.parametrize("place,lon,lat", [
    ("河口 on the Red River, facing Lào Cai", 103.948, 22.508),
    ("丹东 on the Yalu, facing Sinŭiju", 124.385, 40.118),
    ("东兴 on the Beilun, facing Móng Cái", 107.965, 21.545),
    ("漠河 on the Amur", 122.535, 52.972),
    ("三亚 on the coast", 109.505, 18.245),
    ("济宁", 116.58, 35.40),
])
def test_sites_in_china_near_a_border_or_the_coast_are_accepted(place, lon, lat):
    parsed = parse_site(site_at(lon, lat, 0.001), crs="CRS84")
    assert parsed.geometry.bounds[0] == pytest.approx(lon)


def test_the_outline_and_the_box_agree():
    outline = crs.china_outline()
    west, south, east, north = crs.CHINA_BOUNDS
    x0, y0, x1, y1 = outline.bounds
    assert west <= x0 and south <= y0 and x1 <= east and y1 <= north
    assert outline.covers(shapely.Point(116.58, 35.40)) and not outline.covers(shapely.Point(126.978, 37.566))


def test_crs84_is_recorded_as_crs84():
    assert parse_site(site_at(116.58, 35.40), crs="CRS84").source_crs == "OGC:CRS84"
    assert parse_site(json.dumps(site_at(116.58, 35.40))).source_crs == "OGC:CRS84"  # GeoJSON's own
    assert parse_site(site_at(116.58, 35.40), crs="EPSG:4326").source_crs == "EPSG:4326"


def _zone_40_wkt() -> str:
    """A Jining site written in zone 40's prefixed coordinates (pyproj, EPSG:4528)."""
    forward = Transformer.from_crs(4490, 4528, always_xy=True)
    site = box(119.55, 35.40, 119.56, 35.41)  # zone 40 (central meridian 120°E)
    return shapely.transform(site, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1]))).wkt


def test_a_zone_prefix_that_contradicts_the_declared_crs_is_refused():
    wkt = _zone_40_wkt()
    assert parse_site(wkt, crs="EPSG:4528").source_crs == "EPSG:4528"
    with pytest.raises(CoordinatesOutOfRange) as refused:
        parse_site(wkt, crs="EPSG:4527")  # zone 39 declared, eastings prefixed 40
    message = str(refused.value)
    assert "40" in message and "39" in message and "EPSG:4528" in message
