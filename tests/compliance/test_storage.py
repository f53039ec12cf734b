"""How a check reads and stores: prepared statements, one-statement writes, outside a transaction.

The tests marked `outside` run in autocommit, as the background worker and an in-process caller
do (the other tests run inside pytest-django's transaction, where a check's read takes a
savepoint). Their checks are committed to the test database, like the HTTP tests' checks.
"""

import uuid

import psycopg2
import pytest
import shapely
from django.db import DataError, connection

from blueprint.db import insert_together
from blueprint.models import AuditEntry
from compliance.models import Check, Finding
from compliance.rulesets import DEFAULT_RULESET, save_ruleset
from compliance.services import run_check
from layers.importers import import_layer
from tests.compliance import oracle
from tests.layers.helpers import geod_area, square, write_geojson


@pytest.fixture
def outside(django_db_blocker):
    """The database in autocommit, outside any transaction (not a pytest-django test)."""
    with django_db_blocker.unblock():
        assert not connection.in_atomic_block
        yield connection


def farmland_site(small_data) -> tuple[shapely.Polygon, float]:
    geoms, _ = oracle.layer_features(small_data, "basic_farmland")
    patch = next(g for g in geoms if oracle.coverage(small_data).contains(g.buffer(0.01)))
    site = shapely.box(*shapely.buffer(patch.centroid, 0.003).bounds)
    return site, oracle.overlap_m2(site, geoms)


def prepared_reads(conn) -> dict[str, int]:
    """The connection's prepared check reads and how often each has run."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT name, generic_plans + custom_plans FROM pg_prepared_statements"
                       " WHERE statement LIKE '%%hits AS%%'")
        return dict(cursor.fetchall())


def test_a_check_outside_a_transaction_is_stored_whole(outside, small_data):
    site, expected = farmland_site(small_data)
    actor = f"autocommit-{uuid.uuid4().hex[:8]}"
    check = run_check(site, created_by=actor)
    stored = Check.objects.get(pk=check.pk)
    farmland = stored.findings.get(rule_id="basic_farmland")
    assert stored.verdict == "fail" and farmland.status == "fail"
    assert farmland.measures["overlap"]["m2"] == pytest.approx(expected, rel=1e-6)
    category = stored.category
    rules = [r for r in stored.ruleset.content["rules"] if category in r.get("applies_to", [category])]
    assert sorted(stored.findings.values_list("rule_id", flat=True)) == sorted(r["id"] for r in rules)
    entry = AuditEntry.objects.get(action="check.run", actor=actor)
    assert entry.target == str(check.pk) and entry.detail["result_hash"] == stored.result_hash
    assert stored.created_at is not None and stored.created_at == check.created_at


def test_the_read_is_prepared_once_per_connection_and_reused(outside, small_data):
    site, _ = farmland_site(small_data)
    before = prepared_reads(outside)
    for step in range(7):
        run_check(shapely.affinity.translate(site, xoff=step * 1e-4), created_by="prepared-test")
    after = prepared_reads(outside)
    runs = {name: count - before.get(name, 0) for name, count in after.items() if count != before.get(name)}
    assert list(runs.values()) == [7]  # one statement, prepared once, executed for every check


def test_prepared_and_unprepared_reads_give_identical_results(outside, small_data, settings):
    site, _ = farmland_site(small_data)
    prepared = run_check(site, created_by="prepared-test")
    settings.BLUEPRINT = {**settings.BLUEPRINT, "PREPARED_STATEMENTS": False}
    plain = run_check(site, created_by="prepared-test")
    assert plain.result_hash == prepared.result_hash and plain.verdict == prepared.verdict


def test_nothing_is_half_written_when_the_write_fails(outside, small_data):
    site, _ = farmland_site(small_data)
    good = run_check(site, created_by="half-written-test")
    check = Check(**{f.attname: getattr(good, f.attname) for f in Check._meta.concrete_fields
                     if f.attname not in ("id", "created_at")})
    finding = Finding(check_result=check, order=0, rule_id="x", kind="must_not_intersect", layer="x",
                      status="pass", severity="fail", message_zh="x", rule={})
    too_long = AuditEntry(action="x" * 100, actor="half-written-test")  # action is varchar(48)
    with pytest.raises(DataError):
        insert_together([check, finding, too_long])
    assert not Check.objects.filter(pk=check.pk).exists()
    assert not Finding.objects.filter(check_result_id=check.pk).exists()


def test_locked_layer_tables_outside_a_transaction_give_errors_never_a_pass(outside, small_data):
    db = outside.settings_dict
    other = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"])
    site, _ = farmland_site(small_data)
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN; LOCK TABLE layers_feature IN ACCESS EXCLUSIVE MODE")
        with outside.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        check = run_check(site, created_by="locked-test")
    finally:
        other.rollback()
        other.close()
        with outside.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    statuses = dict(Check.objects.get(pk=check.pk).findings.values_list("rule_id", "status"))
    assert check.verdict == "error" and statuses["basic_farmland"] == "error"
    assert "pass" not in statuses.values()
    assert run_check(site, created_by="locked-test").verdict == "fail"  # the connection is usable


@pytest.mark.django_db
def test_a_newly_activated_rule_set_is_used_by_the_next_check(small_data):
    site, _ = farmland_site(small_data)
    before = run_check(site)
    text = DEFAULT_RULESET.read_text(encoding="utf-8").replace('version: "2026.1"', 'version: "2026.1-test"')
    newer = save_ruleset(text, created_by="tester")
    after = run_check(site)
    assert before.ruleset_hash != newer.content_hash
    assert after.ruleset_hash == newer.content_hash and after.ruleset_id == newer.pk


@pytest.mark.django_db
@pytest.mark.parametrize("layout", ["overlapping", "tiling"])
def test_a_layers_features_are_counted_once(tmp_path, layout):
    """Red-line features that overlap (bad data, but it happens) or tile the land edge to edge:
    the occupied area is the site's part of their union, never the sum of the parts."""
    first = square(116.56, 35.43, 400)
    width = first.bounds[2] - first.bounds[0]
    second = shapely.affinity.translate(first, xoff=width / 2 if layout == "overlapping" else width)
    third = shapely.box(second.bounds[2], second.bounds[1], second.bounds[2] + 0.003, second.bounds[3])
    features = [first, second, third]
    import_layer("ecological_redline", write_geojson(tmp_path / f"{layout}.geojson", features,
                                                     [{"BSM": f"T{i}"} for i in range(3)]))
    site = shapely.box(116.561, 35.431, second.bounds[2] + 0.001, 35.4325)
    expected = geod_area(site.intersection(shapely.union_all(features)))
    parts = sum(geod_area(site.intersection(g)) for g in features)
    assert (parts > expected * 1.1) if layout == "overlapping" else parts == pytest.approx(expected)
    result = run_check(site).findings.get(rule_id="ecological_redline")
    assert result.status == "fail" and len(result.features) == 3
    assert result.measures["overlap"]["m2"] == pytest.approx(expected, rel=1e-6)
    conflict = shapely.from_wkb(bytes(result.conflict_geom.wkb))
    assert conflict.is_valid and geod_area(conflict) == pytest.approx(expected, rel=1e-6)
