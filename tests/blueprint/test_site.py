"""The Django project: health probe, system check, pages, admin with local map assets."""

import re

import pytest
from django.core.checks import run_checks

from blueprint.models import Role
from tests.roles import sign_in

pytestmark = pytest.mark.django_db


def test_healthz_reports_postgis_to_operators(client):
    sign_in(client, Role.CITY_PLANNER)  # staff; strangers learn ok or not only
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert tuple(int(p) for p in body["postgis_version"].split(".")[:2]) >= (3, 3)
    assert body["srid_4490"] is True


def test_postgis_system_check_passes():
    errors = [e for e in run_checks(databases=["default"]) if e.id.startswith("blueprint.")]
    assert errors == []


def test_home_lists_the_layers_the_caller_may_read_in_chinese(client):
    page = client.get("/").content.decode()
    assert "行政区划" in page and "admin_district" not in page  # titles, not slugs
    assert "生态保护红线" not in page and "永久基本农田" not in page  # restricted: not for anonymous
    sign_in(client, Role.SYSTEM_ADMIN, username="home-admin")
    page = client.get("/").content.decode()
    assert "生态保护红线" in page and "永久基本农田" in page


@pytest.fixture
def admin_client(client):
    """A system administrator (layers and data), past the two-factor step."""
    sign_in(client, Role.SYSTEM_ADMIN, username="admin")
    return client


def test_admin_is_chinese_and_loads_no_external_assets(admin_client):
    from layers.models import District

    page = admin_client.get(f"/admin/layers/district/{District.objects.first().pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200 and "行政区划" in html
    assert "vendor/ol/ol.js" in html
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html)
    assert external == []


def test_admin_lists(admin_client):
    for path in ["layer", "layerversion", "district", "project"]:
        assert admin_client.get(f"/admin/layers/{path}/").status_code == 200


def test_admin_imports_a_new_version(admin_client, tmp_path):
    from layers.models import Layer
    from layers.services import register_layer
    from tests.layers.helpers import jining_patches, write_geojson

    layer = register_layer("green_line", "绿线", "Green line", fields={"MC": "string"})[0]
    path = write_geojson(tmp_path / "green.geojson", jining_patches(2), [{"MC": "公园"}, {"MC": "绿地"}])
    url = f"/admin/layers/layer/{layer.pk}/import/"
    assert "导入" in admin_client.get(url).content.decode()
    with path.open("rb") as upload:
        response = admin_client.post(url, {"file": upload}, follow=True)
    # The import stages the version and shows its preview (counts, quality); confirming activates it.
    preview = response.content.decode()
    assert "预览：绿线 第 1 版" in preview and Layer.objects.get(pk=layer.pk).active_version is None
    confirmed = admin_client.post(f"/admin/layers/layer/{layer.pk}/preview/1/", {"action": "confirm"},
                                  follow=True)
    assert "第 1 版已启用" in confirmed.content.decode()
    assert Layer.objects.get(pk=layer.pk).active_version.feature_count == 2


def test_admin_import_error_is_shown_and_nothing_written(admin_client, tmp_path):
    from layers.models import LayerVersion
    from layers.services import register_layer

    layer = register_layer("yellow_line", "黄线", "Yellow line")[0]
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": []}')
    with bad.open("rb") as upload:
        page = admin_client.post(f"/admin/layers/layer/{layer.pk}/import/", {"file": upload}, follow=True)
    assert "没有要素" in page.content.decode()
    assert not LayerVersion.objects.filter(layer=layer).exists()
