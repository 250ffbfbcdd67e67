from django.contrib.admin.apps import AdminConfig


class SiteAdminConfig(AdminConfig):
    """django.contrib.admin, with our AdminSite (config/admin.py) as the default site."""

    default_site = "config.admin.AdminSite"
