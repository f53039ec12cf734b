"""Generated activity for the statistics tests: site revisions, checks, re-runs, previews, gate
answers and sharing feedback spread over three months (a patched clock, not a mocked database)."""

from __future__ import annotations

import contextlib
import datetime as dt
from unittest import mock
from zoneinfo import ZoneInfo

import shapely
from shapely import affinity

from compliance import services
from exchange.models import OutboxRow, State
from layers.models import Project
from layers.services import add_site_revision

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONTHS = [
    dt.datetime(2026, 8, 14, 9, 30, tzinfo=SHANGHAI),
    dt.datetime(2026, 9, 30, 23, 40, tzinfo=SHANGHAI),
    dt.datetime(2026, 10, 3, 15, 0, tzinfo=SHANGHAI),
]
CITY = "stats-city"


@contextlib.contextmanager
def at(moment: dt.datetime):
    """Run the block as if it were `moment` (what auto_now_add and the services read)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def site_of(project: Project) -> shapely.Geometry:
    return shapely.from_wkb(bytes(project.current_site.geom.wkb))


def build(projects: list[Project] | None = None) -> dict:
    """For each project: a new site revision, its check some hours later (some re-run), a gate
    answer for half of them; three previews without a project; one revision left unchecked;
    sharing rows accepted, rejected or sent late. Returns what was made."""
    projects = projects or list(Project.objects.order_by("code"))
    made = {"checks": [], "previews": [], "revisions": [], "waiting": None}
    for i, project in enumerate(projects):
        start = MONTHS[i % len(MONTHS)] + dt.timedelta(hours=i)
        moved = affinity.translate(site_of(project), xoff=1e-5 * (i + 1))
        with at(start):
            made["revisions"].append(add_site_revision(project, moved, note="statistics test"))
        checked = start + dt.timedelta(hours=2 + 3 * i)
        with at(checked):
            check = services.check_project(project, created_by=CITY)
        made["checks"].append(check)
        if i % 4 == 0:
            with at(checked + dt.timedelta(hours=1)):
                made["checks"].append(services.rerun_check(check, created_by=CITY))
        if i % 2 == 0:
            with at(checked + dt.timedelta(days=2)):
                services.gate(project.code, "1", caller=CITY)
    for j, project in enumerate(projects[:3]):
        with at(MONTHS[1] + dt.timedelta(minutes=j)):
            made["previews"].append(services.run_check(site_of(project), created_by="stats-preview"))
    last = projects[-1]
    with at(MONTHS[2] + dt.timedelta(days=5)):
        made["waiting"] = add_site_revision(
            last, affinity.translate(site_of(last), yoff=2e-5), note="unchecked"
        )
    _feedback()
    return made


def _feedback() -> None:
    """The province's side, written as the delivery would: sent, then accepted or rejected."""
    for n, row in enumerate(OutboxRow.objects.order_by("id")):
        if n % 5 == 4:
            continue  # still pending
        sent = row.created_at + dt.timedelta(minutes=2 if n % 3 else 9)
        state = State.REJECTED if n % 7 == 0 else State.ACCEPTED
        OutboxRow.objects.filter(pk=row.pk).update(
            state=state, sent_at=sent, feedback_at=sent + dt.timedelta(minutes=4)
        )
