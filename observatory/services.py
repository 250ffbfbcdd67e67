"""What the observatory changes: a download of the anonymised statistics leaves the
site, and the audit log says so (observatory/exports.py renders it)."""

from __future__ import annotations

from django.db import transaction

from casework import audit
from casework.audit import Action
from casework.models import User
from observatory import counts
from observatory.period import Period


@transaction.atomic
def export_statistics(period: Period, *, kind: str, actor: User) -> counts.Statistics:
    """The statistics of ``period`` for a download, and its row on the audit log: the
    coordination can see which periods left (two that overlap can be subtracted,
    docs/STATISTICS.md)."""
    stats = counts.build(period)
    audit.record(
        actor,
        Action.STATISTICS_EXPORTED,
        detail={"format": kind, "from": period.months[0], "to": period.months[-1]},
    )
    return stats
