"""Settings for the test suite: the normal settings under the ``test`` profile.

pytest-django imports settings before any conftest runs, so the profile and the test run's
private Celery queue are chosen here, before ``socialpay.settings`` reads the environment.
A Celery worker started by the tests inherits both through the environment.
"""

import os
import uuid

os.environ.setdefault("SOCIALPAY_PROFILE", "test")
# A queue of the run's own, so no other worker on the same Redis takes its tasks.
os.environ.setdefault("CELERY_QUEUE", f"test-{uuid.uuid4().hex[:12]}")
# Playwright's sync API runs an event loop in the test thread; the ORM must still work there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from socialpay.settings import *  # noqa: F403
