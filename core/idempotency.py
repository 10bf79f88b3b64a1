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

How it holds under concurrency: the record is inserted in its own committed statement
before the work starts, and a UNIQUE constraint lets exactly one request insert it. The work
and the record's completion are separate transactions (money services are durable atomic
blocks), so a process killed between them leaves a ``started`` record whose lease expires;
the retry then runs the work again, and the service's own ledger idempotency key — derived
from this key — returns the original effect instead of a second one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.response import Response

from core.exceptions import DomainError
from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
# Printable ASCII without spaces, like Stripe's keys; long enough for a UUID or a hash.
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{8,255}$")
LEASE = timedelta(seconds=60)
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


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to start work under a key."""

    record: IdempotencyRecord
    fresh: bool  # True: this caller must do the work; False: replay ``record``


def idempotency_claim(*, user_id: int, endpoint: str, key: str, body_fingerprint: str) -> Claim:
    """Insert the record, or find the one a previous request made.

    Raises IdempotencyKeyMismatch for another body, IdempotencyInProgress while the first
    request holds the lease. An expired lease is taken over (the first request died).
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                user_id=user_id,
                endpoint=endpoint,
                key=key,
                fingerprint=body_fingerprint,
                locked_until=now + LEASE,
            )
        return Claim(record=record, fresh=True)
    except IntegrityError:
        pass
    with transaction.atomic():
        found = (
            IdempotencyRecord.objects.select_for_update()
            .filter(user_id=user_id, endpoint=endpoint, key=key)
            .first()
        )
        if found is None:  # released between our insert and this read: try once more
            return idempotency_claim(
                user_id=user_id, endpoint=endpoint, key=key, body_fingerprint=body_fingerprint
            )
        record = found
        if record.fingerprint != body_fingerprint:
            raise IdempotencyKeyMismatch()
        if record.state == IdempotencyRecord.State.COMPLETED:
            return Claim(record=record, fresh=False)
        if record.locked_until > now:
            raise IdempotencyInProgress()
        record.locked_until = now + LEASE
        record.save(update_fields=["locked_until"])
        return Claim(record=record, fresh=True)


def idempotency_complete(
    *, record: IdempotencyRecord, status: int, body: Any = None, location: str = ""
) -> None:
    """Store the outcome, or release the key when the outcome means "never ran"."""
    if status in NOT_STORED_STATUSES or status >= 500:
        IdempotencyRecord.objects.filter(
            pk=record.pk, state=IdempotencyRecord.State.STARTED
        ).delete()
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=IdempotencyRecord.State.COMPLETED,
        response_status=status,
        response_body=_canonical(body),
        response_location=location,
        completed_at=timezone.now(),
    )


def idempotency_release(*, record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyRecord.State.STARTED).delete()


def idempotency_purge(*, older_than: timedelta = RETENTION) -> int:
    """Forget completed keys past the retention window (Stripe keeps them 24 hours)."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


def idempotent_api(endpoint: str, *, one_transaction: bool = False):
    """Decorate a DRF view method (``post``) that moves money.

    The key is validated before the body is looked at, the body's fingerprint is taken
    from ``request.data`` (already parsed by the strict JSON parser), and the wrapped
    method's response is stored or the key released according to its status.

    ``one_transaction=True`` is for views whose whole effect is database work (a P2P
    transfer, no processor call): the claim, the work and the stored response commit
    together in ONE transaction (see ``_one_transaction``), instead of three.
    """

    def decorator(method):
        if one_transaction:
            return _one_transaction(endpoint, method)

        @functools.wraps(method)
        def wrapper(view, request, *args, **kwargs):
            key = validate_key(request.headers.get(HEADER))
            scoped_endpoint = f"{endpoint}:{_path_args(kwargs)}" if kwargs else endpoint
            claim = idempotency_claim(
                user_id=request.user.pk,
                endpoint=scoped_endpoint,
                key=key,
                body_fingerprint=fingerprint(request.data),
            )
            if not claim.fresh:
                response = Response(claim.record.response_body, status=claim.record.response_status)
                response[REPLAY_HEADER] = "true"
                return response
            request.idempotency_key = key
            try:
                response = method(view, request, *args, **kwargs)
            except Exception as exc:
                # Let DRF render the error, then decide what to store from its status.
                try:
                    response = view.handle_exception(exc)
                except Exception:
                    idempotency_release(record=claim.record)  # a crash: nothing happened
                    raise
                idempotency_complete(
                    record=claim.record, status=response.status_code, body=response.data
                )
                response.exception = True
                return response
            idempotency_complete(
                record=claim.record, status=response.status_code, body=response.data
            )
            return response

        return wrapper

    return decorator


# --- one transaction: claim, work and outcome commit together -----------------------------
# The advisory lock makes a second request with the same key answer 409 at once instead of
# queueing behind the first on the UNIQUE index; it is released when the first commits,
# after which the stored outcome is visible. The lock id is a 64-bit hash of the scoped key:
# a collision between two different keys costs one spurious 409, never a double effect
# (the UNIQUE constraint still decides).
_CLAIM_SQL = """
SELECT pg_try_advisory_xact_lock(hashtextextended(%(lock)s, 0)),
       r.fingerprint, r.state, r.response_status, r.response_body, r.locked_until
FROM (SELECT 1) AS one
LEFT JOIN core_idempotencyrecord r
       ON r.user_id = %(user)s AND r.endpoint = %(endpoint)s AND r.key = %(key)s
