"""Project-wide views: the health probe."""

from django.db.utils import DatabaseError
from django.http import (
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
    JsonResponse,
)

from blueprint.access import principal
from blueprint.checks import postgis_status


def _is_operator(request) -> bool:
    """Staff signed in, or a system with a valid token: they may read the probe's detail."""
    who = principal(request)
    return who.is_token or bool(getattr(request.user, "is_staff", False))


def healthz(request):
    """Answer 200 when the database and PostGIS answer, 503 otherwise.

    Anyone learns ok or not; versions and the database's error text only operators (a staff
    session or a token), since they tell an attacker what to aim at.
    """
    try:
        status = postgis_status()
    except DatabaseError as exc:
        detail = {"database": "unreachable", "detail": str(exc)} if _is_operator(request) else {}
        return JsonResponse({"status": "error", **detail}, status=503)
    detail = {"database": "ok", **status} if _is_operator(request) else {}
    return JsonResponse({"status": "ok", **detail})


def _wants_problem(request) -> bool:
    return request.path.startswith("/api/")


def _problem(status: int, title: str, detail: str) -> JsonResponse:
    return JsonResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status=status, content_type="application/problem+json")


def bad_request(request, exception=None):
    """400 raised by Django itself (e.g. a body over DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    if _wants_problem(request):
        return _problem(400, "Bad request",
                        "请求无效或过大（上限 20 MiB）。 (Bad or too large request; the limit is 20 MiB.)")
    return HttpResponseBadRequest("<h1>400 请求无效 Bad request</h1>")


def forbidden(request, exception=None):
    """403 raised by Django itself (e.g. a missing CSRF token)."""
    if _wants_problem(request):
        return _problem(403, "Forbidden",
                        "无权访问或缺少 CSRF 令牌。 (Forbidden, or the CSRF token is missing.)")
    return HttpResponseForbidden("<h1>403 无权访问 Forbidden</h1>")


def not_found(request, exception=None):
    """404: problem+json on the API, a short Chinese page elsewhere."""
    if _wants_problem(request):
        return _problem(404, "Not found", f"没有这个地址：{request.path} (No such resource.)")
    return HttpResponseNotFound("<h1>404 页面不存在 Not found</h1>")


def server_error(request):
    """500: say sorry without a stack trace; the details go to the log."""
    if _wants_problem(request):
        return _problem(500, "Internal error", "服务器内部错误，已记录日志，请稍后重试或联系管理员。"
                        " (Internal error: logged; retry later or contact the administrator.)")
    return HttpResponseServerError("<h1>500 服务器内部错误 Internal error</h1>")
