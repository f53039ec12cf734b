"""Imagery ingest: every fixture becomes a valid COG with the source's pixels and metadata; bad
files stop with a clear message and leave nothing behind; the same file twice is a no-op.

Expected values come from the source files read directly with rasterio and pyproj's Geod."""

import numpy as np
import pytest
import rasterio
from django.core.management import CommandError, call_command
from pyproj import Geod
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds
from rio_cogeo.cogeo import cog_validate

from blueprint.errors import BlueprintError
from layers.imagery import imagery_dir, import_scene, scene_path
from layers.models import Layer, LayerVersion, Scene
from layers.services import register_layer

pytestmark = pytest.mark.django_db
GEOD = Geod(a=6378137.0, rf=298.257222101)
FIXTURES = {"blue_marble": ["blue_marble.tif"],
            "hillshade": ["hillshade_jining.tif", "hillshade_xiangyang.tif"],
            "hires_jining": ["hires_jining_2023-04-18.tif", "hires_jining_2024-09-26.tif"]}


def _scene_for(source, slug: str) -> Scene:
    from layers.importers import file_hash

    return Scene.objects.get(content_hash=file_hash(source), layer__slug=slug)


@pytest.mark.parametrize("slug,name", [(s, n) for s, names in FIXTURES.items() for n in names])
def test_each_fixture_is_a_cog_with_the_source_pixels(small_data, slug, name):
    source = small_data / "imagery" / name
    scene = _scene_for(source, slug)
    assert scene.layer.slug == slug
    cog = scene_path(scene)
    valid, errors, _warnings = cog_validate(str(cog), quiet=True)
    assert valid, errors
    with rasterio.open(source) as src, rasterio.open(cog) as out:
        assert out.crs == src.crs and out.transform.almost_equals(src.transform)
        assert np.array_equal(out.read(), src.read())  # lossless
        expected_bbox = transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
        tags = src.tags()
        expected_dtype, expected_count = src.dtypes[0], src.count
    assert np.allclose(scene.footprint.extent, expected_bbox, atol=1e-6)
    assert scene.acquired.isoformat() == tags["ACQUISITION_DATE"]
    assert scene.sensor == tags["SENSOR"]
    assert scene.dtype == expected_dtype and len(scene.bands) == expected_count


def test_resolution_is_measured_on_the_ground(small_data):
    with rasterio.open(small_data / "imagery" / "blue_marble.tif") as src:
        lon = src.bounds.left + src.width / 2 * src.res[0]
        lat = src.bounds.top - src.height / 2 * src.res[1]
        _, _, dx = GEOD.inv(lon, lat, lon + src.res[0], lat)
        _, _, dy = GEOD.inv(lon, lat, lon, lat - src.res[1])
    scene = _scene_for(small_data / "imagery" / "blue_marble.tif", "blue_marble")
    assert scene.resolution_m == pytest.approx((dx + dy) / 2, rel=0.01)
    hires = {s.acquired.isoformat(): s.resolution_m
             for s in Scene.objects.filter(layer__slug="hires_jining")}
    # Gauss–Krüger metres near the central meridian are ground metres to within 0.01 %.
    assert hires == {"2023-04-18": pytest.approx(1.0, rel=1e-3), "2024-09-26": pytest.approx(0.8, rel=1e-3)}


def test_each_import_is_a_version_and_the_same_file_again_is_a_no_op(small_data):
    layer = Layer.objects.get(slug="hires_jining")
    assert layer.active_version.number == 2 and layer.active_version.feature_count == 2
    before = (LayerVersion.objects.count(), Scene.objects.count())
    summary = import_scene("hires_jining", small_data / "imagery" / "hires_jining_2023-04-18.tif")
    assert not summary.created and summary.version == 1
    assert (LayerVersion.objects.count(), Scene.objects.count()) == before


@pytest.fixture
def scratch_layer():
    layer, _ = register_layer("scratch_imagery", "测试影像", "Scratch imagery", kind="raster",
                              geometry_type="Raster", access_level="public")
    return layer


def _files(layer) -> set:
    """The files in a layer's imagery folder (other runs may have left committed COGs there)."""
    folder = imagery_dir() / layer.slug
    return set(folder.iterdir()) if folder.exists() else set()


NEAR_JINING = from_origin(116.5, 35.5, 0.001, 0.001)


def _write(path, data, crs="EPSG:4326", transform=NEAR_JINING, dated=True, **extra):
    profile = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": data.shape[0],
               "dtype": data.dtype.name, **extra}
    if crs:
        profile.update(crs=crs, transform=transform)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if dated:
            dst.update_tags(ACQUISITION_DATE="2024-01-02")
    return path


