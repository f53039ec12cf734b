"""pygeoapi's OpenAPI document made self-contained, with the errors the service answers.

pygeoapi 0.24 points parameters, schemas and responses at schemas.opengis.net and GitHub (the
`sortby.yaml` of OGC API – Records among them), which no intranet can fetch and no client can
then resolve. Each external `$ref` is replaced by a local component of the same name (below);
every operation also lists the error statuses the error boundary answers (blueprint/errors.py),
so a client (or schemathesis) meets no undocumented status.
"""

from __future__ import annotations

import copy

from api.openapi import ERROR_STATUSES as REST_ERROR_STATUSES

__all__ = ["self_contained", "ERROR_STATUSES"]

_EXCEPTION = {"type": "object", "required": ["code", "description"], "properties": {
    "code": {"type": "string"}, "type": {"type": "string"}, "description": {"type": "string"}}}
_JSON_OBJECT = {"content": {"application/json": {"schema": {"type": "object"}}}}


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/exception"}}}}


def _path(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


_COMPONENTS = {
    "parameters": {
        "featureId": _path("featureId", {"type": "string"}, "要素编号 (feature id)"),
        "tileMatrixSetId": _path("tileMatrixSetId", {"type": "string",
                                                     "enum": ["WebMercatorQuad", "WorldCRS84Quad"]},
                                 "瓦片矩阵集 (tile matrix set)"),
        "tileMatrix": _path("tileMatrix", {"type": "string"}, "层级 (zoom level)"),
        "tileRow": _path("tileRow", {"type": "integer", "minimum": 0}, "行 (row)"),
        "tileCol": _path("tileCol", {"type": "integer", "minimum": 0}, "列 (column)"),
        "sortby": {"name": "sortby", "in": "query", "required": False, "style": "form", "explode": False,
                   "description": "排序属性，前加 - 为降序 (sort properties; a leading - sorts descending)",
                   "schema": {"type": "array", "minItems": 1,
                              "items": {"type": "string", "pattern": "^[+-]?[A-Za-z_][A-Za-z0-9_]*$"}}},
        "subset": {"name": "subset", "in": "query", "required": False, "style": "form", "explode": False,
                   "description": "轴范围，如 Lat(35.3:35.4) (axis ranges)",
                   "schema": {"type": "array", "items": {"type": "string"}}},
    },
    "schemas": {
        "exception": _EXCEPTION,
        "link": {"type": "object", "required": ["href"], "properties": {
            "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
            "title": {"type": "string"}, "hreflang": {"type": "string"}, "templated": {"type": "boolean"}}},
        "cql2": {"type": "object", "description": "CQL2 JSON expression"},
        "execute": {"type": "object", "properties": {
            "inputs": {"type": "object"}, "outputs": {"type": "object"},
            "response": {"type": "string", "enum": ["raw", "document"]}, "subscriber": {"type": "object"}}},
    },
    "responses": {
        **{name: {"description": name, **_JSON_OBJECT}
           for name in ("LandingPage", "Collection", "Features", "Feature", "ProcessList", "ExecuteAsync")},
        "InvalidParameter": _error("参数无效 (a query parameter has an invalid value)"),
        "NotFound": _error("不存在或无权查看 (not found, or not yours to see)"),
        "ServerError": _error("服务器内部错误 (server error)"),
    },
}
# What the error boundary may answer on any operation, besides what pygeoapi lists: REST's, and
# the statement timeout of reads.
ERROR_STATUSES = {**REST_ERROR_STATUSES, "503": "查询超时，OGC_STATEMENT_TIMEOUT_MS (query timed out)"}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def self_contained(oas: dict) -> dict:
    """A copy of `oas` whose `$ref`s are all local, with the error statuses on every operation."""
    doc = copy.deepcopy(oas)
    components = doc.setdefault("components", {})
    for kind, entries in _COMPONENTS.items():
        for name, value in entries.items():
            components.setdefault(kind, {}).setdefault(name, value)
    _localise(doc)
    for path_item in doc.get("paths", {}).values():
        for method in _METHODS:
            if method in path_item:
                responses = path_item[method].setdefault("responses", {})
                for status, description in ERROR_STATUSES.items():
                    responses.setdefault(status, _error(description))
    return doc


def _localise(doc: dict) -> None:
    """Point every external `$ref` at the local component named by its last segment."""
    stack: list = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                node["$ref"] = _local(ref)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _local(ref: str) -> str:
    name = ref.rsplit("/", 1)[-1].removesuffix(".yaml").removesuffix(".json")
    for kind, entries in _COMPONENTS.items():
        if name in entries:
            return f"#/components/{kind}/{name}"
    raise KeyError(f"no local component for {ref}: add one to api/ogc/openapi.py")
