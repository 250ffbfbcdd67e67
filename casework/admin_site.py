"""The site's admin (``admin.site``), named by ``casework.apps.SiteAdminConfig``.

Django imports it on the first use of ``admin.site``, when the admin modules are
discovered and every model is loaded: it may import casework's views and forms.
"""

from urllib.parse import quote

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse

from casework.auth import LockingPasswordChangeView
from casework.forms import KeyKeepingPasswordChangeForm


class AdminSite(admin.AdminSite):
    """Django's admin, signed into through the staff sign-in (password, then the second
    factor), where changing one's own password keeps one's key."""

    def has_permission(self, request) -> bool:
        # Operators hold the keys to every organisation's membership: the second factor
        # is as mandatory here as on the case pages.
        return super().has_permission(request) and request.user.is_verified()

    def login(self, request, extra_context=None):
        if request.user.is_authenticated and request.user.is_verified():
            # Signed in fully but not an operator: sending her to sign in again would loop.
            raise PermissionDenied
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        step = "casework:verify" if request.user.is_authenticated else "casework:login"
        return redirect(f"{reverse(step)}?next={quote(target, safe='/')}")

    def password_change(self, request, extra_context=None):
        # The view counts a wrong current password as a failed sign-in, and refuses
        # (signing out) once the account is locked, as the sign-in pages do.
        request.current_app = self.name
        return LockingPasswordChangeView.as_view(
            form_class=KeyKeepingPasswordChangeForm,
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)
