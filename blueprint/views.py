"""Project-wide views: the health probe."""

from django.db.utils import DatabaseError
from django.http import JsonResponse

from blueprint.checks import postgis_status


def healthz(request):
    """Answer 200 when the database and PostGIS answer, 503 otherwise."""
    try:
        status = postgis_status()
    except DatabaseError as exc:
        return JsonResponse({"status": "error", "database": "unreachable", "detail": str(exc)},
                            status=503)
    return JsonResponse({"status": "ok", "database": "ok", **status})
