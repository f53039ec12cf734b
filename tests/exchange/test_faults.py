"""Faults on the real databases: the province down then back, a push that died after writing,
and a rejected row corrected and sent again. Counts come from the front database itself."""

import pytest
from django.db import connection

from blueprint.tasks import run_until_idle
from exchange import delivery
from exchange.front import FrontUnavailable
from exchange.models import OutboxRow, State, Table
from layers.services import add_site_revision
from tests.exchange.conftest import front_rows
from tests.exchange.test_outbox import inner_site, project

pytestmark = pytest.mark.django_db


def keys_in_front(url) -> list[str]:
    return [r["dfsjzj"] for table in Table.values for r in front_rows(url, table)]


def queued_pushes() -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, attempts FROM procrastinate_jobs WHERE task_name = 'exchange.push'"
                       " ORDER BY id")
        return cursor.fetchall()


def test_the_province_down_then_back_every_row_once(front, province):
    start = OutboxRow.objects.order_by("-id").values_list("id", flat=True).first()
    province.down()
    for i in range(5):
        add_site_revision(project(), inner_site(0.9 - i / 20))
    with pytest.raises(FrontUnavailable):
        delivery.push()
    run_until_idle(["exchange"])  # the push task fails and is scheduled again (procrastinate's retry)
    assert queued_pushes()[-1][0] == "todo" and queued_pushes()[-1][1] >= 1
    ours = OutboxRow.objects.filter(pk__gt=start)  # 5 new rows and 5 invalidations of the old ones
    assert ours.count() == 10 and set(ours.values_list("state", flat=True)) == {State.PENDING}
    province.up()
    delivery.push()  # what the retry, or the minute's exchange.sync, does once the province is back
    in_front = keys_in_front(front)
    assert sorted(in_front) == sorted(row.key for row in ours)  # 0 lost, 0 duplicated
    assert set(ours.values_list("state", flat=True)) == {State.SENT}


def test_a_push_that_died_after_writing_is_repeated_without_a_duplicate(front):
    start = OutboxRow.objects.order_by("-id").values_list("id", flat=True).first()
    revision = add_site_revision(project(), inner_site(0.75))
    delivery.push()
    row = OutboxRow.objects.get(site_revision=revision, valid=True)
    before = keys_in_front(front)
    # What a worker killed between the front database's commit and ours leaves: rows there,
    # our outbox still pending. The retry sends again and the front database keeps one copy.
    OutboxRow.objects.filter(pk__gt=start).update(state=State.PENDING, sent_at=None)
    again = delivery.push()
    assert again.sent == 2 and again.new_in_front == 0  # the new row and the old one's invalidation
    after = keys_in_front(front)
    assert sorted(after) == sorted(before) and after.count(row.key) == 1
    row.refresh_from_db()
    assert row.state == State.SENT


def test_a_rejected_row_is_shown_corrected_sent_again_and_accepted(front, province, client):
    province.reject_districts = {"370811"}
    revision = add_site_revision(project(), inner_site(0.85))
    run_until_idle(["exchange"])
    province.take()
    delivery.poll()
    rejected = OutboxRow.objects.get(site_revision=revision, valid=True)
    assert rejected.state == State.REJECTED and rejected.province_status == 3
    assert "370811 未在省级系统登记" in rejected.province_reason
    # The province registers the district (the correction); staff send the row again.
    province.reject_districts = set()
    again = delivery.resend(rejected, actor="planner")
    assert again.pk != rejected.pk and again.supersedes_id == rejected.pk and again.key != rejected.key
    run_until_idle(["exchange"])
    province.take()
    delivery.poll()
    again.refresh_from_db()
    rejected.refresh_from_db()
    assert again.state == State.ACCEPTED and rejected.state == State.REJECTED  # the old verdict stays
    rows = {r["dfsjzj"]: r for r in front_rows(front, Table.SITE)}
    assert rows[again.key]["sjsczt"] == 2 and rows[rejected.key]["sjsczt"] == 3


def test_a_slow_province_times_the_push_out_and_the_retry_delivers(front, province, settings):
    settings.BLUEPRINT = {**settings.BLUEPRINT, "EXCHANGE_STATEMENT_TIMEOUT_S": 1}
    start = OutboxRow.objects.order_by("-id").values_list("id", flat=True).first()
    add_site_revision(project(), inner_site(0.65))
    busy = province.slow(4)  # its tables locked for 4 s: our insert waits past the 1 s timeout
    with pytest.raises(FrontUnavailable):
        delivery.push()
    assert not OutboxRow.objects.filter(pk__gt=start).exclude(state=State.PENDING).exists()
    busy.join()
    delivery.push()
    ours = OutboxRow.objects.filter(pk__gt=start)
    assert sorted(keys_in_front(front)) == sorted(row.key for row in ours)
