"""Read replicas: which reads may go to a streaming replica, and which never do.

Off unless ``DATABASE_REPLICA_URLS`` names replicas (settings add the aliases
``replica_0``, ``replica_1``... and turn on ``ReplicaRouter`` and ``ReplicaReadsMiddleware``).

The rule is an allow-list, decided in three layers, each of which can only send a read
back to the primary:

1. **The request.** Only a GET or HEAD of a view named in ``DATABASE_REPLICA_VIEWS`` (the
   timeline, profiles, search, feeds, post pages) opens a replica scope, and only when the
   person has not written in the last ``READ_YOUR_WRITES_SECONDS`` (a signed cookie for
   browsers, a cache key per ``Authorization`` header for API clients: both set by any
   successful POST/PUT/PATCH/DELETE). Everything else — every money operation, limit check,
   Celery task, management command — never opens one, so its reads go to the primary.
2. **The model.** Inside a scope, only models of ``DATABASE_REPLICA_APPS`` (posts and
   accounts) may be read from a replica, less ``DATABASE_PRIMARY_MODELS`` (the user and
   token rows that authenticate a request: a token made a second ago must work). A
   ledger, wallet, payout or any other money row is read from the primary even when a
   timeline page shows it.
3. **The transaction and the replica.** A read inside a transaction on the primary stays
   there (it must see its own writes and its locks); a replica whose lag exceeds
   ``DATABASE_REPLICA_MAX_LAG_SECONDS`` (or ``_BYTES``), or that cannot be reached, or
   that is no longer in recovery, is skipped; with none left the read goes to the primary.

Every decision is logged at DEBUG on this module's logger with ``db_alias``,
``db_reason`` and ``db_model`` attributes: the tests assert on that log that a money path
never reads a replica.

Lag is measured the way GitLab's database load balancer does it: zero when the replica
has replayed all the WAL it received, else the age of the last replayed transaction; plus
the bytes of WAL between the primary's current position and the replica's replay
position, which also catches a replica whose WAL receiver has stopped. Each process
measures a replica at most once per ``DATABASE_REPLICA_LAG_CHECK_SECONDS``.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse
from prometheus_client.core import GaugeMetricFamily, Metric

from core.metrics import REPLICA_REQUESTS

log = logging.getLogger(__name__)

PRIMARY = "default"
# The signed cookie that keeps a browser on the primary after it wrote.
RYW_COOKIE = "sp_primary"
RYW_SALT = "core.db_router.read-your-writes"

_scope: contextvars.ContextVar[bool] = contextvars.ContextVar("replica_reads", default=False)


@contextlib.contextmanager
def replica_reads() -> Iterator[None]:
    """Let reads of replica-eligible models in this block go to a replica."""
    token = _scope.set(True)
    try:
        yield
    finally:
        _scope.reset(token)


def replicas_configured() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", []))


# --- Lag ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lag:
    seconds: float
    bytes: float
    # False when the replica cannot be reached or is not a standby (promoted).
    usable: bool

    def within_bounds(self) -> bool:
        return (
            self.usable
            and self.seconds <= settings.DATABASE_REPLICA_MAX_LAG_SECONDS
            and self.bytes <= settings.DATABASE_REPLICA_MAX_LAG_BYTES
        )


UNREACHABLE = Lag(seconds=math.inf, bytes=math.inf, usable=False)
_measured: dict[str, tuple[float, Lag]] = {}


def replica_lag_measure(alias: str) -> Lag:
    """Measure ``alias`` now (two small queries: the replica's, then the primary's)."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(),"
                " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
                " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()),"
                " 'Infinity') END::float8,"
                " pg_last_wal_replay_lsn()::text"
            )
            in_recovery, seconds, replay_lsn = cursor.fetchone()
        if not in_recovery or replay_lsn is None:
            return UNREACHABLE
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute(
                "SELECT GREATEST(pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn), 0)::float8",
                [replay_lsn],
            )
            (behind,) = cursor.fetchone()
    except DatabaseError:
        log.warning("replica %s could not be measured", alias, exc_info=True)
        with contextlib.suppress(DatabaseError):
            connections[alias].close()
        return UNREACHABLE
    return Lag(seconds=max(float(seconds), 0.0), bytes=float(behind), usable=True)


def replica_lag(alias: str) -> Lag:
    """``alias``'s lag, measured at most once per ``DATABASE_REPLICA_LAG_CHECK_SECONDS`` in
    this process."""
    now = time.monotonic()
    cached = _measured.get(alias)
    if cached is not None and now - cached[0] < settings.DATABASE_REPLICA_LAG_CHECK_SECONDS:
        return cached[1]
    lag = replica_lag_measure(alias)
    _measured[alias] = (now, lag)
    return lag


def replica_lag_forget() -> None:
    """Measure every replica afresh at the next read (tests, and after a failover)."""
    _measured.clear()


