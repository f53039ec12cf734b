"""The conformance classes /ogc/conformance declares: what works here, each one tested.

pygeoapi 0.24 declares every class of every module it loads, including Features Part 4
(create/replace/delete: our collections are read-only), a CoverageJSON/HTML coverage (our
provider writes GeoTIFF), process callbacks (never sent) and not
the CQL2 classes that our provider does answer. Not declared because pygeofilter's Django backend
cannot evaluate them: CASEI/ACCENTI, arithmetic, temporal and array functions. Tests:
tests/api/test_ogc_conformance.py (one per class) and the suites named in the README's OGC section.
"""

from __future__ import annotations

from http import HTTPStatus

from pygeoapi.api import API, APIRequest
from pygeoapi.util import render_j2_template, to_json

__all__ = ["CONFORMANCE", "CQL2", "conformance"]

_SPEC = "http://www.opengis.net/spec/"
CQL2 = [f"{_SPEC}cql2/1.0/conf/{name}" for name in (
    "cql2-text", "cql2-json", "basic-cql2", "advanced-comparison-operators",
    "basic-spatial-functions", "basic-spatial-functions-plus",
    "spatial-functions", "property-property")]
CONFORMANCE = sorted([
    *(f"{_SPEC}ogcapi-common-1/1.0/conf/{name}"
      for name in ("core", "landing-page", "json", "html", "oas30")),
    f"{_SPEC}ogcapi-common-2/1.0/conf/collections",
    *(f"{_SPEC}ogcapi-features-1/1.0/conf/{name}" for name in ("core", "oas30", "html", "geojson")),
    f"{_SPEC}ogcapi-features-2/1.0/conf/crs",
    *(f"{_SPEC}ogcapi-features-3/1.0/conf/{name}" for name in (
        "queryables", "queryables-query-parameters", "filter", "features-filter")),
    f"{_SPEC}ogcapi-common-3/1.0/conf/schemas",
    *CQL2,
    *(f"{_SPEC}ogcapi-tiles-1/1.0/conf/{name}" for name in (
        "core", "tileset", "tilesets-list", "geodata-tilesets", "mvt", "png", "oas30")),
    *(f"{_SPEC}ogcapi-coverages-1/1.0/conf/{name}" for name in (
        "core", "oas30", "geodata-coverage", "coverage-subset", "coverage-bbox", "coverage-datetime",
        "coverage-rangesubset", "geotiff")),
    *(f"{_SPEC}ogcapi-processes-1/1.0/conf/{name}" for name in (
        "core", "ogc-process-description", "json", "oas30", "job-list", "dismiss")),
])


def conformance(api: API, request: APIRequest) -> tuple[dict, int, str]:
    """GET /ogc/conformance (JSON; HTML through pygeoapi's template)."""
    headers = request.get_response_headers(**api.api_headers)
    document = {"conformsTo": CONFORMANCE}
    if request.format == "html":
        return headers, HTTPStatus.OK, render_j2_template(
            api.tpl_config, api.config["server"]["templates"], "conformance.html", document, request.locale)
    return headers, HTTPStatus.OK, to_json(document, api.pretty_print)
