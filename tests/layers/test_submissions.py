"""Preview, blocking and the audited override; counties' submissions through every role (REST)."""

import datetime as dt

import pytest
import shapely
from django.core.management import CommandError, call_command

from blueprint.errors import InvalidInput
from blueprint.models import AuditEntry, Interface, Role
from layers.importers import import_layer
from layers.models import District, Feature, Layer
from layers.quality import review
from layers.quality.models import QualityRule, Submission, VersionReview
from layers.services import register_layer
from tests.layers.helpers import jining_patches, write_geojson
from tests.roles import log_in, make_person, make_token

pytestmark = pytest.mark.django_db


def blocking_layer():
    layer = register_layer("q_block", "阻断测试", "Blocking test", fields={"NAME": "string"})[0]
    QualityRule.objects.create(layer=layer, code="overlaps", kind="no_overlaps", blocking=True)
    return layer


def overlapping(tmp_path, name="o.geojson"):
    a, _ = jining_patches(2)
    b = shapely.affinity.translate(a, xoff=(a.bounds[2] - a.bounds[0]) / 10)
    return write_geojson(tmp_path / name, [a, b], [{"NAME": "a"}, {"NAME": "b"}])


def test_preview_then_confirm(tmp_path):
    layer = register_layer(
        "q_preview", "预览测试", "Preview test", fields={"NAME": "string", "MJ": "number"}
    )[0]
    path = write_geojson(tmp_path / "p.geojson", jining_patches(2), [{"NAME": "a", "EXTRA": 1}] * 2)
    summary = import_layer(layer.slug, path, activate=False, access_level="public")
    version = layer.versions.get(number=summary.version)
    assert not summary.activated and Layer.objects.get(pk=layer.pk).active_version is None
    assert version.review.state == "pending" and version.review.missing_fields == ["MJ"]
    assert version.review.extra_fields == ["EXTRA"]
    assert review.confirm(version.review, actor="t")
    layer.refresh_from_db()
    assert layer.active_version == version and layer.access_level == "public"


def test_blocking_failures_hold_the_version_until_an_audited_override(tmp_path):
    layer = blocking_layer()
    summary = import_layer(layer.slug, overlapping(tmp_path), imported_by="t")
    version = layer.versions.get(number=summary.version)
    assert summary.blocking_failures == 1 and not summary.activated
    assert version.review.state == "held" and Layer.objects.get(pk=layer.pk).active_version is None
    assert not review.confirm(version.review, actor="t")
    with pytest.raises(InvalidInput):
        review.confirm(version.review, actor="t", override_reason="ok")  # too short to be a reason
    reason = "县局书面说明：两图斑重叠为权属争议，待确权后修正"
    assert review.confirm(version.review, actor="admin-x", override_reason=reason)
    assert Layer.objects.get(pk=layer.pk).active_version == version
    entry = AuditEntry.objects.get(action="quality.override", target=layer.slug)
    assert entry.actor == "admin-x" and entry.detail["reason"] == reason
    assert entry.detail["blocking_failures"] == 1 and entry.detail["counts"] == {"overlaps": 1}


def test_the_command_refuses_then_takes_an_override(tmp_path):
    layer = blocking_layer()
    path = overlapping(tmp_path)
    with pytest.raises(CommandError, match="阻断"):
        call_command("import_layer", layer.slug, str(path), "--no-progress")
    assert Layer.objects.get(pk=layer.pk).active_version is None
    call_command(
        "import_layer",
        layer.slug,
        str(path),
        "--no-progress",
        "--override-reason",
        "测试：重叠已知，由管理员批准启用",
    )
    assert Layer.objects.get(pk=layer.pk).active_version.number == 1
    assert AuditEntry.objects.filter(action="quality.override", target=layer.slug).count() == 1


# ---- counties' submissions -------------------------------------------------------------------


def county_part(county: District):
    """The active farmland's features whose point-on-surface lies in the county (shapely's own)."""
    layer = Layer.objects.get(slug="basic_farmland")
    boundary = shapely.from_wkb(bytes(county.geom.wkb))
    mine, others = [], 0
    for feature in Feature.objects.filter(version=layer.active_version):
        geom = shapely.from_wkb(bytes(feature.geom.wkb))
        if boundary.intersects(shapely.point_on_surface(geom)):
            mine.append((geom, feature.properties))
        else:
            others += 1
    return layer, mine, others


def busiest_county() -> District:
    layer = Layer.objects.get(slug="basic_farmland")
    counts = {}
    for district in District.objects.filter(level="county", geom__isnull=False):
        counts[district.code] = Feature.objects.filter(
            version=layer.active_version, geom__intersects=district.geom
        ).count()
    return District.objects.get(code=max(counts, key=counts.get))


def submission_file(tmp_path, mine, drop: int, name: str):
    kept = mine[drop:]
    return write_geojson(
        tmp_path / name, [g for g, _ in kept], [p for _, p in kept], "urn:ogc:def:crs:EPSG::4490"
    )


