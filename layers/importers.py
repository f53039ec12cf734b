"""Import a vector file into a new, immutable layer version, all or nothing.

The file is read in Arrow batches (memory stays bounded), converted to CGCS2000 and COPY'd
into a staging table; PostGIS then validates, repairs, measures and subdivides in bulk into a
new partition of the feature tables, indexed once and attached. Everything happens in one
transaction, so a failed or killed import leaves the previous version active and no row of the
new one visible.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyogrio
from django.contrib.gis.geos import Polygon
from django.db import DatabaseError, connection, transaction
from pyogrio.errors import DataLayerError, DataSourceError

from blueprint import audit
from blueprint.errors import InvalidInput, NotFound
from layers import crs
from layers.attributes import AttributeMapper
from layers.copystream import COPY_COLUMNS, FAMILIES, Rows, Stream, Tally
from layers.models import District, Layer, LayerVersion
from layers.quality import partial
from layers.quality import review as review_service
from layers.quality.models import QualityReport, VersionReview
from layers.quality.runner import run_quality
from layers.services import DISTRICT_LAYER

__all__ = ["ImportSummary", "import_layer", "SUPPORTED_SUFFIXES"]

LOGGER = logging.getLogger(__name__)
SUPPORTED_SUFFIXES = (".geojson", ".json", ".gpkg", ".kml", ".zip", ".shp")


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
    activated: bool = False
    quality_report: int | None = None
    quality_counts: dict = field(default_factory=dict)
    blocking_failures: int = 0


def file_hash(path: Path) -> str:
    """Return the SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_layer(slug: str, path: str | Path, *, imported_by: str = "",
                 coverage: list[str] | None = None,
                 on_progress: Callable[[int, int], None] | None = None,
                 activate: bool = True, override_reason: str = "", access_level: str = "",
                 replace_county: str | None = None, source_crs: str = "") -> ImportSummary:
    """Import `path` as a new version of layer `slug`, run its quality rules, and make it active
    unless told not to (a preview) or held by blocking failures; a failure changes nothing.

    `coverage` lists the district codes the data is complete for; by default, the counties its
    features touch (the district layer covers itself). `replace_county` builds a city version
    from the active one with that county's part replaced by the file (a county's submission).
    `override_reason` activates despite blocking failures (an administrator's written reason).
    `source_crs` declares the file's CRS when it has none (a Shapefile without .prj) or a wrong one.
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
        return _again(existing, activate, override_reason, imported_by)
    source = crs.parse_crs(source_crs) if source_crs else _source_crs(info, path)
    _check_geometry_type(info["geometry_type"], layer, path)
    mapper = AttributeMapper(layer.fields, list(info["fields"]), [str(d) for d in info["dtypes"]])
    started = time.monotonic()
    with transaction.atomic():
        # Lock the layer so that two imports of it cannot race for the next version number.
        layer = Layer.objects.select_for_update().get(pk=layer.pk)
        version = LayerVersion.objects.create(
            layer=layer, number=_next_number(layer), content_hash=digest,
            source_name=path.name, source_crs=source.label, imported_by=imported_by)
        rows = Rows(path, source, layer, mapper, version.pk, on_progress, info["features"])
        part = partial.Part.of(layer, replace_county)
        with connection.cursor() as cursor:
            _load(cursor, rows, version, part)
        summary = _finish(layer, version, rows.tally, part)
        _set_coverage(version, coverage, part)
        report = run_quality(version, trigger=QualityReport.Trigger.SUBMISSION if part else
                             QualityReport.Trigger.IMPORT, run_by=imported_by,
                             county=part.county if part else None, fid_floor=part.fid_floor if part else 0)
        review = VersionReview.objects.create(
            version=version, state=VersionReview.State.PENDING, missing_fields=mapper.missing,
            extra_fields=mapper.dropped, access_level=access_level, county=part.county if part else "",
            fid_floor=part.fid_floor if part else 0, base_version_id=part.base_version_id if part else None)
        audit.record("layer.import", target=slug, actor=imported_by or None, version=version.number,
                     file=path.name, content_hash=digest, features=summary.features,
                     rejected=len(summary.rejected), source_crs=summary.source_crs,
                     quality_report=report.pk, blocking_failures=report.blocking_failures)
        summary.activated = activate and review_service.confirm(review, actor=imported_by,
                                                               override_reason=override_reason)
    _describe(summary, report, version)
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
        LOGGER.info("unreadable layer file %s: %s", path, exc)  # GDAL's text: for the log only
        raise InvalidInput(f"无法读取文件 {path.name}：文件损坏或格式不符。 (Cannot read {path.name}:"
                           " corrupt or not a vector file.)") from exc
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
    family = FAMILIES.get(layer.geometry_type)
    base = (declared or "Unknown").replace(" Z", "").replace(" M", "")
    if family is None or base == "Unknown" or base in family:
        return  # "Unknown" (e.g. GeoJSON) is checked feature by feature while staging
    raise InvalidInput(
        f"{path.name} 的几何类型为 {base}，而图层 {layer.slug} 需要 {layer.geometry_type}。"
        f" ({path.name} holds {base}; layer {layer.slug} takes {layer.geometry_type}.)")


def _next_number(layer: Layer) -> int:
    last = layer.versions.order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


_ATTACH_SQL = """
CREATE INDEX ON {table} USING gist (geom);{more_indexes}
ALTER TABLE {table} ADD PRIMARY KEY (version_id, id),
  ADD CONSTRAINT {table}_version CHECK (version_id = {version});