def replica_choose() -> tuple[str, str]:
    """A replica within its lag bounds, chosen at random among those, and the reason;
    the primary when there is none."""
    aliases = replicas_configured()
    healthy = [alias for alias in aliases if replica_lag(alias).within_bounds()]
    if healthy:
        # Random, not secret: it spreads the load over the replicas.
        return random.choice(healthy), "replica"
    return PRIMARY, "replica_lagging"


# --- The router ------------------------------------------------------------------------------
def _route(alias: str, reason: str, model, *, kind: str = "read") -> str:
    if log.isEnabledFor(logging.DEBUG):
        label = model._meta.label if model is not None else "-"
        log.debug(
            "%s %s -> %s (%s)",
            kind,
            label,
            alias,
            reason,
            extra={"db_alias": alias, "db_reason": reason, "db_model": label},
        )
    return alias


class ReplicaRouter:
    """Reads as described in the module docstring; writes, migrations and relations as
    with one database (the replicas hold the same rows)."""

    def db_for_read(self, model, **hints) -> str:
        if not _scope.get():
            return _route(PRIMARY, "no_replica_scope", model)
        if connections[PRIMARY].in_atomic_block:
            return _route(PRIMARY, "in_transaction", model)
        if (
            model._meta.app_label not in settings.DATABASE_REPLICA_APPS
            or model._meta.label in settings.DATABASE_PRIMARY_MODELS
        ):
            return _route(PRIMARY, "primary_only_model", model)
        alias, reason = replica_choose()
        return _route(alias, reason, model)

    def db_for_write(self, model, **hints) -> str:
        # Also every SELECT ... FOR UPDATE: a locked read is a write's first step.
        return _route(PRIMARY, "write", model, kind="write")

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == PRIMARY


# --- The request -----------------------------------------------------------------------------
def _writer_key(request: HttpRequest) -> str | None:
    """A cache key for the API client behind this request's credentials (the secret is
    hashed: the cache is not a place for it)."""
    authorization = request.headers.get("Authorization", "")
    if not authorization:
        return None
    digest = hashlib.sha256(authorization.encode()).hexdigest()[:32]
    return f"db:recent-write:{digest}"


def _wrote_recently(request: HttpRequest) -> bool:
    window = settings.READ_YOUR_WRITES_SECONDS
    if request.get_signed_cookie(RYW_COOKIE, default=None, salt=RYW_SALT, max_age=window):
        return True
    key = _writer_key(request)
    return key is not None and cache.get(key) is not None


class ReplicaReadsMiddleware:
    """Opens the replica scope for the views that may read a replica, and remembers who
    just wrote (see the module docstring)."""

    SAFE_METHODS = frozenset({"GET", "HEAD"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request._replica_scope_token = None  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            token = getattr(request, "_replica_scope_token", None)
            if token is not None:
                _scope.reset(token)
        if request.method not in self.SAFE_METHODS and response.status_code < 400:
            self._remember_write(request, response)
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        if request.method not in self.SAFE_METHODS or not replicas_configured():
            return
        match = request.resolver_match
        if match is None or match.view_name not in settings.DATABASE_REPLICA_VIEWS:
            return
        if _wrote_recently(request):
            REPLICA_REQUESTS.labels(outcome="recent_write").inc()
            log.debug(
                "request %s stays on the primary (recent_write)",
                match.view_name,
                extra={"db_alias": PRIMARY, "db_reason": "recent_write", "db_model": "-"},
            )
            return
        REPLICA_REQUESTS.labels(outcome="replica_scope").inc()
        request._replica_scope_token = _scope.set(True)  # type: ignore[attr-defined]

    @staticmethod
    def _remember_write(request: HttpRequest, response: HttpResponse) -> None:
        window = settings.READ_YOUR_WRITES_SECONDS
        response.set_signed_cookie(
            RYW_COOKIE,
            "1",
            salt=RYW_SALT,
            max_age=window,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
        key = _writer_key(request)
        if key is not None:
            cache.set(key, 1, timeout=window)


# --- Metrics ---------------------------------------------------------------------------------
def replica_metrics() -> Iterable[Metric]:
    """Scrape collector: each replica's lag, measured at the scrape."""
    seconds = GaugeMetricFamily(
        "socialpay_db_replica_lag_seconds",
        "Age of the newest transaction a replica has replayed, 0 when it has replayed all "
        "it received (+Inf when unreachable)",
        labels=["replica"],
    )
    behind = GaugeMetricFamily(
        "socialpay_db_replica_lag_bytes",
        "Bytes of WAL between the primary's position and a replica's replay position",
        labels=["replica"],
    )
    usable = GaugeMetricFamily(
        "socialpay_db_replica_usable",
        "1 when a replica takes reads (reachable, a standby, within the lag bounds), else 0",
        labels=["replica"],
    )
    for alias in replicas_configured():
        lag = replica_lag_measure(alias)
        seconds.add_metric([alias], lag.seconds)
        behind.add_metric([alias], lag.bytes)
        usable.add_metric([alias], 1 if lag.within_bounds() else 0)
    yield from (seconds, behind, usable)
