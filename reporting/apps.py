from django.apps import AppConfig


class ReportingConfig(AppConfig):
    """The victim side. Uses evidence; knows nothing about cases."""

    name = "reporting"
    verbose_name = "Reporting"
