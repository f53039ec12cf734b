"""Every error on /api/ answers as RFC 9457 problem+json through blueprint.errors; never a stack trace.

DRF's own exceptions (validation, parse, authentication, throttling, method, media type) become
the domain error of their status, so REST and every other face share one renderer.
"""

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions

from blueprint.boundary import too_large
from blueprint.errors import BlueprintError, NotFound, echo, error_for_status, problem_response

__all__ = ["problem_exception_handler"]


def problem_exception_handler(exc, context):
    """Map domain errors and DRF's own to problem documents."""
    if isinstance(exc, BlueprintError):
        return problem_response(exc)
    if isinstance(exc, RequestDataTooBig):
        return problem_response(too_large())
    if isinstance(exc, Http404):
        return problem_response(NotFound("没有这个资源。 (No such resource.)"))
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.messages)
    if not isinstance(exc, exceptions.APIException):
        return None  # unexpected: Django's 500 handler answers (and logs) it
    error = error_for_status(exc.status_code, _flatten(exc.detail))
    if isinstance(exc.detail, dict) and isinstance(exc, exceptions.ValidationError):
        error.context["errors"] = exc.detail
    headers = {"Retry-After": getattr(exc, "wait", None) and str(int(exc.wait)),
               "Allow": None}
    if isinstance(exc, exceptions.MethodNotAllowed):
        headers["Allow"] = ", ".join(context["view"].allowed_methods)
    error.headers.update({k: v for k, v in headers.items() if v})
    return problem_response(error)


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        if set(detail) == {"detail"}:
            return _flatten(detail["detail"])
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    return echo(detail, 2000)
