"""The operator page's last backup: what `make backup` recorded (blueprint.backups) when no stanza
is configured for the probe to read itself."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from blueprint.models import Backup
from blueprint.ops import probes

pytestmark = pytest.mark.django_db


def test_the_probe_reports_the_newest_recorded_backup(settings):
    monitoring = {**settings.MONITORING, "PGBACKREST_STANZA": ""}
    with override_settings(MONITORING=monitoring):
        assert probes.backup() is None  # nothing recorded: no figure, not a zero
        now = timezone.now()
        newest = "20261202-010000F_20261203-010000I"
        for label, hours, kind in (("20261201-010000F", 50, "full"), (newest, 3, "incr")):
            finished = now - dt.timedelta(hours=hours)
            Backup.objects.create(label=label, kind=kind, started_at=finished - dt.timedelta(minutes=2),
                                  finished_at=finished, database_bytes=1, stored_bytes=1, wal_start="",
                                  wal_stop="")
        found = probes.backup()
    assert found["label"] == newest and found["type"] == "incr"
    assert 3 * 3600 - 60 < found["age_s"] < 3 * 3600 + 60 and found["error"] is None
