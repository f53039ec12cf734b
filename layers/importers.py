"""Import a vector file into a new, immutable layer version, all or nothing.

The file is read in Arrow batches (memory stays bounded), converted to CGCS2000 and COPY'd
into a staging table; PostGIS then validates, repairs, measures and subdivides in bulk into a
new partition of the feature tables, indexed once and attached. Everything happens in one
transaction, so a failed or killed import leaves the previous version active and no row of the
new one visible.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
import shapely
from django.conf import settings
from django.db import connection, transaction
from pyogrio.errors import DataLayerError, DataSourceError

from blueprint.errors import InvalidInput, NotFound
from layers import crs
from layers.attributes import SQL_TYPES, AttributeMapper
from layers.models import District, Layer, LayerVersion
from layers.services import DISTRICT_LAYER, on_version_activated

__all__ = ["ImportSummary", "import_layer", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = (".geojson", ".json", ".gpkg", ".kml", ".zip", ".shp")
_POLYGONAL = {"Polygon", "MultiPolygon"}
_LINEAR = {"LineString", "MultiLineString"}
_PUNTAL = {"Point", "MultiPoint"}
_FAMILIES = {"Polygon": _POLYGONAL, "MultiPolygon": _POLYGONAL, "LineString": _LINEAR,
             "MultiLineString": _LINEAR, "Point": _PUNTAL, "MultiPoint": _PUNTAL}


@dataclass
class ImportSummary:
    """What an import did, for the command line, the admin and the tests."""

    layer: str
    version: int
    created: bool
    features: int = 0
    area_m2: float = 0.0
    bbox: tuple[float, float, float, float] | None = None
    repaired: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    dropped_fields: list[str] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)
    source_crs: str = ""
    seconds: float = 0.0


def file_hash(path: Path) -> str:
    """Return the SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_layer(slug: str, path: str | Path, *, imported_by: str = "",
                 coverage: list[str] | None = None,
                 on_progress: Callable[[int, int], None] | None = None) -> ImportSummary:
    """Import `path` as a new version of layer `slug` and make it active, or change nothing.

    `coverage` lists the district codes the data is complete for; by default, the counties its
    features touch (the district layer covers itself).
    """
    path = Path(path)
    layer = Layer.objects.filter(slug=slug).first()
    if layer is None:
        raise NotFound(f"图层 “{slug}” 未登记。请先登记该图层 (import_layer --create …)。"
                       f" (Layer '{slug}' is not registered: register it first.)")
    info = _read_info(path)
    digest = file_hash(path)
    existing = LayerVersion.objects.filter(layer=layer, content_hash=digest).first()
    if existing:
        return ImportSummary(layer=slug, version=existing.number, created=False,
                             features=existing.feature_count, area_m2=existing.area_m2,
                             source_crs=existing.source_crs)
    source = _source_crs(info, path)
    _check_geometry_type(info["geometry_type"], layer, path)
    mapper = AttributeMapper(layer.fields, list(info["fields"]), [str(d) for d in info["dtypes"]])
    started = time.monotonic()
    with transaction.atomic():
        # Lock the layer so that two imports of it cannot race for the next version number.
        layer = Layer.objects.select_for_update().get(pk=layer.pk)
        version = LayerVersion.objects.create(
            layer=layer, number=_next_number(layer), content_hash=digest,
            source_name=path.name, source_crs=source.label, imported_by=imported_by)
        with connection.cursor() as cursor:
            rejected = _stage(cursor, path, source, layer, mapper, info["features"], on_progress)
            summary = _finish(cursor, layer, version, mapper, rejected)
        _set_coverage(version, coverage)
    summary.dropped_fields, summary.missing_fields = mapper.dropped, mapper.missing
    summary.seconds = round(time.monotonic() - started, 2)
    return summary


