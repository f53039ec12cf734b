"""Read KML or KMZ: always longitude, latitude on WGS84 (≈ CGCS2000 here)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from blueprint.errors import InvalidInput
from compliance.parsers._common import Options, RawSite, resolve_source
from compliance.parsers._ogr import read_layers

__all__ = ["read"]


def read(data: bytes | str, options: Options) -> RawSite:
    """Read every placemark of every folder; only a declared GCJ02/BD09 offset may change the CRS."""
    source = resolve_source(options.crs, None, None, [], default="EPSG:4326")
    if not source.is_geographic:
        raise InvalidInput(
            f"KML 的坐标总是经纬度 (WGS84)，不能声明为 {source.label}。 (KML coordinates are always WGS84"
            f" longitude/latitude; they cannot be declared as {source.label}.)"
        )
    raw = data.encode("utf-8") if isinstance(data, str) else data
    suffix = ".kmz" if raw.startswith(b"PK") else ".kml"
    with tempfile.TemporaryDirectory(prefix="site-") as folder:
        path = Path(folder) / f"site{suffix}"
        path.write_bytes(raw)
        geometries, _ = read_layers(str(path), "KML")
    return RawSite(geometries, source)
