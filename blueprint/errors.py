"""The domain errors every layer of the service raises, and the one place they are answered.

An error carries its HTTP status, its problem type (RFC 9457) and its OGC API exception code,
as pygeoapi's `GenericError` and DRF's `APIException` classes do. `problem_response` renders
problem+json (REST), `ogc_response` OGC exception JSON (/ogc/), `page_response` a Chinese HTML
page (everything else), and `error_response` picks the one the request's path speaks. Every face,
the middleware and Django's own 400/403/404/405/413/414/500 handlers answer through them.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

__all__ = [
    "BlueprintError",
    "InvalidInput",
    "InvalidQuery",
    "InvalidGeometry",
    "UnknownCRS",
    "CoordinatesOutOfRange",
    "Unauthenticated",
    "Forbidden",
    "NotFound",
    "MethodNotAllowed",
    "Conflict",
    "PayloadTooLarge",
    "URITooLong",
    "UnsupportedMediaType",
    "TooManyRequests",
    "ServerError",
    "QueryTimeout",
    "DatabaseUnavailable",
    "PROBLEM_BASE",
    "PROBLEM_JSON",
    "echo",
    "error_for_status",
    "face",
    "problem_response",
    "ogc_response",
    "page_response",
    "error_response",
]

PROBLEM_BASE = "https://one-blueprint.dev/problems/"
PROBLEM_JSON = "application/problem+json"
OGC_JSON = "application/json"
ECHO_LIMIT = 80  # characters of a caller's value quoted back in a message
DETAIL_LIMIT = 1000  # a detail longer than this is cut (a caller's 1 MB value inside is not sent back)
CONTEXT_LIMIT = 200  # the same for each string of an error's context (e.g. DRF's field errors)


def echo(value: object, limit: int = ECHO_LIMIT) -> str:
    """A caller's value as quoted in a message: control characters escaped, cut to `limit`
    characters (a 1 MB field is not sent back)."""
    text = str(value)
    cut = text[:limit]
    cut = "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode()
                  for c in cut)
    return cut if len(text) <= limit else f"{cut}…（共 {len(text)} 字符 / {len(text)} characters）"


def _cut(value: object, limit: int) -> object:
    """`value` with every string longer than `limit` cut by `echo` (lists and dicts walked)."""
    if isinstance(value, str):
        return value if len(value) <= limit else echo(value, limit)
    if isinstance(value, dict):
        return {key: _cut(item, limit) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_cut(item, limit) for item in value]
    return value


class BlueprintError(Exception):
    """A failure a user can act on: it says what is wrong and how to fix it."""

    status = HTTPStatus.BAD_REQUEST
    code = "invalid-input"  # the problem type, under PROBLEM_BASE
    ogc_code = "InvalidParameterValue"  # the OGC API exception code
    title = _("Invalid input")

    def __init__(self, detail: str, *, headers: dict | None = None, **context: object) -> None:
        super().__init__(detail)
        self.detail = str(detail)
        self.headers = dict(headers or {})
        self.context = context

    def as_problem(self) -> dict:
        """Return the RFC 9457 problem document for this error."""
        problem = {"type": PROBLEM_BASE + self.code, "title": str(self.title), "status": int(self.status),
                   "detail": _cut(self.detail, DETAIL_LIMIT)}
        problem.update({k: _cut(v, CONTEXT_LIMIT) for k, v in self.context.items() if v is not None})
        return problem

    def as_ogc(self) -> dict:
        """Return the OGC API exception document for this error."""
        return {"code": self.ogc_code, "type": self.ogc_code, "description": _cut(self.detail, DETAIL_LIMIT)}


class InvalidInput(BlueprintError):
    """The request or file is malformed or breaks a limit."""


class InvalidQuery(BlueprintError):
    """A query (a CQL2 filter, a sort, a property filter) that cannot run as written."""

    code = "invalid-query"
    ogc_code = "InvalidQuery"
    title = _("Invalid query")


class InvalidGeometry(BlueprintError):
    code = "invalid-geometry"
    title = _("Invalid geometry")


class UnknownCRS(BlueprintError):
    code = "unknown-crs"
    title = _("Unknown coordinate reference system")


class CoordinatesOutOfRange(BlueprintError):
    code = "coordinates-out-of-range"
    title = _("Coordinates outside the expected area")


class Unauthenticated(BlueprintError):
    status = HTTPStatus.UNAUTHORIZED
    code = "unauthenticated"
    ogc_code = "NotAuthorized"
    title = _("Unauthenticated")


class Forbidden(BlueprintError):
    status = HTTPStatus.FORBIDDEN
    code = "forbidden"
    ogc_code = "Forbidden"
    title = _("Forbidden")


class NotFound(BlueprintError):
    status = HTTPStatus.NOT_FOUND
    code = "not-found"
    ogc_code = "NotFound"
    title = _("Not found")


class MethodNotAllowed(BlueprintError):
    """A method the resource does not offer; `allowed` becomes the Allow header."""

    status = HTTPStatus.METHOD_NOT_ALLOWED
    code = "method-not-allowed"
    ogc_code = "MethodNotAllowed"
    title = _("Method not allowed")

    def __init__(self, method: str, allowed: list[str] | tuple[str, ...]) -> None:
        allow = ", ".join(allowed)
        super().__init__(f"此地址不支持 {echo(method, 16)} 方法，可用 {allow}。"
                         f" (Method {echo(method, 16)} is not allowed here; use {allow}.)",
                         headers={"Allow": allow})


class Conflict(BlueprintError):
    status = HTTPStatus.CONFLICT
    code = "conflict"
    ogc_code = "Conflict"
    title = _("Conflict")


class PayloadTooLarge(BlueprintError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    code = "payload-too-large"
    ogc_code = "PayloadTooLarge"
    title = _("Payload too large")


class URITooLong(BlueprintError):
    status = HTTPStatus.REQUEST_URI_TOO_LONG
    code = "uri-too-long"
    ogc_code = "URITooLong"
    title = _("URI too long")


class UnsupportedMediaType(BlueprintError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    code = "unsupported-media-type"
    ogc_code = "InvalidParameterValue"
    title = _("Unsupported media type")


class TooManyRequests(BlueprintError):
    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "too-many-requests"
    ogc_code = "TooManyRequests"
    title = _("Too many requests")


class ServerError(BlueprintError):
    """Our fault, not the caller's: logged with its traceback, answered without it."""

    status = HTTPStatus.INTERNAL_SERVER_ERROR
    code = "internal-error"
    ogc_code = "NoApplicableCode"
    title = _("Internal error")


