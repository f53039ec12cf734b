"""What changed between two versions of a layer: features added, removed and changed, per county.

Set-wise in PostGIS. Features are matched by the layer's key fields (`Layer.feature_key`, e.g.
ZLDWDM,TBBH for farmland) when both versions have them filled and unique; otherwise by geometry:
equal after normalisation, or within GEOMETRY_TOLERANCE_M of each other (Hausdorff). A matched
pair whose attributes differ, or (matched by key) whose geometry moved by more than the
tolerance, is changed. Areas per county are ellipsoidal (layers.crs) of the parts inside each
county; a feature wholly inside one county keeps the area measured at its import.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely
from django.db import connection, transaction

from blueprint.errors import InvalidInput
from layers import crs
from layers.models import District, Layer, LayerVersion

__all__ = ["GEOMETRY_TOLERANCE_M", "DiffItem", "CountyChange", "VersionDiff", "diff_versions",
           "diff_geometries", "write_diff", "write_features", "DOWNLOAD_FORMATS"]

GEOMETRY_TOLERANCE_M = 0.01  # 1 cm: re-digitised vertices, not a change of the plan
_TOLERANCE_DEG = GEOMETRY_TOLERANCE_M / 111_320.0  # in latitude degrees; stricter in longitude
DOWNLOAD_FORMATS = {"gpkg": ("GPKG", "application/geopackage+sqlite3"),
                    "geojson": ("GeoJSON", "application/geo+json")}

_CHANGED_FIELDS = """
  ARRAY(SELECT coalesce(x.key, y.key) FROM jsonb_each(a.properties) x
        FULL JOIN jsonb_each(b.properties) y ON x.key = y.key
        WHERE x.value IS DISTINCT FROM y.value ORDER BY 1)"""
_MOVED = "NOT (a.geom = b.geom OR ST_HausdorffDistance(a.geom, b.geom) <= %(tol)s)"

_BY_KEY = f"""
CREATE TEMP TABLE bp_diff ON COMMIT DROP AS
WITH a AS (SELECT id, fid, properties, geom, {{key}} AS k FROM layers_feature WHERE version_id = %(a)s),
     b AS (SELECT id, fid, properties, geom, {{key}} AS k FROM layers_feature WHERE version_id = %(b)s)
SELECT CASE WHEN a.id IS NULL THEN 'added' WHEN b.id IS NULL THEN 'removed' ELSE 'changed' END AS change,
       coalesce(a.k, b.k) AS key, a.id AS a_id, a.fid AS a_fid, b.id AS b_id, b.fid AS b_fid,
       CASE WHEN a.id IS NOT NULL AND b.id IS NOT NULL THEN {_CHANGED_FIELDS}
         || CASE WHEN {_MOVED} THEN ARRAY['geometry'] ELSE ARRAY[]::text[] END END AS fields
FROM a FULL JOIN b ON a.k = b.k
WHERE a.id IS NULL OR b.id IS NULL OR a.properties <> b.properties OR {_MOVED}"""

# By geometry: equal normalised geometries pair off (the n-th copy with the n-th), then what is
# left pairs with the closest leftover within the tolerance, found through the partition's index.
_BY_GEOMETRY = f"""
CREATE TEMP TABLE bp_diff ON COMMIT DROP AS
WITH a AS (SELECT id, fid, properties, geom, h, row_number() OVER (PARTITION BY h ORDER BY id) AS n
           FROM (SELECT *, md5(ST_AsBinary(ST_Normalize(geom))) AS h FROM layers_feature
                 WHERE version_id = %(a)s) f),
     b AS (SELECT id, fid, properties, geom, h, row_number() OVER (PARTITION BY h ORDER BY id) AS n
           FROM (SELECT *, md5(ST_AsBinary(ST_Normalize(geom))) AS h FROM layers_feature
                 WHERE version_id = %(b)s) f),
     exact AS (SELECT a.id AS a_id, b.id AS b_id FROM a JOIN b ON a.h = b.h AND a.n = b.n),
     near_b AS (SELECT DISTINCT ON (b.id) fa.id AS a_id, b.id AS b_id
                FROM b JOIN layers_feature fa ON fa.version_id = %(a)s
                  AND fa.geom && ST_Expand(b.geom, %(tol)s)
                WHERE NOT EXISTS (SELECT FROM exact e WHERE e.b_id = b.id)
                  AND NOT EXISTS (SELECT FROM exact e WHERE e.a_id = fa.id)
                  AND ST_HausdorffDistance(fa.geom, b.geom) <= %(tol)s
                ORDER BY b.id, ST_HausdorffDistance(fa.geom, b.geom), fa.id),
     near AS (SELECT DISTINCT ON (a_id) a_id, b_id FROM near_b ORDER BY a_id, b_id),
     pairs AS (SELECT * FROM exact UNION ALL SELECT * FROM near)
