"""The figures a decision relies on: nearest distances and areas against pyproj's Geod.

Features are imported for each test into a control-line layer, so that the nearest feature and
the shapes are known; expected figures come from oracle.py (shapely densification + Geod)."""

import numpy as np
import pytest
import shapely

from compliance.services import run_check
from layers.importers import import_layer
from tests.compliance import oracle
from tests.layers.helpers import CGCS2000_GEOD, straight_edge_area_m2, write_geojson

pytestmark = pytest.mark.django_db

LON, LAT = 116.75, 35.35  # 济宁 (a degree of longitude here is 0.82 of a degree of latitude)


def jining_codes(folder) -> list[str]:
    _, props = oracle.layer_features(folder, "admin_district")
    return sorted(p["XZQDM"] for p in props if str(p["XZQDM"]).startswith("3708"))


def jining(folder):
    geoms, props = oracle.layer_features(folder, "admin_district")
    return shapely.union_all([g for g, p in zip(geoms, props, strict=True)
                              if str(p["XZQDM"]).startswith("3708")])


def load(tmp_path, folder, slug: str, features: dict[str, shapely.Geometry]) -> None:
    """Import `features` (BSM → polygon) as the active version of `slug`, covering all of Jining."""
    props = [{"BSM": name} for name in features]
    import_layer(slug, write_geojson(tmp_path / f"{slug}.geojson", list(features.values()), props),
                 coverage=jining_codes(folder))


def moved(lon: float, lat: float, azimuth: float, metres: float) -> tuple[float, float]:
    x, y, _ = CGCS2000_GEOD.fwd(lon, lat, azimuth, metres)
    return x, y


def square_at(lon: float, lat: float, half_deg: float = 0.00025) -> shapely.Polygon:
    return shapely.box(lon - half_deg, lat - half_deg, lon + half_deg, lat + half_deg)


def strip(lon: float, lat: float, degrees_from_east: float, length_deg: float = 0.06) -> shapely.Polygon:
    """A thin strip (~30 m wide) through (lon, lat), straight in lon/lat at the given angle."""
    u = np.array([np.cos(np.radians(degrees_from_east)), np.sin(np.radians(degrees_from_east))])
    n = np.array([u[1], -u[0]]) * 0.0003
    c = np.array([lon, lat])
    return shapely.Polygon([c - length_deg / 2 * u, c + length_deg / 2 * u,
                            c + length_deg / 2 * u + n, c - length_deg / 2 * u + n])


def nearest(check, rule_id: str = "ecological_redline") -> dict:
    return check.findings.get(rule_id=rule_id).measures["nearest"]


def expected_nearest(site, features: dict) -> tuple[str, float]:
    distances = {name: oracle.geodesic_distance_m(site, geom) for name, geom in features.items()}
    name = min(distances, key=distances.get)
    return name, distances[name]


def assert_close(actual: float, expected: float) -> None:
    assert abs(actual - expected) <= max(0.1, 1e-4 * expected), (actual, expected)


def test_the_nearest_feature_is_chosen_on_the_ellipsoid_not_in_degrees(small_data, tmp_path):
    """Two features whose order in degrees and on the ellipsoid differ: a strip at 40° to the
    south-east, and a square due north placed between its true and its flat-chosen distance."""
    site = square_at(LON, LAT)
    diagonal = strip(LON + 0.0058, LAT - 0.0058, 40)
    true_m = oracle.geodesic_distance_m(site, diagonal)
    (x1, y1), (x2, y2) = shapely.shortest_line(site, diagonal).coords  # the old, flat choice
    flat_m = CGCS2000_GEOD.inv(x1, y1, x2, y2)[2]
    assert flat_m > true_m * 1.015  # the two orders really differ by more than the margins below
    north_lat = moved(LON, LAT + 0.00025, 0, (true_m + flat_m) / 2)[1] + 0.00025
    features = {"diagonal": diagonal, "north": square_at(LON, north_lat)}
    name, distance = expected_nearest(site, features)
    assert name == "diagonal" and oracle.geodesic_distance_m(site, features["north"]) < flat_m
    load(tmp_path, small_data, "ecological_redline", features)
    found = nearest(run_check(site))
    assert found["attributes"]["BSM"] == "diagonal"
    assert_close(found["distance_m"], distance)