def _read_info(path: Path) -> dict:
    if not path.exists():
        raise InvalidInput(f"文件不存在: {path} (No such file.)")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InvalidInput(
            f"不支持的文件类型 “{path.suffix}”。支持 GeoJSON、GeoPackage、KML、Shapefile (zip 打包)。"
            f" (Unsupported file type '{path.suffix}': use GeoJSON, GeoPackage, KML or a zipped"
            " Shapefile.)")
    if path.suffix.lower() == ".zip":
        _check_zip(path)
    try:
        info = pyogrio.read_info(path)
    except (DataSourceError, DataLayerError) as exc:
        raise InvalidInput(f"无法读取文件 {path.name}：文件损坏或格式不符。 (Cannot read {path.name}:"
                           f" corrupt or not a vector file: {str(exc)[:200]})") from exc
    if info["features"] == 0:
        raise InvalidInput(f"文件 {path.name} 中没有要素。 ({path.name} contains no features.)")
    return info


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            names = archive.namelist()
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"压缩包 {path.name} 已损坏，无法解压。请重新打包。"
                           f" (The zip file {path.name} is corrupt: zip it again.)") from exc
    if bad is not None:
        raise InvalidInput(f"压缩包 {path.name} 中的 {bad} 已损坏。 ({bad} in {path.name} is corrupt.)")
    if not any(name.lower().endswith(".shp") for name in names):
        raise InvalidInput(f"压缩包 {path.name} 中没有 .shp 文件。 (No .shp file in {path.name}.)")


_GEOJSON_CRS = re.compile(rb'"crs"\s*:\s*\{[^{}]*"properties"\s*:\s*\{[^{}]*"name"\s*:\s*"([^"]+)"')


def _source_crs(info: dict, path: Path) -> crs.SourceCRS:
    if path.suffix.lower() in (".geojson", ".json"):
        # GDAL quietly reads an unknown GeoJSON "crs" member as EPSG:4326; a declared CRS we
        # cannot resolve must stop the import instead. The member comes before the features.
        with path.open("rb") as handle:
            declared = _GEOJSON_CRS.search(handle.read(65536))
        if declared:
            return crs.parse_crs(declared.group(1).decode("utf-8", "replace"))
    if not info.get("crs"):
        raise InvalidInput(
            f"文件 {path.name} 没有坐标系信息 (Shapefile 缺少 .prj?)。请附上 .prj 或另存为带坐标系的格式。"
            f" ({path.name} has no CRS — a Shapefile without .prj? Add the .prj file.)")
    return crs.parse_crs(info["crs"])


def _check_geometry_type(declared: str, layer: Layer, path: Path) -> None:
    family = _FAMILIES.get(layer.geometry_type)
    base = (declared or "Unknown").replace(" Z", "").replace(" M", "")
    if family is None or base == "Unknown" or base in family:
        return  # "Unknown" (e.g. GeoJSON) is checked feature by feature while staging
    raise InvalidInput(
        f"{path.name} 的几何类型为 {base}，而图层 {layer.slug} 需要 {layer.geometry_type}。"
        f" ({path.name} holds {base}; layer {layer.slug} takes {layer.geometry_type}.)")


def _next_number(layer: Layer) -> int:
    last = layer.versions.order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


def _batches(path: Path, batch_size: int) -> Iterator[tuple[list, np.ndarray, dict]]:
    """Yield (fids, geometries, arrow columns) per batch of the file."""
    try:
        with pyogrio.open_arrow(path, batch_size=batch_size, return_fids=True,
                                use_pyarrow=True) as (meta, reader):
            fid_column = meta.get("fid_column") or "OGC_FID"
            for batch in reader:
                # GDAL names an unnamed geometry column "wkb_geometry": take whatever is left.
                geometry_column = meta["geometry_name"] or next(
                    name for name in batch.schema.names
                    if name != fid_column and name not in set(meta["fields"]))
                columns = {name: batch.column(name) for name in batch.schema.names}
                fids = columns.pop(fid_column).to_pylist()
                geoms = shapely.force_2d(shapely.from_wkb(columns.pop(geometry_column).to_numpy(
                    zero_copy_only=False), on_invalid="warn"))
                yield fids, geoms, columns
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise InvalidInput(f"读取 {path.name} 时出错：文件可能已损坏。 (Reading {path.name} failed:"
                           f" the file may be corrupt: {str(exc)[:200]})") from exc


