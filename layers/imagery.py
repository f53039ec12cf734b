"""Import GeoTIFF scenes into raster layers as Cloud-Optimised GeoTIFFs (遥感影像入库).

A scene is checked (GeoTIFF, georeferenced, 8/16-bit, inside China), converted to a COG with
rio-cogeo under IMAGERY_DIR, named by the source's SHA-256, and registered with a new layer
version in one transaction. A failed import removes what it wrote; the same file imported twice
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import rasterio
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db import transaction
from rasterio.errors import RasterioError
from rasterio.warp import transform as warp_transform
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles

from blueprint.errors import CoordinatesOutOfRange, InvalidInput, NotFound
from layers import crs
from layers.importers import file_hash
from layers.models import Layer, LayerVersion, Scene

__all__ = ["SceneSummary", "import_scene", "imagery_dir", "scene_path", "visible_scenes",
           "SUPPORTED_DTYPES", "IMAGERY_SUFFIXES"]

IMAGERY_SUFFIXES = (".tif", ".tiff")
SUPPORTED_DTYPES = ("uint8", "uint16", "int16")
_STALE_SECONDS = 3600


@dataclass
class SceneSummary:
    """What an imagery import did, for the command line, the admin and the tests."""

    layer: str
    version: int
    created: bool
    scene_id: int
    acquired: dt.date
    sensor: str
    resolution_m: float
    bands: list[str]
    crs: str
    bbox: tuple[float, float, float, float]
    cog_bytes: int
    seconds: float = 0.0


def imagery_dir() -> Path:
    """Where the COGs live (the IMAGERY_DIR setting; local disk by default)."""
    return Path(settings.BLUEPRINT["IMAGERY_DIR"])


def scene_path(scene: Scene) -> Path:
    return imagery_dir() / scene.cog_path


def visible_scenes(layer: Layer, on_or_before: dt.date | None = None) -> list[Scene]:
    """The scenes of the layer's active version, newest first (acquired, then import order)."""
    if layer.active_version_id is None:
        return []
    scenes = Scene.objects.filter(layer=layer, version__number__lte=layer.active_version.number)
    if on_or_before is not None:
        scenes = scenes.filter(acquired__lte=on_or_before)
    return list(scenes.order_by("-acquired", "-version__number"))


def import_scene(slug: str, path: str | Path, *, acquired: dt.date | None = None, sensor: str = "",
                 imported_by: str = "", progress: TextIO | None = None) -> SceneSummary:
    """Import a GeoTIFF as a new scene (and version) of raster layer `slug`, or change nothing."""
    path = Path(path)
    layer = _raster_layer(slug)
    started = time.monotonic()
    with _open_geotiff(path) as src:
        digest = file_hash(path)
        existing = Scene.objects.filter(layer=layer, content_hash=digest).select_related("version").first()
        folder = imagery_dir() / slug
        folder.mkdir(parents=True, exist_ok=True)
        _sweep_stale(folder)
        final = folder / f"{digest}.tif"
        tmp = folder / f".{digest}.{uuid.uuid4().hex}.tmp.tif"
        if existing:  # checked when it was imported; its date may have been given then
            if not scene_path(existing).exists():  # the data folder was moved or wiped: rewrite
                _write_cog(src, tmp, path, progress)
                os.replace(tmp, scene_path(existing))
            return _summary(existing, created=False)
        info = _describe(src, path, acquired, sensor)
        try:
            if not final.exists():
                _write_cog(src, tmp, path, progress)
            scene = _register(layer, path, info, digest, tmp if tmp.exists() else final, final,
                              imported_by)
        finally:
            tmp.unlink(missing_ok=True)
    summary = _summary(scene, created=True)
    summary.seconds = round(time.monotonic() - started, 2)
    return summary


def _raster_layer(slug: str) -> Layer:
    layer = Layer.objects.filter(slug=slug).first()
    if layer is None:
        raise NotFound(f"图层 “{slug}” 未登记。请先登记该影像图层。 (Layer '{slug}' is not registered.)")
    if layer.kind != Layer.Kind.RASTER:
        raise InvalidInput(f"图层 {slug} 是矢量图层，请用 import_layer 导入。"
                           f" (Layer {slug} is a vector layer: use import_layer.)")
    return layer


def _open_geotiff(path: Path):
    if not path.is_file():
        raise InvalidInput(f"文件不存在: {path} (No such file.)")
    if path.suffix.lower() not in IMAGERY_SUFFIXES:
        raise InvalidInput(f"不支持的文件类型 “{path.suffix}”：影像须为 GeoTIFF (.tif)。"
                           f" (Unsupported file type '{path.suffix}': imagery must be a GeoTIFF.)")
    try:
        src = rasterio.open(path)
    except RasterioError as exc:
        raise InvalidInput(f"无法读取 {path.name}：文件损坏或不是 GeoTIFF。请重新导出。"
                           f" (Cannot read {path.name}: corrupt or not a GeoTIFF; export it again.)"
                           ) from exc
    if src.driver != "GTiff":
        src.close()
        raise InvalidInput(f"{path.name} 不是 GeoTIFF（而是 {src.driver}）。请另存为 GeoTIFF。"
                           f" ({path.name} is {src.driver}, not a GeoTIFF: save it as GeoTIFF.)")
    return src