@pytest.mark.parametrize("metres", [100, 400, 2_000, 10_000, 40_000])
def test_nearest_distances_are_geodesic_from_100_m_to_40_km(small_data, tmp_path, metres):
    """Sites at 0.1–40 km from a diagonal strip and a square, in several directions."""
    features = {"strip": strip(LON, LAT, 35, length_deg=0.02),
                "square": square_at(LON + 0.03, LAT - 0.02, 0.002)}
    load(tmp_path, small_data, "ecological_redline", features)
    area = jining(small_data)
    for azimuth in (20, 135, 250, 320):
        x, y = moved(LON, LAT, azimuth, metres + 30)
        site = square_at(x, y, 0.0004)
        if not area.covers(site.buffer(0.01)) or any(site.intersects(g) for g in features.values()):
            continue
        name, distance = expected_nearest(site, features)
        found = nearest(run_check(site))
        assert found["attributes"]["BSM"] == name, (azimuth, metres)
        assert_close(found["distance_m"], distance)


def test_min_distance_is_geodesic_on_long_edges(small_data, tmp_path):
    """A 12 km east–west site edge 25 m from water: the edge is straight in lon/lat (as drawn),
    not the geodesic between its ends, which runs ~2 m further north."""
    south = LAT
    site = shapely.Polygon([(LON - 0.066, south), (LON + 0.066, south), (LON, south + 0.01)])
    y = moved(LON, south, 180, 25)[1]
    water = shapely.box(LON - 0.003, y - 0.002, LON + 0.003, y)
    load(tmp_path, small_data, "water_body", {"w": water})
    result = run_check(site).findings.get(rule_id="water_body_buffer")
    assert result.status == "warn"
    assert_close(result.measures["closest_m"], oracle.geodesic_distance_m(site, water))


def test_areas_share_one_edge_model_on_a_large_site(small_data, tmp_path):
    """A triangle with a 12 km east–west edge, 1.1 km high (~6.6 km²), inside one red-line
    polygon and half in the development boundary: site, overlap, inside + outside and the
    per-feature figures agree with each other, and with straight-edge areas from Geod."""
    site = shapely.Polygon([(LON - 0.066, LAT), (LON + 0.066, LAT), (LON, LAT + 0.01)])
    red = shapely.box(LON - 0.1, LAT - 0.01, LON + 0.1, LAT + 0.02)
    west = shapely.box(LON - 0.1, LAT - 0.01, LON, LAT + 0.02)
    east = shapely.box(LON, LAT - 0.01, LON + 0.02, LAT + 0.02)
    load(tmp_path, small_data, "ecological_redline", {"red": red})
    load(tmp_path, small_data, "urban_development_boundary", {"west": west, "east": east})
    check = run_check(site)
    site_m2 = straight_edge_area_m2(site)
    assert check.site_area_m2 == pytest.approx(site_m2, rel=1e-4)
    red_finding = check.findings.get(rule_id="ecological_redline")
    assert red_finding.measures["share"] == 1.0
    assert red_finding.measures["overlap"]["m2"] == pytest.approx(check.site_area_m2, rel=1e-7)
    assert [row["share_of_site"] for row in red_finding.features] == [1.0]
    within = check.findings.get(rule_id="urban_development_boundary")
    inside, outside = within.measures["inside"]["m2"], within.measures["outside"]["m2"]
    expected_inside = straight_edge_area_m2(site.intersection(shapely.union(west, east)))
    assert inside == pytest.approx(expected_inside, rel=1e-4)
    assert outside == pytest.approx(site_m2 - expected_inside, rel=1e-4)
    assert inside + outside == pytest.approx(check.site_area_m2, rel=1e-7)
    rows = sum(row["overlap"]["m2"] for row in within.features)
    assert rows == pytest.approx(inside, rel=1e-7)