def post_file(client, path, layer, county, **headers):
    with path.open("rb") as handle:
        return client.post(
            "/api/submissions",
            {"layer": layer, "county": county, "file": handle, "note": "2025 年度变更"},
            **headers,
        )


def test_submissions_through_every_role(client, tmp_path, small_data):
    county = busiest_county()
    other = District.objects.filter(level="county", geom__isnull=False).exclude(code=county.code).first()
    layer, mine, others = county_part(county)
    assert len(mine) > 3
    path = submission_file(tmp_path, mine, 2, "a.geojson")  # two patches dropped
    # Who may not submit for this county: an applicant, another county's planner, the wrong token.
    for person in (
        make_person(Role.APPLICANT, "s-app"),
        make_person(Role.COUNTY_PLANNER, "s-other", districts=[other.code]),
    ):
        log_in(client, person)
        assert post_file(client, path, layer.slug, county.code).status_code == 403
    client.logout()
    _, ogc_only = make_token(
        "s-ogc", interfaces=[Interface.OGC_READ], layers=["basic_farmland"], districts=[county.code]
    )
    assert (
        post_file(client, path, layer.slug, county.code, HTTP_AUTHORIZATION=f"Bearer {ogc_only}").status_code
        == 403
    )
    # The county's planner submits; the report is the county's part.
    planner = make_person(Role.COUNTY_PLANNER, "s-county", districts=[county.code])
    log_in(client, planner)
    response = post_file(client, path, layer.slug, county.code)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "pending" and body["county"] == county.code and "rules" in body["quality"]
    submission = Submission.objects.get(pk=body["id"])
    assert submission.version.feature_count == others + len(mine) - 2
    assert Layer.objects.get(pk=layer.pk).active_version != submission.version  # not live yet
    assert (
        client.post(
            f"/api/submissions/{submission.pk}/accept", {}, content_type="application/json"
        ).status_code
        == 403
    )  # the county may not accept
    # Another county sees nothing of it.
    log_in(client, make_person(Role.COUNTY_PLANNER, "s-other2", districts=[other.code]))
    assert client.get(f"/api/submissions/{submission.pk}").status_code == 404
    assert all(row["county"] != county.code for row in client.get("/api/submissions").json())
    # The city accepts: a new city version with the county's part replaced, live at once.
    log_in(client, make_person(Role.CITY_PLANNER, "s-city"))
    assert [row["id"] for row in client.get("/api/submissions").json()] == [submission.pk]
    accepted = client.post(f"/api/submissions/{submission.pk}/accept", {}, content_type="application/json")
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    layer.refresh_from_db()
    assert layer.active_version == submission.version
    _, mine_after, others_after = county_part(county)
    assert (len(mine_after), others_after) == (len(mine) - 2, others)


def test_a_county_system_submits_and_the_city_returns_with_a_deadline(client, tmp_path, small_data):
    county = busiest_county()
    layer, mine, _ = county_part(county)
    _, secret = make_token(
        "s-county-system",
        interfaces=[Interface.DATA_SUBMISSION],
        layers=["basic_farmland"],
        districts=[county.code],
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    first = post_file(
        client, submission_file(tmp_path, mine, 1, "b.geojson"), layer.slug, county.code, **auth
    )
    assert first.status_code == 201, first.content
    pk = first.json()["id"]
    log_in(client, make_person(Role.CITY_PLANNER, "s-city2"))
    past = client.post(
        f"/api/submissions/{pk}/return",
        {"reasons": "x", "deadline": "2001-01-01"},
        content_type="application/json",
    )
    assert past.status_code == 400 and "整改期限" in past.json()["detail"]
    deadline = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    returned = client.post(
        f"/api/submissions/{pk}/return",
        {"reasons": "图斑 0012 与相邻图斑重叠，请核实", "deadline": deadline},
        content_type="application/json",
    )
    assert returned.status_code == 200 and returned.json()["state"] == "returned"
    assert client.get("/api/submissions/overdue").json() == []
    client.logout()
    feedback = client.get(f"/api/submissions/{pk}", **auth).json()  # the county sees the feedback
    assert feedback["reasons"].startswith("图斑 0012") and feedback["deadline"] == deadline
    assert VersionReview.objects.get(version__submission__pk=pk).state == "discarded"
    Submission.objects.filter(pk=pk).update(deadline=dt.date.today() - dt.timedelta(days=1))
    log_in(client, make_person(Role.CITY_PLANNER, "s-city3"))
    overdue = client.get("/api/submissions/overdue").json()
    assert [row["id"] for row in overdue] == [pk] and overdue[0]["overdue"]
    # A resubmission takes it off the overdue list.
    client.logout()
    again = post_file(
        client, submission_file(tmp_path, mine, 2, "c.geojson"), layer.slug, county.code, **auth
    )
    assert again.status_code == 201
    log_in(client, make_person(Role.CITY_PLANNER, "s-city4"))
    assert client.get("/api/submissions/overdue").json() == []
    assert Submission.objects.get(pk=pk).state == "resubmitted"
