"""Our views ahead of pygeoapi's for items, coverage, conformance and tile matrix sets.

They keep to OGC API rules pygeoapi 0.24's Django views break: items in `application/geo+json`
chosen by `f` or `Accept`, `HEAD` answered like `GET` without a body (pygeoapi's views answer it
with a 500), an unknown query parameter refused (Features Part 1 /req/core/query-param-unknown:
`bboxx=` must not quietly return everything), writes refused with 405 as OGC exception JSON (the
collections are read-only: no Part 4; a POST with a CQL2 JSON body is a search), CQL2 JSON by
`filter-lang=cql2-json`, a coverage in its
one format, GeoTIFF, whatever `f` or `Accept` says, and `/TileMatrixSets/{id}` served at all.
"""

from __future__ import annotations

from http import HTTPStatus

import pygeoapi.api.coverages as pygeoapi_coverages
import pygeoapi.api.itemtypes as pygeoapi_items
import pygeoapi.api.tiles as pygeoapi_tiles
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from api.ogc.adapter import api_for, execute_from_django
from api.ogc.conformance import conformance as conformance_document
from api.ogc.cql2 import FILTER_LANG
from api.ogc.geojson_pages import PostgisPage
from blueprint.errors import InvalidInput, MethodNotAllowed, NotFound, echo, error_for_status, ogc_response

__all__ = ["collection_items", "collection_item", "collection_coverage", "conformance", "tilematrixset"]

# Features Part 1 + 2 + 3 query parameters our provider answers, and Part 9's `q` (pygeoapi's list).
ITEMS_PARAMETERS = {"f", "lang", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "resulttype",
                    "sortby", "properties", "skipGeometry", "filter", "filter-lang", "filter-crs", "q"}
ITEM_PARAMETERS = {"f", "lang", "crs"}
COVERAGE_PARAMETERS = {"f", "lang", "bbox", "bbox-crs", "datetime", "properties", "subset"}
_READ = ("GET", "HEAD", "OPTIONS")
_SEARCH = ("GET", "HEAD", "POST", "OPTIONS")
_CQL2_JSON = ("application/json", "application/query-cql-json")
_GEOTIFF = ("image/tiff", "image/*", "*/*")


def get_collection_items(api, request, dataset):
    """pygeoapi's items, with `filter-lang` known to api.ogc.cql2 (same name: the audit lists it)
    and, for a JSON answer, the page's features written by PostGIS (api.ogc.geojson_pages)."""
    token = FILTER_LANG.set(request.params.get("filter-lang"))
    page_token = PostgisPage.begin(request.format)
    try:
        headers, status, content = pygeoapi_items.get_collection_items(api, request, dataset)
    finally:
        page = PostgisPage.end(page_token)
        FILTER_LANG.reset(token)
    if page is not None and status == HTTPStatus.OK and isinstance(content, str):
        content = page.splice(content)
    return headers, status, content


@csrf_exempt  # nothing here writes: a POST is a search (CQL2 JSON body) or refused below
def collection_items(request: HttpRequest, collection_id: str) -> HttpResponse:
    """GET/HEAD /ogc/collections/{id}/items, POST with a CQL2 JSON body (a search, as pygeoapi's
    OpenAPI says); OPTIONS through pygeoapi; a GeoJSON POST (Part 4 create) or any write: 405."""
    if request.method == "OPTIONS":
        return execute_from_django(pygeoapi_items.manage_collection_item, request, "options", collection_id,
                                   skip_valid_check=True)
    refused = _refuse(request, collection_id, ITEMS_PARAMETERS | _property_names(request, collection_id),
                      searchable=True) or _not_features(request, collection_id)
    if refused:
        return refused
    response = execute_from_django(get_collection_items, request, collection_id, skip_valid_check=True)
    return _head(request, _geojson(request, response))


@csrf_exempt
def collection_item(request: HttpRequest, collection_id: str, item_id: str) -> HttpResponse:
    """GET/HEAD /ogc/collections/{id}/items/{itemId} (OPTIONS through pygeoapi; writes: 405)."""
    if request.method == "OPTIONS":
        return execute_from_django(pygeoapi_items.manage_collection_item, request, "options", collection_id,
                                   item_id, skip_valid_check=True)
    refused = _refuse(request, collection_id, ITEM_PARAMETERS) or _not_features(request, collection_id)
    if refused:
        return refused
    response = execute_from_django(pygeoapi_items.get_collection_item, request, collection_id, item_id)
    return _head(request, _geojson(request, response))


