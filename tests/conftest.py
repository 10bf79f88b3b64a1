"""Fixtures of the cross-app tests: a real primary, streaming replica and PgBouncer for the
scale tests (tests/scale_support.py), started once per test process that needs them."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def scale_cluster(django_db_setup, django_db_blocker):
    from django.db import connections

    from tests.scale_support import cluster_running

    with django_db_blocker.unblock(), cluster_running(connections["default"].settings_dict) as c:
        yield c
