"""Write outbox rows for business events, inside the event's own transaction.

Subscribed to blueprint.events in ExchangeConfig.ready(): layers and compliance never import
this package. Each writer also defers a push (procrastinate, same transaction): a rolled-back
change leaves neither rows nor a push behind.
"""

from __future__ import annotations

from django.db import connection, transaction
from procrastinate.exceptions import AlreadyEnqueued

from compliance.models import Check
from exchange.models import OutboxRow, State, Table
from layers.models import District, Layer, LayerVersion, SiteRevision

__all__ = ["on_version_activated", "on_site_revised", "on_check_stored", "is_control_line",
           "supersede", "defer_push"]

# Layers that are not control lines: districts are the frame, sites go to their own table.
NOT_CONTROL_LINES = frozenset({"admin_district", "project_site"})

# A district is covered when at least 1 m² of the version lies in it: boundaries of different
# sources meet in slivers that are no part of a control line.
# A city or county is covered when the version's features overlap it by at least 1 m². One feature
# lying wholly inside it with 1 m² or more settles it (a prepared ST_Contains, no overlay: the city's
# 326 155 farmland patches took 400 s with the overlay of every patch); only otherwise are the
# overlaps of the features meeting it summed, as before.
_COVERED_SQL = """
SELECT d.code FROM layers_district d
 WHERE d.level IN ('city', 'county') AND d.geom IS NOT NULL AND (
   EXISTS (SELECT 1 FROM layers_feature f
            WHERE f.version_id = %(v)s AND f.geom && d.geom AND f.area_m2 >= 1.0
              AND ST_Contains(d.geom, f.geom))
   OR (SELECT sum(ST_Area(ST_Intersection(f.geom, d.geom)::geography)) FROM layers_feature f
        WHERE f.version_id = %(v)s AND f.geom && d.geom AND ST_Relate(f.geom, d.geom, 'T********')) >= 1.0)
 ORDER BY d.code"""


def is_control_line(layer: Layer) -> bool:
    return layer.kind == Layer.Kind.VECTOR and layer.slug not in NOT_CONTROL_LINES


def on_version_activated(*, layer: Layer, version: LayerVersion, **_) -> None:
    """A control line's new version: one 控制线 row per city and county it covers."""
    if not is_control_line(layer):
        return
    with connection.cursor() as cursor:
        cursor.execute(_COVERED_SQL, {"v": version.pk})
        codes = [code for (code,) in cursor.fetchall()]
    previous = {row.district_id: row for row in _current(Table.CONTROL_LINE, layer=layer)}
    rows = []
    for code in codes:
        rows.append(OutboxRow(table=Table.CONTROL_LINE, district_id=code, layer=layer,
                              layer_version=version, supersedes=previous.pop(code, None)))
    # Districts the new version no longer covers: their old row is only invalidated.
    _write(rows, invalidate=[row for row in previous.values()])


def on_site_revised(*, revision: SiteRevision, **_) -> None:
    """A project's new site revision: one 界址 row (the old one invalidated)."""
    project = revision.project
    old = next(iter(_current(Table.SITE, project=project)), None)
    _write([OutboxRow(table=Table.SITE, district=project.district, project=project,
                      site_revision=revision, layer=_site_layer(), supersedes=old)])


def on_check_stored(*, check: Check, **_) -> None:
    """A stored check of a project: one 前期意见 row (a re-run supersedes the check it re-ran)."""
    if check.project_id is None:
        return  # an opinion belongs to a project (XMDM)
    old = None
    if check.rerun_of_id:
        old = OutboxRow.objects.filter(table=Table.OPINION, check_result_id=check.rerun_of_id,
                                       valid=True).order_by("-id").first()
    _write([OutboxRow(table=Table.OPINION, district_id=check.project.district_id,
                      project_id=check.project_id, check_result=check, supersedes=old)])


def _current(table: str, **source):
    """The latest valid rows of a source not yet superseded, nor refused (those never counted)."""
    return (OutboxRow.objects.filter(table=table, valid=True, superseded_by__isnull=True, **source)
            .exclude(state__in=[State.REJECTED, State.LOCAL_FAILED]).order_by("id"))


def _site_layer() -> Layer | None:
    return Layer.objects.filter(slug="project_site").first()


def _write(rows: list[OutboxRow], invalidate: list[OutboxRow] = ()) -> None:
    """Write the rows, each replacement preceded by the invalidation of what it replaces."""
    ordered = []
    for row in rows:
        if row.supersedes is not None:
            ordered.append(supersede(row.supersedes))
        ordered.append(row)
    ordered += [supersede(old) for old in invalidate]
    if ordered:
        OutboxRow.objects.bulk_create(ordered)  # ids in this order: pushes go by id
        defer_push()


def supersede(old: OutboxRow) -> OutboxRow:
    """The first row of the standard's two-row correction: `old` marked invalid (SJYXBS = 0)."""
    return OutboxRow(table=old.table, valid=False, supersedes=old, district_id=old.district_id,
                     layer_id=old.layer_id, layer_version_id=old.layer_version_id,
                     project_id=old.project_id, site_revision_id=old.site_revision_id,
                     check_result_id=old.check_result_id)


def defer_push() -> None:
    """Queue one push (at most one waits; a push takes every pending row)."""
    from exchange.tasks import push

    try:
        with transaction.atomic():  # a refused duplicate must not abort the caller's transaction
            push.defer()
    except AlreadyEnqueued:
        pass


def districts_with_rows():
    return District.objects.filter(pk__in=OutboxRow.objects.values("district_id")).order_by("code")
