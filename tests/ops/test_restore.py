"""Backup and restore with real pgBackRest: a round trip into fresh clusters, and a restore to a time
before a mistaken import (scripts/backup.sh on a copy of the test cluster, tests/ops/sites.py)."""

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import shapely
from django.conf import settings

from tests.compliance import oracle
from tests.conftest import gunicorn
from tests.layers.helpers import square, write_geojson
from tests.ops.sites import Site, free_port, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def site(token):
    site = Site.copy_of_test_cluster("backup")
    _copy_imagery(site)
    yield site
    site.remove()


def _copy_imagery(site: Site) -> None:
    """The scenes the copied database refers to, into the site's IMAGERY_DIR."""
    source = Path(settings.BLUEPRINT["IMAGERY_DIR"])
    for (path,) in site.query("SELECT cog_path FROM layers_scene"):
        (site.data_dir / "imagery" / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / path, site.data_dir / "imagery" / path)


def _sites(small_data, count: int, start: int) -> list[dict]:
    base, _ = oracle.border_site(small_data, "basic_farmland", 150.0)
    return [shapely.geometry.mapping(shapely.affinity.translate(base, xoff=0.0003 * (start + i)))
            for i in range(count)]


def _submit(url: str, token: dict, sites: list[dict]) -> dict[str, str]:
    """POST each site as a check; the acknowledged ones (201) as id → result hash."""
    acknowledged = {}
    for body in sites:
        response = requests.post(f"{url}/api/checks", json={"site": body}, headers=token, timeout=60)
        assert response.status_code == 201, response.text
        acknowledged[response.json()["id"]] = response.json()["result_hash"]
    return acknowledged


def _archived(site: Site) -> None:
    """Close the current WAL segment and wait until pgBackRest has archived it."""
    (wal,) = site.query("SELECT pg_walfile_name(pg_switch_wal())")[0]
    for _ in range(240):
        if site.query("SELECT last_archived_wal >= %s FROM pg_stat_archiver", (wal,))[0][0]:
            return
        time.sleep(0.25)
    raise AssertionError(f"WAL segment {wal} was not archived")


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.tif"))}


def test_round_trip_and_point_in_time_restore(site, token, small_data, tmp_path):
    site.script("backup.sh", "configure")  # at installation: archiving on (a restart), the stanza
    with gunicorn(DATABASE_URL=site.app_url(), IMAGERY_DIR=str(site.data_dir / "imagery")) as url:
        before_full = _submit(url, token, _sites(small_data, 3, 0))
        site.script("backup.sh", "backup")  # the first: a full backup (and archiving turned on)
        after_full = _submit(url, token, _sites(small_data, 3, 3))  # only in the archived WAL
    ((before_import,),) = site.query("SELECT clock_timestamp()")
    farmland_version = site.query("SELECT active_version_id FROM layers_layer WHERE slug = 'basic_farmland'")
    time.sleep(1.1)
    # The mistaken import: one small square replaces the whole farmland layer.
    mistake = write_geojson(tmp_path / "mistake.geojson", [square(116.58, 35.41, 50.0)])
    _import(site, mistake)
    assert site.query("SELECT active_version_id FROM layers_layer WHERE slug = 'basic_farmland'") != \
        farmland_version
    site.script("backup.sh", "backup")
    kinds = [k for (k,) in site.query("SELECT kind FROM blueprint_backup ORDER BY finished_at")]
    assert kinds == ["full", "incr"]
    source = snapshot(site)
    recorded = site.query("SELECT label, kind, finished_at FROM blueprint_backup ORDER BY label")
    _archived(site)
    images = _files(site.data_dir / "imagery")
    assert images, "the demo has imagery scenes"

    # The latest state, into a fresh cluster beside the running one.
    port = free_port()
    site.script("backup.sh", "restore", RESTORE_DIR=str(site.data_dir / "restored"), RESTORE_PORT=str(port),
                RESTORE_IMAGERY_DIR=str(site.data_dir / "imagery-restored"))
    restored = snapshot(site, port=port)
    assert restored == source
    assert restored["checks"][0][0] == source["checks"][0][0] >= 6
    backups = "SELECT label, kind, finished_at FROM blueprint_backup ORDER BY label"
    assert site.query(backups, port=port) == recorded
    assert _files(site.data_dir / "imagery-restored") == images
    # The service starts on it and answers every acknowledged check with its stored result.
    restored_imagery = str(site.data_dir / "imagery-restored")
    with gunicorn(DATABASE_URL=site.app_url(port), IMAGERY_DIR=restored_imagery) as url:
        assert requests.get(f"{url}/healthz", timeout=10).status_code == 200
        for check_id, result_hash in {**before_full, **after_full}.items():
            answer = requests.get(f"{url}/api/checks/{check_id}", headers=token, timeout=30)
            assert answer.status_code == 200 and answer.json()["result_hash"] == result_hash
    site.stop_cluster(site.data_dir / "restored")

    # `make restore TARGET=…`: the site's own cluster, in place, to a time before the mistaken import.
    site.script("backup.sh", "restore", before_import.isoformat())
    assert site.query("SELECT active_version_id FROM layers_layer WHERE slug = 'basic_farmland'") == \
        farmland_version
    earlier = snapshot(site)
    assert earlier["checks"] == source["checks"]  # every check was stored before the import
    assert earlier["versions"][0][0] == source["versions"][0][0] - 1
    assert len(earlier["features"]) == len(source["features"]) - 1
    assert earlier["audit"][0][0] < source["audit"][0][0]  # the import's audit entry is undone too


def _import(site: Site, path: Path) -> None:
    """`manage.py import_layer` on the site's database, as an operator runs it."""
    env = site.env(DATABASE_URL=site.app_url(), SECRET_KEY=settings.SECRET_KEY)
    # The mistake went live: an attribute-less square fails the farmland's blocking quality rules,
    # and an administrator overrode them (as a hurried one might).
    command = [sys.executable, "manage.py", "import_layer", "basic_farmland", str(path), "--no-progress",
               "--override-reason", "测试：一次被强制启用的误导入"]
    subprocess.run(command, cwd=settings.BASE_DIR, env=env, check=True, capture_output=True)


def test_restore_refuses_a_target_that_is_not_a_time(site):
    with pytest.raises(AssertionError) as failure:
        site.script("backup.sh", "restore", "yesterday-ish", RESTORE_DIR=str(site.data_dir / "never"),
                    RESTORE_PORT=str(free_port()))
    assert "is not a time" in str(failure.value)
    assert not (site.data_dir / "never" / "PG_VERSION").exists()


def test_backups_are_recorded_for_the_operator(site, django_db_blocker):
    """The repository's backups become Backup rows; a backup expired by retention goes."""
    from blueprint.backups import last_backup, record

    info = json.loads(site.script("backup.sh", "info", "--output=json").stdout)
    entries = info[0]["backup"]
    assert entries, "the round trip took backups"
    assert record(info, "blueprint") == len(entries)
    newest = max(entries, key=lambda e: e["timestamp"]["stop"])
    assert last_backup().label == newest["label"]
    assert last_backup().finished_at.timestamp() == newest["timestamp"]["stop"]
    assert last_backup().database_bytes == newest["info"]["size"]
    info[0]["backup"] = [newest]
    assert record(info, "blueprint") == 1
    assert [b.label for b in last_backup()._meta.model.objects.all()] == [newest["label"]]
    assert record(info, "another-stanza") == 0 and last_backup() is None
