"""What a site is judged against (用地周边管控要素): the features of given layer versions around a site,
clipped to a box SITE_CONTEXT_M metres beyond the site's extent, as GeoJSON for the page script.

Clipping on the server is the point: a red-line polygon may reach across a county; only the part
near the site leaves the database. Which layers a caller gets is the access policy's question
(`maps.access.context_layers`), not this module's.
"""

from __future__ import annotations

import json

from django.db import connection

from layers.crs import geodesic_distance_m
from layers.models import Layer
from layers.styles import layer_style

__all__ = ["context_box", "features_near", "MAX_CONTEXT_FEATURES"]

MAX_CONTEXT_FEATURES = 500  # per layer; a site's surroundings rarely hold more

# A clipped polygon's new edges along the box are not the feature's boundary: the fill is clipped,
# and the outline drawn is the feature's own boundary clipped to the box (lines and points as they are).
_SQL = """
SELECT fid, properties, area_m2, ST_AsGeoJSON(ST_ClipByBox2D(geom, box.g), 7),
       CASE WHEN ST_Dimension(geom) = 2
            THEN ST_AsGeoJSON(ST_Intersection(ST_Boundary(geom), box.g), 7) END
FROM layers_feature, (SELECT ST_MakeEnvelope(%s, %s, %s, %s, 4490) AS g) AS box
WHERE version_id = %s AND geom && box.g AND ST_Intersects(geom, box.g)
ORDER BY fid LIMIT %s
"""


Box = tuple[float, float, float, float]


def context_box(extent: Box, metres: float) -> Box:
    """Grow a lon/lat extent by `metres` on each side (degrees measured on the ellipsoid there)."""
    west, south, east, north = extent
    lat = (south + north) / 2
    per_lat = geodesic_distance_m(west, lat - 0.5, west, lat + 0.5)  # metres per degree, locally
    per_lon = geodesic_distance_m(west - 0.5, lat, west + 0.5, lat)
    dx, dy = metres / per_lon, metres / per_lat
    return west - dx, south - dy, east + dx, north + dy


def features_near(box: Box, layers: list[tuple[Layer, int]],
                  english: bool = False) -> list[dict]:
    """Per (layer, version id): its features meeting `box`, clipped to it, with the layer's title
    and style; at most MAX_CONTEXT_FEATURES each (`truncated` says when more were there)."""
    out = []
    with connection.cursor() as cursor:
        for layer, version_id in layers:
            cursor.execute(_SQL, [*box, version_id, MAX_CONTEXT_FEATURES + 1])
            rows = cursor.fetchall()
            features = [{"type": "Feature", "id": fid, "geometry": json.loads(shape),
                         "outline": json.loads(outline) if outline else None,
                         "properties": {**_props(props), "_area_m2": area}}
                        for fid, props, area, shape, outline in rows[:MAX_CONTEXT_FEATURES] if shape]
            out.append({"slug": layer.slug, "title": layer.title_en if english else layer.title_zh,
                        "style": layer_style(layer.slug), "truncated": len(rows) > MAX_CONTEXT_FEATURES,
                        "features": {"type": "FeatureCollection", "features": features}})
    return out


def _props(value) -> dict:
    return json.loads(value) if isinstance(value, str) else (value or {})
