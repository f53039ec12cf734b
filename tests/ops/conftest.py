"""Shared by the operations tests: a committed system token, in every copy of the test cluster."""

import pytest


@pytest.fixture(scope="module")
def token(django_db_setup, django_db_blocker):
    """A committed token: it is in the cluster a Site copies, so in its restores and replicas too."""
    from tests.roles import make_token

    with django_db_blocker.unblock():
        api_token, raw = make_token("ops-tests")
    yield {"Authorization": f"Bearer {raw}"}
    with django_db_blocker.unblock():
        api_token.delete()
