"""Idempotency for requests that move money: the API's ``Idempotency-Key`` header and the
key a browser form carries from the moment it was rendered.

The contract (ARCHITECTURE.md, after Stripe):

* the key is required on every money POST, scoped per user and endpoint;
* the first outcome is stored with a fingerprint of the body; a retry with the same key and
  body replays it with ``Idempotent-Replayed: true``;
* the same key with another body → 422 ``idempotency_key_mismatch``;
* the same key while the first request still runs → 409 ``idempotency_request_in_progress``;
* a request that fails validation (or authentication, or names something that does not
  exist) stores nothing, so the client can correct it and resend with the same key.

How it holds under concurrency: a request claims its key with a PostgreSQL advisory lock
(``pg_try_advisory_*lock`` on a hash of user, endpoint and key): a second request with the
same key fails to take it and answers 409 at once. Only outcomes are ever stored, by the
request holding the lock, before it lets go; a UNIQUE constraint on (user, endpoint, key)
is the last word if two keys' hashes ever collide. Where the work runs:

* ``one_transaction=True`` — for views whose whole effect is database work (a transfer, an
  FX execution, a payout request): the claim (a transaction-level lock), the work and the
  stored outcome are ONE transaction. A crash anywhere leaves nothing, and the retry runs.
* otherwise — for views that call a processor, or call services that commit in steps:
  no transaction may stay open across that work, so the claim is a session-level lock,
  held while the view runs and released after the outcome is stored. A crash closes the
  connection, which releases the lock; the retry runs the work again, and the service's
  own idempotency key (derived from this one) returns the original effect.

  Behind a transaction-mode pooler (PgBouncer ``pool_mode=transaction``) a session-level
  lock would stay on whichever server connection took it, and the unlock could run on
  another one: the claim and its release then go through ``IDEMPOTENCY_LOCK_DATABASE``, a
  connection that is one PostgreSQL session for its life (straight to the primary, or a
  session-mode pool; settings: ``DATABASE_SESSION_URL``). Advisory locks are the server's,
  so a lock taken there excludes the transaction-level claims made through the pooler.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.response import Response

from core.api.timestamps import rfc3339
from core.exceptions import DomainError
from core.models import IdempotencyRecord

log = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
# Printable ASCII without spaces, like Stripe's keys; long enough for a UUID or a hash.
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{8,255}$")
RETENTION = timedelta(days=1)
# Outcomes that say "this request never ran": nothing is stored and the key stays usable.
NOT_STORED_STATUSES = frozenset({400, 401, 403, 404, 405, 406, 413, 415, 429})


class IdempotencyKeyRequired(DomainError):
    code = "idempotency_key_required"
    status = 400
    default_message = _("This request moves money: send an Idempotency-Key header.")


class IdempotencyKeyInvalid(DomainError):
    code = "idempotency_key_invalid"
    status = 400
    default_message = _("Idempotency-Key must be 8 to 255 printable ASCII characters.")


class IdempotencyKeyMismatch(DomainError):
    code = "idempotency_key_mismatch"
    status = 422
    default_message = _("This Idempotency-Key was used with a different request body.")


class IdempotencyInProgress(DomainError):
    code = "idempotency_request_in_progress"
    status = 409
    default_message = _("A request with this Idempotency-Key is still being processed.")


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return rfc3339(value)  # as the renderer writes it, so a replay answers the same
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def fingerprint(data: Any) -> str:
    """A digest of the parsed body: key order and whitespace do not change it."""
    payload = json.dumps(_canonical(data), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def validate_key(key: str | None) -> str:
    if not key:
        raise IdempotencyKeyRequired()
    if not KEY_PATTERN.match(key):
        raise IdempotencyKeyInvalid()
    return key


def idempotency_purge(*, older_than: timedelta = RETENTION) -> int:
    """Forget completed keys past the retention window (Stripe keeps them 24 hours)."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


def idempotent_dispatch(endpoint: str):
    """Mark a view method that hands each request to one of several ``idempotent_api``
    methods (a tip from the wallet or by card): it requires the key as they do, and the
    schema (``core.api.schema``) declares the header on it, and the token authentication
    asks for the "payments" scope as it does for those methods."""

    def decorator(method):
        method.idempotency_endpoint = endpoint
        method.moves_money = True
        return method

    return decorator


