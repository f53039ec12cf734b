"""Send the outbox to the front database, read the province's feedback, re-send after correction.

At least once, never twice: rows are written into the front database (committed there) before
the outbox marks them sent; a push that dies in between is repeated, and the front-database
insert skips the keys already there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from blueprint import audit
from blueprint.errors import Conflict
from exchange import front, quality, records
from exchange.models import OutboxRow, State

__all__ = ["push", "poll", "resend", "Pushed"]

logger = logging.getLogger(__name__)


@dataclass
class Pushed:
    sent: int = 0
    new_in_front: int = 0
    failed_locally: int = 0


def push(limit: int | None = None) -> Pushed:
    """Send pending rows, oldest first, in batches; return the counts."""
    total = Pushed()
    while True:
        batch = _push_batch(limit or settings.BLUEPRINT["EXCHANGE_BATCH"])
        total.sent += batch.sent
        total.new_in_front += batch.new_in_front
        total.failed_locally += batch.failed_locally
        if batch.sent + batch.failed_locally == 0:
            return total


@transaction.atomic
def _push_batch(limit: int) -> Pushed:
    rows = list(OutboxRow.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(state=State.PENDING).order_by("id")
                .select_related("supersedes", "district", "layer", "layer_version", "project",
                                "site_revision", "check_result")[:limit])
    if not rows:
        return Pushed()
    ready, failed = {}, []
    for row in rows:
        record = records.build(row)
        found = quality.problems(row, record)
        if found:
            failed.append((row, found))
        else:
            ready.setdefault(row.table, []).append((row, record.columns))
    new = 0
    if ready:
        with front.connect() as conn:  # commits on leaving: before our rows are called sent
            for table, pairs in ready.items():
                new += front.insert(conn, table, [columns for _, columns in pairs])
    now = timezone.now()
    sent = [row.pk for pairs in ready.values() for row, _ in pairs]
    OutboxRow.objects.filter(pk__in=sent).update(state=State.SENT, sent_at=now)
    for row, found in failed:
        OutboxRow.objects.filter(pk=row.pk).update(
            state=State.LOCAL_FAILED, province_status=quality.LOCAL_FAILURE_STATUS, problem="；".join(found))
    if failed:
        logger.warning("%s outbox rows failed the local check", len(failed))
    return Pushed(sent=len(sent), new_in_front=new, failed_locally=len(failed))


def poll() -> int:
    """Read SJSCZT and SBYY back for the rows sent and not yet decided; return how many changed."""
    waiting = list(OutboxRow.objects.filter(state=State.SENT).only("id", "table", "province_status"))
    if not waiting:
        return 0
    codes = settings.BLUEPRINT["EXCHANGE_STATUS_CODES"]
    by_table = {}
    for row in waiting:
        by_table.setdefault(row.table, {})[row.key] = row
    changed, now = 0, timezone.now()
    with front.connect() as conn:
        answers = {t: front.feedback(conn, t, rows) for t, rows in by_table.items()}
    with transaction.atomic():
        for table, rows in by_table.items():
            for key, (status, reason) in answers[table].items():
                row = rows[key]
                state = State(codes.get(str(status), State.SENT))
                if state == State.SENT and row.province_status == status:
                    continue
                OutboxRow.objects.filter(pk=row.pk, state=State.SENT).update(
                    state=state, province_status=status, province_reason=reason, feedback_at=now)
                changed += 1
    return changed


@transaction.atomic
def resend(row: OutboxRow, *, actor: str = "") -> OutboxRow:
    """Send a refused row again after its data was corrected.

    A row failing the local check was never sent: it is checked and sent again under its own key.
    A row the province rejected keeps its verdict there (the city never edits a row): a new row,
    with a new key, replaces it.
    """
    row = OutboxRow.objects.select_for_update().get(pk=row.pk)
    if row.state == State.LOCAL_FAILED:
        OutboxRow.objects.filter(pk=row.pk).update(state=State.PENDING, problem="", province_status=None)
        again = row
    elif row.state == State.REJECTED and row.valid:
        if row.superseded_by.exists():
            raise Conflict(f"{row.key} 已被替代，无需重发。 (Already replaced.)")
        again = OutboxRow.objects.create(
            table=row.table, district_id=row.district_id, layer_id=row.layer_id,
            layer_version_id=row.layer_version_id, project_id=row.project_id,
            site_revision_id=row.site_revision_id, check_result_id=row.check_result_id, supersedes=row)
    else:
        raise Conflict(f"{row.key} 的状态为“{row.get_state_display()}”，只有校验失败的数据可以重发。"
                       " (Only a row that failed a check can be sent again.)")
    from exchange.outbox import defer_push

    defer_push()
    audit.record("exchange.resend", target=row.key, actor=actor or None, again=again.key)
    return again
