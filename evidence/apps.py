from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    """The sealed-storage kernel. Knows nothing about reports or cases."""

    name = "evidence"
    verbose_name = "Evidence"

    def ready(self) -> None:
        from evidence import checks  # noqa: F401 - registers the system checks
        from evidence.resumable import live_blob_keys
        from evidence.services import register_live_blob_keys

        # A complete upload waits for its filing to claim it: its blob is in place
        # under its key with no SealedObject yet, and the orphan sweep must spare it.
        register_live_blob_keys(live_blob_keys)
