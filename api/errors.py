"""Every error on /api/ answers as RFC 9457 problem+json; never a stack trace."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from blueprint.errors import BlueprintError

PROBLEM_JSON = "application/problem+json"


def problem_response(problem: dict) -> Response:
    return Response(problem, status=problem["status"], content_type=PROBLEM_JSON)


def problem_exception_handler(exc, context):
    """Map domain errors and DRF's own to problem documents."""
    if isinstance(exc, BlueprintError):
        return problem_response(exc.as_problem())
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.messages)
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's 500 handler answers (and logs) it
    detail = response.data
    problem = {
        "type": f"https://one-blueprint.dev/problems/{getattr(exc, 'default_code', 'error')}",
        "title": str(getattr(exc, "default_detail", "Error")),
        "status": response.status_code,
        "detail": _flatten(detail),
    }
    if isinstance(detail, dict) and response.status_code == status.HTTP_400_BAD_REQUEST:
        problem["errors"] = detail
    out = problem_response(problem)
    for header in ("Retry-After", "WWW-Authenticate", "Allow"):
        if header in response:
            out[header] = response[header]
    return out


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        if set(detail) == {"detail"}:
            return str(detail["detail"])
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    return str(detail)
