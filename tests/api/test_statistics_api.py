"""GET /api/statistics for the province: the statistics interface, district-scoped tokens, errors
as problem+json, and the operation in the OpenAPI document."""

from __future__ import annotations

import pytest
from django.db import connection

from blueprint.models import Interface, Role
from tests.compliance import statistics_world as world
from tests.roles import log_in, make_person, make_token

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_a_statistics_token_reads_every_figure_as_json(client, small_data):
    world.build()
    _, raw = make_token("s-province", interfaces=[Interface.STATISTICS])
    response = client.get("/api/statistics?from=2026-08-01&to=2026-10-31", **bearer(raw))
    assert response.status_code == 200
    body = response.json()
    tables = {t["key"]: t for t in body["tables"]}
    assert {
        "comparison",
        "projects_by_stage",
        "checks_by_month",
        "conflicts",
        "gate",
        "verdict_time",
        "vintage",
        "quality",
        "sharing",
    } <= set(tables)
    assert body["filters"] == {"from": "2026-08-01", "to": "2026-10-31"}
    assert all(not k.startswith("_") for t in body["tables"] for r in t["rows"] for k in r)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM compliance_check WHERE created_at >= '2026-08-01 00:00+08'"
            " AND created_at < '2026-11-01 00:00+08'"
        )
        expected = cursor.fetchone()[0]
    assert expected and sum(r["total"] for r in tables["checks_by_month"]["rows"]) == expected
    # The province's token reads public layers only: no vintage of restricted layers it was not given.
    assert "ecological_redline" not in {r["layer"] for r in tables["vintage"]["rows"]}


def test_a_token_with_districts_reads_only_those(client, small_data):
    _, raw = make_token("s-county-token", interfaces=[Interface.STATISTICS], districts=["420600"])
    body = client.get("/api/statistics", **bearer(raw)).json()
    assert body["counties"] and all(c["code"].startswith("4206") for c in body["counties"])
    answer = client.get("/api/statistics?district=370811", **bearer(raw))
    assert answer.status_code == 404 and answer["Content-Type"] == "application/problem+json"


def test_other_tokens_and_applicants_are_refused(client, small_data):
    _, raw = make_token("s-checks-only", interfaces=[Interface.CHECKS, Interface.OGC_READ])
    assert client.get("/api/statistics", **bearer(raw)).status_code == 403
    assert client.get("/api/statistics").status_code == 401
    log_in(client, make_person(Role.APPLICANT, "s-applicant"))
    refused = client.get("/api/statistics")
    assert refused.status_code == 403 and refused["Content-Type"] == "application/problem+json"


def test_bad_dates_are_a_400_naming_the_parameter(client, small_data):
    _, raw = make_token("s-bad-dates", interfaces=[Interface.STATISTICS])
    answer = client.get("/api/statistics?from=2026-10-01&to=2026-01-01", **bearer(raw))
    assert answer.status_code == 400
    assert answer.json()["field"] == "from"


def test_the_monthly_reports_list(client, small_data):
    _, raw = make_token("s-monthly", interfaces=[Interface.STATISTICS])
    assert client.get("/api/statistics/monthly", **bearer(raw)).json() == []


def test_openapi_documents_the_statistics(client):
    document = client.get("/api/openapi.json").json()
    operation = document["paths"]["/api/statistics"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"from", "to", "district"}
    assert "403" in operation["responses"] and "200" in operation["responses"]
    assert "/api/statistics/monthly" in document["paths"]
