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
        record = (
            IdempotencyRecord.objects.select_for_update()
            .filter(user_id=user_id, endpoint=endpoint, key=key)
            .first()
        )
        if record is None:  # released between our insert and this read: try once more
            return idempotency_claim(
                user_id=user_id, endpoint=endpoint, key=key, body_fingerprint=body_fingerprint
            )
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


def idempotent_api(endpoint: str):
    """Decorate a DRF view method (``post``) that moves money.

    The key is validated before the body is looked at, the body's fingerprint is taken
    from ``request.data`` (already parsed by the strict JSON parser), and the wrapped
    method's response is stored or the key released according to its status.
    """

    def decorator(method):
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