def collection_coverage(request: HttpRequest, collection_id: str) -> HttpResponse:
    """GET/HEAD /ogc/collections/{id}/coverage: GeoTIFF, chosen by `f` or by `Accept`."""
    refused = _refuse(request, collection_id, COVERAGE_PARAMETERS)
    if refused:
        return refused
    if "f" not in request.GET:
        accept = request.headers.get("Accept", "*/*")
        if not any(kind in accept for kind in _GEOTIFF):
            detail = (f"覆盖只提供 GeoTIFF (image/tiff)，无法按 Accept: {echo(accept)} 返回。"
                      " (The coverage is offered as GeoTIFF, image/tiff, only.)")
            return ogc_response(error_for_status(HTTPStatus.NOT_ACCEPTABLE, detail, ogc_code="NotAcceptable"))
        request.GET = request.GET.copy()
        request.GET["f"] = "GTiff"
    response = execute_from_django(pygeoapi_coverages.get_collection_coverage, request, collection_id,
                                   skip_valid_check=True)
    return _head(request, response)


def conformance(request: HttpRequest) -> HttpResponse:
    """GET /ogc/conformance: api/ogc/conformance.py's list."""
    return execute_from_django(conformance_document, request)


def tilematrixset(request: HttpRequest, tilematrixset_id: str) -> HttpResponse:
    """GET /ogc/TileMatrixSets/{id} (pygeoapi's view calls the list function with an id: a 500)."""
    return execute_from_django(pygeoapi_tiles.tilematrixset, request, tilematrixset_id)


def _refuse(request: HttpRequest, collection_id: str, allowed: set[str],
            searchable: bool = False) -> HttpResponse | None:
    """405 for a write (a POST is a search where `searchable`, with a CQL2 JSON body), 400 for an
    unknown query parameter; None when the request may go on."""
    search = searchable and request.method == "POST" and request.content_type in _CQL2_JSON
    if request.method not in ("GET", "HEAD") and not search:  # read-only: no Part 4
        return ogc_response(MethodNotAllowed(request.method, _SEARCH if searchable else _READ))
    unknown = sorted(set(request.GET) - allowed)
    if unknown and collection_id in api_for(request).config["resources"]:
        names = ", ".join(unknown)
        names = echo(names)
        return ogc_response(InvalidInput(f"未知的查询参数 {names}；可用参数：{', '.join(sorted(allowed))}。"
                                         f" (Unknown query parameter {names}: the parameters are those"
                                         " listed.)"))
    return None


def _not_features(request: HttpRequest, collection_id: str) -> HttpResponse | None:
    """A coverage (imagery) collection has no items: 404, pointing at its coverage."""
    resource = api_for(request).config["resources"].get(collection_id)
    if resource is None or any(p.get("type") == "feature" for p in resource.get("providers", [])):
        return None
    return ogc_response(NotFound(f"{collection_id} 是影像覆盖，没有要素：请取"
                                 f" /ogc/collections/{collection_id}/coverage。"
                                 f" ({collection_id} is a coverage, without items: see its /coverage.)"))


def _property_names(request: HttpRequest, collection_id: str) -> set[str]:
    """The layer's attributes, each a query parameter (Features Part 3 queryables-query-parameters),
    from the provider definition of the caller's API object (no query per request)."""
    resource = api_for(request).config["resources"].get(collection_id) or {}
    feature = next((p for p in resource.get("providers", []) if p.get("type") == "feature"), {})
    return set((feature.get("options") or {}).get("fields", ()))


def _geojson(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Say GeoJSON as `application/geo+json`, unless the client asked for `application/json` itself."""
    if response.status_code == HTTPStatus.OK and response["Content-Type"].startswith("application/json"):
        accept = request.headers.get("Accept", "")
        plain = "f" not in request.GET and "application/json" in accept and "geo+json" not in accept
        response["Content-Type"] = "application/json" if plain else "application/geo+json"
    return response


def _head(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """HEAD: the GET's status and headers, its length, no body."""
    if request.method == "HEAD":
        length = len(response.content)
        response.content = b""
        response["Content-Length"] = str(length)
    return response
