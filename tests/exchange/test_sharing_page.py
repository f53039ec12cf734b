"""The sharing page and the province's notification, through the access policy."""

import pytest
from django.contrib.auth.models import User
from django.db import connection

from blueprint.models import AccessProfile
from exchange import delivery
from exchange.models import OutboxRow, State
from layers.services import add_site_revision
from tests.exchange.test_outbox import inner_site, project

pytestmark = pytest.mark.django_db


def person(client, role: str, districts=()):
    user = User.objects.create_user(f"sharing-{role}", password="x", is_staff=True)
    AccessProfile.objects.create(user=user, role=role, districts=list(districts))
    client.force_login(user)


def test_staff_see_each_rows_state_and_reason_in_chinese_and_filter_it(client, front, province):
    province.reject_districts = {"370811"}
    revision = add_site_revision(project(), inner_site(0.8))
    delivery.push()
    province.take()
    delivery.poll()
    row = OutboxRow.objects.get(site_revision=revision, valid=True)
    person(client, "city_planner")
    page = client.get("/exchange/", {"state": State.REJECTED, "county": "370811"}).content.decode()
    assert row.key in page and "省级校验失败" in page and "未在省级系统登记" in page and "重新发送" in page
    assert row.key not in client.get("/exchange/", {"state": State.ACCEPTED}).content.decode()
    assert row.key not in client.get("/exchange/", {"county": "420606"}).content.decode()
    # Re-sent from the page: a new row with its own key, waiting to be sent.
    province.reject_districts = set()
    assert client.post(f"/exchange/rows/{row.pk}/resend").status_code == 302
    again = OutboxRow.objects.get(supersedes=row, valid=True)
    assert again.state == State.PENDING and "待上传" in client.get("/exchange/").content.decode()


def test_a_county_planner_sees_only_their_districts_rows(client, front):
    revision = add_site_revision(project(), inner_site(0.8))  # 任城区 370811
    row = OutboxRow.objects.get(site_revision=revision, valid=True)
    person(client, "county_planner", ["370882"])
    assert row.key not in client.get("/exchange/").content.decode()
    assert client.post(f"/exchange/rows/{row.pk}/resend").status_code == 404


def test_the_provinces_notification_queues_a_feedback_read(client, front):
    from datetime import timedelta

    from django.utils import timezone

    from blueprint.tokens import create_token

    later = timezone.now() + timedelta(days=1)
    _, secret = create_token("province", interfaces=["exchange_notify"], expires_at=later)
    response = client.post("/exchange/notify", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 202
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'exchange.poll'"
                       " AND status = 'todo'")
        assert cursor.fetchone()[0] == 1
    anonymous = client.post("/exchange/notify")  # no token, no one signed in: to the login page
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    _, other = create_token("ogc-reader", interfaces=["ogc_read"], expires_at=later)
    assert client.post("/exchange/notify", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 403
