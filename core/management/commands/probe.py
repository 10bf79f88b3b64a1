"""Health probes for container healthchecks: ``manage.py probe web|worker|beat``.

- ``web``: GET ``/readyz`` (or ``--path``) on this container's gunicorn with a ``Host``
  header from ``ALLOWED_HOSTS`` (Django answers 400 to a host it does not serve, and a
  probe to 127.0.0.1 is not one) and ``X-Forwarded-Proto: https`` (no SSL redirect).
- ``worker``: the worker node of this container (``celery@<hostname>``, or ``--node``)
  answers a ping addressed to it alone, not any worker anywhere.
- ``beat``: beat wrote ``beat:last`` less than ``BEAT_PROBE_MAX_AGE_SECONDS`` ago.

Exits 0 when healthy, 1 otherwise, printing one line either way.
"""

from __future__ import annotations

import http.client
import socket

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core import health


def probe_host() -> str:
    """A host name Django accepts: the first of ALLOWED_HOSTS, made concrete."""
    for host in settings.ALLOWED_HOSTS:
        if host == "*":
            return "localhost"
        # ".example.com" allows example.com and its subdomains.
        return host.lstrip(".")
    return "localhost"


class Command(BaseCommand):
    help = "Probe this container's web server, Celery worker or beat (exit 0 when healthy)."

    def add_arguments(self, parser):
        parser.add_argument("component", choices=["web", "worker", "beat"])
        parser.add_argument("--port", type=int, default=8000, help="web: gunicorn's port")
        parser.add_argument("--path", default="/readyz", help="web: the path to ask")
        parser.add_argument("--node", default="", help="worker: node name (celery@<hostname>)")
        parser.add_argument("--timeout", type=float, default=5.0)

    def handle(self, *args, component: str, **options):
        if component == "web":
            ok, detail = self._web(options["port"], options["path"], options["timeout"])
        elif component == "worker":
            node = options["node"] or f"celery@{socket.gethostname()}"
            ok, detail = health.worker_ping(node, timeout=options["timeout"])
        else:
            ok, detail = health.beat_freshness(settings.BEAT_PROBE_MAX_AGE_SECONDS)
        self.stdout.write(f"{component}: {'ok' if ok else 'FAILED'}: {detail}")
        if not ok:
            raise CommandError(f"{component} is not healthy", returncode=1)

    def _web(self, port: int, path: str, timeout: float) -> tuple[bool, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request("GET", path, headers={"Host": probe_host(), "X-Forwarded-Proto": "https"})
            status = conn.getresponse().status
        except OSError as exc:
            return False, f"{path}: {type(exc).__name__}"
        finally:
            conn.close()
        return status == 200, f"{path} answered {status}"
