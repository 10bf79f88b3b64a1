"""Forms for pages: allauth's sign-up with our wording, and the profile settings form."""

from __future__ import annotations

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts.handles import HANDLE_MAX_LENGTH
from accounts.models import BIO_MAX_LENGTH
from accounts.services import DISPLAY_NAME_MAX_LENGTH


class SignupForm(AllauthSignupForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.label = _("Handle")
        field.help_text = _("3 to 30 characters: a-z, 0-9 and _. People pay you by @handle.")
        field.widget.attrs.update(
            {"autocapitalize": "none", "spellcheck": "false", "maxlength": HANDLE_MAX_LENGTH}
        )

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
