"""What the anonymised statistics count (issue 8): the one read of the database, and
the tables it fills, suppressed by observatory/suppression.py.  docs/STATISTICS.md
says all of this to coordinators and the observatory; change the two together.

**What is counted.**  Reports whose reporter agreed to anonymised statistics
(``Report.consent_statistics``), filed in a period of whole, complete months (never
the current month: its counts still move, and two downloads a week apart would give
away the reports filed in between).  Each report counts once, in the cell of five of
its routing facts: the month it was filed (``created_at``, Morocco time, YYYY-MM), its
category (carrying the category's GBVIMS core type, ``facts.GBVIMS_TYPE``), its
region, its age band, and urgency: "urgent" when she ticked any danger sign,
"not_urgent" otherwise.  Nothing else: no id, no day or hour, no organisation.

Referral outcomes (the state each referral was in at the end of the period, by service)
are a second table, published and suppressed the same way; so are the cases closed, by
outcome and urgency (a third table: the cases still closed when the period ended whose
last closing fell in it, read from the append-only audit log so that the same period
always gives the same table).  Times to acknowledge are
medians and 90th percentiles, shown only when computed over 5 cases or more.
"""

from __future__ import annotations

import math
import statistics as stats
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from casework.audit import Action
from casework.models import AuditEvent, Case, Referral
from casework.triage import Priority
from observatory.period import Period, month_of
from observatory.suppression import THRESHOLD, Publication, publish
from reporting import facts
from reporting.models import Report

URGENT = "urgent"
NOT_URGENT = "not_urgent"
REPORT_DIMENSIONS = ("month", "category", "region", "age_band", "urgency")
REFERRAL_STATES = tuple(Referral.State.values)


def gbvims_type(category: str) -> str:
    return str(facts.GBVIMS_TYPE[facts.Category(category)])


def report_dimensions(period: Period) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return (
        ("month", period.months),
        ("category", tuple(facts.Category.values)),
        ("region", tuple(facts.Region.values)),
        ("age_band", tuple(facts.AgeBand.values)),
        ("urgency", (URGENT, NOT_URGENT)),
    )


def referral_dimensions() -> tuple[tuple[str, tuple[str, ...]], ...]:
    return (("state", REFERRAL_STATES), ("service", tuple(facts.Service.values)))


def outcome_dimensions() -> tuple[tuple[str, tuple[str, ...]], ...]:
    return (("outcome", tuple(Case.Outcome.values)), ("urgency", (URGENT, NOT_URGENT)))


PRIORITIES = (
    (Priority.IMMEDIATE, "immediate"),
    (Priority.HIGH, "high"),
    (Priority.NORMAL, "normal"),
)


@dataclass(frozen=True)
class Delay:
    """Hours from a case's opening to its acknowledgement, over ``cases`` cases; the
    figures are None below THRESHOLD cases."""

    cases: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, hours: list[float]) -> Delay:
        if len(hours) < THRESHOLD:
            return cls(len(hours), None, None)
        ordered = sorted(hours)
        # The 90th percentile by nearest rank: the smallest delay within which at
        # least 90% of the cases were acknowledged (a delay one of them really had).
        p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
        return cls(len(hours), round(stats.median(ordered), 1), round(p90, 1))

    def as_dict(self) -> dict:
        return {"median": self.median, "p90": self.p90}


@dataclass
class Statistics:
    period: Period
    generated: date
    reports: Publication
    referrals: Publication
    delays_by_month: dict[str, Delay]
    delays_by_priority: dict[str, Delay]
    delay_overall: Delay
    outcomes: Publication | None = None


def _local_month(moment: datetime) -> str:
    return month_of(timezone.localtime(moment, ZoneInfo(settings.TIME_ZONE)).date())