ALTER TABLE {parent} ATTACH PARTITION {table} FOR VALUES IN ({version});
SET LOCAL default_statistics_target = 20;  -- a 6 000-row sample plans a GiST filter well enough
ANALYZE {table};
"""


def _load(cursor, rows: Rows, version: LayerVersion, part: partial.Part | None = None) -> None:
    """Stream the rows into a new partition (with the rest of the city when replacing a county's
    part), index it once and attach it; then the parts."""
    features, parts = f"layers_feature_v{version.pk}", f"layers_featurepart_v{version.pk}"
    cursor.execute(f"CREATE TABLE {features} (LIKE layers_feature INCLUDING DEFAULTS)")
    stream = Stream(iter(rows))
    try:
        # psycopg 3 (what Django picks once procrastinate brings it): COPY fed from the stream.
        with cursor.cursor.copy(f"COPY {features} ({COPY_COLUMNS}) FROM STDIN (FORMAT csv)") as copy:
            while chunk := stream.read(1 << 20):
                copy.write(chunk)
    except (DatabaseError, cursor.db.Database.Error):  # COPY bypasses Django's error wrapping
        if stream.error is not None:
            raise stream.error from None
        raise
    finally:
        stream.close()
    if part is not None:
        part.carry(cursor, features, version.pk)
    cursor.execute(f"CREATE TABLE {parts} (LIKE layers_featurepart INCLUDING DEFAULTS);"
                   f" INSERT INTO {parts} (feature_id, version_id, geom)"
                   f" SELECT id, version_id, ST_Subdivide(geom, {rows.max_vertices}) FROM {features}"
                   " WHERE subdivided")
    # The parent's indexes (migrations) built on the partition first, so that ATTACH adopts them.
    fid_index = f"\nCREATE INDEX ON {features} (version_id, fid);"
    for table, parent, more in ((features, "layers_feature", fid_index),
                                (parts, "layers_featurepart", "")):
        cursor.execute(_ATTACH_SQL.format(table=table, parent=parent, version=version.pk,
                                          more_indexes=more))


def _finish(layer: Layer, version: LayerVersion, tally: Tally, part: partial.Part | None) -> ImportSummary:
    if tally.count == 0:
        raise InvalidInput("文件中没有可用的要素 (全部被拒绝)。 (No usable feature: all were rejected.)",
                           rejected=tally.rejected[:20])
    version.feature_count, version.area_m2 = tally.count, tally.area_m2
    version.repaired, version.rejected = tally.repaired, tally.rejected
    version.extent = _extent_polygon(tally.bounds)
    if part is not None:  # the city's version: its own count, area and extent
        version.feature_count, version.area_m2, version.extent = part.measure(version.pk)
    version.save()
    return ImportSummary(layer=layer.slug, version=version.number, created=True,
                         features=version.feature_count, area_m2=version.area_m2,
                         bbox=version.extent.extent if part else tuple(tally.bounds), repaired=tally.repaired,
                         rejected=tally.rejected, source_crs=version.source_crs)


def _again(existing: LayerVersion, activate: bool, override_reason: str, actor: str) -> ImportSummary:
    """The same file again: nothing new; a held or pending version may be confirmed now."""
    summary = ImportSummary(layer=existing.layer.slug, version=existing.number, created=False,
                            features=existing.feature_count, area_m2=existing.area_m2,
                            source_crs=existing.source_crs)
    review = VersionReview.objects.filter(version=existing).first()
    waiting = review is not None and review.state in (VersionReview.State.PENDING, VersionReview.State.HELD)
    if activate and waiting and not review.county:
        summary.activated = review_service.confirm(review, actor=actor, override_reason=override_reason)
    else:
        summary.activated = existing.layer.active_version_id == existing.pk
    report = review_service.latest_report(existing)
    if report is not None:
        _describe(summary, report, existing)
    return summary


def _describe(summary: ImportSummary, report: QualityReport, version: LayerVersion) -> None:
    summary.quality_report = report.pk
    summary.quality_counts = report.counts
    summary.blocking_failures = report.blocking_failures


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


def _set_coverage(version: LayerVersion, codes: list[str] | None, part: partial.Part | None = None) -> None:
    if part is not None:
        part.set_coverage(version.pk)
        return
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


def _extent_polygon(bounds: list[float]) -> Polygon:
    west, south, east, north = bounds
    if east - west < 1e-9 or north - south < 1e-9:  # a point or a line: widen it a hair
        west, south, east, north = west - 1e-7, south - 1e-7, east + 1e-7, north + 1e-7
    geom = Polygon.from_bbox((west, south, east, north))
    geom.srid = 4490
    return geom
