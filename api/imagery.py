"""Imagery over HTTP: XYZ tiles of a raster layer's mosaic and its scene list.

Thin views over layers.mosaic; access follows the layer's level through the access policy, as for
OGC features (a hidden layer answers 404). Tiles carry an ETag made from the scenes they draw on,
so a revalidation costs no rendering. Errors are raised as domain errors: the error boundary
answers them in the form of the path (problem+json here, OGC exception JSON for the OGC map tiles
that reuse `tile`).
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse, JsonResponse

from blueprint import access
from blueprint.caching import not_modified
from blueprint.errors import InvalidInput, NotFound, echo
from blueprint.ops.metrics import TILE_SECONDS
from layers.models import Layer
from layers.mosaic import TILE_FORMATS, layer_scenes, render_tile, tile_etag, tile_scenes
from layers.services import audit_refused_layer

__all__ = ["tile", "scenes", "visible_raster_layer", "parse_date"]

TILE_MAX_AGE = 3600


def visible_raster_layer(request: HttpRequest, slug: str) -> Layer:
    """The raster layer `slug` if the caller may see it; otherwise NotFound (never 403: hidden)."""
    layer = (Layer.objects.filter(access.readable_layers_q(request), slug=slug, kind=Layer.Kind.RASTER)
             .only("pk", "slug", "access_level", "active_version_id").first())
    if layer is None:
        audit_refused_layer(request, slug)
        raise NotFound(f"没有影像图层 “{slug}”。 (No imagery layer '{slug}'.)")
    return layer


def parse_date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"日期应为 YYYY-MM-DD：“{echo(text, 40)}”。 (date must be YYYY-MM-DD.)",
                           parameter="date") from None


def tile(request: HttpRequest, slug: str, z: int, x: int, y: int, fmt: str) -> HttpResponse:
    """GET /tiles/imagery/{slug}/{z}/{x}/{y}.{png|jpg|webp}[?date=YYYY-MM-DD]."""
    layer = visible_raster_layer(request, slug)
    chosen = tile_scenes(layer_scenes(layer), z, x, y, parse_date(request.GET.get("date")))
    etag = tile_etag(slug, chosen, z, x, y, fmt)
    headers = {"ETag": etag, "Cache-Control": _cache_control(layer), "Vary": "Cookie"}
    if not_modified(request, etag):
        return HttpResponse(status=304, headers=headers)
    if not chosen:  # outside every footprint (OGC API Tiles: an empty tile may answer 204)
        return HttpResponse(status=204, headers=headers)
    with TILE_SECONDS.labels(fmt).time():
        content = render_tile(chosen, z, x, y, fmt)
    return HttpResponse(content, content_type=TILE_FORMATS[fmt][1], headers=headers)


def _cache_control(layer: Layer) -> str:
    scope = "public" if layer.access_level == Layer.Access.PUBLIC else "private"
    return f"{scope}, max-age={TILE_MAX_AGE}"


def scenes(request: HttpRequest, slug: str) -> JsonResponse:
    """GET /api/imagery/{slug}/scenes: the layer's scenes, newest first."""
    layer = visible_raster_layer(request, slug)
    rows = [{"id": s.id, "acquired": s.acquired.isoformat(), "sensor": s.sensor,
             "resolution_m": s.resolution_m, "bbox": [round(v, 7) for v in s.bbox],
             "bands": list(s.bands)} for s in layer_scenes(layer)]
    return JsonResponse(rows, safe=False, json_dumps_params={"ensure_ascii": False})