class QueryTimeout(BlueprintError):
    """A read that ran past its statement timeout (settings OGC_STATEMENT_TIMEOUT_MS): 503, since the
    same request may pass on a quieter server, and the message says how to make it cheaper."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "query-timeout"
    ogc_code = "ServiceUnavailable"
    title = _("Query timed out")


class DatabaseUnavailable(BlueprintError):
    """The database is down, restarting, out of connections or locked past DB_LOCK_TIMEOUT_MS: the
    request was not carried out and may be sent again (Retry-After)."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "database-unavailable"
    ogc_code = "ServiceUnavailable"
    title = _("Database unavailable")


_BY_STATUS = {int(cls.status): cls for cls in (
    InvalidInput, Unauthenticated, Forbidden, NotFound, Conflict, PayloadTooLarge, URITooLong,
    UnsupportedMediaType, TooManyRequests, ServerError, QueryTimeout)}


def error_for_status(status: int, detail: str, ogc_code: str | None = None) -> BlueprintError:
    """The domain error of an HTTP status (from pygeoapi, DRF or Django), with `detail`."""
    cls = _BY_STATUS.get(int(status))
    error = (cls or (ServerError if status >= 500 else InvalidInput))(detail)
    if cls is None:  # e.g. 405 or 406 from a library: its own status, named after it
        error.status = HTTPStatus(status)
        error.code = error.status.phrase.lower().replace(" ", "-")
    if ogc_code:
        error.ogc_code = ogc_code
    return error


def face(request: HttpRequest) -> str:
    """Which form of error a request's path speaks: "problem", "ogc" or "page"."""
    path = request.path
    if path.startswith(("/api/", "/maps/data/", "/tiles/")) and not path.startswith("/api/docs/"):
        return "problem"
    if path.startswith("/ogc/") or path == "/ogc":
        return "ogc"
    return "page"


def _with_headers(response: HttpResponse, error: BlueprintError) -> HttpResponse:
    for key, value in error.headers.items():
        response[key] = value
    if error.status == HTTPStatus.UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = 'Bearer realm="one-blueprint"'
    return response


def _json(document: dict, status: int, content_type: str) -> HttpResponse:
    # JSON is UTF-8 by definition (RFC 8259): no charset parameter.
    return HttpResponse(json.dumps(document, ensure_ascii=False).encode(), status=status,
                        content_type=content_type)


def problem_response(error: BlueprintError) -> HttpResponse:
    """The error as RFC 9457 problem+json."""
    return _with_headers(_json(error.as_problem(), error.status, PROBLEM_JSON), error)


def ogc_response(error: BlueprintError) -> HttpResponse:
    """The error as an OGC API exception document (code, type, description) in JSON."""
    return _with_headers(_json(error.as_ogc(), error.status, OGC_JSON), error)


def page_response(request: HttpRequest, error: BlueprintError) -> HttpResponse:
    """The error as a short HTML page (Chinese; English in English mode)."""
    html = render_to_string("blueprint/error.html", {"error": error}, request=request)
    return _with_headers(HttpResponse(html, status=error.status, content_type="text/html; charset=utf-8"),
                         error)


def error_response(request: HttpRequest, error: BlueprintError) -> HttpResponse:
    """The error in the form the request's path speaks (see `face`)."""
    kind = face(request)
    if kind == "problem":
        return problem_response(error)
    if kind == "ogc":
        return ogc_response(error)
    return page_response(request, error)