def idempotent_api(endpoint: str, *, one_transaction: bool = False):
    """Decorate a DRF view method (``post``) that moves money.

    The key is validated before the body is looked at, the body's fingerprint is taken
    from ``request.data`` (already parsed by the strict JSON parser), and the wrapped
    method's response is stored or not according to its status (``NOT_STORED_STATUSES``
    and 5xx are no outcome). ``one_transaction``: see the module docstring.
    """

    def decorator(method):
        if one_transaction:
            wrapped = _one_transaction(endpoint, method)
        else:
            wrapped = _session_claim(endpoint, method)
        # Read by the token authentication: an operation that moves money needs the
        # token's "payments" scope (accounts.authentication).
        wrapped.moves_money = True
        # The marker the schema reads (core.api.schema) to declare the header.
        wrapped.idempotency_endpoint = endpoint
        return wrapped

    return decorator


# The claim: the advisory lock, and the stored outcome if any. The lock id is a 64-bit hash
# of the scoped key: a collision between two different keys costs one spurious 409, never a
# double effect (the UNIQUE constraint still decides).
#
# In one transaction, lock and read are one statement (one round trip on the hot path).
# Its snapshot may predate an outcome committed just before the lock came free; the work
# then runs, its store conflicts and the whole transaction rolls back to replay that
# outcome. A session claim cannot roll its work back, so it reads the record in a second
# statement, whose snapshot is taken after the lock is held.
_READ_SQL = """
SELECT r.fingerprint, r.response_status, r.response_body, r.response_location
FROM (SELECT 1) AS one
LEFT JOIN core_idempotencyrecord r
       ON r.user_id = %(user)s AND r.endpoint = %(endpoint)s AND r.key = %(key)s
"""
_CLAIM_IN_TRANSACTION_SQL = """
SELECT pg_try_advisory_xact_lock(hashtextextended(%(lock)s, 0)),
       r.fingerprint, r.response_status, r.response_body, r.response_location
FROM (SELECT 1) AS one
LEFT JOIN core_idempotencyrecord r
       ON r.user_id = %(user)s AND r.endpoint = %(endpoint)s AND r.key = %(key)s
"""
_CLAIM_SESSION_SQL = "SELECT pg_try_advisory_lock(hashtextextended(%(lock)s, 0))"
_UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtextextended(%s, 0))"
_STORE_SQL = """
INSERT INTO core_idempotencyrecord
    (user_id, endpoint, key, fingerprint, response_status, response_body,
     response_location, created_at)
VALUES (%(user)s, %(endpoint)s, %(key)s, %(fingerprint)s, %(status)s, %(body)s,
        %(location)s, %(now)s)
ON CONFLICT (user_id, endpoint, key) DO NOTHING
RETURNING id
"""


@dataclass(frozen=True, slots=True)
class _Stored:
    status: int
    body: Any
    location: str


def _lock_id(*, user_id: int, endpoint: str, key: str) -> str:
    return f"{user_id}:{endpoint}:{key}"


def _session_connection():
    """Where session-level claims are taken and released (see the module docstring)."""
    return connections[settings.IDEMPOTENCY_LOCK_DATABASE]


def _claim(
    *, session: bool, user_id: int, endpoint: str, key: str, body_fingerprint: str
) -> _Stored | None:
    """Take the key's lock and read its stored outcome: None when this request must do the
    work. Raises ``IdempotencyInProgress`` (the lock is taken) or ``IdempotencyKeyMismatch``
    (a stored outcome for another body); a session lock is then still held and the caller
    releases it."""
    params: dict[str, Any] = {
        "lock": _lock_id(user_id=user_id, endpoint=endpoint, key=key),
        "user": user_id,
        "endpoint": endpoint,
        "key": key,
    }
    if session:
        with _session_connection().cursor() as cur:
            cur.execute(_CLAIM_SESSION_SQL, params)
            (got_lock,) = cur.fetchone()
    with connection.cursor() as cur:
        if session:
            if got_lock:
                cur.execute(_READ_SQL, params)
                row = cur.fetchone()
        else:
            cur.execute(_CLAIM_IN_TRANSACTION_SQL, params)
            got_lock, *row = cur.fetchone()
    if not got_lock:
        raise IdempotencyInProgress()
    stored_fingerprint, status, body, location = row
    if stored_fingerprint is None:
        return None
    if stored_fingerprint != body_fingerprint:
        raise IdempotencyKeyMismatch()
    # Django leaves jsonb undecoded on raw cursors (its JSONField decodes it).
    body = json.loads(body) if isinstance(body, str) else body
    return _Stored(status=status, body=body, location=location)


