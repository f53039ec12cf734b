"""The Django project: health probe, system check, pages, admin with local map assets."""

import re

import pytest
from django.contrib.auth.models import User
from django.core.checks import run_checks

pytestmark = pytest.mark.django_db


def test_healthz_reports_postgis(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert tuple(int(p) for p in body["postgis_version"].split(".")[:2]) >= (3, 3)
    assert body["srid_4490"] is True


def test_postgis_system_check_passes():
    errors = [e for e in run_checks(databases=["default"]) if e.id.startswith("blueprint.")]
    assert errors == []


def test_home_lists_layers_in_chinese(client):
    page = client.get("/").content.decode()
    assert "生态保护红线" in page and "永久基本农田" in page and "admin_district" in page


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("admin", "admin@example.org", "secret-password-1")
    client.force_login(user)
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