SELECT 'changed'::text AS change, NULL::text AS key, a.id AS a_id, a.fid AS a_fid, b.id AS b_id,
       b.fid AS b_fid, {_CHANGED_FIELDS} AS fields
FROM pairs p JOIN a ON a.id = p.a_id JOIN b ON b.id = p.b_id WHERE a.properties <> b.properties
UNION ALL
SELECT 'removed', NULL, a.id, a.fid, NULL, NULL, NULL FROM a
WHERE NOT EXISTS (SELECT FROM pairs p WHERE p.a_id = a.id)
UNION ALL
SELECT 'added', NULL, NULL, NULL, b.id, b.fid, NULL FROM b
WHERE NOT EXISTS (SELECT FROM pairs p WHERE p.b_id = b.id)"""

# Each side's features of the diff met by each county, with the part inside when not wholly in
# it. The diff's features are fetched first (MATERIALIZED): the planner cannot estimate a county's
# box against a partition's index and would otherwise measure every feature of both versions.
_COUNTY_PIECES = """
WITH sides AS MATERIALIZED (
  SELECT x.a_id, x.b_id, x.change, 'a' AS side, f.area_m2, f.geom FROM bp_diff x
  JOIN layers_feature f ON f.version_id = %(a)s AND f.id = x.a_id
  UNION ALL
  SELECT x.a_id, x.b_id, x.change, 'b', f.area_m2, f.geom FROM bp_diff x
  JOIN layers_feature f ON f.version_id = %(b)s AND f.id = x.b_id)
SELECT s.a_id, s.b_id, s.change, s.side, d.code, s.area_m2,
       CASE WHEN ST_CoveredBy(s.geom, d.geom) THEN NULL
            ELSE ST_AsBinary(ST_CollectionExtract(ST_Intersection(s.geom, d.geom), 3)) END
FROM sides s JOIN layers_district d ON d.level = 'county' AND d.geom IS NOT NULL {counties}
  AND d.geom && s.geom AND ST_Intersects(d.geom, s.geom)"""


@dataclass
class DiffItem:
    change: str  # added | removed | changed
    key: str | None
    before_fid: int | None
    after_fid: int | None
    fields: list[str]


@dataclass
class CountyChange:
    """Counts and ellipsoidal areas (m²) of one county's part of a diff."""

    code: str
    name: str
    added: int = 0
    removed: int = 0
    changed: int = 0
    added_m2: float = 0.0
    removed_m2: float = 0.0
    changed_before_m2: float = 0.0
    changed_after_m2: float = 0.0

    @property
    def net_m2(self) -> float:
        return self.added_m2 - self.removed_m2 + self.changed_after_m2 - self.changed_before_m2

    def units(self, name: str) -> dict:
        return crs.area_units(getattr(self, name))


@dataclass
class VersionDiff:
    layer: Layer
    before: LayerVersion
    after: LayerVersion
    matched_by: str  # "key:ZLDWDM,TBBH" or "geometry"
    note: str = ""
    items: list[DiffItem] = field(default_factory=list)
    counties: list[CountyChange] = field(default_factory=list)

    def count(self, change: str) -> int:
        return sum(1 for item in self.items if item.change == change)


