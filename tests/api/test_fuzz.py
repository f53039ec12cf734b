"""schemathesis over both OpenAPI documents: no 5xx, and every status answered is documented.

Each operation gets FUZZ_EXAMPLES examples, derandomised (the same cases every run), called
in-process through WSGI on the test database as anonymous and as a system token with every
interface. The OGC document lists the same operations for every collection of a kind, so one
vector collection (water_body) and one raster collection (hires_jining) stand for the others.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from blueprint.wsgi import application
from tests.roles import make_token

pytestmark = pytest.mark.django_db

FUZZ_EXAMPLES = 30
FUZZ = settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
CHECKS = [not_a_server_error, status_code_conformance]
OTHER_COLLECTIONS = r"^/collections/(?!water_body\b|hires_jining\b)[^/]+"


@contextmanager
def in_process():
    """WSGI calls inside the test's transaction: Django would close the connection per request
    (the test client reconnects these handlers after each of its own calls)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _schema(client, path: str, base: str):
    document = json.loads(client.get(path).content)
    document["servers"] = [{"url": base}]
    return schemathesis.openapi.from_dict(document)


def _fuzz(schema, headers: dict) -> int:
    """Run FUZZ_EXAMPLES cases of every operation; fail naming each operation that broke."""
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case):
            case.validate_response(case.call(app=application, headers=headers), checks=CHECKS)

        try:
            with in_process():
                run()
        except Exception as exc:  # noqa: BLE001 — collected, then reported together below
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
    return operations


@pytest.mark.slow
@pytest.mark.parametrize("who", ["anonymous", "token"])
def test_rest_api_fuzzed(client, who):
    headers = {} if who == "anonymous" else {"Authorization": f"Bearer {make_token('fuzz', rate=10**6)[1]}"}
    assert _fuzz(_schema(client, "/api/openapi.json", "http://testserver"), headers) >= 9


@pytest.mark.slow
@pytest.mark.parametrize("who", ["anonymous", "token"])
def test_ogc_api_fuzzed(client, who):
    headers = {} if who == "anonymous" else {"Authorization": f"Bearer {make_token('fuzz', rate=10**6)[1]}"}
    schema = _schema(client, "/ogc/openapi?f=json", "http://testserver/ogc").exclude(path_regex=OTHER_COLLECTIONS)
    assert _fuzz(schema, headers) >= 15
