"""The CRS URIs the OGC face names (one source for each)."""

__all__ = ["CRS84", "EPSG", "epsg_uri"]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def epsg_uri(code: int) -> str:
    """The OGC URI of an EPSG code, e.g. 3857 → http://www.opengis.net/def/crs/EPSG/0/3857."""
    return f"{EPSG}{code}"
