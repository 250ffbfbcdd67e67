from django.contrib import admin
from django.urls import reverse


class AdminSite(admin.AdminSite):
    """Django's admin, except that changing one's own password keeps one's key."""

    def password_change(self, request, extra_context=None):
        # Imported here: this module is loaded while the app registry is being built.
        from django.contrib.auth.views import PasswordChangeView

        from casework.forms import KeyKeepingPasswordChangeForm

        request.current_app = self.name
        return PasswordChangeView.as_view(
            form_class=KeyKeepingPasswordChangeForm,
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)
