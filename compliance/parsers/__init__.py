"""Read a project site (用地红线) from the files applicants and surveyors send.

Every format module returns geometry in its SOURCE coordinates with the CRS it was declared in;
one shared path (`_normalise`) converts to CGCS2000 through `layers.crs`, checks the zone,
validity and limits. The result is a valid EPSG:4490 MultiPolygon in (longitude, latitude).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import shapely

from blueprint.errors import InvalidInput
from compliance.parsers import dxf, geojson, kml, shapefile, txt, wkt
from compliance.parsers._common import Options, limits
from compliance.parsers._detect import FORMATS, detect_format
from compliance.parsers._normalise import normalise

__all__ = ["FORMATS", "ParsedSite", "parse_site"]

_READERS = {
    "geojson": geojson.read,
    "wkt": wkt.read,
    "txt": txt.read,
    "shapefile": shapefile.read,
    "kml": kml.read,
    "dxf": dxf.read,
}
_BINARY_ONLY = {"shapefile"}


@dataclass
class ParsedSite:
    """A site boundary ready for the compliance check."""

    geometry: shapely.MultiPolygon  # EPSG:4490, (lon, lat), valid
    source_format: str  # one of FORMATS
    source_crs: str  # e.g. "EPSG:4527", "GCJ02", "EPSG:4490"
    warnings: list[str]
    repair: str | None  # what was repaired and where, when repair=True was needed
    parcels: list[dict]  # TXT: one dict per parcel (编号, 名称, 用途, 地类编码, 申报面积 …); else []


def parse_site(
    data: bytes | str | dict,
    *,
    format: str | None = None,  # noqa: A002 - the public parameter name the API uses
    crs: str | None = None,
    zone: int | None = None,
    dxf_layer: str | None = None,
    repair: bool = False,
    filename: str | None = None,
) -> ParsedSite:
    """Read a site in any accepted format and return it as a valid CGCS2000 MultiPolygon.

    `crs` declares the coordinates' CRS (EPSG code, URN, GCJ02, BD09); `zone` a 3-degree
    Gauss–Krüger zone; `repair` allows make_valid instead of rejecting an invalid boundary.
    """
    _check_size(data)
    name = detect_format(data, format, filename)
    if isinstance(data, dict) and name != "geojson" or isinstance(data, str) and name in _BINARY_ONLY:
        raise InvalidInput(
            f"{name} 格式需要以原始文件字节提交。 (The {name} format must be sent as the file's raw bytes.)"
        )
    raw = _READERS[name](data, Options(crs=crs, zone=zone, dxf_layer=dxf_layer, filename=filename))
    result = normalise(raw, repair=repair)
    return ParsedSite(
        geometry=result.geometry,
        source_format=name,
        source_crs=raw.source.label,
        warnings=raw.warnings + result.warnings,
        repair=result.repair,
        parcels=raw.parcels,
    )


def _check_size(data: bytes | str | dict) -> None:
    if isinstance(data, dict):
        size = len(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    elif isinstance(data, str):
        size = len(data.encode("utf-8"))
    else:
        size = len(data)
    limit = limits()["bytes"]
    if size > limit:
        raise InvalidInput(
            f"文件大小 {size} 字节，超过上限 {limit} 字节 ({limit / 2**20:g} MiB)。请只提交用地红线，"
            f"或抽稀边界后再提交。 (The file is {size} bytes, more than the limit of {limit} bytes"
            f" ({limit / 2**20:g} MiB): send only the site boundary, or simplify it.)"
        )
