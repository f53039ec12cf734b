"""Shared test set-up: the small demo data, built once and loaded into the test database once."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from fixtures import ensure_built


def small_fixture_dir() -> Path:
    """Build (when missing or stale) and return the folder of the `small` generated fixtures."""
    return ensure_built("small", settings.BLUEPRINT["DATA_DIR"] / "fixtures" / "small")


@pytest.fixture(scope="session")
def small_data() -> Path:
    return small_fixture_dir()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the demo layers and projects into the test database, committed, for every test."""
    folder = small_fixture_dir()
    with django_db_blocker.unblock():
        call_command("load_demo", data=str(folder), verbosity=0)
