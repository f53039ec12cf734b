"""Read a raster layer's scenes as one mosaic, newest on top: web tiles and coverage subsets.

Each tile of each scene is one GDAL warp from the COG (or the overview matching the zoom) onto the
tile's WebMercatorQuad grid — a single resampling, transparent outside the footprint — and
rio-tiler's mosaic_reader stacks the scenes; rasterio's merge cuts coverages. The scene list of a
layer is cached per process and per active version, so a tile costs no query beyond the layer's
own look-up.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import morecantile
import numpy as np
import rasterio
from affine import Affine
from django.conf import settings
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.io import DatasetReader, MemoryFile
from rasterio.merge import merge
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform, transform_bounds
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.models import ImageData
from rio_tiler.mosaic import mosaic_reader

from blueprint.caching import etag
from blueprint.errors import InvalidInput, NotFound
from layers.imagery import scene_path, visible_scenes
from layers.models import Layer

__all__ = ["SceneRef", "TILE_FORMATS", "layer_scenes", "tile_scenes", "tile_etag", "render_tile",
           "read_coverage", "MAX_COVERAGE_PIXELS"]

WEB_MERCATOR_QUAD = morecantile.tms.get("WebMercatorQuad")
TILE_FORMATS = {"png": ("PNG", "image/png"), "jpg": ("JPEG", "image/jpeg"),
                "jpeg": ("JPEG", "image/jpeg"), "webp": ("WEBP", "image/webp")}
# zlib level 3 instead of PNG's 6: 3–4× faster to encode, ~10 % larger (bench/README.md).
ENCODING = {"PNG": {"ZLEVEL": 3}, "JPEG": {}, "WEBP": {}}
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
    return etag(slug, f"{z}/{x}/{y}.{fmt}", "v1", *(s.content_hash for s in scenes))


MERCATOR = CRS.from_epsg(3857)
TILE_SIZE = 256
_OPEN: OrderedDict[tuple[int, int], DatasetReader] = OrderedDict()


def _dataset(scene: SceneRef, level: int) -> DatasetReader:
    """The scene's COG (level -1) or one of its overviews (0 = the first), kept open per process.

    At most IMAGERY_OPEN_SCENES are open (least recently used closed first); their pixels live
    in GDAL's block cache, bounded by GDAL_CACHEMAX (see settings).
    """
    key = (scene.id, level)
    dataset = _OPEN.get(key)
    if dataset is None:
        dataset = _OPEN[key] = (rasterio.open(scene.path) if level < 0
                                else rasterio.open(scene.path, overview_level=level))
        while len(_OPEN) > settings.BLUEPRINT["IMAGERY_OPEN_SCENES"]:
            _OPEN.popitem(last=False)[1].close()
    _OPEN.move_to_end(key)
    return dataset


def _level(scene: SceneRef, left: float, top: float, pixel: float) -> int:
    """The coarsest overview still as fine as the tile's pixels there (-1: the full resolution)."""
    full = _dataset(scene, -1)
    factors = full.overviews(1)
    if not factors:
        return -1
    # One tile pixel measured in the scene's CRS (a cached GDAL transformation: ~0.1 ms).
    xs, ys = transform(MERCATOR, full.crs, [left, left + pixel, left], [top, top, top - pixel])
    wanted = min(math.hypot(xs[1] - xs[0], ys[1] - ys[0]), math.hypot(xs[2] - xs[0], ys[2] - ys[0]))
    native = min(full.res)
    usable = [i for i, factor in enumerate(factors) if native * factor <= wanted]
    return usable[-1] if usable else -1


def _covered(scene: SceneRef, left: float, top: float, pixel: float) -> tuple[int, int, int, int]:
    """Rows and columns (r0, r1, c0, c1) of the tile that the scene's bbox covers, one pixel wider.

    Warping only those keeps GDAL's interpolated transformation valid at low zooms, where a whole
    tile reaches far outside a Gauss–Krüger zone and GDAL would transform every pixel exactly.
    """
    x0, y0, x1, y1 = _mercator(*scene.bbox[:2]) + _mercator(*scene.bbox[2:])
    c0, c1 = math.floor((x0 - left) / pixel) - 1, math.ceil((x1 - left) / pixel) + 1
    r0, r1 = math.floor((top - y1) / pixel) - 1, math.ceil((top - y0) / pixel) + 1
    return max(r0, 0), min(r1, TILE_SIZE), max(c0, 0), min(c1, TILE_SIZE)


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    """EPSG:3857 metres of a longitude and latitude (the spherical formulas that define it)."""
    radius = 6378137.0
    return radius * math.radians(lon), radius * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _read_tile(scene: SceneRef, x: int, y: int, z: int) -> ImageData:
    """Tile z/x/y of one scene, warped once from the source (nearest neighbour) onto the tile's
    own grid; transparent outside the scene.

    A WarpedVRT with the tile's exact transform costs a few ms: GDAL keeps the CGCS2000 → Web
    Mercator transformation it built for the first tile, whereas rio-tiler's Reader pays
    transform_bounds and calculate_default_transform (~100 ms of PROJ set-up each) per tile.
    """
    left, bottom, right, top = WEB_MERCATOR_QUAD.xy_bounds(x, y, z)
    pixel = (right - left) / TILE_SIZE
    r0, r1, c0, c1 = _covered(scene, left, top, pixel)
    source = _dataset(scene, _level(scene, left, top, pixel))
    indexes = list(scene.rgb_indexes)
    with WarpedVRT(source, crs=MERCATOR, transform=Affine(pixel, 0, left + c0 * pixel, 0, -pixel,
                                                          top - r0 * pixel),
                   width=max(c1 - c0, 1), height=max(r1 - r0, 1), add_alpha=True,
                   resampling=Resampling.nearest) as vrt:
        part = vrt.read([*indexes, vrt.count])
    if c1 <= c0 or r1 <= r0 or not part[-1].any():
        raise TileOutsideBounds(f"scene {scene.id} is outside tile {z}/{x}/{y}")
    data = np.zeros((len(indexes) + 1, TILE_SIZE, TILE_SIZE), part.dtype)
    data[:, r0:r1, c0:c1] = part
    mask = np.broadcast_to(data[-1] == 0, data[:-1].shape)
    image = ImageData(np.ma.MaskedArray(data[:-1], mask=mask), bounds=(left, bottom, right, top),
                      crs=WEB_MERCATOR_QUAD.rasterio_crs)
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
    return image.render(img_format=driver, add_mask=driver != "JPEG", **ENCODING[driver])


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
