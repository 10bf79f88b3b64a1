"""Settings for the test suite: the normal settings under the ``test`` profile.

pytest-django imports settings before any conftest runs, so the profile and the Redis
namespace of the test process are chosen here, before ``socialpay.settings`` reads the
environment. A Celery worker started by the tests inherits them through the environment.

Isolation. Several runs may share one Redis database (a developer's ``make run``, another
checkout, the other pytest-xdist workers of the same run), so everything this process
writes to Redis lives under a prefix of its own: ``test-<run>-<worker>``. ``<run>`` is
chosen once per ``pytest`` invocation and inherited by its xdist workers; ``<worker>`` is
xdist's worker id (``gw0``...), ``main`` without xdist. The prefix covers the cache (and
the API rate-limit counters, which use the cache's prefix), Celery's queue and every key
and broadcast channel of the broker and the result backend, so a worker answers only its
own run's pings and takes only its own tasks. ``conftest.py`` deletes the prefix's keys
when the session ends.
"""

import os
import uuid

os.environ.setdefault("SOCIALPAY_PROFILE", "test")
# Playwright's sync API runs an event loop in the test thread; the ORM must still work there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

TEST_RUN = os.environ.setdefault("SOCIALPAY_TEST_RUN", uuid.uuid4().hex[:8])
TEST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
TEST_REDIS_PREFIX = f"test-{TEST_RUN}-{TEST_WORKER}"
# Not setdefault: an xdist worker inherits the controller's environment, and its queue
# must differ from its siblings'.
os.environ["CELERY_QUEUE"] = TEST_REDIS_PREFIX
os.environ["CACHE_KEY_PREFIX"] = TEST_REDIS_PREFIX

from socialpay.settings import *  # noqa: E402, F403
from socialpay.settings import CELERY_BROKER_TRANSPORT_OPTIONS  # noqa: E402

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "global_keyprefix": f"{TEST_REDIS_PREFIX}:",
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"{TEST_REDIS_PREFIX}:"}
