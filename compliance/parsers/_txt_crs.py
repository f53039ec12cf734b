"""Work out the CRS of a 界址坐标 TXT file from its `[属性描述]` header and its eastings."""

from __future__ import annotations

import shapely
from shapely.geometry.base import BaseGeometry

from blueprint.errors import InvalidInput
from compliance.parsers._common import Options, resolve_source
from layers import crs as crsmod
from layers.crs import SourceCRS

__all__ = ["source_crs"]

# CGCS2000 6-degree Gauss–Krüger zones 13–23: EPSG:4491–4501 prefixed, 4502–4512 without prefix.
_SIX_DEGREE_ZONES = range(13, 24)
_SIX_DEGREE_PREFIXED_BASE = 4491
_SIX_DEGREE_PLAIN_BASE = 4502


def source_crs(
    attributes: dict[str, str], geometries: list[BaseGeometry], options: Options
) -> tuple[SourceCRS, list[str]]:
    """Return the file's CRS and any warning about its header; refuse what is not CGCS2000 GK."""
    warnings = _check_header(attributes)
    zone = _zone(attributes.get("带号", ""), options.zone)
    if options.crs:
        return resolve_source(options.crs, zone, None, geometries, default=None), warnings
    easting = float(shapely.get_coordinates(geometries)[:, 0].min())
    prefix = int(easting // 1e6) if easting >= 1e7 else None
    width = attributes.get("几度分带", "").strip().rstrip("度°")
    if width not in ("", "3", "6"):
        raise InvalidInput(
            f"几度分带={width} 无法识别，应为 3 或 6。"
            f" (几度分带={width} is not understood: it must be 3 or 6.)"
        )
    inferred_six = width == "" and (zone or prefix or 0) in _SIX_DEGREE_ZONES
    if width == "6" or inferred_six:
        return _six_degree(zone, prefix), warnings
    return crsmod.gauss_kruger_from_easting(easting, zone), warnings


def _check_header(attributes: dict[str, str]) -> list[str]:
    datum = attributes.get("坐标系", "")
    if not datum:
        return [
            "文件头未写明坐标系，按 2000国家大地坐标系 处理。 (The header names no 坐标系;"
            " it is read as CGCS2000.)"
        ]
    if "2000" not in datum and "cgcs" not in datum.lower():
        raise InvalidInput(
            f"坐标系={datum}：只接受 2000国家大地坐标系 (CGCS2000)。西安80、北京54 等坐标需先由测绘单位"
            f"用转换参数转换为 CGCS2000。 (坐标系={datum}: only CGCS2000 is accepted; Xian 80 or Beijing 54"
            " coordinates must first be converted to CGCS2000 by the surveyor with the local parameters.)"
        )
    projection = attributes.get("投影类型", "")
    if projection and "高斯" not in projection and "gauss" not in projection.lower():
        raise InvalidInput(
            f"投影类型={projection}：只支持高斯-克吕格投影。 (投影类型={projection}: only Gauss–Krüger is"
            " supported.)"
        )
    unit = attributes.get("计量单位", "")
    if unit and unit.lower() not in ("米", "m", "meter", "metre", "meters", "metres"):
        raise InvalidInput(
            f"计量单位={unit}：坐标必须以米为单位。 (计量单位={unit}: coordinates must be in metres.)"
        )
    return []


def _zone(header: str, given: int | None) -> int | None:
    header = header.strip()
    if header and not header.isdigit():
        raise InvalidInput(f"带号={header} 不是整数。 (带号={header} is not a whole number.)")
    declared = int(header) if header else None
    if declared is not None and given is not None and declared != given:
        raise InvalidInput(
            f"文件头的带号 {declared} 与请求的带号 {given} 不一致。 (The header's zone {declared}"
            f" contradicts the requested zone {given}.)"
        )
    return declared if declared is not None else given


def _six_degree(zone: int | None, prefix: int | None) -> SourceCRS:
    if zone is not None and prefix is not None and zone != prefix:
        raise InvalidInput(
            f"坐标的带号前缀 {prefix} 与声明的带号 {zone} 不一致。"
            f" (The easting's zone prefix {prefix} contradicts the declared zone {zone}.)"
        )
    number = prefix if prefix is not None else zone
    if number is None:
        crsmod.gauss_kruger_from_easting(0.0, None)  # raises the "state the zone" message
    if number not in _SIX_DEGREE_ZONES:
        raise InvalidInput(
            f"6度带带号 {number} 不在中国范围 (13–23)。请核对 几度分带 与 带号。 (6-degree zone {number}"
            " is not a Chinese zone (13–23): check 几度分带 and 带号.)"
        )
    base = _SIX_DEGREE_PREFIXED_BASE if prefix is not None else _SIX_DEGREE_PLAIN_BASE
    return crsmod.parse_crs(base + number - _SIX_DEGREE_ZONES.start)