_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _key_expression(fields: list[str]) -> str:
    parts = [f"(properties->>'{name}')" for name in fields]  # names checked by _key_fields
    return f"concat_ws('|', {', '.join(parts)})" if len(parts) > 1 else parts[0]


def _key_fields(layer: Layer, versions: list[int]) -> tuple[list[str], str]:
    fields = [f.strip() for f in (layer.feature_key or "").split(",") if f.strip()]
    if not fields:
        return [], "图层未设置要素标识字段，按几何匹配。 (No key fields: matched by geometry.)"
    bad = [name for name in fields if not _FIELD_NAME.match(name) or name not in layer.fields]
    if bad:
        raise InvalidInput(f"图层 {layer.slug} 的标识字段 {bad} 不在其属性表中；请在后台改正“要素标识字段”。"
                           f" (Key fields {bad} are not in the layer's schema: correct them in the admin.)")
    with connection.cursor() as cursor:
        key = _key_expression(fields)
        cursor.execute(f"SELECT version_id, count(*) - count(DISTINCT {key}),"
                       f" count(*) FILTER (WHERE {' OR '.join('properties->>%s IS NULL' for _ in fields)})"
                       " FROM layers_feature WHERE version_id = ANY(%s) GROUP BY version_id",
                       [*fields, versions])
        for version_id, duplicates, missing in cursor.fetchall():
            if duplicates or missing:
                return [], (f"标识字段 {','.join(fields)} 在版本 {version_id} 中有 {duplicates} 个重复、"
                            f"{missing} 个缺失，按几何匹配。 (Key fields not unique or missing in a version:"
                            " matched by geometry.)")
    return fields, ""


def diff_versions(layer: Layer, before: LayerVersion, after: LayerVersion, *,
                  counties: list[str] | None = None) -> VersionDiff:
    """Compare two versions of a layer; `counties` limits the per-county table (and the items) to
    those county codes (a county planner's districts)."""
    if before.layer_id != layer.pk or after.layer_id != layer.pk:
        raise InvalidInput("两个版本须属于同一图层。 (Both versions must be of this layer.)")
    if before.pk == after.pk:
        raise InvalidInput("请选择两个不同的版本比较。 (Choose two different versions.)")
    fields, note = _key_fields(layer, [before.pk, after.pk])
    params = {"a": before.pk, "b": after.pk, "tol": _TOLERANCE_DEG}
    diff = VersionDiff(layer, before, after, f"key:{','.join(fields)}" if fields else "geometry", note)
    with transaction.atomic(), connection.cursor() as cursor:
        sql = _BY_KEY.format(key=_key_expression(fields)) if fields else _BY_GEOMETRY
        cursor.execute(sql, params)
        # A new temp table has no statistics: without them the planner measures every feature of
        # both versions against the counties (26 s on the city farmland) instead of the diff's.
        cursor.execute("ANALYZE bp_diff")
        diff.counties, touched = _county_changes(cursor, params, counties)
        cursor.execute("SELECT change, key, a_fid, b_fid, fields, a_id, b_id FROM bp_diff"
                       " ORDER BY change, key, a_fid, b_fid")
        for change, key, a_fid, b_fid, changed, a_id, b_id in cursor.fetchall():
            if counties is None or (a_id, b_id) in touched:
                diff.items.append(DiffItem(change, key, a_fid, b_fid, list(changed or [])))
        cursor.execute("DROP TABLE bp_diff")
    return diff


