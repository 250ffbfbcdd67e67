from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CaseworkConfig(AppConfig):
    """The NGO side. Uses reporting and evidence."""

    name = "casework"
    verbose_name = "Casework"

    def ready(self) -> None:
        # receivers, step performers
        from casework import auth, notifications, receivers  # noqa: F401
        from casework.routing import report_recipients
        from reporting.services import register_recipient_resolver

        # reporting may not import casework: casework tells it who reads new reports.
        register_recipient_resolver(report_recipients)


class SiteAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, with our AdminSite (casework/admin_site.py) as the default
    site: signed into through the staff sign-in, and a password change that keeps one's
    key."""

    # Named in INSTALLED_APPS in the admin's place.  "casework" there must still mean
    # CaseworkConfig: Django takes the one class of this module marked default, and
    # AdminConfig is (hence its module above, not its name, imported here).
    default = False
    default_site = "casework.admin_site.AdminSite"
