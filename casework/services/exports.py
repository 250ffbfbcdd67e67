"""Exports that leave the site: the anonymised statistics (casework/statistics.py)."""

from __future__ import annotations

from django.db import transaction

from casework import audit, statistics
from casework.audit import Action
from casework.models import User


@transaction.atomic
def export_statistics(
    period: statistics.Period, *, kind: str, actor: User
) -> statistics.Statistics:
    """The statistics of ``period`` for a download, and its row on the audit log: the
    coordination can see which periods left (two that overlap can be subtracted,
    docs/STATISTICS.md)."""
    stats = statistics.build(period)
    audit.record(
        actor,
        Action.STATISTICS_EXPORTED,
        detail={"format": kind, "from": period.months[0], "to": period.months[-1]},
    )
    return stats
