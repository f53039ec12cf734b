"""Tell a site file's format from the caller's word, the file name or the content."""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from pathlib import PurePath

from blueprint.errors import InvalidInput

__all__ = ["FORMATS", "detect_format"]

FORMATS = ("geojson", "wkt", "txt", "shapefile", "kml", "dxf")
_ALIASES = {"json": "geojson", "ewkt": "wkt", "shp": "shapefile", "zip": "shapefile", "kmz": "kml"}
_SUFFIXES = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".wkt": "wkt",
    ".txt": "txt",
    ".zip": "shapefile",
    ".kml": "kml",
    ".kmz": "kml",
    ".dxf": "dxf",
}
_WKT = re.compile(r"^(SRID\s*=\s*\d+\s*;\s*)?(MULTI)?(POLYGON|POINT|LINESTRING)|^GEOMETRYCOLLECTION", re.I)
_DXF = re.compile(r"^(999[ \t]*\r?\n.*\n\s*)?0[ \t]*\r?\n\s*SECTION\s")


def detect_format(data: bytes | str | dict, declared: str | None, filename: str | None) -> str:
    """Return one of FORMATS, or raise InvalidInput naming the accepted formats."""
    if declared:
        name = _ALIASES.get(declared.strip().lower(), declared.strip().lower())
        if name in FORMATS:
            return name
        raise _unknown(f"format={declared}")
    suffix = PurePath(filename).suffix.lower() if filename else ""
    if suffix in _SUFFIXES:
        name = _SUFFIXES[suffix]
        return _zip_kind(data) if name == "shapefile" and isinstance(data, bytes) else name
    return _sniff(data, filename)


def _sniff(data: bytes | str | dict, filename: str | None) -> str:
    if isinstance(data, dict):
        return "geojson"
    if isinstance(data, bytes) and data.startswith(b"PK"):
        return _zip_kind(data)
    if isinstance(data, bytes) and data.startswith(b"AutoCAD Binary DXF"):
        return "dxf"
    head = (_head(data) if isinstance(data, bytes) else data[:4096]).lstrip("\ufeff \t\r\n")
    if "[属性描述]" in head or "[地块坐标]" in head:
        return "txt"
    if head.startswith("{"):
        return "geojson"
    if _WKT.match(head):
        return "wkt"
    if "<kml" in head[:2000].lower():
        return "kml"
    if _DXF.match(head):
        return "dxf"
    raise _unknown(filename or "")


def _head(data: bytes) -> str:
    chunk = data[:4096]
    try:
        # Incremental, so a character cut at the chunk's end is not a decoding error.
        return codecs.getincrementaldecoder("utf-8")().decode(chunk, final=False)
    except UnicodeDecodeError:
        return chunk.decode("gb18030", errors="ignore")


def _zip_kind(data: bytes) -> str:
    # A KMZ is a zip too: it holds a .kml and no .shp.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            names = [n.lower() for n in bundle.namelist()]
    except zipfile.BadZipFile:
        return "shapefile"  # the Shapefile reader reports the damage
    has_kml = any(n.endswith(".kml") for n in names)
    return "kml" if has_kml and not any(n.endswith(".shp") for n in names) else "shapefile"


def _unknown(what: str) -> InvalidInput:
    accepted_zh = (
        "GeoJSON (.geojson/.json)、WKT/EWKT (.wkt)、界址坐标 TXT (.txt)、Shapefile 压缩包 (.zip)、"
        "KML/KMZ (.kml/.kmz)、DXF (.dxf)"
    )
    accepted_en = (
        "GeoJSON (.geojson/.json), WKT/EWKT (.wkt), boundary-point TXT (.txt), zipped Shapefile"
        " (.zip), KML/KMZ (.kml/.kmz), DXF (.dxf)"
    )
    return InvalidInput(
        f"无法识别文件格式 {what}。支持：{accepted_zh}。请用这些格式之一提交，或用 format 参数指明格式。"
        f" (Unknown site format {what}. Accepted: {accepted_en}; send one of these or name it with the"
        " format parameter.)"
    )