"""
# A ``started`` row can only be left by the two-transaction mode (an older deploy, or a
# crash there); once its lease has passed it is taken over, as in that mode.
_STORE_SQL = """
INSERT INTO core_idempotencyrecord AS r
    (user_id, endpoint, key, fingerprint, state, response_status, response_body,
     response_location, created_at, locked_until, completed_at)
VALUES (%(user)s, %(endpoint)s, %(key)s, %(fingerprint)s, 'completed', %(status)s,
        %(body)s, '', %(now)s, %(now)s, %(now)s)
ON CONFLICT (user_id, endpoint, key) DO UPDATE SET
    fingerprint = EXCLUDED.fingerprint, state = 'completed',
    response_status = EXCLUDED.response_status, response_body = EXCLUDED.response_body,
    completed_at = EXCLUDED.completed_at
WHERE r.state = 'started' AND r.locked_until <= EXCLUDED.completed_at
RETURNING r.id
"""


class _Unfinished(Exception):
    """The view answered 5xx: undo whatever it wrote, store nothing, pass the answer on."""

    def __init__(self, response):
        self.response = response


class _StoredMeanwhile(Exception):
    """Another request stored an outcome for this key while ours ran: undo ours, replay."""


def _claim_in_transaction(*, user_id: int, endpoint: str, key: str, body_fingerprint: str):
    """Inside the caller's transaction: None when this request must do the work, or the
    stored ``(status, body)`` to replay. Raises IdempotencyInProgress / KeyMismatch."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            _CLAIM_SQL,
            {"lock": f"{user_id}:{endpoint}:{key}", "user": user_id, "endpoint": endpoint,
             "key": key},
        )  # fmt: skip
        got_lock, stored_fingerprint, state, status, body, locked_until = cur.fetchone()
    if not got_lock:
        raise IdempotencyInProgress()
    if stored_fingerprint is None:
        return None
    if stored_fingerprint != body_fingerprint:
        raise IdempotencyKeyMismatch()
    if state == IdempotencyRecord.State.COMPLETED:
        # Django leaves jsonb undecoded on raw cursors (its JSONField decodes it).
        return status, json.loads(body) if isinstance(body, str) else body
    if locked_until > timezone.now():
        raise IdempotencyInProgress()
    return None


def _store_in_transaction(
    *, user_id: int, endpoint: str, key: str, body_fingerprint: str, status: int, body: Any
) -> bool:
    """Store the outcome; False when another request already stored one for the key."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            _STORE_SQL,
            {"user": user_id, "endpoint": endpoint, "key": key, "fingerprint": body_fingerprint,
             "status": status, "body": json.dumps(_canonical(body)), "now": timezone.now()},
        )  # fmt: skip
        return cur.fetchone() is not None


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
                stored = _claim_in_transaction(**ids, body_fingerprint=body_fingerprint)
                if stored is None:
                    response = method(view, request, *args, **kwargs)
                    status = response.status_code
                    if status >= 500:
                        raise _Unfinished(response)
                    if status not in NOT_STORED_STATUSES and not _store_in_transaction(
                        **ids, body_fingerprint=body_fingerprint,
                        status=response.status_code, body=response.data,
                    ):  # fmt: skip
                        raise _StoredMeanwhile()
        except _StoredMeanwhile:
            return _replay_stored(**ids, body_fingerprint=body_fingerprint)
        except _Unfinished as unfinished:
            return unfinished.response
        except Exception as exc:
            response = view.handle_exception(exc)  # re-raises what the API cannot render
            if response.status_code in NOT_STORED_STATUSES or response.status_code >= 500:
                return response
            if not isinstance(exc, IdempotencyInProgress | IdempotencyKeyMismatch):
                with transaction.atomic(durable=True):
                    if not _store_in_transaction(
                        **ids, body_fingerprint=body_fingerprint,
                        status=response.status_code, body=response.data,
                    ):  # fmt: skip
                        return _replay_stored(**ids, body_fingerprint=body_fingerprint)
            response.exception = True
            return response
        if stored is not None:
            response = Response(stored[1], status=stored[0])
            response[REPLAY_HEADER] = "true"
        return response

    return wrapper


def _replay_stored(*, user_id: int, endpoint: str, key: str, body_fingerprint: str):
    record = IdempotencyRecord.objects.get(user_id=user_id, endpoint=endpoint, key=key)
    if record.fingerprint != body_fingerprint:
        raise IdempotencyKeyMismatch()
    response = Response(record.response_body, status=record.response_status)
    response[REPLAY_HEADER] = "true"
    return response


def _path_args(kwargs: dict) -> str:
    return ",".join(f"{k}={kwargs[k]}" for k in sorted(kwargs))


FORM_FIELD = "idempotency_key"


def form_key() -> str:
    """A fresh key for a form being rendered; submitted back in a hidden field."""
    return uuid.uuid4().hex


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
            try:
                claim = idempotency_claim(
                    user_id=request.user.pk,
                    endpoint=endpoint,
                    key=key,
                    body_fingerprint=fingerprint(body),
                )
            except IdempotencyInProgress:
                messages.info(request, _("Your payment is being processed."))
                return redirect(request.get_full_path())
            except IdempotencyKeyMismatch:
                messages.error(request, _("The form expired. Please check it and send it again."))
                return redirect(request.get_full_path())
            if not claim.fresh:
                return redirect(claim.record.response_location or request.get_full_path())
            try:
                response = view(request, *args, **kwargs)
            except Exception:
                idempotency_release(record=claim.record)
                raise
            if response.status_code in (301, 302, 303):
                idempotency_complete(
                    record=claim.record, status=response.status_code, location=response["Location"]
                )
            else:
                idempotency_release(record=claim.record)
            return response

        return wrapper

    return decorator
