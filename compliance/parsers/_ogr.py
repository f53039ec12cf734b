"""Read geometries from a file GDAL understands (through pyogrio's bundled GDAL)."""

from __future__ import annotations

import logging

import pyogrio
import pyogrio.raw
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from shapely.geometry.base import BaseGeometry

from blueprint.errors import InvalidInput

__all__ = ["read_layers"]

LOGGER = logging.getLogger(__name__)


def read_layers(path: str, what: str) -> tuple[list[BaseGeometry], str | None]:
    """Return the geometries of every layer at `path` and the first layer's CRS (WKT or EPSG)."""
    geometries: list[BaseGeometry] = []
    declared = None
    try:
        for name, _ in pyogrio.list_layers(path):
            meta, _, wkb, _ = pyogrio.raw.read(path, layer=name, columns=[])
            declared = declared or meta.get("crs")
            geometries += [g for g in shapely.from_wkb(wkb) if g is not None]
    except (DataSourceError, DataLayerError) as exc:
        # GDAL's text names the temporary file and its drivers: for the log, not for the caller.
        LOGGER.info("unreadable %s upload: %s", what, exc)
        raise InvalidInput(
            f"无法读取{what}文件：文件损坏或不是 {what} 格式。请用 GIS 软件重新导出。"
            f" (The {what} file cannot be read: corrupt or not {what}. Export it again from the GIS"
            " software.)"
        ) from exc
    return geometries, declared
