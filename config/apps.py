from django.contrib.admin.apps import AdminConfig


class SiteAdminConfig(AdminConfig):
    """django.contrib.admin, with our AdminSite (config/admin.py) as the default site."""

    default_site = "config.admin.AdminSite"

    def ready(self) -> None:
        super().ready()
        # config/ is not an app of its own; the project's checks register with the admin.
        from config import checks  # noqa: F401
