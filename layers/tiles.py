"""Mapbox vector tiles of a layer version, made by PostGIS (ST_AsMVT) in one statement.

Two tile matrix sets: WebMercatorQuad (EPSG:3857, 1 × 1 tiles at zoom 0) and WorldCRS84Quad
(lon/lat, 2 × 1 at zoom 0). The tile arithmetic is plain spherical-Mercator and degree maths
(no pyproj: CGCS2000 lon/lat is taken as WGS 84 lon/lat, as every web map does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db import connections, transaction

from blueprint.errors import InvalidInput, NotFound
from blueprint.routers import read_alias
from layers.models import FeaturePart, Layer

__all__ = ["TILE_MATRIX_SETS", "EXTENT", "TileRequest", "TileSpec", "tile_fields", "tile_request",
           "render_tile", "tile_geometries", "has_parts"]

EXTENT, BUFFER = 4096, 256  # MVT grid units per tile side, and the margin kept around it
MAX_ZOOM = {"WebMercatorQuad": 22, "WorldCRS84Quad": 21}
TILE_MATRIX_SETS = tuple(MAX_ZOOM)
SIMPLIFY_UNITS = 4  # Douglas–Peucker tolerance in MVT units (16 units make one 256-px screen pixel)
MIN_FEATURE_PIXELS = 1.0  # polygons smaller than this many 256-px screen pixels are left out
PARTS_BELOW_DEGREES = 0.1  # in narrower tiles heavy polygons are read from their subdivided pieces
MAX_TILE_FIELDS = 4

# The attributes a map needs to label and tell features apart; the rest stays in the Features API.
TILE_FIELDS = {
    "admin_district": ["XZQDM", "XZQMC", "JB"],
    "ecological_redline": ["BSM", "XJXZQMC", "LHLX"],
    "basic_farmland": ["TBBH", "DLMC", "GDPDJB", "YJJBNTTBMJ"],
    "urban_development_boundary": ["BSM", "XZQMC", "GHFQMC"],
    "urban_space": ["KJLX", "XZQMC"],
    "agricultural_space": ["KJLX", "XZQMC"],
    "ecological_space": ["KJLX", "XZQMC"],
    "water_body": ["MC", "LX"],
    "project_site": ["XMDM", "XMMC", "JD", "XZQDM"],
}
_CASTS = {"number": "::float8", "integer": "::bigint"}


def tile_fields(layer: Layer) -> dict[str, str]:
    """The attributes (name → schema type) a layer's tiles carry: its key fields, or its first few."""
    names = [n for n in TILE_FIELDS.get(layer.slug, []) if n in layer.fields] or \
        list(layer.fields)[:MAX_TILE_FIELDS]
    return {name: layer.fields[name] for name in names}


def has_parts(version_id: int | None) -> bool:
    """Whether a version has subdivided pieces (one index probe of its parts partition)."""
    return version_id is not None and FeaturePart.objects.filter(version_id=version_id).exists()


@dataclass(frozen=True)
class TileSpec:
    """What a layer's tiles are made of: its active version and how its features are drawn.

    A live layer (layers/sites.py) has no version: `live` is the SQL selecting its features
    (fid, properties, geom, area_m2) as the caller may see them.
    """

    slug: str
    version_id: int | None
    fields: dict[str, str]
    polygonal: bool
    extent: tuple[float, float, float, float] | None  # lon/lat bounds of the version
    has_parts: bool = True  # whether any feature was subdivided (else small tiles skip the pieces)
    live: str = ""


@dataclass(frozen=True)
class TileRequest:
    """One tile: its matrix set, indices and lon/lat bounds (without and with the buffer)."""

    tms: str
    z: int
    x: int
    y: int
    bounds: tuple[float, float, float, float]
    query_bounds: tuple[float, float, float, float]

    @property
    def mercator(self) -> bool:
        return self.tms == "WebMercatorQuad"


