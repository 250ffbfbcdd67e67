from django.apps import AppConfig


class ObservatoryConfig(AppConfig):
    """Anonymised statistics for the national observatory. Uses casework; no models."""

    name = "observatory"
    verbose_name = "Observatory"
