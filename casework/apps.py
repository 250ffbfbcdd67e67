from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    """The NGO side. Uses reporting and evidence."""

    name = "casework"
    verbose_name = "Casework"

    def ready(self) -> None:
        import casework.referral_receivers  # noqa: F401 - her answers to referrals

        # receivers, step performers
        from casework import auth, notifications, receivers  # noqa: F401
        from casework.routing import report_recipients
        from reporting.services import register_recipient_resolver

        # reporting may not import casework: casework tells it who reads new reports.
        register_recipient_resolver(report_recipients)
