"""The case file's states and the only moves between them.

Every status change goes through ``casework.services.change_status``, which asks
``allowed()``; the pages and the API offer exactly the moves listed here.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from casework.models import Case, Referral
from reporting.models import Report

S = Case.Status

# (from, to) -> the button's label.  A closed case reopens "in progress", because someone
# is taking it up again.
#
# No move from "new" to "closed": a case is acknowledged before it is closed, even a
# duplicate (one click more).  Acknowledging is the act that says a person read it: it
# stops the clock that escalates it, and puts a name on it.  A shortcut would let an
# unread case leave the queue and its "waiting past due" count with nobody answerable
# for it, and tell her "closed" having never said "someone is on it".
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.NEW, S.ACKNOWLEDGED): _("Acknowledge"),
    (S.ACKNOWLEDGED, S.IN_PROGRESS): _("Start work"),
    (S.ACKNOWLEDGED, S.REFERRED): _("Mark referred"),
    (S.ACKNOWLEDGED, S.CLOSED): _("Close"),
    (S.IN_PROGRESS, S.REFERRED): _("Mark referred"),
    (S.IN_PROGRESS, S.CLOSED): _("Close"),
    (S.REFERRED, S.IN_PROGRESS): _("Resume work"),
    (S.REFERRED, S.CLOSED): _("Close"),
    (S.CLOSED, S.IN_PROGRESS): _("Reopen"),
}

# What she reads on her return visit for each state of the case.
REPORTER_STATUS: dict[str, str] = {
    S.NEW: Report.Status.RECEIVED,
    S.ACKNOWLEDGED: Report.Status.IN_PROGRESS,
    S.IN_PROGRESS: Report.Status.IN_PROGRESS,
    S.REFERRED: Report.Status.REFERRED,
    S.CLOSED: Report.Status.CLOSED,
}


def needs_outcome(target: str) -> bool:
    """Closing says why, from ``Case.Outcome``: what the statistics count."""
    return target == S.CLOSED


def has_consent(case: Case) -> bool:
    """Her consent to pass the report on: ticked when she filed, or given for a referral
    since (an accepted referral had it, on record or in her answer on her page)."""
    return (
        case.report.consent_share or case.referrals.filter(state=Referral.State.ACCEPTED).exists()
    )


def allowed(current: str, target: str, *, consent_share: bool) -> bool:
    """Whether the case may move.  "Referred" tells her the report was passed on with
    her consent, so without that consent on record it is never offered."""
    if target == S.REFERRED and not consent_share:
        return False
    return (current, target) in TRANSITIONS


def moves_from(current: str, *, consent_share: bool) -> list[tuple[str, str]]:
    """(target, label) for each move out of ``current``, in a stable order."""
    return [
        (to, label)
        for (frm, to), label in TRANSITIONS.items()
        if frm == current and allowed(current, to, consent_share=consent_share)
    ]
