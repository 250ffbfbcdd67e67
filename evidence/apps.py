from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    """The sealed-storage kernel. Knows nothing about reports or cases."""

    name = "evidence"
    verbose_name = "Evidence"

    def ready(self) -> None:
        from evidence import checks  # noqa: F401 - registers the system checks