def _store(
    *,
    user_id: int,
    endpoint: str,
    key: str,
    body_fingerprint: str,
    status: int,
    body: Any = None,
    location: str = "",
) -> bool:
    """Store the outcome; False when one is already stored for the key (a hash collision
    let another request run at the same time, or it stored a refusal first)."""
    with connection.cursor() as cur:
        cur.execute(
            _STORE_SQL,
            {"user": user_id, "endpoint": endpoint, "key": key, "fingerprint": body_fingerprint,
             "status": status, "body": json.dumps(_canonical(body)), "location": location,
             "now": timezone.now()},
        )  # fmt: skip
        return cur.fetchone() is not None


def _unlock(*, user_id: int, endpoint: str, key: str) -> None:
    """Release a session claim. If the connection is gone, so is the lock."""
    try:
        with _session_connection().cursor() as cur:
            cur.execute(_UNLOCK_SQL, [_lock_id(user_id=user_id, endpoint=endpoint, key=key)])
    except DatabaseError:
        log.warning("idempotency.unlock_failed", endpoint=endpoint, exc_info=True)


def _replay(stored: _Stored) -> Response:
    response = Response(stored.body, status=stored.status)
    response[REPLAY_HEADER] = "true"
    return response


def _storable(status: int) -> bool:
    return status not in NOT_STORED_STATUSES and status < 500


def _session_claim(endpoint: str, method):
    """The view runs outside any transaction of ours, under a session-level claim."""

    @functools.wraps(method)
    def wrapper(view, request, *args, **kwargs):
        key = validate_key(request.headers.get(HEADER))
        scoped = f"{endpoint}:{_path_args(kwargs)}" if kwargs else endpoint
        body_fingerprint = fingerprint(request.data)
        ids = {"user_id": request.user.pk, "endpoint": scoped, "key": key}
        request.idempotency_key = key
        try:
            stored = _claim(session=True, **ids, body_fingerprint=body_fingerprint)
        except IdempotencyKeyMismatch:
            _unlock(**ids)
            raise
        try:
            if stored is not None:
                return _replay(stored)
            try:
                response = method(view, request, *args, **kwargs)
            except Exception as exc:
                # Let DRF render the error (it re-raises what it cannot), then decide.
                response = view.handle_exception(exc)
                response.exception = True
            if _storable(response.status_code) and not _store(
                **ids, body_fingerprint=body_fingerprint,
                status=response.status_code, body=response.data,
            ):  # fmt: skip
                return _replay(_claim_stored(**ids, body_fingerprint=body_fingerprint))
            return response
        finally:
            _unlock(**ids)

    return wrapper


class _Unfinished(Exception):
    """The view answered 5xx: undo whatever it wrote, store nothing, pass the answer on."""

    def __init__(self, response):
        self.response = response


class _StoredMeanwhile(Exception):
    """Another request stored an outcome for this key while ours ran: undo ours, replay."""


def _one_transaction(endpoint: str, method):
    """The ``one_transaction`` mode of ``idempotent_api``.

    Success: claim (advisory lock + read), the view's work and the stored response are one
    transaction — one commit. A crash at any point before it leaves nothing behind, so a
    retry simply runs again. A refusal (a domain error such as insufficient funds) rolls
    the work back, and the refusal is then stored in a short transaction of its own, so a
    retry replays it. Validation failures (``NOT_STORED_STATUSES``) store nothing; a 5xx
    answer rolls the work back and stores nothing.
    """

    @functools.wraps(method)
    def wrapper(view, request, *args, **kwargs):
        key = validate_key(request.headers.get(HEADER))
        scoped = f"{endpoint}:{_path_args(kwargs)}" if kwargs else endpoint
        body_fingerprint = fingerprint(request.data)
        ids = {"user_id": request.user.pk, "endpoint": scoped, "key": key}
        request.idempotency_key = key
        try:
            with transaction.atomic(durable=True):
                stored = _claim(session=False, **ids, body_fingerprint=body_fingerprint)
                if stored is None:
                    response = method(view, request, *args, **kwargs)
                    status = response.status_code
                    if status >= 500:
                        raise _Unfinished(response)
                    if status not in NOT_STORED_STATUSES and not _store(
                        **ids, body_fingerprint=body_fingerprint,
                        status=status, body=response.data,
                    ):  # fmt: skip
                        raise _StoredMeanwhile()
        except _StoredMeanwhile:
            return _replay(_claim_stored(**ids, body_fingerprint=body_fingerprint))
        except _Unfinished as unfinished:
            return unfinished.response
        except Exception as exc:
            response = view.handle_exception(exc)  # re-raises what the API cannot render
            if not _storable(response.status_code):
                return response
            if not isinstance(exc, IdempotencyInProgress | IdempotencyKeyMismatch):
                with transaction.atomic(durable=True):
                    if not _store(
                        **ids, body_fingerprint=body_fingerprint,
                        status=response.status_code, body=response.data,
                    ):  # fmt: skip
                        return _replay(_claim_stored(**ids, body_fingerprint=body_fingerprint))
            response.exception = True
            return response
        if stored is not None:
            return _replay(stored)
        return response

    return wrapper


