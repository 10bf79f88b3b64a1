"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py``.

Values come from the environment, so the image, docker-compose.yml and the production
smoke test (scripts/smoke-production.sh) all start it the same way.
"""

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

wsgi_app = "socialpay.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Kill a worker stuck on one request for this long; the Stripe timeout is below it
# (settings check STRIPE_TIMEOUT_SECONDS < GUNICORN_TIMEOUT).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM (docker stop) requests in flight get this long; the container's stop grace
# period is longer (docker-compose.yml).
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
keepalive = 5
# Recycle workers now and then, so that a slow leak cannot grow for ever.
max_requests = 5000
max_requests_jitter = 500
control_socket_disable = True
# Trust X-Forwarded-* from the proxy in front (FORWARDED_ALLOW_IPS, gunicorn's own).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Metrics of every worker process are summed through files in this directory
# (core.metrics); prometheus_client reads the variable when first imported, so it is set
# before anything imports it, and emptied here, at start, so that old runs do not count.
# Set here, for gunicorn's processes only: other commands in the same container (probes,
# manage.py) must not write files into it.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", "/tmp/socialpay-metrics-web"  # noqa: S108
)
shutil.rmtree(_metrics_dir, ignore_errors=True)
os.makedirs(_metrics_dir, exist_ok=True)

# Logging: the same JSON lines as Django's, the access log included (core.gunicorn_logging).
from core.logging import configure_logging, logging_config  # noqa: E402

_level = os.environ.get("LOG_LEVEL", "INFO")
_json = os.environ.get("LOG_JSON", "true").lower() in {"1", "true", "yes", "on"}
configure_logging(level=_level, json=_json)
logconfig_dict = logging_config(level=_level, json=_json)
logger_class = "core.gunicorn_logging.JsonAccessLogger"
accesslog = "-"


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
