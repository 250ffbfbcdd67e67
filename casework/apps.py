from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    """The NGO side. Uses reporting and evidence."""

    name = "casework"
    verbose_name = "Casework"

    def ready(self) -> None:
        # receivers, step performers, the bundle builder's start-up hook
        from casework import auth, builder, notifications, receivers  # noqa: F401
        from casework.routing import report_recipients
        from casework.services.bundles import bundle_files_in_use
        from evidence.services import register_live_blob_keys
        from reporting.services import register_recipient_resolver

        # reporting may not import casework: casework tells it who reads new reports.
        register_recipient_resolver(report_recipients)
        # ...and evidence, whose orphan sweep must not take a lawyer's bundle file.
        register_live_blob_keys(bundle_files_in_use)
