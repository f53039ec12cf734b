"""drf-spectacular hook: every REST operation documents the errors the error boundary answers."""

from __future__ import annotations

__all__ = ["document_errors", "ERROR_STATUSES"]

ERROR_STATUSES = {
    "400": "请求无效 (bad request)", "401": "需要登录或令牌 (authentication needed)",
    "403": "无权调用 (forbidden)", "404": "不存在或无权查看 (not found)",
    "405": "不支持此方法 (method not allowed)",
    "409": "状态冲突 (conflict)", "413": "请求体过大 (payload too large)",
    "414": "地址过长 (URI too long)", "415": "请求体类型不符 (unsupported media type)",
    "429": "超过调用频率 (too many requests)",
}
_PROBLEM = {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
    "type": {"type": "string", "format": "uri"}, "title": {"type": "string"},
    "status": {"type": "integer"}, "detail": {"type": "string"}, "errors": {"type": "object"}},
    "description": "RFC 9457 problem details"}
_METHODS = ("get", "put", "post", "delete", "patch")


def document_errors(result: dict, generator, request, public) -> dict:
    """Add the Problem schema and the error responses to every operation (POSTPROCESSING_HOOKS)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = _PROBLEM
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in result.get("paths", {}).values():
        for method in _METHODS:
            if method in path_item:
                responses = path_item[method].setdefault("responses", {})
                for status, description in ERROR_STATUSES.items():
                    responses.setdefault(status, {"description": description, "content": content})
    return result
