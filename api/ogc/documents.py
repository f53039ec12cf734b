"""Tidy the metadata documents pygeoapi 0.24 writes, so that clients can follow every link.

pygeoapi's landing, collection, tile-set and tile-matrix-set documents have a few defects that
clients trip over: URL templates not flagged `templated`, two `self` links in one list, a
relative `href` from our raster collections, a `tileMatrixSets` link where the route is
`TileMatrixSets`; a raster collection without `itemType` (GDAL then lists it as a vector layer
and reads `/items`) offering coverage formats that its provider does not write; and the storage
CRS said as CRS84 (see config.py). One pass over the JSON fixes them, in one place.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin

from pygeoapi.api import describe_collections, landing_page
from pygeoapi.api.itemtypes import get_collection_queryables
from pygeoapi.api.processes import describe_processes
from pygeoapi.api.tiles import (
    get_collection_tiles,
    get_collection_tiles_metadata,
    tilematrixset,
    tilematrixsets,
)

from api.ogc.config import STORAGE_CRS
from layers.sites import SITE_FIELDS, SITE_LAYER

__all__ = ["DOCUMENTS", "tidy"]

# pygeoapi API functions whose JSON answer is tidied (never items: those are data, and correct).
DOCUMENTS = {landing_page, describe_collections, get_collection_tiles, get_collection_tiles_metadata,
             tilematrixsets, tilematrixset, describe_processes, get_collection_queryables}
_TEMPLATE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
_COVERAGE_REL = "http://www.opengis.net/def/rel/ogc/1.0/coverage"
_GEOTIFF = "image/tiff"


def tidy(content: str, base_url: str, self_url: str) -> str:
    """Return the JSON document `content` (found at `self_url`) with its links and collection
    descriptions fixed."""
    try:
        document = json.loads(content)
    except ValueError:
        return content
    _walk(document, base_url.rstrip("/") + "/")
    _queryable_titles(document)
    links = document.get("links") if isinstance(document, dict) else None
    if isinstance(links, list) and not any(link.get("rel") == "self" for link in links):
        links.insert(0, {"rel": "self", "type": "application/json", "href": self_url})
    return json.dumps(document, ensure_ascii=False)


def _queryable_titles(document) -> None:
    """pygeoapi titles each queryable by its name; the project sites' get their Chinese titles."""
    if not isinstance(document, dict) \
            or f"/collections/{SITE_LAYER}/queryables" not in str(document.get("$id")):
        return
    for name, spec in document.get("properties", {}).items():
        if name in SITE_FIELDS and isinstance(spec, dict):
            spec["title"] = f"{SITE_FIELDS[name][1]} ({SITE_FIELDS[name][2]})"


def _walk(node, base: str) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, base)
        return
    if not isinstance(node, dict):
        return
    if "itemType" in node or "extent" in node and "links" in node:
        _collection(node)
    if isinstance(node.get("links"), list):
        node["links"] = _links(node["links"], base)
    for key, value in node.items():
        if key != "links":
            _walk(value, base)


def _collection(collection: dict) -> None:
    links = collection.get("links", [])
    coverage = [link for link in links if link.get("rel") == _COVERAGE_REL]
    if coverage:
        # Only GeoTIFF is written (api/ogc/coverage.py): drop the CoverageJSON and HTML offers.
        # GDAL's vector driver skips a collection by `itemType` (3.7+) or `layerDataType` (older).
        collection["itemType"] = "coverage"
        collection["layerDataType"] = "Coverage"
        collection["links"] = [link for link in links if link.get("rel") != _COVERAGE_REL
                               or str(link.get("type", "")).startswith(_GEOTIFF)]
    elif "storageCrs" in collection:
        collection["storageCrs"] = STORAGE_CRS


def _links(links: list, base: str) -> list:
    tidied = [_link(link, base) if isinstance(link, dict) and isinstance(link.get("href"), str) else link
              for link in links]
    selves = [link for link in tidied if isinstance(link, dict) and link.get("rel") == "self"]
    # This document is JSON: its JSON link is `self`, any other is an alternate representation.
    keep = next((link for link in selves if "json" in str(link.get("type", ""))),
                selves[0] if selves else None)
    for link in selves:
        if link is not keep:
            link["rel"] = "alternate"
    return tidied


def _link(link: dict, base: str) -> dict:
    link = {**link, "href": urljoin(base, link["href"].replace("/tileMatrixSets", "/TileMatrixSets"))}
    if _TEMPLATE.search(link["href"]):
        link["templated"] = True
        if link.get("rel") == "self":  # a URL template is not this document
            link["rel"] = "item"
    return link
