"""Independent oracles and small file builders for the layer tests.

Expected areas come from pyproj's Geod on the CGCS2000 ellipsoid, computed here, never from the
code under test (which measures in PostGIS or through layers.crs).
"""

import json
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyproj import Geod

CGCS2000_GEOD = Geod(a=6378137.0, rf=298.257222101)


def geod_area(geom) -> float:
    """Ellipsoidal area in m² of a lon/lat polygon or multipolygon (pyproj's Geod)."""
    total = 0.0
    for part in shapely.get_parts(geom):
        area, _ = CGCS2000_GEOD.geometry_area_perimeter(shapely.orient_polygons(part))
        total += abs(area)
    return total


def straight_edge_area_m2(geom, step: float = 5e-4) -> float:
    """Ellipsoidal area of a polygon whose edges are straight in lon/lat (the service's edge
    model, README "Compliance checks"): edges densified to `step` degrees (~50 m), then Geod."""
    return geod_area(shapely.segmentize(geom, step))


def square(lon: float, lat: float, metres: float) -> shapely.Polygon:
    """A roughly square polygon of side `metres` with its south-west corner at (lon, lat)."""
    east_lon, _, _ = CGCS2000_GEOD.fwd(lon, lat, 90, metres)
    _, north_lat, _ = CGCS2000_GEOD.fwd(lon, lat, 0, metres)
    return shapely.box(lon, lat, east_lon, north_lat)


def write_geojson(path: Path, geoms, props: list[dict] | None = None, crs_name: str | None = None) -> Path:
    """Write a FeatureCollection of `geoms` (lon/lat unless `crs_name` says otherwise)."""
    features = [{"type": "Feature", "properties": (props or [{}] * len(geoms))[i],
                 "geometry": shapely.geometry.mapping(g) if g is not None else None}
                for i, g in enumerate(geoms)]
    doc = {"type": "FeatureCollection", "features": features}
    if crs_name:
        doc["crs"] = {"type": "name", "properties": {"name": crs_name}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def write_vector(path: Path, geoms, fields: dict[str, list], *, driver: str, crs: str | None,
                 geometry_type: str = "MultiPolygon") -> Path:
    """Write polygons and attribute columns with GDAL (GPKG, ESRI Shapefile, KML)."""
    wkb = np.array(shapely.to_wkb(shapely.force_2d(np.array(geoms, dtype=object))), dtype=object)
    columns = [np.array(values, dtype=object) for values in fields.values()]
    pyogrio.raw.write(str(path), wkb, columns, list(fields), driver=driver, crs=crs,
                      geometry_type=geometry_type)
    return path


def jining_patches(count: int, lon: float = 116.50, lat: float = 35.30, metres: float = 300.0):
    """Count non-overlapping squares in a row near Jining, 50 m apart."""
    patches, x = [], lon
    for _ in range(count):
        patch = square(x, lat, metres)
        patches.append(patch)
        x = CGCS2000_GEOD.fwd(patch.bounds[2], lat, 90, 50.0)[0]
    return patches
