"""Serve pygeoapi's Django views from an API object built once per registry state and access.

pygeoapi's own Django glue builds its API (deep-copying the whole configuration) on every
request; its views look up `execute_from_django` at call time, so apps.ready() points that
name here.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.utils.translation.trans_real import parse_accept_lang_header
from pygeoapi import l10n
from pygeoapi.api import API, APIRequest, apply_gzip
from pygeoapi.formats import F_HTML
from pygeoapi.openapi import get_oas

from api.ogc.caller import CALLER
from api.ogc.config import build_config, visible_layers
from api.ogc.documents import DOCUMENTS, tidy
from api.ogc.errors import exception_document
from api.ogc.html import localise
from api.ogc.openapi import self_contained
from blueprint import access
from blueprint.errors import BlueprintError, ogc_response
from layers.models import Layer
from layers.services import audit_refused_layer

__all__ = ["execute_from_django", "access_class", "api_for"]


def access_class(request: HttpRequest) -> tuple:
    """The caller's layer access as a hashable key (blueprint.access.layer_access_key): callers
    with equal keys share one API object; `visible_layers(access_class(request))` lists their layers."""
    return access.layer_access_key(request)


# pygeoapi functions that hand out a collection's data (not just its description).
_DATA_READS = {"get_collection_items", "get_collection_item", "get_collection_tiles_data",
               "get_collection_coverage", "get_collection_map"}


def _audit_restricted_read(api, api_function, request: HttpRequest, args: tuple) -> None:
    if args and getattr(api_function, "__name__", "") in _DATA_READS:
        # A collection's keywords begin with its slug and access level (api/ogc/config.py, raster.py).
        keywords = (api.config["resources"].get(args[0]) or {}).get("keywords") or []
        layer = {"slug": keywords[0], "access_level": keywords[1]} if len(keywords) > 1 else None
        if layer:
            # A tile read is located by its tile matrix set and indices.
            where = request.GET.get("bbox", "") or "/".join(str(a) for a in args[1:])
            access.record_layer_read(request, layer, where)


def _registry_state() -> str:
    rows = Layer.objects.order_by("slug").values_list("slug", "access_level", "active_version_id")
    return hashlib.sha1(repr(list(rows)).encode()).hexdigest()


class _NoConfigCache(dict):
    """pygeoapi caches the translated configuration of its HTML pages per locale, whatever the
    configuration: the first caller's (say anonymous) then served every other API object, and a
    restricted collection's page failed with a 500 (its resource missing from that config)."""

    def get(self, key, default=None):
        return default

    def __setitem__(self, key, value) -> None:
        pass


l10n._cfg_cache = _NoConfigCache()


class _API(API):
    """pygeoapi's API whose exception documents come from the one error boundary."""

    def get_exception(self, status, headers, format_, code, description):
        error = exception_document(status, code, description)
        if format_ == F_HTML:  # pygeoapi's own exception page, with our wording
            return super().get_exception(error.status, headers, format_, error.ogc_code, error.detail)
        headers["Content-Type"] = "application/json"
        response = ogc_response(error)
        return headers, int(error.status), response.content.decode()


class _Request(APIRequest):
    """pygeoapi's request, answering in Chinese unless the caller's first language is English.

    pygeoapi 0.24 matches `zh` (and zh-TW, ja, fr …) to "zh" in territory CN, which Babel does
    not know (it wants zh_Hans_CN): every such request was a 500.
    """

    def _get_locale(self, headers, supported_locales):
        wanted = self._args.get(l10n.QUERY_PARAM) or headers.get("Accept-Language") or ""
        parsed = parse_accept_lang_header(str(wanted)[:200].lower())
        first = parsed[0][0] if parsed else ""
        tag = "en-US" if first.startswith("en") else "zh-CN"
        return tag, l10n.str2locale(tag)


@lru_cache(maxsize=32)
def _api(state: str, access: str, base_url: str) -> API:
    config = build_config(visible_layers(access), base_url)
    return _API(config, self_contained(get_oas(config, fail_on_invalid_collection=False)))


def api_for(request: HttpRequest) -> API:
    """The pygeoapi API object for this request's registry state, access class and host."""
    if not hasattr(request, "_ogc_api"):
        request._ogc_api = _api(_registry_state(), access_class(request),
                                request.build_absolute_uri("/ogc").rstrip("/"))
    return request._ogc_api


def execute_from_django(api_function, request: HttpRequest, *args,
                        skip_valid_check: bool = False) -> HttpResponse:
    """Run one pygeoapi API function for a Django request (replaces pygeoapi's own)."""
    api = api_for(request)
    api_request = _Request.from_django(request, api.locales)  # a body over the limit: 413 (handler400)
    if not skip_valid_check and not api_request.is_valid():
        headers, status, content = api.get_format_exception(api_request)
    else:
        caller = CALLER.set(access.principal(request))  # processes and jobs act for the caller
        try:
            headers, status, content = api_function(api, api_request, *args)
        except BlueprintError as exc:  # a domain error pygeoapi let through
            return ogc_response(exc)
        finally:
            CALLER.reset(caller)
        if status == 200 and api_function in DOCUMENTS \
                and headers.get("Content-Type", "").startswith("application/json"):
            content = tidy(content, api.base_url, request.build_absolute_uri())
        if isinstance(content, str) and headers.get("Content-Type", "").startswith("text/html"):
            content = localise(content, getattr(request, "csp_nonce", ""))
        content = apply_gzip(headers, content)
        if status == 200:
            _audit_restricted_read(api, api_function, request, args)
        elif status == 404 and args and "collection" in getattr(api_function, "__name__", ""):
            audit_refused_layer(request, args[0])  # a hidden layer answers as if it did not exist
    response = HttpResponse(content, status=status)
    for key, value in headers.items():
        response[key] = value
    return response
