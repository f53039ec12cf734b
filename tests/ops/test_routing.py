"""Which requests may read the replica (REPLICA_READ_PATHS); the real replica: test_replica.py."""

import pytest

from blueprint.models import AuditEntry
from blueprint.routers import ReplicaRouter, read_alias, replica_state, stale_reads_allowed
from layers.models import Layer


@pytest.mark.parametrize("method, path, allowed", [
    ("GET", "/ogc/collections/basic_farmland/items", True),
    ("HEAD", "/ogc/collections/basic_farmland/items/17", True),
    ("GET", "/ogc/collections/basic_farmland/tiles/WebMercatorQuad/10/1/2", True),
    ("GET", "/ogc/collections/hires_jining/coverage", True),
    ("GET", "/tiles/imagery/hires_jining/12/3/4.png", True),
    ("GET", "/maps/", True),
    ("GET", "/maps/data/basic_farmland", True),
    ("GET", "/maps/checks/0b0f6d1e", False),  # opened right after its check was stored
    ("GET", "/maps/projects/2025-370811-48-01-000001", False),
    ("GET", "/api/checks/0b0f6d1e", False),
    ("POST", "/ogc/collections/basic_farmland/items", False),
    ("GET", "/ogc/collections", False),
])
def test_stale_tolerant_requests(method, path, allowed):
    assert stale_reads_allowed(method, path) is allowed


def test_without_a_replica_everything_reads_the_primary():
    assert not replica_state().configured and replica_state().lag_seconds is None
    assert read_alias() == "default"
    router = ReplicaRouter()
    assert router.db_for_read(Layer) == router.db_for_read(AuditEntry) == "default"
    assert router.db_for_write(Layer) == "default" and not router.allow_migrate("replica", "layers")