def tile_request(tms: str, z: str | int, y: str | int, x: str | int) -> TileRequest:
    """Check a tile address (z = tileMatrix, y = tileRow, x = tileCol) and compute its bounds."""
    if tms not in MAX_ZOOM:
        raise NotFound(f"没有瓦片矩阵集 {tms}，可用 {', '.join(TILE_MATRIX_SETS)}"
                       f" (unknown tile matrix set {tms}; use one of {', '.join(TILE_MATRIX_SETS)})")
    try:
        z, y, x = int(z), int(y), int(x)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"瓦片层级、行、列须为整数: {z}/{y}/{x}"
                           f" (tileMatrix, tileRow and tileCol must be integers: {z}/{y}/{x})") from exc
    cols, rows = _matrix_size(tms, z) if 0 <= z <= MAX_ZOOM[tms] else (0, 0)
    if not (0 <= x < cols and 0 <= y < rows):
        raise NotFound(f"瓦片 {z}/{y}/{x} 不在 {tms} 范围内（层级 0–{MAX_ZOOM[tms]}，行列从 0 起）"
                       f" (tile {z}/{y}/{x} is outside {tms}: zoom 0–{MAX_ZOOM[tms]},"
                       f" rows and columns from 0 to the matrix size − 1)")
    margin = BUFFER / EXTENT
    return TileRequest(tms, z, x, y, _bounds(tms, z, x, y, 0.0), _bounds(tms, z, x, y, margin))


def render_tile(spec: TileSpec, tile: TileRequest) -> bytes | None:
    """The MVT bytes of a layer version in a tile; None when the tile holds nothing.

    A tile that misses the version's extent is answered without touching the feature table.
    """
    if spec.extent is None or not _overlaps(tile.query_bounds, spec.extent):
        return None
    data = _run(*_statement(spec, tile, _MVT_OUTPUT))[0][0]
    return bytes(data) if data else None


def tile_geometries(spec: TileSpec, tile: TileRequest) -> list[bytes]:
    """The WKB geometries a layer version's vector tile holds, in the tile's MVT grid (0–EXTENT, y down).

    The same features, simplification, clipping and subdivided pieces as `render_tile`, for a
    client drawing the tile on the server (the PNG map tiles); [] when the tile holds nothing.
    """
    if spec.extent is None or not _overlaps(tile.query_bounds, spec.extent):
        return []
    return [bytes(row[0]) for row in _run(*_statement(spec, tile, _WKB_OUTPUT))]


def _run(statement: str, params: dict) -> list[tuple]:
    alias = read_alias()  # the replica for a map's tiles when it is up to date (blueprint/routers.py)
    # One tile is a few milliseconds of work: starting parallel workers costs more than it saves.
    serial = "SET LOCAL max_parallel_workers_per_gather = 0"
    # In a request's transaction (api.ogc.guard): no savepoint of our own; the setting then lasts to
    # the end of that request.
    if connections[alias].in_atomic_block:
        with connections[alias].cursor() as cursor:
            cursor.execute(serial)
            cursor.execute(statement, params)
            return cursor.fetchall()
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute(serial)
        cursor.execute(statement, params)
        return cursor.fetchall()


def _matrix_size(tms: str, z: int) -> tuple[int, int]:
    return (2 ** z, 2 ** z) if tms == "WebMercatorQuad" else (2 ** (z + 1), 2 ** z)


