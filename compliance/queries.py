"""The PostGIS side of a check: what a site meets in one layer version.

Overlays run on layers_overlay_piece: heavy features cut into pieces of few vertices, light ones
whole, each version in its own partition with its own GiST index. Areas are measured
afterwards, on the ellipsoid, by layers.crs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import shapely
import shapely.ops
from django.db import connection

from layers import crs

__all__ = ["Hit", "overlaps", "nearest", "within_distance", "covered"]

_SITE = "ST_GeomFromWKB(%(site)s, 4490)"


@dataclass
class Hit:
    """A feature of the layer and the piece of the site it covers (or its distance)."""

    fid: int
    properties: dict
    feature_area_m2: float | None
    piece: shapely.Geometry | None = None
    distance_m: float | None = None

    def __post_init__(self) -> None:
        # Django leaves jsonb as text on raw cursors.
        if isinstance(self.properties, str):
            self.properties = json.loads(self.properties)


_OVERLAPS = f"""
WITH site AS (SELECT {_SITE} AS g),
pieces AS (
  SELECT p.feature_id, ST_Intersection(p.geom, site.g) AS g
  FROM layers_overlay_piece p, site
  WHERE p.version_id = %(version)s AND p.geom && site.g AND ST_Intersects(p.geom, site.g)
)
SELECT f.fid, f.properties, f.area_m2,
       ST_AsBinary(ST_CollectionExtract(ST_Union(pieces.g), 3))
FROM pieces JOIN layers_feature f ON f.version_id = %(version)s AND f.id = pieces.feature_id
GROUP BY f.id, f.fid, f.properties, f.area_m2 ORDER BY f.fid
"""


def overlaps(site: shapely.Geometry, version_id: int) -> list[Hit]:
    """Return every feature whose area the site overlaps, with the overlapping piece."""
    with connection.cursor() as cursor:
        cursor.execute(_OVERLAPS, {"site": shapely.to_wkb(site), "version": version_id})
        rows = cursor.fetchall()
    hits = [Hit(fid, props, area, shapely.from_wkb(bytes(piece))) for fid, props, area, piece in rows]
    return [hit for hit in hits if not hit.piece.is_empty]


# Candidates are ranked by bounding-box distance (<#>), answered from each branch's GiST index
# alone — exact <-> would first measure heavy polygons the branch then filters out. Pieces are
# small, so the nearest feature is among the first few; the geodesic distance then picks it.
# The site is inlined as a constant: an index-ordered scan needs one.
_CANDIDATES = f"""
WITH candidates AS (
  (SELECT feature_id, geom FROM layers_featurepart WHERE version_id = %(version)s
   ORDER BY geom <#> {_SITE} LIMIT 8)
  UNION ALL
  (SELECT id, geom FROM layers_feature WHERE version_id = %(version)s AND NOT subdivided
   ORDER BY geom <#> {_SITE} LIMIT 8)
)
SELECT f.fid, f.properties, f.area_m2, ST_AsBinary(c.geom)
FROM candidates c JOIN layers_feature f ON f.version_id = %(version)s AND f.id = c.feature_id
"""


def nearest(site: shapely.Geometry, version_id: int) -> Hit | None:
    """Return the feature nearest to the site with its geodesic distance in metres."""
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES, {"site": shapely.to_wkb(site), "version": version_id})
        rows = cursor.fetchall()
    best = None
    for fid, props, area, piece in rows:
        near_site, near_piece = shapely.ops.nearest_points(site, shapely.from_wkb(bytes(piece)))
        distance = crs.geodesic_distance_m(near_site.x, near_site.y, near_piece.x, near_piece.y)
        if best is None or distance < best.distance_m:
            best = Hit(fid, props, area, distance_m=distance)
    return best


# A degree box wide enough for `distance` metres at Chinese latitudes (cos 54° ≈ 0.59) narrows
# the index scan; the geodesic test is exact. Buffers are of the small subdivided pieces, and
# come back from geography in EPSG:4326, which CGCS2000 matches within centimetres.
_WITHIN = f"""
WITH site AS (SELECT {_SITE} AS g),
near AS (
  SELECT p.feature_id, ST_Distance(p.geom::geography, site.g::geography) AS d,
         ST_Intersection(site.g, ST_SetSRID(ST_Buffer(p.geom::geography, %(distance)s)::geometry, 4490)) AS g
  FROM layers_overlay_piece p, site
  WHERE p.version_id = %(version)s
    AND p.geom && ST_Expand(site.g, %(distance)s / 60000.0)
    AND ST_DWithin(p.geom::geography, site.g::geography, %(distance)s)
)
SELECT f.fid, f.properties, f.area_m2, min(near.d),
       ST_AsBinary(ST_CollectionExtract(ST_Union(near.g), 3))
FROM near JOIN layers_feature f ON f.version_id = %(version)s AND f.id = near.feature_id
GROUP BY f.id, f.fid, f.properties, f.area_m2 ORDER BY 4
"""


def within_distance(site: shapely.Geometry, version_id: int, distance_m: float) -> list[Hit]:
    """Return the features within `distance_m` of the site and the part of the site that close."""
    with connection.cursor() as cursor:
        cursor.execute(_WITHIN, {"site": shapely.to_wkb(site), "version": version_id,
                                 "distance": distance_m})
        rows = cursor.fetchall()
    return [Hit(fid, props, area, shapely.from_wkb(bytes(piece)), distance_m=dist)
            for fid, props, area, dist, piece in rows]


def covered(site: shapely.Geometry,
            version_ids: list[int]) -> dict[int, tuple[bool, shapely.Geometry | None]]:
    """Say, per layer version, whether its coverage holds the whole site, and what lies outside."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH site AS (SELECT {_SITE} AS g)
            SELECT id, coverage IS NOT NULL AND ST_CoveredBy(site.g, coverage),
                   ST_AsBinary(CASE WHEN coverage IS NULL THEN site.g
                                    WHEN ST_CoveredBy(site.g, coverage) THEN NULL
                                    ELSE ST_Difference(site.g, coverage) END)
            FROM layers_layerversion, site WHERE id = ANY(%(versions)s)""",
                       {"site": shapely.to_wkb(site), "versions": list(version_ids)})
        rows = cursor.fetchall()
    return {vid: (inside, None if inside else shapely.from_wkb(bytes(outside)))
            for vid, inside, outside in rows}
