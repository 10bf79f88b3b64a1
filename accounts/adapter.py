"""allauth adapter: sign-up through the web uses the same handle rules as the API."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django import forms

from accounts.services import handle_check
from core.exceptions import DomainError


class AccountAdapter(DefaultAccountAdapter):
    def clean_username(self, username: str, shallow: bool = False) -> str:
        try:
            return handle_check(handle=username)
        except DomainError as exc:
            # The stable code travels on the form error, as in the API.
            raise forms.ValidationError(exc.message, code=exc.code) from None