def _bounds(tms: str, z: int, x: int, y: int, margin: float) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of the tile grown by `margin` tiles on each side."""
    if tms == "WebMercatorQuad":
        n = 2 ** z
        lon = [(x - margin) / n * 360 - 180, (x + 1 + margin) / n * 360 - 180]
        lat = [_mercator_lat(min(n, y + 1 + margin) / n), _mercator_lat(max(0.0, y - margin) / n)]
        return max(lon[0], -180.0), lat[0], min(lon[1], 180.0), lat[1]
    size = 180 / 2 ** z
    west, north = -180 + x * size, 90 - y * size
    return (max(west - margin * size, -180.0), max(north - (1 + margin) * size, -90.0),
            min(west + (1 + margin) * size, 180.0), min(north + margin * size, 90.0))


def _mercator_lat(row_fraction: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row_fraction))))


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _statement(spec: TileSpec, tile: TileRequest, output: str) -> tuple[str, dict]:
    west, south, east, north = tile.bounds
    lat = math.radians((south + north) / 2)
    pixel_m = (east - west) / 256 * 111_320 * math.cos(lat)  # ground width of a 256-px screen pixel
    tolerance = (east - west) / EXTENT * SIMPLIFY_UNITS * (math.cos(lat) if tile.mercator else 1.0)
    params = {"v": spec.version_id, "name": spec.slug, "tol": tolerance, "min_area": MIN_FEATURE_PIXELS
              * pixel_m ** 2, "z": tile.z, "x": tile.x, "y": tile.y, "west": west, "south": south,
              "east": east, "north": north, **dict(zip(("qw", "qs", "qe", "qn"), tile.query_bounds,
                                                       strict=True))}
    keep = " AND f.area_m2 >= %(min_area)s" if spec.polygonal else ""
    # A live layer's SQL carries its bound values: its % doubled for the statement's own parameters.
    source = (_LIVE.format(keep=keep, live=spec.live.replace("%", "%%")) if spec.live else
              (_PARTS if spec.has_parts and east - west < PARTS_BELOW_DEGREES else _WHOLE).format(keep=keep))
    envelope = ("ST_TileEnvelope(%(z)s, %(x)s, %(y)s)" if tile.mercator
                else "ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)")
    projected = ("ST_Transform(ST_SetSRID({}, 4326), 3857)" if tile.mercator else "ST_SetSRID({}, 4326)")
    columns = "".join(f", (s.properties->{_literal(name)}){_CASTS.get(kind, '')} AS {_identifier(name)}"
                      if kind in _CASTS else f", s.properties->>{_literal(name)} AS {_identifier(name)}"
                      for name, kind in spec.fields.items()) if output == _MVT_OUTPUT else ""
    geometry = projected.format("ST_Simplify(s.g, %(tol)s)")
    statement = _TILE_SQL.format(envelope=envelope, source=source, columns=columns,
                                 geometry=geometry, output=output)
    return statement, params


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''").replace("%", "%%") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""').replace("%", "%%") + '"'


# Clip to the buffered tile in lon/lat first: a 200 000-vertex zone then costs only what lies in the
# tile when it is simplified and projected. ST_AsMVTGeom clips again exactly and repairs validity.
_TILE_SQL = """WITH b AS MATERIALIZED (
  SELECT {envelope} AS env, ST_MakeEnvelope(%(qw)s, %(qs)s, %(qe)s, %(qn)s, 4490) AS q),
s AS ({source})
SELECT {output} FROM (
  SELECT s.fid{columns}, ST_AsMVTGeom({geometry}, b.env, {extent}, {buffer}, true) AS geom
  FROM s, b) t
WHERE t.geom IS NOT NULL""".replace("{extent}", str(EXTENT)).replace("{buffer}", str(BUFFER))
_MVT_OUTPUT = f"ST_AsMVT(t, %(name)s, {EXTENT}, 'geom', 'fid')"
_WKB_OUTPUT = "ST_AsBinary(t.geom)"

_WHOLE = """SELECT f.fid, f.properties, ST_ClipByBox2D(f.geom, b.q) AS g FROM layers_feature f, b
  WHERE f.version_id = %(v)s AND f.geom && b.q{keep}"""

# A live layer's features (a subquery whose values are already bound), the same columns.
_LIVE = """SELECT f.fid, f.properties, ST_ClipByBox2D(f.geom, b.q) AS g FROM ({live}) f, b
  WHERE f.geom && b.q{keep}"""

# Heavy polygons in a small tile: only their pieces (≤ SUBDIVIDE_MAX_VERTICES) in the tile, merged
# again per feature so that no seam between pieces shows.
_PARTS = _WHOLE + """ AND NOT f.subdivided
  UNION ALL
  SELECT f.fid, f.properties, ST_ClipByBox2D(h.g, b.q) FROM b, (
    SELECT p.feature_id, ST_Union(p.geom) AS g FROM layers_featurepart p, b
    WHERE p.version_id = %(v)s AND p.geom && b.q GROUP BY p.feature_id) h
  JOIN layers_feature f ON f.version_id = %(v)s AND f.id = h.feature_id
  WHERE true{keep}"""