@dataclass
class _Info:
    acquired: dt.date
    sensor: str
    bands: list[str]
    crs: str
    footprint: shapely.Polygon
    resolution_m: float


def _describe(src, path: Path, acquired: dt.date | None, sensor: str) -> _Info:
    _check_georeference(src, path)
    if src.dtypes[0] not in SUPPORTED_DTYPES or len(set(src.dtypes)) > 1:
        raise InvalidInput(
            f"{path.name} 的数据类型为 {src.dtypes[0]}，不受支持：影像须为 8 位或 16 位整数"
            f" ({', '.join(SUPPORTED_DTYPES)})。请先转换 (gdal_translate -ot Byte/UInt16)。"
            f" ({path.name} holds {src.dtypes[0]}; imagery must be 8- or 16-bit integers: convert it"
            " first.)")
    footprint = _footprint(src)
    tags = src.tags()
    return _Info(acquired=acquired or _acquired_from_tags(tags, path),
                 sensor=sensor or tags.get("SENSOR", ""), bands=_band_names(src),
                 crs=_crs_label(src.crs), footprint=footprint,
                 resolution_m=_resolution_m(src))


def _check_georeference(src, path: Path) -> None:
    if src.crs is None or src.transform.is_identity:
        hint = ("只有地面控制点 (GCP)：请先用 gdalwarp 校正。 (It has only ground control points: rectify it"
                " with gdalwarp first.)") if src.gcps[0] else \
            "请附上坐标系与地理变换 (.tfw/.prj) 或另存为带坐标的 GeoTIFF。 (Add its CRS and geotransform.)"
        raise InvalidInput(f"{path.name} 没有地理参考（坐标系或地理变换缺失）。{hint}"
                           f" ({path.name} has no georeference.)")


def _footprint(src) -> shapely.Polygon:
    """The raster's outline in CGCS2000, densified so that reprojected edges keep their curve."""
    steps = np.linspace(0, 1, 21)
    cols = np.concatenate([steps * src.width, np.full(21, src.width), steps[::-1] * src.width,
                           np.zeros(21)])
    rows = np.concatenate([np.zeros(21), steps * src.height, np.full(21, src.height),
                           steps[::-1] * src.height])
    xs, ys = src.transform @ (cols, rows)
    lons, lats = warp_transform(src.crs, "EPSG:4490", xs, ys)
    polygon = shapely.Polygon(zip(lons, lats, strict=True))
    west, south, east, north = polygon.bounds
    cw, cs, ce, cn = crs.CHINA_BOUNDS
    if not (np.all(np.isfinite(polygon.bounds)) and west >= cw and east <= ce and south >= cs
            and north <= cn):
        raise CoordinatesOutOfRange(
            f"影像范围 [{west:.3f}, {south:.3f}, {east:.3f}, {north:.3f}] 不在中国境内：请核对其坐标系"
            f" ({_crs_label(src.crs)})。 (The image lies outside China: check its CRS.)")
    return shapely.make_valid(polygon)


def _crs_label(value) -> str:
    epsg = value.to_epsg()
    return f"EPSG:{epsg}" if epsg else (value.to_string()[:200])


def _resolution_m(src) -> float:
    """Ground size of a pixel at the image centre, on the ellipsoid (mean of x and y)."""
    col, row = src.width / 2, src.height / 2
    xs, ys = src.transform @ (np.array([col, col + 1, col]), np.array([row, row, row + 1]))
    lons, lats = warp_transform(src.crs, "EPSG:4490", xs, ys)
    dx = crs.geodesic_distance_m(lons[0], lats[0], lons[1], lats[1])
    dy = crs.geodesic_distance_m(lons[0], lats[0], lons[2], lats[2])
    return round((dx + dy) / 2, 3)


def _acquired_from_tags(tags: dict, path: Path) -> dt.date:
    text = tags.get("ACQUISITION_DATE") or tags.get("TIFFTAG_DATETIME", "")
    try:
        return dt.date.fromisoformat(text[:10].replace(":", "-"))
    except ValueError:
        raise InvalidInput(f"{path.name} 没有获取日期：请填写获取日期（命令行用 --acquired YYYY-MM-DD）。"
                           f" ({path.name} carries no acquisition date: give one, --acquired"
                           " YYYY-MM-DD on the command line.)") from None


