from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    """The sealed-storage kernel. Knows nothing about reports or cases."""

    name = "evidence"
    verbose_name = "Evidence"
