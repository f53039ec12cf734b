"""pygeoapi's `bbox-crs` step, done through layers/crs.py with cached transformers.

pygeoapi 0.24 builds a new pyproj Transformer for every request with `bbox-crs`; from EPSG:4490
that costs ~0.5 s (PROJ searches its database for CGCS2000 → WGS84 operations each time).
"""

from pygeoapi.crs import transform_bbox as pygeoapi_transform_bbox

from api.ogc.config import CRS84
from layers import crs

__all__ = ["transform_bbox"]


def transform_bbox(bbox: list, from_crs, to_crs, always_xy: bool = False) -> list:
    """Return `bbox` (in `from_crs`'s own axis order) in our collections' storage CRS, CRS84."""
    if len(bbox) != 4 or str(to_crs) != CRS84 or always_xy:
        return pygeoapi_transform_bbox(bbox, from_crs, to_crs, always_xy)
    return crs.bbox_to_lonlat(bbox, str(from_crs))
