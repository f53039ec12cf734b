"""Where requests meet the one error boundary (blueprint/errors.py) outside a face's own code.

Django's own error handlers (urls.handler400/403/404/500), and a middleware that answers a domain
error raised by any view, a URI over MAX_URI_LENGTH (414) and the bare error responses Django
makes itself (a 405 from `require_GET`, …) in the form the path speaks: problem+json on /api/,
OGC exception JSON on /ogc/, a Chinese page elsewhere. Never a stack trace.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse

from blueprint.db import database_unavailable
from blueprint.errors import (
    BlueprintError,
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServerError,
    URITooLong,
    echo,
    error_for_status,
    error_response,
)

__all__ = ["ErrorBoundaryMiddleware", "bad_request", "forbidden", "csrf_failure", "not_found",
           "server_error", "too_large"]

LOGGER = logging.getLogger(__name__)


def too_large() -> PayloadTooLarge:
    """The error for a request body over DATA_UPLOAD_MAX_MEMORY_SIZE."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return PayloadTooLarge(f"请求体超过上限 {limit / 2**20:.0f} MiB：请只提交用地红线，大文件请分批。"
                           f" (The request body is over the limit of {limit / 2**20:.0f} MiB.)")


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    """400 raised by Django itself; a body over the upload limit is a 413."""
    if isinstance(exception, RequestDataTooBig):
        return error_response(request, too_large())
    if isinstance(exception, (TooManyFieldsSent, TooManyFilesSent)):
        return error_response(request, PayloadTooLarge(
            "表单字段或文件过多。 (Too many form fields or files in one request.)"))
    return error_response(request, InvalidInput("请求无效：请检查请求体与参数。"
                                                " (Bad request: check the body and the parameters.)"))


def forbidden(request: HttpRequest, exception=None) -> HttpResponse:
    """403 raised by Django itself (e.g. a missing CSRF token)."""
    return error_response(request, Forbidden("无权访问或缺少 CSRF 令牌。"
                                             " (Forbidden, or the CSRF token is missing.)"))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: a session request without its CSRF token, in the path's form."""
    return error_response(request, Forbidden("缺少或无效的 CSRF 令牌：请刷新页面后重试；系统调用请用"
                                             " Authorization: Bearer 令牌。 (The CSRF token is missing or"
                                             " wrong: reload the page; systems send a bearer token.)"))


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """404 for a path no view serves."""
    return error_response(request, NotFound(f"没有这个地址：{echo(request.path)}。 (No such resource.)"))


RETRY_AFTER_SECONDS = 5


def unavailable() -> DatabaseUnavailable:
    return DatabaseUnavailable("数据库暂时不可用（重启、连接已满或数据被锁定），本次请求未执行：请稍后重试。"
                               " (The database is unavailable for now — restarting, out of connections or"
                               " locked; nothing was done: retry shortly.)",
                               headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def server_error(request: HttpRequest) -> HttpResponse:
    """500: say sorry without a stack trace; Django has logged the details. A database that is down,
    full or locked is not our fault but a 503 with Retry-After (Django calls this handler inside
    its `except`, so the exception is at hand even when a middleware raised it)."""
    if database_unavailable(sys.exc_info()[1]):
        return error_response(request, unavailable())
    return error_response(request, ServerError("服务器内部错误，已记录日志，请稍后重试或联系管理员。"
                                               " (Internal error: logged; retry later or contact the"
                                               " administrator.)"))


class ErrorBoundaryMiddleware:
    """Answer domain errors, over-long URIs and Django's bare error responses through the boundary."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.BLUEPRINT["MAX_URI_LENGTH"]
        length = len(request.get_full_path())
        if length > limit:
            return error_response(request, URITooLong(
                f"地址长 {length} 字符，超过上限 {limit}：条件很长时请用 POST 提交。"
                f" (The URI is {length} characters, over the limit of {limit}; send long filters"
                " in a POST body.)"))
        response = self.get_response(request)
        if _bare_error(request, response):
            return self._dress(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, BlueprintError):
            return error_response(request, exception)
        if database_unavailable(exception):
            LOGGER.warning("database unavailable: %s", exception)
            return error_response(request, unavailable())
        return None

    @staticmethod
    def _dress(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if response.status_code == 405:
            allowed = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
            error = MethodNotAllowed(request.method, allowed)
        else:
            error = error_for_status(response.status_code, f"{response.status_code} {response.reason_phrase}")
        return error_response(request, error)


def _bare_error(request: HttpRequest, response: HttpResponse) -> bool:
    """A 4xx/5xx without a body (Django's HttpResponseNotAllowed, …), other than to HEAD."""
    return (response.status_code >= 400 and request.method != "HEAD"
            and not getattr(response, "streaming", False) and not response.content)
