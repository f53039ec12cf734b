"""System checks: the database must be PostGIS >= 3.3 and know CGCS2000 (EPSG:4490)."""

from django.core.checks import Error, Tags, register
from django.db import connections
from django.db.utils import DatabaseError

MIN_POSTGIS = (3, 3)


def postgis_status(alias: str = "default") -> dict:
    """Return the PostGIS version and whether SRID 4490 is known; raise DatabaseError if down."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT postgis_lib_version(), "
            "EXISTS (SELECT 1 FROM spatial_ref_sys WHERE srid = 4490)"
        )
        version, has_4490 = cursor.fetchone()
    return {"postgis_version": version, "srid_4490": has_4490}


@register(Tags.database)
def check_postgis(app_configs=None, databases=None, **kwargs):
    """Refuse a database without a recent PostGIS or without CGCS2000."""
    errors = []
    for alias in databases or []:
        try:
            status = postgis_status(alias)
        except DatabaseError as exc:
            errors.append(
                Error(f"Cannot query PostGIS on '{alias}': {exc}".strip(),
                      hint="Is the postgis extension installed? `CREATE EXTENSION postgis;`",
                      id="blueprint.E001")
            )
            continue
        version = tuple(int(p) for p in status["postgis_version"].split(".")[:2])
        if version < MIN_POSTGIS:
            errors.append(
                Error(f"PostGIS {status['postgis_version']} is too old on '{alias}'.",
                      hint="Install PostGIS 3.3 or newer (Debian: postgresql-15-postgis-3).",
                      id="blueprint.E002")
            )
        if not status["srid_4490"]:
            errors.append(
                Error(f"spatial_ref_sys on '{alias}' has no EPSG:4490 (CGCS2000).",
                      hint="Reinstall PostGIS's spatial_ref_sys data: it ships EPSG:4490.",
                      id="blueprint.E003")
            )
    return errors
