"""The independent side of the compliance tests: fixture features read straight from the
generated files and overlaps measured with shapely and pyproj's Geod, never with the engine."""

import json
from functools import cache
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely
import yaml

from tests.layers.helpers import geod_area

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


def isolated_edge_site(folder: Path, slug: str, depth_deg: float, width_deg: float):
    """A rectangle standing on the outside of one edge of an isolated feature, pushed
    `depth_deg` into it: the overlap is a thin strip along a shared border."""
    geoms, _ = layer_features(folder, slug)
    tree = shapely.STRtree(geoms)
    covered = coverage(folder)
    for geom in geoms:
        polygon = shapely.orient_polygons(max(shapely.get_parts(geom), key=lambda p: p.area))
        ring = np.asarray(polygon.exterior.coords)
        for a, b in zip(ring[:-1], ring[1:], strict=True):
            edge = b - a
            length = np.hypot(*edge)
            if length < 0.0015:  # ~150 m: long enough for a clear strip
                continue
            normal = np.array([edge[1], -edge[0]]) / length  # outward for a CCW exterior
            site = shapely.Polygon([a - normal * depth_deg, b - normal * depth_deg,
                                    b + normal * width_deg, a + normal * width_deg])
            neighbours = tree.query(site.buffer(0.00005), predicate="intersects")
            if len(neighbours) == 1 and covered.contains(site):
                return site, geom
    raise LookupError(f"no isolated edge in {slug}")