def _county_changes(cursor, params: dict, counties: list[str] | None):
    only = "AND d.code = ANY(%(counties)s)" if counties is not None else ""
    cursor.execute(_COUNTY_PIECES.format(counties=only), {**params, "counties": list(counties or [])})
    rows = cursor.fetchall()
    pieces = shapely.from_wkb([None if row[6] is None else bytes(row[6]) for row in rows])
    cut = np.array([row[6] is not None for row in rows], dtype=bool)
    areas = np.array([row[5] or 0.0 for row in rows], dtype=float)
    if cut.any():
        areas[cut] = crs.ellipsoidal_areas_m2(pieces[cut])
    names = dict(District.objects.filter(level=District.Level.COUNTY).values_list("code", "name"))
    table: dict[str, CountyChange] = {}
    counted, touched = defaultdict(set), set()
    for (a_id, b_id, change, side, code, _, _), area in zip(rows, areas, strict=True):
        county = table.setdefault(code, CountyChange(code, names.get(code, code)))
        touched.add((a_id, b_id))
        if (a_id, b_id) not in counted[code]:
            counted[code].add((a_id, b_id))
            setattr(county, change, getattr(county, change) + 1)
        name = {"added": "added_m2", "removed": "removed_m2"}.get(change) or (
            "changed_before_m2" if side == "a" else "changed_after_m2")
        setattr(county, name, getattr(county, name) + float(area))
    return sorted(table.values(), key=lambda c: c.code), touched


def diff_geometries(diff: VersionDiff, *, limit: int | None = None) -> list[dict]:
    """The diff's features as GeoJSON-ready rows (the new geometry; the old one when removed)."""
    wanted = diff.items[:limit] if limit else diff.items
    by_version = {diff.before.pk: [i.before_fid for i in wanted if i.change == "removed"],
                  diff.after.pk: [i.after_fid for i in wanted if i.change != "removed"]}
    shapes = {}
    with connection.cursor() as cursor:
        for version_id, fids in by_version.items():
            cursor.execute("SELECT fid, properties::text, ST_AsBinary(geom) FROM layers_feature"
                           " WHERE version_id = %s AND fid = ANY(%s)", [version_id, fids])
            for fid, props, wkb in cursor.fetchall():
                shapes[(version_id, fid)] = (props, shapely.from_wkb(bytes(wkb)))
    rows = []
    for item in wanted:
        version, fid = ((diff.before.pk, item.before_fid) if item.change == "removed"
                        else (diff.after.pk, item.after_fid))
        props, geom = shapes[(version, fid)]
        rows.append({"change": item.change, "key": item.key, "before_fid": item.before_fid,
                     "after_fid": item.after_fid, "fields": ",".join(item.fields),
                     "attributes": props, "geometry": geom})
    return rows


def write_diff(diff: VersionDiff, path: Path, fmt: str = "gpkg") -> Path:
    """Write the diff's features to a GeoPackage or GeoJSON file (EPSG:4490) with pyogrio."""
    if fmt not in DOWNLOAD_FORMATS:
        raise InvalidInput(f"不支持的下载格式 “{fmt}”，应为 {', '.join(DOWNLOAD_FORMATS)} 之一。"
                           f" (Unknown format '{fmt}'.)", field="format")
    rows = diff_geometries(diff)
    columns = {"change": str, "key": str, "before_fid": int, "after_fid": int, "fields": str,
               "attributes": str}
    write_features(path, [row["geometry"] for row in rows],
                   {name: [row[name] for row in rows] for name in columns},
                   driver=DOWNLOAD_FORMATS[fmt][0],
                   layer=f"{diff.layer.slug}_v{diff.before.number}_v{diff.after.number}")
    return path


def _typed(values: list) -> np.ndarray:
    """A column as GDAL should type it: integers, reals (None as NaN) or text."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        if len(present) == len(values) and all(isinstance(v, int) for v in present):
            return np.array(values, dtype=np.int64)
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return np.array(values, dtype=object)


def write_features(path: Path, geoms: list, columns: dict[str, list], *, driver: str, layer: str) -> None:
    """Write polygons with attribute columns (None: empty) to a file in EPSG:4490 (pyogrio)."""
    wkb = np.array([shapely.to_wkb(shapely.force_2d(g)) for g in geoms], dtype=object)
    data = [_typed(values) for values in columns.values()]
    pyogrio.raw.write(str(path), wkb, data, list(columns), driver=driver, crs="EPSG:4490",
                      geometry_type="MultiPolygon", layer=layer, promote_to_multi=True)