def _band_names(src) -> list[str]:
    names = []
    for index, (description, interp) in enumerate(zip(src.descriptions, src.colorinterp, strict=True),
                                                  start=1):
        names.append(description or (interp.name if interp.name not in ("undefined", "gray") or
                                     src.count == 1 else f"b{index}"))
    return names


def _write_cog(src, tmp: Path, path: Path, progress: TextIO | None) -> None:
    profile = cog_profiles.get("deflate")
    try:
        cog_translate(src, tmp, profile, overview_resampling="average", quiet=progress is None,
                      progress_out=progress, forward_band_tags=True,
                      additional_cog_metadata={"ACQUISITION_DATE": src.tags().get("ACQUISITION_DATE", "")},
                      config={"GDAL_NUM_THREADS": "1"})
    except RasterioError as exc:
        raise InvalidInput(f"{path.name} 的像元数据无法读取（文件损坏或被截断）。请重新导出或重新拷贝。"
                           f" (The pixels of {path.name} cannot be read — the file is corrupt or"
                           f" truncated: export or copy it again. {str(exc)[:160]})") from exc


def _display_range(cog: Path) -> list[list[float]]:
    """Per band 2nd–98th percentile from a small overview, to stretch 16-bit data for display."""
    with rasterio.open(cog) as ds:
        if ds.dtypes[0] == "uint8":
            return []
        scale = max(1, max(ds.width, ds.height) // 1024)
        data = ds.read(out_shape=(ds.count, max(1, ds.height // scale), max(1, ds.width // scale)),
                       masked=True)
    ranges = []
    for band in data:
        values = band.compressed()
        low, high = np.percentile(values, [2, 98]) if values.size else (0, 1)
        ranges.append([float(low), float(max(high, low + 1))])
    return ranges


def _register(layer: Layer, path: Path, info: _Info, digest: str, written: Path, final: Path,
              imported_by: str) -> Scene:
    display = _display_range(written)
    size = written.stat().st_size
    moved = False
    try:
        with transaction.atomic():
            layer = Layer.objects.select_for_update().get(pk=layer.pk)
            version = LayerVersion.objects.create(
                layer=layer, number=_next_number(layer), content_hash=digest, source_name=path.name,
                source_crs=info.crs, area_m2=crs.ellipsoidal_area_m2(info.footprint),
                imported_by=imported_by)
            scene = Scene.objects.create(
                layer=layer, version=version, acquired=info.acquired, sensor=info.sensor,
                resolution_m=info.resolution_m, bands=info.bands, dtype=_dtype(written),
                crs=info.crs, width=_shape(written)[0], height=_shape(written)[1],
                footprint=_geos(info.footprint), content_hash=digest,
                cog_path=str(final.relative_to(imagery_dir())), cog_bytes=size, display_range=display)
            version.feature_count = layer.scenes.count()
            version.extent = _extent(layer)
            version.save(update_fields=["feature_count", "extent"])
            layer.active_version = version
            layer.save(update_fields=["active_version"])
            if written != final:
                os.replace(written, final)  # last step inside the transaction: a failure undoes both
                moved = True
    except BaseException:
        # Another database may share the folder and refer to an existing file: only remove ours.
        if moved:
            final.unlink(missing_ok=True)
        raise
    return scene


def _dtype(cog: Path) -> str:
    with rasterio.open(cog) as ds:
        return ds.dtypes[0]


def _shape(cog: Path) -> tuple[int, int]:
    with rasterio.open(cog) as ds:
        return ds.width, ds.height


def _geos(geom: shapely.Geometry) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=4490)


def _extent(layer: Layer) -> Polygon:
    bounds = [s.footprint.extent for s in Scene.objects.filter(layer=layer).only("footprint")]
    west, south = min(b[0] for b in bounds), min(b[1] for b in bounds)
    east, north = max(b[2] for b in bounds), max(b[3] for b in bounds)
    extent = Polygon.from_bbox((west, south, east, north))
    extent.srid = 4490
    return extent


def _next_number(layer: Layer) -> int:
    last = layer.versions.order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


def _sweep_stale(folder: Path) -> None:
    """Remove temporary files that a killed import left behind."""
    cutoff = time.time() - _STALE_SECONDS
    for stale in folder.glob(".*.tmp.tif"):
        if stale.stat().st_mtime < cutoff:
            stale.unlink(missing_ok=True)


def _summary(scene: Scene, created: bool) -> SceneSummary:
    return SceneSummary(
        layer=scene.layer.slug, version=scene.version.number, created=created, scene_id=scene.pk,
        acquired=scene.acquired, sensor=scene.sensor, resolution_m=scene.resolution_m,
        bands=list(scene.bands), crs=scene.crs, bbox=tuple(scene.footprint.extent),
        cog_bytes=scene.cog_bytes)
