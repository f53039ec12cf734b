"""Project-wide views: the health probe."""

from django.db.utils import DatabaseError
from django.http import JsonResponse

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

