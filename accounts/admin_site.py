"""The admin behind the same door as everything else.

Django's admin has its own login form, which checks the password alone: a staff member
with two-factor login enabled got a full session (admin, wallet, API) without the second
factor. Here the admin has no login form of its own: ``/admin/login/`` sends people to
allauth's login (password, then the second factor) and back to the admin. Staff must have
a second factor enabled to reach the admin at all; a staff member without one sees a page
that says how to turn it on.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def staff_has_second_factor(user) -> bool:
    from allauth.mfa.utils import is_mfa_enabled

    return is_mfa_enabled(user)


class StaffAdminSite(admin.AdminSite):
    def has_permission(self, request) -> bool:
        return super().has_permission(request) and staff_has_second_factor(request.user)

    def login(self, request, extra_context=None):
        """Not a login form: allauth's login (with its second-factor step) for anonymous
        visitors, an explanation for signed-in people who may not enter."""
        index = reverse("admin:index", current_app=self.name)
        if self.has_permission(request):
            return redirect(index)
        user = request.user
        if user.is_authenticated:
            reason = "second_factor" if user.is_active and user.is_staff else "not_staff"
            return render(
                request,
                "admin/second_factor_required.html",
                {"reason": reason, "mfa_url": reverse("mfa_index")},
                status=403,
            )
        target = request.GET.get("next") or index
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = index
        return redirect(reverse("account_login") + "?" + urlencode({"next": target}))


class StaffAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.StaffAdminSite"
