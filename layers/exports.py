"""Write features to the files people take away: GeoJSON, GeoPackage, zipped Shapefile, Excel.

One writer per format, all from the same (geometries, properties, field schema) in CGCS2000
lon/lat. The vector files are written by GDAL through pyogrio; Excel by openpyxl. The Shapefile
is the one the exchange tables carry too (exchange/attachments.py): GBK attributes declared by a
`.cpg`, the CGCS2000 `.prj`.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely
from shapely.geometry.base import BaseGeometry

from layers.crs import SQUARE_METRES_PER_MU

__all__ = ["FORMATS", "ExportFile", "export_features", "zipped_shapefile"]

_NUMPY_TYPES = {"integer": "float64", "number": "float64"}  # nulls as NaN; GDAL writes numbers


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str


FORMATS = {  # format → (file suffix, content type)
    "geojson": (".geojson", "application/geo+json"),
    "gpkg": (".gpkg", "application/geopackage+sqlite3"),
    "shp": (".zip", "application/zip"),
    "xlsx": (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def export_features(fmt: str, name: str, geometries: list[BaseGeometry], properties: list[dict],
                    fields: dict[str, str], *, headers: dict[str, str] | None = None,
                    areas: list[float | None] | None = None) -> ExportFile:
    """Write the features in `fmt` (a key of FORMATS). `headers` names the columns in Excel
    (field → label); `areas` (m², ellipsoidal) adds area columns there."""
    suffix, content_type = FORMATS[fmt]
    if fmt == "xlsx":
        content = _excel(name, geometries, properties, fields, headers or {}, areas)
    elif fmt == "shp":
        content = zipped_shapefile(name, geometries, properties, fields, _geometry_type(geometries))
    else:
        content = _ogr(fmt, name, geometries, properties, fields)
    return ExportFile(content, content_type, f"{name}{suffix}")


def _geometry_type(geometries: list[BaseGeometry]) -> str:
    # A Shapefile holds one kind of geometry: the multi-part kind of what is there.
    kinds = {g.geom_type.removeprefix("Multi") for g in geometries} or {"Polygon"}
    kind = kinds.pop() if len(kinds) == 1 else "Polygon"
    return f"Multi{kind}" if kind in ("Polygon", "LineString") else kind


def _column(properties: list[dict], field: str, kind: str) -> np.ndarray:
    values = [p.get(field) for p in properties]
    if kind in _NUMPY_TYPES:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=_NUMPY_TYPES[kind])
    return np.array([None if v is None else str(v) for v in values], dtype=object)


def _wkb(geometries: list[BaseGeometry], geometry_type: str | None = None) -> np.ndarray:
    if geometry_type and geometry_type.startswith("Multi"):
        geometries = [g if g.geom_type.startswith("Multi") else getattr(shapely, geometry_type)([g])
                      for g in geometries]
    return np.array([shapely.to_wkb(g) for g in geometries], dtype=object)


def zipped_shapefile(name: str, geometries: list[BaseGeometry], properties: list[dict],
                     fields: dict[str, str], geometry_type: str = "MultiPolygon") -> bytes:
    """Zip a Shapefile of the features: CGCS2000 `.prj`, GBK attributes declared by a `.cpg`.

    `fields` is the layer's own attribute schema (name → string | integer | number | date).
    """
    columns = [_column(properties, field, kind) for field, kind in fields.items()]
    with tempfile.TemporaryDirectory(prefix="export-") as folder:
        path = Path(folder) / f"{name}.shp"
        pyogrio.raw.write(path, _wkb(geometries, geometry_type), columns, list(fields),
                          driver="ESRI Shapefile", geometry_type=geometry_type, crs="EPSG:4490",
                          encoding="GBK")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(folder).iterdir()):
                archive.write(part, part.name)
    return buffer.getvalue()


def _ogr(fmt: str, name: str, geometries, properties, fields) -> bytes:
    driver = {"geojson": "GeoJSON", "gpkg": "GPKG"}[fmt]
    columns = [_column(properties, field, kind) for field, kind in fields.items()]
    with tempfile.TemporaryDirectory(prefix="export-") as folder:
        path = Path(folder) / f"{name}{FORMATS[fmt][0]}"
        # GeoJSON is lon/lat by RFC 7946 (CGCS2000 within centimetres of WGS 84); the GeoPackage
        # declares EPSG:4490.
        # GeoJSON gets 8 decimals (~1 mm): RFC 7946's default 7 (~1 cm) moves areas by ~1e-6.
        options = {"layer": name} if fmt == "gpkg" else {"RFC7946": "YES", "COORDINATE_PRECISION": 8}
        pyogrio.raw.write(path, _wkb(geometries), columns, list(fields), driver=driver,
                          geometry_type="Unknown", crs="EPSG:4490" if fmt == "gpkg" else "OGC:CRS84",
                          **options)
        return path.read_bytes()


def _excel(name: str, geometries, properties, fields, headers: dict[str, str], areas) -> bytes:
    from openpyxl import Workbook  # loaded only when a spreadsheet is asked for

    book = Workbook()
    sheet = book.active
    sheet.title = name[:31]  # Excel's limit for a sheet name
    extra = ["面积（平方米）", "面积（亩）"] if areas is not None else []
    sheet.append([headers.get(f, f) for f in fields] + extra + ["中心点经度", "中心点纬度"])
    for index, (geom, props) in enumerate(zip(geometries, properties, strict=True)):
        point = geom.representative_point()
        m2 = None if areas is None else areas[index]
        area = [] if areas is None else [_round(m2, 2), _round(m2 and m2 / SQUARE_METRES_PER_MU, 4)]
        sheet.append([props.get(f) for f in fields] + area + [round(point.x, 7), round(point.y, 7)])
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _round(value, digits: int):
    return None if value is None else round(value, digits)
