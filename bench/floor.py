"""The floor: what Django itself costs on this machine, to measure the app against in one run.

A Django project in one module (settings, URLs, views, WSGI application) with no
middleware and no installed apps, served by the same gunicorn settings as the app
(``harness.gunicorn_start(..., app="floor:application")``) on the same database:

- ``GET /floor/read?id=N``: one row of ``accounts_user`` by primary key, as JSON — the
  least a ``GET /api/v1/me`` can do;
- ``GET /floor/drf-read?id=N``: the same read as a DRF ``APIView`` (JSON renderer, no
  authentication, permissions or rate limits) — what the framework the API is written in
  adds to a request by itself, so that the distance from ``GET /me`` to the floor can be
  split into DRF's share and the app's own;
- ``POST /floor/transfer`` (JSON ``{"from": a, "to": b, "amount": n}``): a plain-SQL ledger
  transfer in one transaction on tables of its own (``floor_account``, ``floor_entry``,
  ``floor_posting``): lock the two accounts in id order, check the payer's balance, update
  both, insert the entry and its two postings — the least a ``POST /api/v1/transfers`` can do.

``floor_setup(n)`` creates the tables and ``n`` funded accounts (ids 1..n).

Not a benchmark of its own: ``bench/transfers.py`` starts it beside the app.
"""

from __future__ import annotations

import json
import logging
import os
from urllib.parse import unquote

import environ

# --- settings (this module is DJANGO_SETTINGS_MODULE) ---------------------------------------
DEBUG = False
SECRET_KEY = "floor-bench-only"
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = __name__
USE_TZ = True
USE_I18N = False
DATABASES = {"default": environ.Env.db_url_config(os.environ["DATABASE_URL"])}
# A Unix-socket directory arrives URL-quoted in the host part, as in socialpay/settings.py.
DATABASES["default"]["HOST"] = unquote(DATABASES["default"].get("HOST", ""))
# The same persistent connections as the app under the benchmark.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DB_CONN_MAX_AGE", "600"))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING_CONFIG = None
# DRF with nothing of its own switched on: no authentication (and so no django.contrib.auth
# for an anonymous user), no permissions, no rate limits, JSON only.
REST_FRAMEWORK = {
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
# The readiness probe asks for a row that is not there; that 404 is no news.
logging.getLogger("django.request").setLevel(logging.ERROR)


def _row(person_id: int) -> dict | None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, handle, display_name, home_currency FROM accounts_user WHERE id = %s",
            [person_id],
        )
        row = cur.fetchone()
    fields = ("id", "handle", "display_name", "home_currency")
    return None if row is None else dict(zip(fields, row, strict=True))


def read(request):
    from django.http import JsonResponse

    row = _row(int(request.GET["id"]))
    if row is None:
        return JsonResponse({"error": "not_found"}, status=404)
    return JsonResponse(row)


def _drf_read_view():
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class DrfRead(APIView):
        def get(self, request):
            row = _row(int(request.query_params["id"]))
            if row is None:
                return Response({"error": "not_found"}, status=404)
            return Response(row)

    return DrfRead.as_view()


def transfer(request):
    from django.db import connection, transaction
    from django.http import JsonResponse

    body = json.loads(request.body)
    payer, payee, amount = int(body["from"]), int(body["to"]), int(body["amount"])
    if payer == payee or amount <= 0:
        return JsonResponse({"error": "invalid"}, status=400)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "SELECT id, balance FROM floor_account WHERE id IN (%s, %s) ORDER BY id FOR UPDATE",
            [payer, payee],
        )
        balances = dict(cur.fetchall())
        if balances.get(payer, 0) < amount or payee not in balances:
            return JsonResponse({"error": "insufficient_funds"}, status=409)
        cur.execute(
            "UPDATE floor_account SET balance = balance - %s WHERE id = %s", [amount, payer]
        )
        cur.execute(
            "UPDATE floor_account SET balance = balance + %s WHERE id = %s", [amount, payee]
        )
        cur.execute("INSERT INTO floor_entry (created_at) VALUES (now()) RETURNING id")
        entry = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO floor_posting (entry_id, account_id, amount) VALUES (%s, %s, %s), "
            "(%s, %s, %s)",
            [entry, payer, -amount, entry, payee, amount],
        )
    return JsonResponse({"entry": entry}, status=201)


def floor_setup(connection, accounts: int, funds: int) -> None:
    """The floor's ledger tables with ``accounts`` accounts of ``funds`` each (replaced)."""
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS floor_posting, floor_entry, floor_account")
        cur.execute("CREATE TABLE floor_account (id bigint PRIMARY KEY, balance bigint NOT NULL)")
        cur.execute(
            "CREATE TABLE floor_entry (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL)"
        )
        cur.execute(
            "CREATE TABLE floor_posting (id bigserial PRIMARY KEY, "
            "entry_id bigint NOT NULL REFERENCES floor_entry, "
            "account_id bigint NOT NULL REFERENCES floor_account, amount bigint NOT NULL)"
        )
        cur.execute(
            "INSERT INTO floor_account SELECT i, %s FROM generate_series(1, %s) i",
            [funds, accounts],
        )


def _urlpatterns():
    from django.urls import path

    return [
        path("floor/read", read),
        path("floor/drf-read", _drf_read_view()),
        path("floor/transfer", transfer),
    ]


urlpatterns = _urlpatterns() if os.environ.get("DJANGO_SETTINGS_MODULE") == __name__ else []


def _application():
    from django.core.wsgi import get_wsgi_application

    from core.gc_tuning import serving_process_tune

    application = get_wsgi_application()
    # The app's web processes tune their garbage collector (socialpay/wsgi.py); the floor
    # gets the same, so that the ratios compare the work, not the process settings.
    serving_process_tune()
    return application


application = _application() if os.environ.get("DJANGO_SETTINGS_MODULE") == __name__ else None
