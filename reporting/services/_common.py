"""What more than one of the reporting services needs: times to the hour, and the lock on
her report's row.  Inside this package only; callers use the package's own names."""

from __future__ import annotations

from datetime import datetime

from reporting.models import Report


def to_the_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def lock(report: Report) -> None:
    """Hold her report's row until the transaction ends: what counts a position up
    within it (a message, a file, a question) waits for the one before."""
    Report.objects.select_for_update().filter(pk=report.pk).values_list("pk").get()
