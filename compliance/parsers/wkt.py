"""Read WKT or PostGIS EWKT (`SRID=4527;POLYGON(...)`)."""

from __future__ import annotations

import re

import shapely
from shapely.errors import GEOSException

from blueprint.errors import InvalidInput, echo
from compliance.parsers._common import Options, RawSite, decode_text, resolve_source

__all__ = ["read"]

_EWKT = re.compile(r"^\s*SRID\s*=\s*(\d+)\s*;\s*(.*)$", re.S | re.I)


MAX_NESTING = 32  # a site needs 3 levels (MULTIPOLYGON(((…)))); GEOS's reader crashes near 100 000


def _check_nesting(text: str) -> None:
    """Refuse deep parenthesis nesting before GEOS reads it (its recursive reader segfaults)."""
    depth = deepest = 0
    for char in text:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_NESTING:
                raise InvalidInput(f"WKT 括号嵌套超过 {MAX_NESTING} 层：用地红线不需要这么深的几何集合。"
                                   f" (The WKT nests deeper than {MAX_NESTING} levels.)")
        elif char == ")":
            depth -= 1


def read(data: bytes | str, options: Options) -> RawSite:
    """Read (E)WKT; without an SRID or `crs` the coordinates are CGCS2000 longitude, latitude."""
    text = decode_text(data).strip()
    declared = None
    match = _EWKT.match(text)
    if match:
        declared, text = f"EPSG:{match.group(1)}", match.group(2)
    _check_nesting(text)
    try:
        geometry = shapely.from_wkt(text)
    except GEOSException as exc:
        reason = echo(exc, 200)
        raise InvalidInput(
            f"WKT 无法解析：{reason}。示例：POLYGON((116.5 35.3, 116.6 35.3, 116.6 35.4, 116.5 35.3))，"
            "经度在前；投影坐标请写 SRID=4527;POLYGON(...)。"
            f" (The WKT does not parse: {reason}. Example: POLYGON((116.5 35.3, 116.6 35.3, 116.6 35.4,"
            " 116.5 35.3)), longitude first; for projected coordinates write SRID=4527;POLYGON(...).)"
        ) from exc
    source = resolve_source(options.crs, options.zone, declared, [geometry], default="EPSG:4490")
    return RawSite([geometry], source)
