from django.contrib.admin.forms import AdminPasswordChangeForm

from casework import services


class KeyKeepingPasswordChangeForm(AdminPasswordChangeForm):
    """Change one's own password and re-seal one's key under it, so access is kept.

    Django's form would call set_password() alone, which (without the old key) gives the
    account a new key and leaves her organisations' cases closed to her.
    """

    def save(self, commit: bool = True):
        services.change_password(
            self.user,
            old_password=self.cleaned_data["old_password"],
            new_password=self.cleaned_data["new_password1"],
        )
        return self.user
