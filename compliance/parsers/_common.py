"""What every format reader shares: its result, text decoding, limits and CRS resolution."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import shapely
from django.conf import settings
from shapely.geometry.base import BaseGeometry

from blueprint.errors import InvalidInput
from layers import crs as crsmod
from layers.crs import SourceCRS

__all__ = ["Options", "RawSite", "decode_text", "limits", "resolve_source", "same_crs"]


@dataclass(frozen=True)
class Options:
    """The caller's declarations that a reader may need."""

    crs: str | None = None
    zone: int | None = None
    dxf_layer: str | None = None
    filename: str | None = None


@dataclass
class RawSite:
    """A reader's result: geometries in SOURCE coordinates (x = easting/longitude)."""

    geometries: list[BaseGeometry]  # one per feature / parcel / drawing
    source: SourceCRS
    warnings: list[str] = field(default_factory=list)
    parcels: list[dict] = field(default_factory=list)
    # Called with the lon/lat geometry of each parcel, in order, once converted; returns warnings.
    audit: Callable[[list[BaseGeometry]], list[str]] | None = None


def decode_text(data: bytes | str) -> str:
    """Decode a text file: UTF-8 (with or without BOM) first, else GB18030 (a superset of GBK)."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "文件既不是 UTF-8 也不是 GBK/GB18030 编码的文本，请另存为 UTF-8 或 GBK 后重新提交。"
            " (The file is neither UTF-8 nor GBK/GB18030 text: save it as UTF-8 or GBK and resend.)"
        ) from exc


def limits() -> dict[str, float]:
    """Return the site limits from settings, read at call time so tests can override them."""
    conf = settings.BLUEPRINT
    return {
        "bytes": conf["SITE_MAX_BYTES"],
        "vertices": conf["SITE_MAX_VERTICES"],
        "area_km2": conf["SITE_MAX_AREA_KM2"],
    }


def same_crs(a: SourceCRS, b: SourceCRS) -> bool:
    """Tell whether two declarations mean the same coordinates (WGS84 ≈ CGCS2000 here)."""
    if a == b:
        return True
    return a.offset is None and b.offset is None and {a.srid, b.srid} <= {crsmod.WGS84, crsmod.CGCS2000}


def resolve_source(
    param: str | None,
    zone: int | None,
    declared: str | None,
    geometries: list[BaseGeometry],
    default: str | None,
) -> SourceCRS:
    """Choose the source CRS: the caller's or the file's (they must agree), a zone, a default.

    Without a default (DXF) the easting's zone prefix is the last resort; nothing else is guessed.
    """
    chosen = _agreeing(param, declared)
    if chosen is not None:
        if zone is not None and chosen.gk_zone is not None and chosen.gk_zone != zone:
            raise InvalidInput(
                f"声明的带号 {zone} 与坐标系 {chosen.label} ({chosen.gk_zone} 带) 不一致，"
                "请只保留正确的一个。"
                f" (Zone {zone} contradicts {chosen.label}, which is zone {chosen.gk_zone}: keep one.)"
            )
        return chosen
    coords = shapely.get_coordinates(geometries)
    easting = float(coords[:, 0].min()) if coords.size else 0.0
    if zone is not None:
        return crsmod.gauss_kruger_from_easting(easting, zone)
    if default is not None:
        return crsmod.parse_crs(default)
    if easting >= 1e7:
        return crsmod.gauss_kruger_from_easting(easting)
    raise InvalidInput(
        "文件未携带坐标系，坐标也没有带号前缀。请指定坐标系 (如 crs=EPSG:4527 或 EPSG:4548)"
        " 或带号 (zone=39)。"
        " (The file carries no CRS and the eastings no zone prefix: pass crs, e.g. EPSG:4527 /"
        " EPSG:4548, or zone, e.g. 39.)"
    )


def _agreeing(param: str | None, declared: str | None) -> SourceCRS | None:
    given = crsmod.parse_crs(param) if param else None
    found = crsmod.parse_crs(declared) if declared else None
    if given is not None and found is not None and not same_crs(given, found):
        raise InvalidInput(
            f"请求声明的坐标系 {given.label} 与文件自带的坐标系 {found.label} 不一致。"
            "请确认坐标实际所用的坐标系，去掉错误的声明。"
            f" (The requested CRS {given.label} contradicts the file's own CRS"
            f" {found.label}: check which one the coordinates are in and drop the wrong one.)"
        )
    return given or found
