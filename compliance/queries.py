"""The PostGIS side of a check: what a site meets in one layer version.

Overlays run on layers_overlay_piece: heavy features cut into pieces of few vertices, light ones
whole, each version in its own partition with its own GiST index. Areas are measured
afterwards, on the ellipsoid, by layers.crs; distances are geodesic, chosen and measured as
_GEODESIC says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import shapely
from django.db import connection

from blueprint.db import execute_prepared
from layers import crs

__all__ = ["Hit", "Reads", "SiteData", "LayerRef", "State", "read_state", "read_site", "covered"]

_SITE = "ST_GeomFromWKB(%(site)s, 4490)"
# The distance between a piece and the site, geodesic in its choice of points and in its figure.
# The closest points are chosen in degrees with longitude scaled by %(k)s (crs.local_scale at the
# site: there a degree of longitude is ~0.8 of a degree of latitude), where the plane is
# conformal at the site's latitude and edges stay straight in lon/lat as stored; the line
# between them is then measured on the ellipsoid. Near the site the metric is true, further
# away it drifts by tan(lat) per radian of latitude; as the foot of the line moves by that
# angle, the figure moves by its square: < 0.01 % at 40 km. Unscaled degrees chose points far
# enough off to make distances 11 % too long, and could name the wrong feature.
_GEODESIC = ("ST_Length(ST_Scale(ST_ShortestLine(ST_Scale(p.geom, %(k)s, 1), site.s), 1 / %(k)s, 1)"
             "::geography)")


@dataclass
class Hit:
    """A feature of the layer and the piece of the site it covers (or its distance)."""

    fid: int
    properties: dict
    feature_area_m2: float | None
    piece: shapely.Geometry | None = None
    distance_m: float | None = None


# Everything a check reads about its site, in one statement (one round trip, one plan):
#  o  every feature of the requested versions whose area the site overlaps, with the piece of the
#     site inside it (heavy features are read through their subdivided pieces);
#  w  every feature within a distance, with the part of the site that close and the distance;
#  n  nearest-feature candidates of a version, only when the site met nothing there.
# Branches are written per version with the version as a constant, so each scans one partition.
_PIECES = """
  SELECT p.feature_id, ST_Intersection(p.geom, site.g) AS g
  FROM layers_overlay_piece p, site
  WHERE p.version_id = {v} AND p.geom && site.g AND ST_Intersects(p.geom, site.g)"""
# A degree box wide enough for `distance` metres at Chinese latitudes (cos 54° ≈ 0.59) narrows
# the index scan, the scaled plane (a degree there ≥ 110 km) the candidates; the geodesic test
# decides. Buffers are of the small subdivided pieces, and come back from geography in
# EPSG:4326, which CGCS2000 matches within centimetres.
_NEAR = f"""
  SELECT near.feature_id, near.d,
         ST_Intersection(site.g, ST_SetSRID(ST_Buffer(near.geom::geography, {{d}})::geometry, 4490)) AS g
  FROM (SELECT p.feature_id, p.geom, {_GEODESIC} AS d
        FROM layers_overlay_piece p, site
        WHERE p.version_id = {{v}} AND p.geom && ST_Expand(site.g, {{d}} / 60000.0)
          AND ST_DWithin(ST_Scale(p.geom, %(k)s, 1), site.s, {{d}} / 100000.0)) near, site
  WHERE near.d <= {{d}}"""
_GROUPED = """
  SELECT '{tag}'::text AS tag, {v} AS version, {d}::float8 AS dist, f.fid, f.properties::text,
         f.area_m2, {distance} AS d, ST_AsBinary(ST_CollectionExtract(ST_Union(x.g), 3)) AS wkb
  FROM ({pieces}) x JOIN layers_feature f ON f.version_id = {v} AND f.id = x.feature_id
  GROUP BY f.id, f.fid, f.properties::text, f.area_m2"""
# The nearest feature where the site met nothing. A few candidates come from the GiST indexes
# alone (bounding-box order, <#> — exact <-> would first measure heavy polygons); the nearest of
# them in the scaled plane bounds the answer there, and every piece within that bound, widened
# by how far the scaled plane may be off (2 % + 5 % per degree), is measured geodesically. The
# site is inlined (the parameter, not the CTE's column): an index-ordered scan needs an
# expression it can compute once. The bound is a CTE read by InitPlans, so that the pieces are
# an index scan of its box, computed only when the branch runs.
_BOUND = """
bound_{v} AS MATERIALIZED (
  SELECT reach.s, ST_Expand(site.g, reach.s / %(k)s, reach.s) AS box
  FROM (SELECT nearest.s * (1.02 + 0.05 * nearest.s) + 1e-9 AS s
        FROM (SELECT min(ST_Distance(ST_Scale(c.geom, %(k)s, 1), site.s)) AS s
              FROM ((SELECT geom FROM layers_featurepart WHERE version_id = {v}
                     ORDER BY geom <#> {site} LIMIT 8)
                    UNION ALL
                    (SELECT geom FROM layers_feature WHERE version_id = {v} AND NOT subdivided
                     ORDER BY geom <#> {site} LIMIT 8)) c, site) nearest) reach, site)"""
_CANDIDATES = f"""
  (SELECT 'n'::text, {{v}}, NULL::float8, f.fid, f.properties::text, f.area_m2, n.d, NULL::bytea
   FROM (SELECT p.feature_id, min({_GEODESIC}) AS d
         FROM layers_overlay_piece p, site
         WHERE p.version_id = {{v}} AND p.geom && (SELECT box FROM bound_{{v}})
           AND ST_DWithin(ST_Scale(p.geom, %(k)s, 1), site.s, (SELECT s FROM bound_{{v}}))
         GROUP BY p.feature_id) n
   JOIN layers_feature f ON f.version_id = {{v}} AND f.id = n.feature_id
   WHERE {{when}}
   ORDER BY n.d, f.fid LIMIT 1)"""


@dataclass(frozen=True)
class LayerRef:
    """What a check needs of a layer: its names for the messages and its active version."""

    slug: str
    title_zh: str
    title_en: str
    active_version_id: int | None


@dataclass(frozen=True)
class State:
    """The present a check runs against: the active rule set (id, hash) and every layer."""

    ruleset: tuple[int, str] | None
    layers: dict[str, LayerRef]


# The rule set and the layers' active versions are mutable; read them together, fresh, per check.
# What they point at (rule-set content, version coverage) is immutable and cached per process.
_STATE = """SELECT r.id, r.content_hash,
  (SELECT json_agg(json_build_array(slug, title_zh, title_en, active_version_id)) FROM layers_layer)
FROM (SELECT) one LEFT JOIN compliance_ruleset r ON r.is_active"""


def read_state() -> State:
    """Read the active rule set and every layer's active version with one statement."""
    with connection.cursor() as cursor:
        execute_prepared(cursor, _STATE)
        ruleset_id, ruleset_hash, layers = cursor.fetchone()
    if isinstance(layers, str):
        layers = json.loads(layers)
    return State(None if ruleset_id is None else (ruleset_id, ruleset_hash),
                 {row[0]: LayerRef(*row) for row in layers or []})


@dataclass(frozen=True)
class Reads:
    """What a check needs to read: overlaps per version, features within (version, metres), and
    the nearest feature of a version when the site meets nothing there (per the same keys)."""

    overlaps: frozenset[int] = frozenset()
    within: frozenset[tuple[int, float]] = frozenset()
    nearest: frozenset[tuple[int, float | None]] = frozenset()  # (version, None: overlaps | metres)


@dataclass
class SiteData:
    overlaps: dict[int, list[Hit]]
    within: dict[tuple[int, float], list[Hit]]
    nearest: dict[int, Hit | None]


def read_site(site: shapely.Geometry, reads: Reads) -> SiteData:
    """Read everything a check needs about a site with one statement."""
    data = SiteData({v: [] for v in reads.overlaps}, {k: [] for k in reads.within}, {})
    branches = [_GROUPED.format(tag="o", v=int(v), d="NULL", distance="NULL::float8",
                                pieces=_PIECES.format(v=int(v))) for v in sorted(reads.overlaps)]
    branches += [_GROUPED.format(tag="w", v=int(v), d=float(d), distance="min(x.d)",
                                 pieces=_NEAR.format(v=int(v), d=float(d))) for v, d in sorted(reads.within)]
    if not branches:
        return data
    # NOT MATERIALIZED: the site becomes a constant in every branch, so each uses its GiST index.
    nearest = sorted({v for v, _ in reads.nearest})
    ctes = [f"site AS NOT MATERIALIZED (SELECT {_SITE} AS g, ST_Scale({_SITE}, %(k)s, 1) AS s)",
            f"hits AS ({' UNION ALL'.join(branches)})",
            *(_BOUND.format(v=int(v), site=_SITE) for v in nearest)]
    statement = f"WITH {', '.join(ctes)}\nSELECT * FROM hits"
    for version in nearest:
        empty = [f"NOT EXISTS (SELECT FROM hits WHERE version = {int(v)} AND "
                 + ("tag = 'o')" if d is None else f"tag = 'w' AND dist = {float(d)})")
                 for v, d in sorted(reads.nearest, key=str) if v == version]
        statement += "\nUNION ALL" + _CANDIDATES.format(v=int(version), when=" OR ".join(empty))
    with connection.cursor() as cursor:
        execute_prepared(cursor, statement, {"site": shapely.to_wkb(site),
                                             "k": crs.local_scale(shapely.centroid(site).y)})
        rows = cursor.fetchall()
    # Parsed in bulk (one JSON document, one WKB array): a large site meets thousands of features.
    properties = json.loads(f"[{','.join(row[4] or '{}' for row in rows)}]") if rows else []
    pieces = shapely.from_wkb([None if row[7] is None else bytes(row[7]) for row in rows])
    candidates: dict[int, list] = {}
    for (tag, version, dist, fid, _, area, distance, _), props, piece in zip(rows, properties, pieces,
                                                                              strict=True):
        if tag == "n":
            candidates.setdefault(version, []).append(Hit(fid, props, area, distance_m=distance))
        elif tag == "w":
            data.within[(version, dist)].append(Hit(fid, props, area, piece, distance))
        elif not piece.is_empty:
            data.overlaps[version].append(Hit(fid, props, area, piece))
    for hits in [*data.overlaps.values(), *data.within.values()]:
        hits.sort(key=lambda hit: (hit.distance_m or 0.0, hit.fid))
    data.nearest = {version: min(hits, key=lambda hit: (hit.distance_m, hit.fid))
                    for version, hits in candidates.items()}
    return data


@lru_cache(maxsize=256)
def _coverage(version_id: int) -> shapely.Geometry | None:
    """A version's coverage, prepared; versions are immutable, so it is read once per process."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_AsBinary(coverage) FROM layers_layerversion WHERE id = %s", [version_id])
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    coverage = shapely.from_wkb(bytes(row[0]))
    shapely.prepare(coverage)
    return coverage


def covered(site: shapely.Geometry,
            version_ids: list[int]) -> dict[int, tuple[bool, shapely.Geometry | None]]:
    """Say, per layer version, whether its coverage holds the whole site, and what lies outside."""
    result = {}
    for version_id in version_ids:
        coverage = _coverage(version_id)
        if coverage is None:
            result[version_id] = (False, site)
        elif coverage.covers(site):
            result[version_id] = (True, None)
        else:
            result[version_id] = (False, shapely.difference(site, coverage))
    return result
