from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    """The NGO side. Uses reporting and evidence."""

    name = "casework"
    verbose_name = "Casework"
