"""Identity verification: a person asks, staff review in Django admin.

Approving sets ``User.verification_tier`` to ``verified`` (higher limits, payouts
allowed); rejecting leaves the tier alone. Every decision writes an
``AccountAuditEvent`` naming the staff member, in the same transaction.
"""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.language import in_language_of
from accounts.models import AccountAuditEvent, User
from core.exceptions import ValidationFailed
from payments.wallets.errors import InvalidState
from payments.wallets.models import VerificationRequest
from payments.wallets.receipts import receipt_send

ADULT_AGE_YEARS = 18
ADDRESS_MAX_LENGTH = 300


def _adult_from(born: date) -> date:
    """The 18th birthday (1 March for someone born on 29 February)."""
    try:
        return born.replace(year=born.year + ADULT_AGE_YEARS)
    except ValueError:
        return date(born.year + ADULT_AGE_YEARS, 3, 1)


def verification_request_create(
    *,
    user: User,
    legal_name: str,
    country: str,
    date_of_birth: date | None = None,
    address: str = "",
) -> VerificationRequest:
    """Ask for verification; one pending request per person (a second returns it).

    Raises ``ValidationFailed`` for a name, country, address or date of birth (a person
    under 18, or in the future) that cannot be right; nothing is written then.
    """
    legal_name = (legal_name or "").strip()
    country = (country or "").strip().upper()
    address = (address or "").strip()
    if not 2 <= len(legal_name) <= 120 or any(ord(c) < 32 for c in legal_name):
        raise ValidationFailed(_("Give your legal name (2 to 120 characters)."))
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        raise ValidationFailed(_("Give a two-letter country code (ISO 3166)."))
    if len(address) > ADDRESS_MAX_LENGTH or any(ord(c) < 32 and c != "\n" for c in address):
        raise ValidationFailed(_("Give your address (at most 300 characters)."))
    if date_of_birth is not None and _adult_from(date_of_birth) > timezone.localdate():
        raise ValidationFailed(_("You must be 18 or older to be verified."))
    try:
        with transaction.atomic():
            return VerificationRequest.objects.create(
                user=user,
                legal_name=legal_name,
                country=country,
                date_of_birth=date_of_birth,
                address=address,
            )
    except IntegrityError:
        return VerificationRequest.objects.get(user=user, status=VerificationRequest.Status.PENDING)


def _decide(*, request_id: int, actor: User, approve: bool, note: str) -> VerificationRequest:
    with transaction.atomic():
        req = VerificationRequest.objects.select_for_update().get(pk=request_id)
        if req.status != VerificationRequest.Status.PENDING:
            raise InvalidState(details={"status": req.status})
        req.status = (
            VerificationRequest.Status.APPROVED if approve else VerificationRequest.Status.REJECTED
        )
        req.reviewed_by = actor
        req.reviewed_at = timezone.now()
        req.review_note = (note or "")[:300]
        req.save()
        if approve:
            User.objects.filter(pk=req.user_id).update(
                verification_tier=User.VerificationTier.VERIFIED
            )
        AccountAuditEvent.objects.create(
            user_id=req.user_id,
            actor=actor,
            action="verification_approve" if approve else "verification_reject",
            reason=req.review_note,
        )
        with in_language_of(req.user_id):
            subject = (
                gettext("Your identity verification was approved")
                if approve
                else gettext("Your identity verification was rejected")
            )
            body = subject + "."
        receipt_send(
            key=f"verification:{req.pk}:{req.status}",
            kind=f"verification_{req.status}",
            recipient_id=req.user_id,
            target_type="verification_request",
            target_id=req.pk,
            subject=subject,
            body=body,
            link=reverse("payments:wallet-verify"),
        )
    return req


def verification_approve(*, request_id: int, actor: User, note: str = "") -> VerificationRequest:
    return _decide(request_id=request_id, actor=actor, approve=True, note=note)


def verification_reject(*, request_id: int, actor: User, note: str = "") -> VerificationRequest:
    return _decide(request_id=request_id, actor=actor, approve=False, note=note)
