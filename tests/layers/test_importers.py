"""Importing files into layer versions: round trips, formats, CRSs, repairs, bad files, atomicity."""

import os
import signal
import subprocess
import sys
import zipfile

import pytest
import shapely
from django.db import DatabaseError, connection, transaction

from blueprint.errors import InvalidInput, UnknownCRS
from layers import crs
from layers.importers import import_layer
from layers.models import Feature, FeaturePart, Layer, LayerVersion
from layers.services import register_layer
from tests.database import app_env
from tests.layers.helpers import geod_area, jining_patches, square, write_geojson, write_vector

pytestmark = pytest.mark.django_db

FIELDS = {"TBBH": "string", "DLMC": "string", "MJ": "number"}


@pytest.fixture
def layer():
    return register_layer("test_farmland", "测试农田", "Test farmland", fields=FIELDS,
                          access_level="internal")[0]


def props(n):
    return [{"TBBH": f"{i:04d}", "DLMC": "水浇地", "MJ": 1000.0 + i} for i in range(n)]


def versions(layer):
    return LayerVersion.objects.filter(layer=layer).count()


def test_geojson_round_trip_areas_match_geod(layer, tmp_path):
    patches = jining_patches(5)
    path = write_geojson(tmp_path / "a.geojson", patches, props(5))
    summary = import_layer(layer.slug, path)
    assert summary.created and summary.features == 5 and summary.version == 1
    expected = [geod_area(p) for p in patches]
    assert summary.area_m2 == pytest.approx(sum(expected), rel=1e-4)
    stored = {f.properties["TBBH"]: f for f in Feature.objects.filter(version__layer=layer)}
    for i, patch in enumerate(patches):
        feature = stored[f"{i:04d}"]
        assert feature.area_m2 == pytest.approx(expected[i], rel=1e-4)
        assert feature.properties == {"TBBH": f"{i:04d}", "DLMC": "水浇地", "MJ": 1000.0 + i}
        assert feature.geom.srid == 4490 and feature.geom.geom_type == "MultiPolygon"
        assert shapely.from_wkb(bytes(feature.geom.wkb)).equals_exact(shapely.MultiPolygon([patch]), 1e-9)
    layer.refresh_from_db()
    assert layer.active_version.number == 1
    assert not FeaturePart.objects.filter(version=layer.active_version).exists()  # all light


def test_heavy_polygons_get_a_subdivided_copy(layer, tmp_path):
    circle = shapely.Point(116.55, 35.35).buffer(0.01, quad_segs=1000)  # 4 001 vertices
    light = square(116.60, 35.35, 100)
    import_layer(layer.slug, write_geojson(tmp_path / "h.geojson", [circle, light], props(2)))
    heavy = Feature.objects.get(version__layer=layer, fid=0)
    assert heavy.subdivided and not Feature.objects.get(version__layer=layer, fid=1).subdivided
    parts = [shapely.from_wkb(bytes(p.geom.wkb)) for p in FeaturePart.objects.filter(feature_id=heavy.id)]
    assert len(parts) > 15 and max(shapely.get_num_coordinates(parts)) <= 256 + 1
    assert geod_area(shapely.union_all(parts)) == pytest.approx(geod_area(circle), rel=1e-6)


@pytest.mark.parametrize("driver,suffix", [("GPKG", ".gpkg"), ("KML", ".kml")])
def test_other_formats(layer, tmp_path, driver, suffix):
    patches = jining_patches(3)
    fields = {"TBBH": ["1", "2", "3"], "DLMC": ["旱地"] * 3, "MJ": ["1.5", "2", "3"]}
    path = write_vector(tmp_path / f"a{suffix}", patches, fields, driver=driver, crs="EPSG:4490")
    summary = import_layer(layer.slug, path)
    assert summary.features == 3
    assert summary.area_m2 == pytest.approx(sum(geod_area(p) for p in patches), rel=1e-4)


