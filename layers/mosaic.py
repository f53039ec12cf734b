"""Read a raster layer's scenes as one mosaic, newest on top: web tiles and coverage subsets.

rio-tiler reads the tiles (reprojecting to WebMercatorQuad on the fly, transparent outside the
footprints); rasterio's merge cuts coverages. The scene list of a layer is cached per process and
per active version, so a tile costs no query beyond the layer's own look-up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import morecantile
import numpy as np
import rasterio
from rasterio.io import MemoryFile
from rasterio.merge import merge
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.models import ImageData
from rio_tiler.mosaic import mosaic_reader

from blueprint.errors import InvalidInput, NotFound
from layers.imagery import scene_path, visible_scenes
from layers.models import Layer

__all__ = ["SceneRef", "TILE_FORMATS", "layer_scenes", "tile_scenes", "tile_etag", "render_tile",
           "read_coverage", "MAX_COVERAGE_PIXELS"]

WEB_MERCATOR_QUAD = morecantile.tms.get("WebMercatorQuad")
TILE_FORMATS = {"png": ("PNG", "image/png"), "jpg": ("JPEG", "image/jpeg"),
                "jpeg": ("JPEG", "image/jpeg"), "webp": ("WEBP", "image/webp")}
MAX_ZOOM = 24
MAX_COVERAGE_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class SceneRef:
    """What serving needs of a scene, without a database round trip."""

    id: int
    path: Path
    content_hash: str
    acquired: dt.date
    sensor: str
    resolution_m: float
    bands: tuple[str, ...]
    dtype: str
    crs: str
    bbox: tuple[float, float, float, float]
    display_range: tuple[tuple[float, float], ...]

    @property
    def rgb_indexes(self) -> tuple[int, ...]:
        return (1, 2, 3) if len(self.bands) >= 3 else (1,)


_CACHE: dict[tuple[int, int | None], list[SceneRef]] = {}


def layer_scenes(layer: Layer) -> list[SceneRef]:
    """The scenes of the layer's active version, newest first (cached per version)."""
    key = (layer.pk, layer.active_version_id)
    if key not in _CACHE:
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = [SceneRef(
            id=s.pk, path=scene_path(s), content_hash=s.content_hash, acquired=s.acquired,
            sensor=s.sensor, resolution_m=s.resolution_m, bands=tuple(s.bands), dtype=s.dtype,
            crs=s.crs, bbox=tuple(s.footprint.extent),
            display_range=tuple(tuple(r) for r in s.display_range)) for s in visible_scenes(layer)]
    return _CACHE[key]