def _bad_files(tmp_path, small_data):
    grey = np.full((1, 64, 64), 7, np.uint8)
    truncated = tmp_path / "truncated.tif"
    blob = (small_data / "imagery" / "hires_jining_2023-04-18.tif").read_bytes()
    truncated.write_bytes(blob[: len(blob) // 3])
    text = tmp_path / "notes.tif"
    text.write_text("not an image", encoding="utf-8")
    png = tmp_path / "picture.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    return {
        "no georeference": (_write(tmp_path / "plain.tif", grey, crs=None), "没有地理参考"),
        "truncated": (truncated, "损坏"),
        "not a TIFF": (text, "损坏或不是 GeoTIFF"),
        "wrong suffix": (png, "影像须为 GeoTIFF"),
        "float32": (_write(tmp_path / "float.tif", grey.astype("float32")), "数据类型为 float32"),
        "outside China": (_write(tmp_path / "atlantic.tif", grey,
                                 transform=from_origin(-30.0, 10.0, 0.01, 0.01)), "不在中国境内"),
        "no date": (_write(tmp_path / "undated.tif", grey, transform=from_origin(116.5, 35.5, 0.01, 0.01),
                           dated=False), "没有获取日期"),
    }


def test_bad_files_stop_with_a_clear_message_and_leave_nothing(tmp_path, small_data, scratch_layer):
    cases = _bad_files(tmp_path, small_data)
    before = _files(scratch_layer)
    for case, (path, message) in cases.items():
        with pytest.raises(BlueprintError) as caught:
            import_scene(scratch_layer.slug, path)
        assert message in caught.value.detail, case
        assert "(" in caught.value.detail and ")" in caught.value.detail, case  # the English part
        assert not Scene.objects.filter(layer=scratch_layer).exists(), case
        assert not LayerVersion.objects.filter(layer=scratch_layer).exists(), case
        assert _files(scratch_layer) == before, case


def test_command_reports_errors_in_one_line(tmp_path):
    with pytest.raises(CommandError, match="矢量图层"):
        call_command("import_imagery", "water_body", str(tmp_path / "x.tif"), "--no-progress")


def test_command_imports_with_a_given_date_and_sensor(tmp_path, scratch_layer, capsys):
    path = tmp_path / "rgb16.tif"
    data = (np.arange(3 * 32 * 48, dtype=np.uint16).reshape(3, 32, 48) * 20)
    with rasterio.open(path, "w", driver="GTiff", width=48, height=32, count=3, dtype="uint16",
                       crs="EPSG:4548", transform=from_origin(458000, 3914000, 2.0, 2.0)) as dst:
        dst.write(data)
    call_command("import_imagery", scratch_layer.slug, str(path), "--acquired", "2022-05-06",
                 "--sensor", "test camera", "--no-progress")
    scene = Scene.objects.get(layer=scratch_layer)
    assert scene.acquired.isoformat() == "2022-05-06" and scene.sensor == "test camera"
    assert scene.dtype == "uint16" and scene.crs == "EPSG:4548"
    low, high = np.percentile(data, [2, 98])  # the display stretch, from the whole small image
    assert scene.display_range[0][0] <= np.percentile(data[0], 5)
    assert scene.display_range[2][1] >= np.percentile(data[2], 95) and high > low
    assert "版已启用" in capsys.readouterr().out


@pytest.fixture
def admin_client(client):
    from blueprint.models import Role
    from tests.roles import sign_in

    sign_in(client, Role.SYSTEM_ADMIN, username="imagery_admin")  # layers are the system administrator's
    return client


def test_admin_imports_a_geotiff_as_a_new_scene(admin_client, scratch_layer, tmp_path):
    url = f"/admin/layers/layer/{scratch_layer.pk}/import/"
    page = admin_client.get(url).content.decode()
    assert "GeoTIFF" in page and "获取日期" in page
    data = (np.arange(3 * 40 * 50, dtype=np.uint16).reshape(3, 40, 50) * 9)
    path = tmp_path / "ortho_上传.tif"
    with rasterio.open(path, "w", driver="GTiff", width=50, height=40, count=3, dtype="uint16",
                       crs="EPSG:4548", transform=from_origin(458000, 3914000, 2.0, 2.0)) as dst:
        dst.write(data)
    with path.open("rb") as upload:
        page = admin_client.post(url, {"file": upload, "acquired": "2021-03-04", "sensor": "无人机"},
                                 follow=True).content.decode()
    assert "已导入影像并启用第 1 版：获取日期 2021-03-04" in page, page[-2000:]
    scene = Scene.objects.get(layer=scratch_layer)
    assert (scene.acquired.isoformat(), scene.sensor, scene.crs) == ("2021-03-04", "无人机", "EPSG:4548")
    assert scene.version.imported_by == "imagery_admin" and scene.version.source_name == path.name
    with rasterio.open(scene_path(scene)) as cog:
        assert np.array_equal(cog.read(), data) and cog.crs.to_epsg() == 4548
    with path.open("rb") as upload:  # the same file again: nothing new
        page = admin_client.post(url, {"file": upload}, follow=True).content.decode()
    assert "文件未变化：已是第 1 版的影像" in page
    assert Scene.objects.filter(layer=scratch_layer).count() == 1


def test_admin_imagery_errors_are_shown_and_nothing_written(admin_client, scratch_layer, tmp_path,
                                                             small_data):
    url = f"/admin/layers/layer/{scratch_layer.pk}/import/"
    before = _files(scratch_layer)
    cases = _bad_files(tmp_path, small_data)
    for case in ("no georeference", "truncated", "float32", "outside China", "no date"):
        path, message = cases[case]
        with path.open("rb") as upload:
            page = admin_client.post(url, {"file": upload}, follow=True).content.decode()
        assert message in page, case
    geojson = tmp_path / "sites.geojson"
    geojson.write_text('{"type": "FeatureCollection", "features": []}')
    with geojson.open("rb") as upload:
        page = admin_client.post(url, {"file": upload}).content.decode()
    assert "影像须为 GeoTIFF" in page
    with (small_data / "imagery" / "blue_marble.tif").open("rb") as upload:
        page = admin_client.post(url, {"file": upload, "acquired": "2024-02-30"}).content.decode()
    assert "有效的日期" in page  # Django's own message, in Chinese
    assert not Scene.objects.filter(layer=scratch_layer).exists()
    assert not LayerVersion.objects.filter(layer=scratch_layer).exists()
    assert _files(scratch_layer) == before
