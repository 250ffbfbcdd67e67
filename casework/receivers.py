"""What casework does when reporting announces something (reporting never imports us)."""

from __future__ import annotations

from django.dispatch import receiver

from casework import services
from reporting.signals import report_recorded


@receiver(report_recorded)
def _open_case(sender, report_id: int, **kwargs) -> None:
    # Inside the filing transaction: the case commits with the report, or neither does.
    services.open_case(report_id)
