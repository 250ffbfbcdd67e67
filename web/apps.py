from django.apps import AppConfig
from django.core.checks import Tags, register

from web import checks


class WebConfig(AppConfig):
    """The HTTP kernel: middleware, CSRF, rate limits, error pages, API parsing."""

    name = "web"
    verbose_name = "Web"

    def ready(self) -> None:
        register(checks.csrf_protection_in_place, Tags.security)
