"""The independent side of the compliance tests: fixture features read straight from the
generated files and overlaps measured with shapely and pyproj's Geod, never with the engine."""

import json
from functools import cache
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely
import yaml

from tests.layers.helpers import CGCS2000_GEOD, geod_area

RULES = {rule["id"]: rule for rule in yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "compliance" / "rulesets" / "default.yaml").read_text(
        encoding="utf-8"))["rules"]}


@cache
def layer_features(folder: Path, slug: str) -> tuple[np.ndarray, list[dict]]:
    """Return (geometries, attribute dicts) of a fixture layer file."""
    meta, _fids, wkb, fields = pyogrio.raw.read(str(folder / f"{slug}.gpkg"))
    names = list(meta["fields"])
    geoms = shapely.from_wkb(wkb)
    props = [{name: fields[i][row] for i, name in enumerate(names)} for row in range(len(geoms))]
    return geoms, props


def covered_counties(folder: Path) -> list[str]:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["counties"]


def overlap_m2(site, geoms) -> float:
    """Ellipsoidal area of the part of `site` covered by any of `geoms`."""
    tree = shapely.STRtree(geoms)
    hits = geoms[tree.query(site, predicate="intersects")]
    if len(hits) == 0:
        return 0.0
    return geod_area(shapely.intersection(site, shapely.union_all(hits)))


def outside_m2(site, geoms) -> float:
    tree = shapely.STRtree(geoms)
    hits = geoms[tree.query(site, predicate="intersects")]
    return geod_area(shapely.difference(site, shapely.union_all(hits)) if len(hits) else site)


def grade(area: float, share: float, rule: dict) -> str:
    """The rule set's documented grading, re-stated here from its data."""
    tolerance, band = rule["tolerance"], rule["review_band"]
    if area <= 0 or (area <= tolerance["area_m2"] and share <= tolerance["share"]):
        return "pass"
    if area <= band["area_m2"] and share <= band["share"]:
        return "needs_review"
    return rule["severity"]


def coverage(folder: Path):
    """The union of the counties the generated layers are complete for."""
    geoms, props = layer_features(folder, "admin_district")
    counties = set(covered_counties(folder))
    return shapely.union_all([g for g, p in zip(geoms, props, strict=True) if p["XZQDM"] in counties])


_OUTWARD = 8e-4  # degrees of clear land the site spans beside the feature (~70–90 m)


@cache
def _border(folder: Path, slug: str):
    """An edge of a feature facing land clear of the layer (≥ 4 000 m² of it)."""
    geoms, _ = layer_features(folder, slug)
    tree = shapely.STRtree(geoms)
    covered = coverage(folder)
    for index, geom in enumerate(geoms):
        polygon = shapely.orient_polygons(max(shapely.get_parts(geom), key=lambda p: p.area))
        ring = np.asarray(polygon.exterior.coords)
        for a, b in zip(ring[:-1], ring[1:], strict=True):
            length = np.hypot(*(b - a))
            if length < 0.0005:  # ~50 m
                continue
            normal = np.array([b[1] - a[1], a[0] - b[0]]) / length  # outward for a CCW exterior
            outside = shapely.Polygon([a, b, b + normal * _OUTWARD, a + normal * _OUTWARD])
            others = [i for i in tree.query(outside.buffer(2e-5)) if i != index]
            keep_clear = shapely.union_all(geoms[others]).buffer(2e-5) if others else shapely.Polygon()
            land = _piece_on_edge(outside.difference(keep_clear), a, b)
            if land is not None and geod_area(land) >= 4000 and covered.contains(land.buffer(1e-4)):
                edge_m = CGCS2000_GEOD.line_length([a[0], b[0]], [a[1], b[1]])
                return a, b, normal, edge_m, keep_clear
    raise LookupError(f"no edge of {slug} faces clear land")


def _piece_on_edge(geom, a, b):
    edge = shapely.LineString([a, b]).buffer(1e-9)
    parts = [p for p in shapely.get_parts(geom) if p.intersects(edge)]
    return max(parts, key=lambda p: p.area) if parts else None


def border_site(folder: Path, slug: str, overlap_m2: float):
    """A site on clear land beside a feature, reaching about `overlap_m2` into it along one
    edge: a shared border whose overlap is a thin strip (cm² to hundreds of m²)."""
    a, b, normal, edge_m, keep_clear = _border(folder, slug)
    depth = overlap_m2 / edge_m / 111_000  # degrees; the oracle measures the real overlap
    rectangle = shapely.Polygon([a - normal * depth, b - normal * depth,
                                 b + normal * _OUTWARD, a + normal * _OUTWARD])
    return _piece_on_edge(rectangle.difference(keep_clear), a, b), None


def geodesic_distance_m(a, b, step: float = 2e-5) -> float:
    """The least geodesic distance between two disjoint polygons whose edges are straight in
    lon/lat: both boundaries densified to `step` degrees (~2 m), every pair of points measured
    with pyproj's Geod. Sampling errs by at most step² / 8d: millimetres at 100 m."""
    pa = shapely.get_coordinates(shapely.segmentize(shapely.boundary(a), step))
    pb = shapely.get_coordinates(shapely.segmentize(shapely.boundary(b), step))
    best = np.inf
    for chunk in np.array_split(pa, max(1, len(pa) * len(pb) // 1_000_000)):
        lon1, lon2 = np.repeat(chunk[:, 0], len(pb)), np.tile(pb[:, 0], len(chunk))
        lat1, lat2 = np.repeat(chunk[:, 1], len(pb)), np.tile(pb[:, 1], len(chunk))
        best = min(best, float(CGCS2000_GEOD.inv(lon1, lat1, lon2, lat2)[2].min()))
    return best

