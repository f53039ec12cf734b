"""The domain errors every layer of the service raises, each carrying its HTTP status and type.

REST answers them as RFC 9457 problem+json, OGC paths as OGC exception JSON and management
commands as a one-line message: one mapping in each face, never a stack trace.
"""

from django.utils.translation import gettext_lazy as _

__all__ = [
    "BlueprintError",
    "InvalidInput",
    "InvalidGeometry",
    "UnknownCRS",
    "CoordinatesOutOfRange",
    "NotFound",
    "Forbidden",
    "Conflict",
]


class BlueprintError(Exception):
    """A failure a user can act on: it says what is wrong and how to fix it."""

    status = 400
    code = "invalid-input"
    title = _("Invalid input")

    def __init__(self, detail: str, **context: object) -> None:
        super().__init__(detail)
        self.detail = str(detail)
        self.context = context

    def as_problem(self) -> dict:
        """Return the RFC 9457 problem document for this error."""
        problem = {
            "type": f"https://one-blueprint.dev/problems/{self.code}",
            "title": str(self.title),
            "status": self.status,
            "detail": self.detail,
        }
        problem.update({k: v for k, v in self.context.items() if v is not None})
        return problem


class InvalidInput(BlueprintError):
    """The request or file is malformed or breaks a limit."""


class InvalidGeometry(BlueprintError):
    code = "invalid-geometry"
    title = _("Invalid geometry")


class UnknownCRS(BlueprintError):
    code = "unknown-crs"
    title = _("Unknown coordinate reference system")


class CoordinatesOutOfRange(BlueprintError):
    code = "coordinates-out-of-range"
    title = _("Coordinates outside the expected area")


class NotFound(BlueprintError):
    status = 404
    code = "not-found"
    title = _("Not found")


class Forbidden(BlueprintError):
    status = 403
    code = "forbidden"
    title = _("Forbidden")


class Conflict(BlueprintError):
    status = 409
    code = "conflict"
    title = _("Conflict")
