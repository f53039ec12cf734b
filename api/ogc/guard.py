"""Every /ogc/ route behind one guard: its methods (405 with Allow), a HEAD as its GET without the
body, the execution body checked, and reads bounded by OGC_STATEMENT_TIMEOUT_MS (503).

pygeoapi's Django views branch on the method and fall through on any other (PATCH, TRACE …),
which raised UnboundLocalError: a 500. Its process execution took any JSON (a list, a string, a
number) and failed on it, also a 500.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.db.utils import OperationalError
from django.http import HttpRequest, HttpResponse

from api.bodies import json_object
from blueprint.db import is_query_canceled, statement_timeout
from blueprint.errors import BlueprintError, InvalidInput, MethodNotAllowed, QueryTimeout, ogc_response
from blueprint.routers import read_alias

__all__ = ["guarded", "READ", "METHODS"]

READ = ("GET", "HEAD")
# pygeoapi's route names → the methods they answer (anything else is a 405).
METHODS = {  # the collections are read-only (no Part 4): api/ogc/views.py
    "collection-items": ("GET", "HEAD", "POST", "OPTIONS"),  # POST: a CQL2 JSON search
    "collection-item": ("GET", "HEAD", "OPTIONS"),
    "process-execution": ("POST",),
    "job": ("GET", "HEAD", "DELETE"),
}
_READS = {"GET", "HEAD"}
_EXECUTION_MEMBERS = {"inputs": dict, "outputs": dict, "subscriber": dict, "response": str}


def guarded(view, methods: tuple[str, ...] = READ, *, execution: bool = False):
    """`view` answering only `methods`, reads under the statement timeout, errors as OGC JSON."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in methods:
            return ogc_response(MethodNotAllowed(request.method, methods))
        head = request.method == "HEAD"
        if head:  # pygeoapi knows no HEAD: answer the GET, without its body
            request.method = "GET"
        try:
            if execution:
                _check_execution(request)
            response = _bounded(view, request, args, kwargs, execution)
        except BlueprintError as exc:
            response = ogc_response(exc)
        if head:
            request.method = "HEAD"
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response
    return wrapper


def _bounded(view, request: HttpRequest, args, kwargs, execution: bool) -> HttpResponse:
    if execution or request.method not in _READS:
        return view(request, *args, **kwargs)
    limit = settings.BLUEPRINT["OGC_STATEMENT_TIMEOUT_MS"]
    try:
        with statement_timeout(limit, using=read_alias()):
            return view(request, *args, **kwargs)
    except OperationalError as exc:
        if not is_query_canceled(exc):
            raise
        raise QueryTimeout(f"查询超过 {limit} ms 的时限 (OGC_STATEMENT_TIMEOUT_MS)：请缩小 bbox、简化 filter"
                           f" 或减小 limit 后重试。 (The query ran past its {limit} ms limit,"
                           " OGC_STATEMENT_TIMEOUT_MS: narrow the bbox, simplify the filter or lower"
                           " the limit.)", headers={"Retry-After": "5"}) from exc


def _check_execution(request: HttpRequest) -> None:
    """An execution request is a JSON object {"inputs": {…}} (and optional OGC members)."""
    body = json_object(request, example='{"inputs": {"site": {…}}}')
    for name, kind in _EXECUTION_MEMBERS.items():
        if name in body and not isinstance(body[name], kind):
            raise InvalidInput(f"{name} 应为{'对象' if kind is dict else '字符串'}。"
                               f" ({name} must be a JSON {'object' if kind is dict else 'string'}.)")
    if body.get("response", "raw") not in ("raw", "document"):
        raise InvalidInput("response 应为 raw 或 document。 (response must be raw or document.)")