def _stage(cursor, path, source, layer, mapper, total, on_progress) -> list[dict]:
    """COPY the file into a temporary staging table, batch by batch; return rejected features."""
    columns = ", ".join(f"f{i} {SQL_TYPES[kind]}" for i, kind in enumerate(mapper.kinds.values()))
    cursor.execute("DROP TABLE IF EXISTS import_staging")
    cursor.execute(f"CREATE TEMP TABLE import_staging (fid bigint, {columns}{',' if columns else ''}"
                   " geom geometry(Geometry, 4490)) ON COMMIT DROP")
    names = ", ".join(["fid", *(f"f{i}" for i in range(len(mapper.kinds))), "geom"])
    rejected: list[dict] = []
    done = 0
    for fids, geoms, batch in _batches(path, settings.BLUEPRINT["IMPORT_BATCH_SIZE"]):
        keep = _triage(fids, geoms, layer, path, rejected)
        kept_fids = [fid for fid, k in zip(fids, keep, strict=True) if k]
        attributes = mapper.columns(kept_fids, {k: v.filter(pa.array(keep)) for k, v in batch.items()})
        ewkb = shapely.to_wkb(shapely.set_srid(crs.to_cgcs2000(geoms[keep], source), 4490),
                              hex=True, include_srid=True)
        table = pa.table([pa.array(kept_fids, pa.int64()), *attributes, pa.array(ewkb, pa.string())],
                         names=names.split(", "))
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
        buffer.seek(0)
        cursor.copy_expert(f"COPY import_staging ({names}) FROM STDIN (FORMAT csv)", buffer)
        done += len(fids)
        if on_progress:
            on_progress(done, total)
    return rejected


def _triage(fids, geoms, layer, path, rejected) -> np.ndarray:
    """Reject empty geometries; stop on a geometry of the wrong kind."""
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for fid in np.asarray(fids)[empty]:
        rejected.append({"fid": int(fid), "reason": "空几何 / empty geometry"})
    family = _FAMILIES.get(layer.geometry_type)
    if family:
        wrong = ~empty & ~np.isin(shapely.get_type_id(geoms), [_TYPE_IDS[t] for t in family])
        if wrong.any():
            index = int(np.flatnonzero(wrong)[0])
            kind = geoms[index].geom_type
            raise InvalidInput(
                f"{path.name} 混有不同几何类型：要素 {fids[index]} 是 {kind}，图层 {layer.slug} 需要"
                f" {layer.geometry_type}。 (Mixed geometry types: feature {fids[index]} is {kind};"
                f" layer {layer.slug} takes {layer.geometry_type}.)")
    return ~empty


_TYPE_IDS = {"Point": 0, "LineString": 1, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5,
             "MultiPolygon": 6}

# Each version gets its own partition, filled without indexes, then indexed in one sorted
# build and attached: far faster than growing one shared index row by row.
_FINISH_SQL = """
CREATE TEMP TABLE import_invalid ON COMMIT DROP AS
  SELECT fid, ST_IsValidReason(geom) AS reason FROM import_staging WHERE NOT ST_IsValid(geom);
UPDATE import_staging s SET geom = ST_CollectionExtract(ST_MakeValid(s.geom, 'method=structure'), {dim})
  FROM import_invalid i WHERE s.fid = i.fid;
CREATE TABLE {features} (LIKE layers_feature INCLUDING DEFAULTS);
INSERT INTO {features} (version_id, fid, properties, area_m2, subdivided, geom)
  SELECT {version}, fid, {properties},
         CASE WHEN {dim} = 3 THEN ST_Area(geom::geography) END,
         ST_NPoints(geom) > {max_vertices},
         CASE WHEN {dim} = 3 THEN ST_Multi(geom) ELSE geom END
  FROM import_staging WHERE NOT ST_IsEmpty(geom);
CREATE TABLE {parts} (LIKE layers_featurepart INCLUDING DEFAULTS);
INSERT INTO {parts} (feature_id, version_id, geom)
  SELECT id, version_id, ST_Subdivide(geom, {max_vertices}) FROM {features} WHERE subdivided;
"""
_ATTACH_SQL = """
CREATE INDEX ON {table} USING gist (geom);
ALTER TABLE {table} ADD PRIMARY KEY (version_id, id),
  ADD CONSTRAINT {table}_version CHECK (version_id = {version});
ALTER TABLE {parent} ATTACH PARTITION {table} FOR VALUES IN ({version});
ANALYZE {table};
"""


