"""Forms for pages: allauth's sign-up with our wording, and the profile settings form."""

from __future__ import annotations

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm as AllauthMfaAuthenticateForm
from allauth.mfa.base.forms import ReauthenticateForm as AllauthMfaReauthenticateForm
from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts.handles import HANDLE_MAX_LENGTH
from accounts.lockout import second_factor_check_allowed
from accounts.models import BIO_MAX_LENGTH, ApiToken
from accounts.services import DISPLAY_NAME_MAX_LENGTH, TOKEN_NAME_MAX_LENGTH


class SignupForm(AllauthSignupForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.label = _("Handle")
        field.help_text = _("3 to 30 characters: a-z, 0-9 and _. People pay you by @handle.")
        field.widget.attrs.update(
            {"autocapitalize": "none", "spellcheck": "false", "maxlength": HANDLE_MAX_LENGTH}
        )

    def validate_unique_email(self, value):
        """A taken address is not an error here: saying so would tell anyone which
        addresses have accounts. The account is created without it and the address's
        owner gets a mail instead (``save``)."""
        from accounts.services import email_is_taken

        self.account_already_exists = False
        self.email_taken = email_is_taken(email=value)
        return value

    def save(self, request):
        if not getattr(self, "email_taken", False):
            return super().save(request)
        from allauth.account.adapter import get_adapter
        from django.contrib import messages as django_messages

        from accounts.services import signup_attempt_notify

        typed = self.cleaned_data["email"]
        self.cleaned_data["email"] = ""
        user = super().save(request)
        signup_attempt_notify(request=request, email=typed)
        # The same notice a free address gets when its confirmation mail goes out.
        get_adapter(request).add_message(
            request,
            django_messages.INFO,
            "account/messages/email_confirmation_sent.txt",
            {"email": typed, "login": False, "signup": True},
        )
        return user

    def try_save(self, request):
        """Two people sending the same free handle at the same moment both pass validation;
        the database's unique constraint refuses the second. Show that as the form error it
        is (the API answers ``handle_taken`` the same way) instead of a server error."""
        try:
            with transaction.atomic():
                return super().try_save(request)
        except IntegrityError:
            self.add_error(
                "username",
                forms.ValidationError(
                    _("That handle was just taken. Please choose another."), code="handle_taken"
                ),
            )
            return None, render(request, "account/signup.html", {"form": self}, status=400)


class LoginForm(AllauthLoginForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = _("Handle or e-mail")
        self.fields["login"].widget.attrs.update(
            {"autocapitalize": "none", "spellcheck": "false", "placeholder": _("handle or e-mail")}
        )


class _LockedOutCodeMixin:
    """A locked-out identity may not try a code at all, or the lockout would only slow
    down guessing the second factor. Wrong codes are counted by the receiver of allauth's
    ``authentication_failed`` signal (accounts.signals)."""

    def clean_code(self):
        if not second_factor_check_allowed(context.request, self.user):
            raise forms.ValidationError(
                _("Too many failed logins. Try again later."), code="locked_out"
            )
        return super().clean_code()


class MfaAuthenticateForm(_LockedOutCodeMixin, AllauthMfaAuthenticateForm):
    pass


class MfaReauthenticateForm(_LockedOutCodeMixin, AllauthMfaReauthenticateForm):
    pass


def _language_choices():
    # Language names are shown in their own language ("Deutsch"), as settings.LANGUAGES has
    # them, so that someone who cannot read the current language still finds theirs.
    return [("", _("The browser's language")), *settings.LANGUAGES]


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=_("Display name"), max_length=DISPLAY_NAME_MAX_LENGTH, required=False
    )
    bio = forms.CharField(
        label=_("Bio"), max_length=BIO_MAX_LENGTH, required=False, widget=forms.Textarea
    )
    link = forms.CharField(
        label=_("Link"), max_length=200, required=False, help_text=_("http:// or https://")
    )
    avatar = forms.ImageField(
        label=_("Avatar"), required=False, help_text=_("PNG, JPEG, WebP or GIF, up to 2 MB.")
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=_language_choices,
        required=False,
        help_text=_("Pages, receipts and notifications use it."),
    )
    search_indexing = forms.BooleanField(
        label=_("Let search engines list my profile and public posts"),
        required=False,
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=TOKEN_NAME_MAX_LENGTH,
        help_text=_("What uses it, so you recognise it later (“shop bot”)."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("What it may do"),
        choices=ApiToken.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiToken.Scope.READ],
    )
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires after"),
        coerce=int,
        choices=[
            (7, _("7 days")),
            (30, _("30 days")),
            (90, _("90 days")),
            (365, _("one year")),
        ],
        initial=90,
    )


class AccountCloseForm(forms.Form):
    confirm = forms.CharField(
        label=_("Type your handle to confirm"),
        max_length=HANDLE_MAX_LENGTH + 1,
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