def tile_scenes(scenes: list[SceneRef], z: int, x: int, y: int,
                on_or_before: dt.date | None = None) -> list[SceneRef]:
    """The scenes (newest first) that touch tile z/x/y, acquired on or before the date if given."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise NotFound(f"瓦片 {z}/{x}/{y} 不存在。 (No tile {z}/{x}/{y} in WebMercatorQuad.)")
    west, south, east, north = WEB_MERCATOR_QUAD.bounds(x, y, z)
    return [s for s in scenes
            if (on_or_before is None or s.acquired <= on_or_before)
            and s.bbox[0] < east and s.bbox[2] > west and s.bbox[1] < north and s.bbox[3] > south]


def tile_etag(slug: str, scenes: list[SceneRef], z: int, x: int, y: int, fmt: str) -> str:
    """An entity tag from what the tile is made of, known before rendering it."""
    parts = [slug, f"{z}/{x}/{y}.{fmt}", "v1", *(s.content_hash for s in scenes)]
    return '"' + hashlib.sha1("|".join(parts).encode()).hexdigest() + '"'


_WARPED: OrderedDict[int, WarpedVRT] = OrderedDict()
_OPEN_SCENES = 16
TILE_SIZE = 256


def _warped(scene: SceneRef) -> WarpedVRT:
    """The scene warped to Web Mercator on read, kept open per process.

    Building a CGCS2000 → WGS 84 transformation costs PROJ 50–150 ms, and rio-tiler builds one (or
    more) per tile; a warped VRT builds it once, and each tile then warps only its own pixels.
    """
    vrt = _WARPED.get(scene.id)
    if vrt is None:
        vrt = _WARPED[scene.id] = WarpedVRT(rasterio.open(scene.path), crs="EPSG:3857",
                                            add_alpha=True)
        while len(_WARPED) > _OPEN_SCENES:
            old = _WARPED.popitem(last=False)[1]
            old.src_dataset.close()
            old.close()
    _WARPED.move_to_end(scene.id)
    return vrt


def _read_tile(scene: SceneRef, x: int, y: int, z: int) -> ImageData:
    """Read tile z/x/y of one scene (nearest neighbour; transparent outside the scene)."""
    vrt = _warped(scene)
    left, bottom, right, top = WEB_MERCATOR_QUAD.xy_bounds(x, y, z)
    px = (right - left) / TILE_SIZE
    c0 = max(0, round((vrt.bounds.left - left) / px))
    c1 = min(TILE_SIZE, round((vrt.bounds.right - left) / px))
    r0 = max(0, round((top - vrt.bounds.top) / px))
    r1 = min(TILE_SIZE, round((top - vrt.bounds.bottom) / px))
    if c1 <= c0 or r1 <= r0:
        raise TileOutsideBounds(f"scene {scene.id} is outside tile {z}/{x}/{y}")
    window = from_bounds(left + c0 * px, top - r1 * px, left + c1 * px, top - r0 * px,
                         transform=vrt.transform).intersection(Window(0, 0, vrt.width, vrt.height))
    indexes = list(scene.rgb_indexes)
    shape = (r1 - r0, c1 - c0)
    data = vrt.read(indexes, window=window, out_shape=(len(indexes), *shape))
    alpha = vrt.read(vrt.count, window=window, out_shape=shape)
    array = np.ma.masked_all((len(indexes), TILE_SIZE, TILE_SIZE), dtype=data.dtype)
    array[:, r0:r1, c0:c1] = np.ma.masked_where(np.broadcast_to(alpha == 0, data.shape), data)
    image = ImageData(array, bounds=(left, bottom, right, top), crs=WEB_MERCATOR_QUAD.rasterio_crs)
    if scene.dtype != "uint8":
        ranges = scene.display_range[: len(indexes)] or ((0, 255),)
        image.rescale(in_range=ranges)
    if image.count == 1:  # grey scenes mosaic as grey RGB, so that they mix with colour ones
        image.array = np.ma.concatenate([image.array] * 3)
    return image


def render_tile(scenes: list[SceneRef], z: int, x: int, y: int, fmt: str) -> bytes:
    """Render the mosaic of `scenes` (newest first) as one 256 px tile in PNG, JPEG or WebP."""
    driver = TILE_FORMATS[fmt][0]
    image, _ = mosaic_reader(scenes, _read_tile, x, y, z, threads=0)
    return image.render(img_format=driver, add_mask=driver != "JPEG")


def read_coverage(scenes: list[SceneRef], *, bbox: tuple[float, ...] | None, bbox_crs: str,
                  bands: list[int] | None) -> tuple[bytes, dict]:
    """Cut the mosaic (newest on top) to a bbox, in the newest scene's CRS and resolution.

    Scenes whose bands or data type differ from the newest one's are left out (a mosaic of an
    8-bit RGB photo and a 16-bit four-band scene has no meaning as data).
    """
    if not scenes:
        raise NotFound("该图层还没有影像。 (The layer has no scene yet.)")
    top = scenes[0]
    alike = [s for s in scenes if s.bands == top.bands and s.dtype == top.dtype]
    indexes = _band_indexes(bands, len(top.bands))
    # No rasterio.Env here: leaving one resets GDAL and slows the open warped VRTs down.
    datasets = [rasterio.open(s.path) for s in alike]
    try:
        native = datasets[0].crs
        sources = [ds if ds.crs == native else WarpedVRT(ds, crs=native) for ds in datasets]
        res = datasets[0].res
        bounds = _snap(_native_bounds(bbox, bbox_crs, native, sources), datasets[0].transform)
        _check_size(bounds, res)
        array, transform = merge(sources, bounds=bounds, res=res, indexes=indexes, nodata=0,
                                 method="first")
    finally:
        for ds in datasets:
            ds.close()
    profile = {"driver": "GTiff", "width": array.shape[2], "height": array.shape[1],
               "count": array.shape[0], "dtype": array.dtype.name, "crs": native,
               "transform": transform, "nodata": 0, "compress": "deflate", "tiled": True}
    with MemoryFile() as memfile:
        with memfile.open(**profile) as dst:
            dst.write(array)
            for position, index in enumerate(indexes, start=1):
                dst.set_band_description(position, top.bands[index - 1])
        content = memfile.read()
    return content, {"crs": native.to_string(), "bounds": bounds, "width": array.shape[2],
                     "height": array.shape[1]}


def _band_indexes(bands: list[int] | None, count: int) -> list[int]:
    if not bands:
        return list(range(1, count + 1))
    wrong = [b for b in bands if not 1 <= b <= count]
    if wrong:
        raise InvalidInput(f"波段 {wrong} 不存在：该影像有 {count} 个波段 (1–{count})。"
                           f" (No band {wrong}: the coverage has bands 1–{count}.)")
    return bands


def _native_bounds(bbox, bbox_crs: str, native, sources) -> tuple[float, float, float, float]:
    if bbox is None:
        lefts, bottoms, rights, tops = zip(*(s.bounds for s in sources), strict=True)
        return min(lefts), min(bottoms), max(rights), max(tops)
    west, south, east, north = transform_bounds(bbox_crs, native, *bbox, densify_pts=21)
    return west, south, east, north


def _snap(bounds, transform) -> tuple[float, float, float, float]:
    """Widen bounds to whole pixels of the top scene's grid, so that values are not resampled."""
    x0, y0, rx, ry = transform.c, transform.f, transform.a, -transform.e
    left = x0 + math.floor((bounds[0] - x0) / rx) * rx
    right = x0 + math.ceil((bounds[2] - x0) / rx) * rx
    top = y0 - math.floor((y0 - bounds[3]) / ry) * ry
    bottom = y0 - math.ceil((y0 - bounds[1]) / ry) * ry
    return left, bottom, right, top


def _check_size(bounds, res) -> None:
    width = (bounds[2] - bounds[0]) / res[0]
    height = (bounds[3] - bounds[1]) / res[1]
    if width < 1 or height < 1:
        raise InvalidInput("范围太小，不足一个像元。 (The bbox is smaller than one pixel.)")
    if width * height > MAX_COVERAGE_PIXELS:
        raise InvalidInput(
            f"请求范围约 {width:.0f} × {height:.0f} 像元，超过上限 {MAX_COVERAGE_PIXELS} 像元：请缩小 bbox。"
            f" (About {width:.0f} × {height:.0f} pixels, over the limit of {MAX_COVERAGE_PIXELS}:"
            " use a smaller bbox.)")
