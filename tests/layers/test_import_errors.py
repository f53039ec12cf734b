"""Hostile layer files: NaN coordinates and null geometries refused with a message, not a traceback."""

import json

import pytest
import shapely
from django.core.management import CommandError, call_command

from blueprint.errors import InvalidInput
from blueprint.models import Role
from layers.importers import import_layer
from layers.models import LayerVersion
from layers.services import register_layer
from tests.layers.helpers import jining_patches
from tests.roles import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    """A system administrator (layers and data), past the two-factor step."""
    sign_in(client, Role.SYSTEM_ADMIN, username="import-admin")
    return client


@pytest.fixture
def layer():
    return register_layer("nan_line", "测试线", "Test line", fields={"MC": "string"})[0]


def write_features(path, geometries) -> str:
    """A GeoJSON file written by hand: json.dumps writes NaN as GDAL reads it."""
    features = [{"type": "Feature", "properties": {"MC": f"f{i}"}, "geometry": g}
                for i, g in enumerate(geometries)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return str(path)


def nan_square():
    ring = [[116.5, 35.3], [float("nan"), 35.3], [116.51, 35.31], [116.5, 35.31], [116.5, 35.3]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_nan_coordinates_are_rejected_by_feature(layer, tmp_path):
    good = shapely.geometry.mapping(jining_patches(1)[0])
    summary = import_layer(layer.slug, write_features(tmp_path / "n.geojson", [good, nan_square()]))
    assert summary.features == 1 and [r["fid"] for r in summary.rejected] == [1]


def test_only_nan_coordinates_is_a_message_and_nothing_written(layer, tmp_path):
    path = write_features(tmp_path / "all.geojson", [nan_square()])
    with pytest.raises(InvalidInput) as raised:
        import_layer(layer.slug, path)
    assert "(" in raised.value.detail
    with pytest.raises(CommandError):
        call_command("import_layer", layer.slug, path)
    assert not LayerVersion.objects.filter(layer=layer).exists()


@pytest.mark.parametrize("geometries", [[None], [None, None]])
def test_admin_import_of_null_geometries_is_a_message(admin_client, layer, tmp_path, geometries):
    path = write_features(tmp_path / "null.geojson", geometries)
    with open(path, "rb") as upload:
        page = admin_client.post(f"/admin/layers/layer/{layer.pk}/import/", {"file": upload}, follow=True)
    assert page.status_code == 200
    assert "没有" in page.content.decode() or "拒绝" in page.content.decode()
    assert not LayerVersion.objects.filter(layer=layer).exists()


def test_admin_import_of_nan_coordinates_is_a_message(admin_client, layer, tmp_path):
    path = write_features(tmp_path / "nan.geojson", [nan_square()])
    with open(path, "rb") as upload:
        page = admin_client.post(f"/admin/layers/layer/{layer.pk}/import/", {"file": upload}, follow=True)
    assert page.status_code == 200
    assert not LayerVersion.objects.filter(layer=layer).exists()
