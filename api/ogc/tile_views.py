"""Thin views around pygeoapi's tile endpoints: HTTP caching and OGC errors it does not give.

pygeoapi's tile function cannot set response headers from the provider, so the ETag (layer
version + tile address), Cache-Control and the 304 on If-None-Match are added here. A 304 is
answered before any tile work, but after the visibility check: a hidden layer's tile is a 404
whatever the caller sends. A live layer (project sites) has no version: its tile is made at each
request (a new revision shows at once), its ETag is the content's and it is `no-cache`.
"""

from __future__ import annotations

import hashlib
from http import HTTPStatus

import pygeoapi.api.tiles as tiles_api
from django.http import HttpRequest, HttpResponse

from api.ogc.adapter import api_for, execute_from_django
from api.ogc.tiles import MVT_MIMETYPE
from blueprint.caching import etag as tile_etag
from blueprint.caching import not_modified
from layers.tiles import TILE_MATRIX_SETS

__all__ = ["collection_tile", "collection_tileset", "visible_tile_provider", "cached", "live_or_cached"]

TILE_REVISION = "1"  # bump when the tile SQL or the attribute choice changes what a tile holds
MAX_AGE = 300  # seconds a client may reuse a tile before asking again (then a cheap 304)


def collection_tile(request: HttpRequest, collection_id: str, tileMatrixSetId: str,  # noqa: N803
                    tileMatrix: str, tileRow: str, tileCol: str) -> HttpResponse:  # noqa: N803
    """One vector tile through pygeoapi, with ETag, Cache-Control and 304."""
    provider = visible_tile_provider(request, collection_id)
    etag = None
    if provider is not None and not provider["options"].get("live"):
        address = f"{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}"
        etag = tile_etag(TILE_REVISION, collection_id, provider["options"]["version_id"], address)
        if not_modified(request, etag):
            return cached(HttpResponse(status=HTTPStatus.NOT_MODIFIED), etag, provider)
    if "f" not in request.GET:  # MVT is the only tile format: a plain {z}/{y}/{x} URL template works
        request.GET = request.GET.copy()
        request.GET["f"] = "mvt"
    response = execute_from_django(tiles_api.get_collection_tiles_data, request, collection_id,
                                   tileMatrixSetId, tileMatrix, tileRow, tileCol, skip_valid_check=True)
    if response.status_code in (HTTPStatus.OK, HTTPStatus.NO_CONTENT) and provider is not None:
        return live_or_cached(request, response, etag, provider)
    if response.status_code >= HTTPStatus.BAD_REQUEST:
        response["Content-Type"] = "application/json"  # pygeoapi leaves the MVT type on its errors
    return response


def collection_tileset(request: HttpRequest, collection_id: str, tileMatrixSetId: str) -> HttpResponse:  # noqa: N803
    """A tileset's metadata (JSON, TileJSON, HTML); an unknown tile matrix set is a 404, not a 500."""
    if tileMatrixSetId not in TILE_MATRIX_SETS and visible_tile_provider(request, collection_id) is not None:
        api = api_for(request)
        headers, status, content = api.get_exception(
            HTTPStatus.NOT_FOUND, {"Content-Type": "application/json"}, "json", "NotFound",
            f"没有瓦片矩阵集 {tileMatrixSetId}，可用 {', '.join(TILE_MATRIX_SETS)}"
            f" (unknown tile matrix set {tileMatrixSetId}; use one of {', '.join(TILE_MATRIX_SETS)})")
        return HttpResponse(content, status=status, headers=headers)
    return execute_from_django(tiles_api.get_collection_tiles_metadata, request, collection_id,
                               tileMatrixSetId, skip_valid_check=True)


def visible_tile_provider(request: HttpRequest, collection_id: str) -> dict | None:
    """The tile provider definition of a collection this caller may see, else None."""
    resource = api_for(request).config["resources"].get(collection_id) or {}
    return next((p for p in resource.get("providers", []) if p.get("type") == "tile"), None)


def live_or_cached(request: HttpRequest, response: HttpResponse, etag: str | None, provider: dict,
                   content_type: str = MVT_MIMETYPE) -> HttpResponse:
    """`cached(response)`; a live layer's tile (no `etag` beforehand) tagged by its content, and
    a 304 when the caller holds that content already."""
    if etag is None:
        etag = tile_etag(TILE_REVISION, "live", hashlib.sha256(response.content).hexdigest())
        if not_modified(request, etag):
            response = HttpResponse(status=HTTPStatus.NOT_MODIFIED)
    return cached(response, etag, provider, content_type)


def cached(response: HttpResponse, etag: str, provider: dict,
           content_type: str = MVT_MIMETYPE) -> HttpResponse:
    """The tile response with its ETag, Cache-Control (public for public layers) and Vary."""
    scope = "public" if provider["options"].get("public") else "private"
    response["ETag"] = etag
    # A live layer changes with every new revision: the client asks each time (a 304 if unchanged).
    response["Cache-Control"] = f"{scope}, no-cache" if provider["options"].get("live") \
        else f"{scope}, max-age={MAX_AGE}"
    response["Vary"] = "Cookie, Authorization"  # what a caller may see depends on who it is
    if response.status_code == HTTPStatus.OK:
        response["Content-Type"] = content_type
    return response