def _claim_stored(*, user_id: int, endpoint: str, key: str, body_fingerprint: str) -> _Stored:
    """The outcome another request stored for this key (``IdempotencyKeyMismatch`` if it
    was for another body)."""
    record = IdempotencyRecord.objects.get(user_id=user_id, endpoint=endpoint, key=key)
    if record.fingerprint != body_fingerprint:
        raise IdempotencyKeyMismatch()
    return _Stored(record.response_status, record.response_body, record.response_location)


def _path_args(kwargs: dict) -> str:
    return ",".join(f"{k}={kwargs[k]}" for k in sorted(kwargs))


FORM_FIELD = "idempotency_key"


def form_key() -> str:
    """A fresh key for a form being rendered; submitted back in a hidden field."""
    return uuid.uuid4().hex


# How long a double-submitted form waits for the first submission's outcome.
FORM_WAIT_SECONDS = 10.0


def _form_outcome_wait(ids: dict, body_fingerprint: str) -> str:
    """Wait (up to ``FORM_WAIT_SECONDS``) for the submission holding the key to finish;
    its stored redirect, or "" when it stored none (it re-rendered its form) or is still
    running."""
    deadline = time.monotonic() + FORM_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            stored = _claim(session=True, **ids, body_fingerprint=body_fingerprint)
        except IdempotencyInProgress:
            continue
        except IdempotencyKeyMismatch:
            _unlock(**ids)
            return ""
        _unlock(**ids)
        return (stored.location or "") if stored is not None else ""
    return ""


def _form_page(request) -> str:
    """The page the form was posted from (a same-site Referer), else the home page."""
    from django.utils.http import url_has_allowed_host_and_scheme

    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return "/"


def idempotent_form(endpoint: str):
    """Decorate a Django view handling a money form (POST) for a signed-in person.

    The form carries ``idempotency_key`` rendered with it. A double click, a reload that
    re-posts or a second tab sends the same key: the first submission does the work and its
    redirect is stored; the others are sent to the same place instead of paying again.
    A view that re-renders the form (a validation error, status 200) stores nothing, so the
    corrected form can be sent with the same key.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method != "POST":
                return view(request, *args, **kwargs)
            from django.contrib import messages
            from django.shortcuts import redirect
            from django.utils.translation import gettext as _

            key = request.POST.get(FORM_FIELD, "")
            if not KEY_PATTERN.match(key):
                # An old or hand-made form: render it again with a fresh key.
                messages.error(request, _("The form expired. Please check it and send it again."))
                return redirect(request.get_full_path())
            body = {
                k: v
                for k, v in request.POST.lists()
                if k not in {FORM_FIELD, "csrfmiddlewaretoken"}
            }
            ids = {"user_id": request.user.pk, "endpoint": endpoint, "key": key}
            body_fingerprint = fingerprint(body)
            try:
                stored = _claim(session=True, **ids, body_fingerprint=body_fingerprint)
            except IdempotencyInProgress:
                # A double click: the first submission is still paying. Wait for it and
                # follow it, so that the second click lands where the first one does.
                location = _form_outcome_wait(ids, body_fingerprint)
                if location:
                    return redirect(location)
                messages.info(request, _("Your payment is being processed."))
                # Not back to this URL: a form may post to an endpoint that only takes
                # POST (a GET there would answer 405); to the page the form was on.
                return redirect(_form_page(request))
            except IdempotencyKeyMismatch:
                _unlock(**ids)
                messages.error(request, _("The form expired. Please check it and send it again."))
                return redirect(request.get_full_path())
            try:
                if stored is not None:
                    return redirect(stored.location or request.get_full_path())
                response = view(request, *args, **kwargs)
                if response.status_code in (301, 302, 303):
                    _store(
                        **ids,
                        body_fingerprint=body_fingerprint,
                        status=response.status_code,
                        location=response["Location"],
                    )
                return response
            finally:
                _unlock(**ids)

        return wrapper

    return decorator