def test_zipped_shapefile_in_gauss_kruger_zone(layer, tmp_path):
    patches = jining_patches(4)
    projected = [crs.from_cgcs2000(p, 4527) for p in patches]  # zone-prefixed metres
    folder = tmp_path / "shp"
    folder.mkdir()
    write_vector(folder / "farm.shp", projected, {"TBBH": ["a", "b", "c", "d"]},
                 driver="ESRI Shapefile", crs="EPSG:4527", geometry_type="Polygon")
    archive = tmp_path / "farm.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, part.name)
    summary = import_layer(layer.slug, archive)
    assert summary.features == 4 and summary.source_crs == "EPSG:4527"
    assert summary.area_m2 == pytest.approx(sum(geod_area(p) for p in patches), rel=1e-4)
    west, south, east, north = summary.bbox
    assert 116.49 < west < east < 116.6 and 35.29 < south < north < 35.32


def test_same_file_twice_makes_no_new_version(layer, tmp_path):
    path = write_geojson(tmp_path / "a.geojson", jining_patches(2), props(2))
    first = import_layer(layer.slug, path)
    again = import_layer(layer.slug, path)
    assert again.created is False and again.version == first.version
    assert versions(layer) == 1


def test_new_version_keeps_the_old_one(layer, tmp_path):
    v1 = import_layer(layer.slug, write_geojson(tmp_path / "1.geojson", jining_patches(2), props(2)))
    v2 = import_layer(layer.slug, write_geojson(tmp_path / "2.geojson", jining_patches(3), props(3)))
    assert (v1.version, v2.version) == (1, 2)
    layer.refresh_from_db()
    assert layer.active_version.number == 2
    assert Feature.objects.filter(version__layer=layer, version__number=1).count() == 2
    assert Feature.objects.filter(version=layer.active_version).count() == 3


def test_invalid_geometry_is_repaired_and_reported(layer, tmp_path):
    bowtie = shapely.Polygon([(116.50, 35.30), (116.51, 35.31), (116.51, 35.30), (116.50, 35.31)])
    good = square(116.53, 35.30, 200)
    summary = import_layer(layer.slug, write_geojson(tmp_path / "b.geojson", [bowtie, good], props(2)))
    assert summary.features == 2
    assert [r["fid"] for r in summary.repaired] == [0]
    assert "Self-intersection" in summary.repaired[0]["reason"]
    repaired = Feature.objects.get(version__layer=layer, fid=0)
    assert repaired.geom.valid
    assert repaired.area_m2 == pytest.approx(geod_area(shapely.make_valid(bowtie)), rel=1e-3)


def test_empty_geometries_are_rejected_with_ids(layer, tmp_path):
    summary = import_layer(layer.slug, write_geojson(tmp_path / "c.geojson",
                                                     [square(116.5, 35.3, 100), None], props(2)))
    assert summary.features == 1 and [r["fid"] for r in summary.rejected] == [1]


def assert_nothing_written(layer):
    assert versions(layer) == 0
    layer.refresh_from_db()
    assert layer.active_version is None


@pytest.mark.parametrize("case", ["no_crs", "mixed", "empty", "corrupt_zip", "wrong_type",
                                  "unknown_crs", "not_a_file_type", "garbage"])
def test_bad_files_leave_nothing_behind(layer, tmp_path, case):
    path = make_bad_file(case, tmp_path)
    with pytest.raises((InvalidInput, UnknownCRS)) as err:
        import_layer(layer.slug, path)
    assert "(" in err.value.detail and len(err.value.detail) > 20  # Chinese, then English
    assert_nothing_written(layer)