def read(period: Period) -> tuple[Counter, Counter, list[tuple[str, int, float]]]:
    """Counts of consenting reports by cell, of their referrals by (state at the end of
    the period, service), and (month, priority, hours) of their acknowledged cases."""
    consenting = Report.objects.filter(
        consent_statistics=True, created_at__gte=period.start, created_at__lt=period.end
    )
    zone = ZoneInfo(settings.TIME_ZONE)
    rows = (
        consenting.annotate(
            month=TruncMonth("created_at", tzinfo=zone),
            urgent=ExpressionWrapper(~Q(urgency=[]), output_field=BooleanField()),
        )
        .values("month", "category", "region", "age_band", "urgent")
        .annotate(n=Count("pk"))
        .order_by()
    )
    reports: Counter = Counter()
    for row in rows:
        key = (
            month_of(row["month"]),
            row["category"],
            row["region"],
            row["age_band"],
            URGENT if row["urgent"] else NOT_URGENT,
        )
        reports[key] += row["n"]

    referrals: Counter = Counter()
    final = {Referral.State.ACCEPTED, Referral.State.DECLINED, Referral.State.REFUSED}
    for state, service, answered, asked, request in Referral.objects.filter(
        case__report__consent_statistics=True,
        created_at__gte=period.start,
        created_at__lt=period.end,
    ).values_list(
        "state", "service", "answered_at", "consent_request__answered_at", "consent_request_id"
    ):
        # As it stood when the period ended, so that the same period always gives the
        # same table (a later download must not tell which referrals moved since).
        if state in final and answered is not None and answered < period.end:
            at_end = state
        elif request is not None and (asked is None or asked >= period.end):
            at_end = Referral.State.AWAITING_CONSENT
        else:
            at_end = Referral.State.OFFERED
        referrals[(str(at_end), service)] += 1

    delays = [
        (_local_month(opened), priority, (acknowledged - opened).total_seconds() / 3600)
        for opened, acknowledged, priority in Case.objects.filter(
            report__consent_statistics=True,
            opened_at__gte=period.start,
            opened_at__lt=period.end,
            acknowledged_at__isnull=False,
        ).values_list("opened_at", "acknowledged_at", "priority")
    ]
    return reports, referrals, delays


def read_outcomes(period: Period) -> Counter:
    """Cases of consenting reports closed in the period, by (outcome, urgency), as they
    stood when it ended: a case counts if its last status change before the end closed
    it within the period (reopened and closed again: its last closing; reopened and
    still open at the end: not at all).  From the audit rows, which never change."""
    consenting = Case.objects.filter(report__consent_statistics=True)
    last: dict[int, dict] = {}
    for case_id, at, detail in (
        AuditEvent.objects.filter(
            action=Action.CASE_STATUS,
            at__lt=period.end,
            case_id__in=consenting.values("pk"),
        )
        .order_by("seq")
        .values_list("case_id", "at", "detail")
    ):
        last[case_id] = {**detail, "at": at}
    closed = {
        case_id: change["outcome"]
        for case_id, change in last.items()
        if change.get("to") == Case.Status.CLOSED
        and change["at"] >= period.start
        and change.get("outcome") in Case.Outcome.values  # closings before outcomes: none
    }
    urgent = dict(
        consenting.filter(pk__in=list(closed))
        .annotate(
            urgent_report=ExpressionWrapper(~Q(report__urgency=[]), output_field=BooleanField())
        )
        .values_list("pk", "urgent_report")
    )
    return Counter(
        (outcome, URGENT if urgent.get(case_id) else NOT_URGENT)
        for case_id, outcome in closed.items()
    )


def build(period: Period, *, today: date | None = None) -> Statistics:
    """Everything the page and the exports show for a period, suppressed."""
    reports, referrals, delays = read(period)
    dims = report_dimensions(period)
    known = [set(values) for _, values in dims]
    # A value outside today's vocabularies (renamed since) would have no cell: drop it
    # rather than fail, it is counted nowhere else either.
    reports = Counter(
        {k: n for k, n in reports.items() if all(v in known[d] for d, v in enumerate(k))}
    )
    priorities = dict(PRIORITIES)
    return Statistics(
        period=period,
        generated=today or timezone.localdate(),
        reports=publish(dims, reports),
        referrals=publish(referral_dimensions(), referrals),
        delays_by_month={
            month: Delay.of([h for m, _, h in delays if m == month]) for month in period.months
        },
        delays_by_priority={
            name: Delay.of([h for _, p, h in delays if priorities.get(p) == name])
            for _, name in PRIORITIES
        },
        delay_overall=Delay.of([h for _, _, h in delays]),
        outcomes=publish(outcome_dimensions(), read_outcomes(period)),
    )
