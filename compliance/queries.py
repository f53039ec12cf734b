"""The PostGIS side of a check: what a site meets in one layer version.

Overlays run on layers_overlay_piece: heavy features cut into pieces of few vertices, light ones
whole, each version in its own partition with its own GiST index. Areas are measured
afterwards, on the ellipsoid, by layers.crs; nearest distances are geodesic (PostGIS geography).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import shapely
from django.db import connection

from blueprint.db import execute_prepared

__all__ = ["Hit", "Reads", "SiteData", "LayerRef", "State", "read_state", "read_site", "covered"]

_SITE = "ST_GeomFromWKB(%(site)s, 4490)"


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
# the index scan; the geodesic test is exact. Buffers are of the small subdivided pieces, and
# come back from geography in EPSG:4326, which CGCS2000 matches within centimetres.
_NEAR = """
  SELECT p.feature_id, ST_Distance(p.geom::geography, site.g::geography) AS d,
         ST_Intersection(site.g, ST_SetSRID(ST_Buffer(p.geom::geography, {d})::geometry, 4490)) AS g
  FROM layers_overlay_piece p, site
  WHERE p.version_id = {v} AND p.geom && ST_Expand(site.g, {d} / 60000.0)
    AND ST_DWithin(p.geom::geography, site.g::geography, {d})"""
_GROUPED = """
  SELECT '{tag}'::text AS tag, {v} AS version, {d}::float8 AS dist, f.fid, f.properties::text,
         f.area_m2, {distance} AS d, ST_AsBinary(ST_CollectionExtract(ST_Union(x.g), 3)) AS wkb
  FROM ({pieces}) x JOIN layers_feature f ON f.version_id = {v} AND f.id = x.feature_id
  GROUP BY f.id, f.fid, f.properties::text, f.area_m2"""
# Candidates are ranked by bounding-box distance (<#>), answered from each branch's GiST index
# alone — exact <-> would first measure heavy polygons the branch then filters out. Pieces are
# small, so the nearest feature is among the first few. Each candidate's distance is the
# geodesic length of its planar shortest line to the site. The site is inlined (the parameter, not
# the CTE's column): an index-ordered scan needs an expression it can compute once.
_CANDIDATES = """
  SELECT 'n'::text, {v}, NULL::float8, f.fid, f.properties::text, f.area_m2,
         ST_Length(ST_ShortestLine(c.geom, {site})::geography), NULL::bytea
  FROM ((SELECT feature_id, geom FROM layers_featurepart WHERE version_id = {v}
         ORDER BY geom <#> {site} LIMIT 8)
        UNION ALL
        (SELECT id, geom FROM layers_feature WHERE version_id = {v} AND NOT subdivided
         ORDER BY geom <#> {site} LIMIT 8)) c
  JOIN layers_feature f ON f.version_id = {v} AND f.id = c.feature_id
  WHERE {when}"""


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
    statement = (f"WITH site AS NOT MATERIALIZED (SELECT {_SITE} AS g),\n"
                 f"hits AS ({' UNION ALL'.join(branches)})\nSELECT * FROM hits")
    for version in sorted({v for v, _ in reads.nearest}):
        empty = [f"NOT EXISTS (SELECT FROM hits WHERE version = {int(v)} AND "
                 + ("tag = 'o')" if d is None else f"tag = 'w' AND dist = {float(d)})")
                 for v, d in sorted(reads.nearest, key=str) if v == version]
        statement += "\nUNION ALL" + _CANDIDATES.format(v=int(version), site=_SITE, when=" OR ".join(empty))
    with connection.cursor() as cursor:
        execute_prepared(cursor, statement, {"site": shapely.to_wkb(site)})
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