def make_bad_file(case, tmp_path):
    patches = jining_patches(2)
    if case == "no_crs":
        write_vector(tmp_path / "n.shp", patches, {"TBBH": ["1", "2"]}, driver="ESRI Shapefile",
                     crs=None, geometry_type="Polygon")
        return tmp_path / "n.shp"
    if case == "mixed":
        return write_geojson(tmp_path / "m.geojson", [patches[0], shapely.Point(116.5, 35.3)], props(2))
    if case == "empty":
        return write_geojson(tmp_path / "e.geojson", [], [])
    if case == "corrupt_zip":
        (tmp_path / "c.zip").write_bytes(b"PK\x03\x04 this is not really a zip file")
        return tmp_path / "c.zip"
    if case == "wrong_type":
        bad = props(2)
        bad[1]["MJ"] = "abc"
        return write_geojson(tmp_path / "w.geojson", patches, bad)
    if case == "unknown_crs":
        return write_geojson(tmp_path / "u.geojson", patches, props(2), crs_name="EPSG:999999")
    if case == "not_a_file_type":
        (tmp_path / "x.csv").write_text("a,b\n1,2\n")
        return tmp_path / "x.csv"
    (tmp_path / "g.geojson").write_text("{ not json")
    return tmp_path / "g.geojson"


def test_wrong_type_names_feature_and_field(layer, tmp_path):
    bad = props(3)
    bad[2]["MJ"] = "十亩"
    with pytest.raises(InvalidInput) as err:
        import_layer(layer.slug, write_geojson(tmp_path / "w.geojson", jining_patches(3), bad))
    assert "要素 2" in err.value.detail and "MJ" in err.value.detail


def test_features_are_immutable(layer, tmp_path):
    import_layer(layer.slug, write_geojson(tmp_path / "a.geojson", jining_patches(1), props(1)))
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        Feature.objects.filter(version__layer=layer).update(properties={})


def test_unregistered_layer_is_named(tmp_path):
    with pytest.raises(Exception, match="no_such_layer"):
        import_layer("no_such_layer", write_geojson(tmp_path / "a.geojson", jining_patches(1)))


def _run_import(env, slug, path, *extra):
    return subprocess.Popen([sys.executable, "manage.py", "import_layer", slug, str(path), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_import_killed_midway_leaves_previous_version_active(tmp_path):
    """A SIGKILL during an import: the old version stays active, no row of the new one is left."""
    env = app_env(IMPORT_BATCH_SIZE="500")  # imports as the service's own (app) database role
    slug = "killed_import_layer"
    first = write_geojson(tmp_path / "v1.geojson", jining_patches(3), props(3))
    done = _run_import(env, slug, first, "--create", "--no-progress")
    assert done.wait(120) == 0, done.stderr.read()
    big = write_geojson(tmp_path / "v2.geojson", jining_patches(20_000, metres=20.0), props(20_000))
    proc = _run_import(env, slug, big)
    seen = ""
    while "500/" not in seen and proc.poll() is None:  # tqdm shows the first batch staged
        seen += proc.stderr.read(1)
    assert proc.poll() is None, "the import finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    layer = Layer.objects.get(slug=slug)
    assert layer.active_version.number == 1
    assert list(LayerVersion.objects.filter(layer=layer).values_list("number", flat=True)) == [1]
    assert Feature.objects.filter(version__layer=layer).count() == 3


def test_a_new_partition_looks_features_up_by_source_id_through_an_index(layer, tmp_path):
    """`/items/{id}` reads one feature by its source id: the partition carries the parent's btree
    index on (version_id, fid), so the look-up is an index scan, not a scan of the partition."""
    summary = import_layer(layer.slug, write_geojson(tmp_path / "a.geojson", jining_patches(50), props(50)))
    version = LayerVersion.objects.get(layer=layer, number=summary.version)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s",
                       [f"layers_feature_v{version.pk}"])
        definitions = [row[0] for row in cursor.fetchall()]
        assert any("btree (version_id, fid)" in d for d in definitions), definitions
        cursor.execute("SET LOCAL enable_seqscan = off")  # 50 rows: the planner might scan anyway
        cursor.execute("EXPLAIN SELECT * FROM layers_feature WHERE version_id = %s AND fid = 7",
                       [version.pk])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan" in plan or "Bitmap Index Scan" in plan, plan