def _properties_sql(mapper: AttributeMapper) -> str:
    # jsonb_build_object takes at most 100 arguments: build wide schemas in chunks.
    pairs = [f"{_literal(name)}, f{i}" for i, name in enumerate(mapper.kinds)]
    chunks = [pairs[i:i + 40] for i in range(0, len(pairs), 40)] or [[]]
    return " || ".join(f"jsonb_build_object({', '.join(chunk)})" for chunk in chunks)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _finish(cursor, layer: Layer, version: LayerVersion, mapper: AttributeMapper,
            rejected: list[dict]) -> ImportSummary:
    dim = {"Polygon": 3, "MultiPolygon": 3, "LineString": 2, "MultiLineString": 2}.get(
        layer.geometry_type, 1)
    features, parts = f"layers_feature_v{version.pk}", f"layers_featurepart_v{version.pk}"
    cursor.execute(_FINISH_SQL.format(
        dim=dim, features=features, parts=parts, version=version.pk, properties=_properties_sql(mapper),
        max_vertices=int(settings.BLUEPRINT["SUBDIVIDE_MAX_VERTICES"])))
    for table, parent in ((features, "layers_feature"), (parts, "layers_featurepart")):
        cursor.execute(_ATTACH_SQL.format(table=table, parent=parent, version=version.pk))
    cursor.execute("SELECT i.fid, i.reason, ST_IsEmpty(s.geom) FROM import_invalid i"
                   " JOIN import_staging s USING (fid) ORDER BY i.fid")
    repaired = []
    for fid, reason, emptied in cursor.fetchall():
        (rejected if emptied else repaired).append({"fid": fid, "reason": reason})
    cursor.execute(f"SELECT count(*), coalesce(sum(area_m2), 0), ST_Extent(geom)::geometry FROM {features}")
    count, area, extent = cursor.fetchone()
    # ON COMMIT DROP is not enough when the caller's transaction outlives this import.
    cursor.execute("DROP TABLE import_invalid, import_staging")
    if count == 0:
        raise InvalidInput("文件中没有可用的要素 (全部被拒绝)。 (No usable feature: all were rejected.)",
                           rejected=rejected[:20])
    version.feature_count, version.area_m2 = count, area
    version.repaired, version.rejected = repaired, rejected
    version.extent = _extent_polygon(extent)
    version.save()
    layer.active_version = version
    layer.save(update_fields=["active_version"])
    on_version_activated(layer, version)
    return ImportSummary(layer=layer.slug, version=version.number, created=True, features=count,
                         area_m2=area, bbox=version.extent.extent if version.extent else None,
                         repaired=repaired, rejected=rejected, source_crs=version.source_crs)


_COVERAGE_SQL = {
    "listed": """SELECT ST_Multi(ST_Union(geom)) FROM layers_district
                 WHERE code = ANY(%(codes)s) AND geom IS NOT NULL""",
    "touched": """SELECT ST_Multi(ST_Union(d.geom)) FROM layers_district d
                  WHERE d.level = 'county' AND d.geom IS NOT NULL AND EXISTS (
                    SELECT 1 FROM layers_feature f WHERE f.version_id = %(version)s
                    AND f.geom && d.geom AND ST_Intersects(f.geom, d.geom))""",
    "itself": """SELECT ST_Multi(ST_Union(ST_CollectionExtract(geom, 3))) FROM layers_feature
                 WHERE version_id = %(version)s""",
}


def _set_coverage(version: LayerVersion, codes: list[str] | None) -> None:
    if codes:
        mode = "listed"
        unknown = set(codes) - set(District.objects.filter(code__in=codes, geom__isnull=False)
                                   .values_list("code", flat=True))
        if unknown:
            raise InvalidInput(f"覆盖范围中的行政区划代码未知或无边界: {sorted(unknown)}。"
                               f" (Unknown coverage districts: {sorted(unknown)}.)")
    else:
        mode = "itself" if version.layer.slug == DISTRICT_LAYER else "touched"
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE layers_layerversion SET coverage = ({_COVERAGE_SQL[mode]})"
                       " WHERE id = %(version)s", {"version": version.pk, "codes": codes})


def _extent_polygon(extent):
    from django.contrib.gis.geos import GEOSGeometry, Polygon

    if extent is None:
        return None
    geom = GEOSGeometry(extent)
    if geom.geom_type != "Polygon":  # a point or a line: widen it to a polygon envelope
        geom = Polygon.from_bbox(geom.extent)
    geom.srid = 4490
    return geom
