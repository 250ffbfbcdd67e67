from django.apps import AppConfig


class BundlesConfig(AppConfig):
    """Evidence bundles.  Uses casework, reporting and evidence; casework never imports it
    (tests/test_layering.py), so whatever casework shows or does for bundles is plugged
    in here.  No models of its own yet (bundles/__init__.py says why)."""

    name = "bundles"
    verbose_name = "Evidence bundles"

    def ready(self) -> None:
        # The builder's start-up and shutdown hooks (Celery signals), and the emails of
        # the bundle steps (casework.workflow.performs).
        from bundles import builder, notifications  # noqa: F401
        from bundles.selectors import bundle_files_in_use
        from bundles.views.bundles import case_section
        from bundles.views.keys import staff_link
        from casework import extensions
        from evidence.services import register_live_blob_keys

        # The case page's "Evidence bundles" section and the staff menu's "My keys".
        extensions.add_case_section(case_section)
        extensions.add_staff_link(staff_link)
        # evidence's orphan sweep must not take a lawyer's bundle file.
        register_live_blob_keys(bundle_files_in_use)
