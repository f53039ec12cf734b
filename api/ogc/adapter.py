"""Serve pygeoapi's Django views from an API object built once per registry state and access.

pygeoapi's own Django glue builds its API (deep-copying the whole configuration) on every
request; its views look up `execute_from_django` at call time, so apps.ready() points that
name here.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from pygeoapi.api import API, APIRequest, apply_gzip
from pygeoapi.openapi import get_oas

from api.ogc.config import build_config, visible_layers
from layers.models import Layer

__all__ = ["execute_from_django", "access_class", "api_for"]


def access_class(request: HttpRequest) -> str:
    """Interim policy until the access-control issue: anonymous callers see public layers,
    signed-in staff internal ones too, superusers everything."""
    user = getattr(request, "user", None)
    if user is not None and user.is_superuser:
        return "admin"
    if user is not None and user.is_authenticated and user.is_staff:
        return "staff"
    return "anonymous"


def _registry_state() -> str:
    rows = Layer.objects.order_by("slug").values_list("slug", "access_level", "active_version_id")
    return hashlib.sha1(repr(list(rows)).encode()).hexdigest()


@lru_cache(maxsize=32)
def _api(state: str, access: str, base_url: str) -> API:
    config = build_config(visible_layers(access), base_url)
    return API(config, get_oas(config, fail_on_invalid_collection=False))


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
    api_request = APIRequest.from_django(request, api.locales)
    if not skip_valid_check and not api_request.is_valid():
        headers, status, content = api.get_format_exception(api_request)
    else:
        headers, status, content = api_function(api, api_request, *args)
        content = apply_gzip(headers, content)
    response = HttpResponse(content, status=status)
    for key, value in headers.items():
        response[key] = value
    return response
