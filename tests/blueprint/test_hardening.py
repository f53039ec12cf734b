"""Rate limits for people and anonymous callers, and what every response says about caching, the
server and the service's health (issue 13 §2: rate limits, responses)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from blueprint.models import Interface, Role
from blueprint.ratelimits import Rate, parse_rate
from tests.conftest import gunicorn
from tests.roles import make_token, sign_in

pytestmark = pytest.mark.django_db
PROJECT_CODE = "2022-370811-47-01-000002"
ITEMS = "/ogc/collections/water_body/items"


def fresh_window(seconds: int, room: float = 5.0) -> None:
    """Wait, when the current fixed window of `seconds` ends within `room` seconds, for the next one,
    so that a test's few requests are counted in one window."""
    left = seconds - time.time() % seconds
    if left < room:
        time.sleep(left + 0.05)


def limits(**rates: str):
    """Settings with these rate limits (the others off), starting in a fresh window."""
    for rate in rates.values():
        fresh_window(parse_rate(rate).seconds, room=min(5.0, parse_rate(rate).seconds / 2))
    chosen = {group: "off" for group in settings.BLUEPRINT["RATE_LIMITS"]} | rates
    return override_settings(BLUEPRINT={**settings.BLUEPRINT, "RATE_LIMITS": chosen})


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


# --- rate limits -----------------------------------------------------------------------------------

def test_anonymous_item_reads_are_limited_per_client_address_in_ogc_form(client):
    with limits(items="3/m"):
        assert [client.get(ITEMS, {"f": "json", "limit": 1}).status_code for _ in range(3)] == [200] * 3
        over = client.get(ITEMS, {"f": "json", "limit": 1})
        assert over.status_code == 429 and over.json()["code"] == "TooManyRequests"
        assert 1 <= int(over["Retry-After"]) <= 60 and "要素查询" in over.json()["description"]
        elsewhere = client.get(ITEMS, {"f": "json", "limit": 1}, REMOTE_ADDR="192.0.2.7")
        assert elsewhere.status_code == 200  # another address has its own count


def test_a_signed_in_persons_checks_are_limited_per_person_in_problem_json(client):
    body = json.dumps({"project_code": PROJECT_CODE})
    with limits(checks="2/m"):
        sign_in(client, Role.CITY_PLANNER, username="busy-planner")
        statuses = [client.post("/api/checks", body, content_type="application/json").status_code
                    for _ in range(3)]
        assert statuses == [201, 201, 429]
        over = client.post("/api/checks", body, content_type="application/json")
        assert over["Content-Type"] == "application/problem+json" and over.json()["status"] == 429
        assert "Retry-After" in over
        sign_in(client, Role.CITY_PLANNER, username="other-planner")  # same address, another person
        assert client.post("/api/checks", body, content_type="application/json").status_code == 201


def test_tiles_and_page_data_have_their_own_limit(client):
    with limits(tiles="2/10s"):
        tile = "/ogc/collections/water_body/tiles/WebMercatorQuad/0/0/0"
        data = "/maps/data/water_body?bbox=116,35,117,36&zoom=10"
        assert [client.get(p).status_code for p in (tile, data)] == [204, 200]  # an empty tile: 204
        over = client.get(data)
        assert over.status_code == 429 and over["Content-Type"] == "application/problem+json"
        assert 1 <= int(over["Retry-After"]) <= 10
        assert client.get(ITEMS, {"f": "json", "limit": 1}).status_code == 200  # items: not limited here


def test_tokens_keep_their_own_limit_not_the_peoples(client):
    _, raw = make_token("limited-elsewhere", interfaces=[Interface.OGC_READ], rate=1000)
    with limits(items="1/m"):
        assert [client.get(ITEMS, {"f": "json", "limit": 1}, **bearer(raw)).status_code
                for _ in range(3)] == [200] * 3


def test_the_default_limits_leave_room_for_map_panning_and_rates_are_validated():
    defaults = {group: parse_rate(text) for group, text in settings.BLUEPRINT["RATE_LIMITS"].items()}
    assert set(defaults) == {"checks", "items", "tiles", "coverages"} and all(defaults.values())
    assert defaults["tiles"].count / defaults["tiles"].seconds >= 50  # tiles per second, per person
    assert parse_rate("100/10s") == Rate(100, 10) and parse_rate("off") is None
    with pytest.raises(ImproperlyConfigured, match="600/m"):
        parse_rate("fast")


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_gunicorn_workers_share_the_counts_and_send_no_server_banner():
    with gunicorn(RATE_LIMIT_ITEMS="6/m") as url:
        fresh_window(60, room=20)
        answers = [_get(f"{url}{ITEMS}?f=json&limit=1") for _ in range(8)]
    assert [status for status, _ in answers] == [200] * 6 + [429] * 2  # 2 workers, one count
    assert all("Server" not in headers for _, headers in answers)
    assert int(answers[-1][1]["Retry-After"]) >= 1


# --- responses -------------------------------------------------------------------------------------

def test_answers_for_a_session_or_a_token_are_kept_by_nobody_and_vary_on_both(client):
    _, raw = make_token("no-store", interfaces=[Interface.OGC_READ])
    for response in (client.get("/ogc/collections", {"f": "json"}, **bearer(raw)),
                     client.get("/api/openapi.json")):
        assert response["Cache-Control"] == "private, no-store"
        assert {"Authorization", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}
    sign_in(client, Role.CITY_PLANNER)
    page = client.get("/maps/")
    assert page["Cache-Control"] == "private, no-store" and "Cookie" in page["Vary"]
    public_tile = client.get("/ogc/collections/water_body/tiles/WebMercatorQuad/0/0/0")
    assert public_tile["Cache-Control"] == "public, max-age=300"  # a public layer's tile: cacheable


def test_healthz_tells_strangers_ok_and_operators_the_detail(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    _, raw = make_token("probe", interfaces=[Interface.OGC_READ])
    detail = client.get("/healthz", **bearer(raw)).json()
    assert detail["status"] == "ok" and detail["postgis_version"] and detail["srid_4490"] is True
    sign_in(client, Role.CITY_PLANNER)
    assert "postgis_version" in client.get("/healthz").json()
    sign_in(client, Role.APPLICANT)  # a person, not an operator
    assert client.get("/healthz").json() == {"status": "ok"}
