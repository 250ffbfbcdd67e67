"""Reads of case data.  Every one starts from ``cases_for(user)`` or ``readable_cases(user)``.

These two are the only places that decide which cases a member may see.  ``cases_for``:
the cases of the organisations she belongs to, which her queue lists and she works on.
``readable_cases``: those, and the cases she may only read, because one was referred to
her organisation and it accepted, or because she is of the national coordination and the
case is urgent or was escalated.  The pages and the API reach a case only through
``case_for()``, which answers "not found" for anyone else's, so a case's existence does
not leak by the difference between 403 and 404; ``reading_access()`` says through which
of her memberships she reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import Count, Exists, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.audit import ACCESS_ACTIONS, Action
from casework.models import (
    AuditEvent,
    Case,
    DownloadReason,
    Membership,
    Organization,
    Referral,
    User,
)
from reporting.models import ConsentRequest


def cases_for(user: User) -> QuerySet[Case]:
    """Her organisations' cases, and no other: the ones she works on, which her queue
    lists.  What she may also read is ``readable_cases``."""
    if not user.is_authenticated:
        return Case.objects.none()
    return Case.objects.filter(organization__memberships__user=user)


def readable_cases(user: User) -> QuerySet[Case]:
    """Every case she may open: her organisations' own; those referred to one of them
    and accepted; and, for the national coordination, the urgent and the escalated ones
    (every report is sealed to the coordination at intake, so it holds the key; this
    says when it may use it).  Reading only: working a case stays with its organisation.
    Subqueries, not joins, so that a case reached twice is one row."""
    if not user.is_authenticated:
        return Case.objects.none()
    mine = Membership.objects.filter(user=user)
    her_organizations = mine.values("organization_id")
    referred = Referral.objects.filter(
        state=Referral.State.ACCEPTED, to_organization_id__in=her_organizations
    ).values("case_id")
    coordinates = Exists(mine.filter(organization__kind=Organization.Kind.NATIONAL_COORDINATOR))
    return Case.objects.filter(
        Q(organization_id__in=her_organizations)
        | Q(pk__in=referred)
        | (Q(coordinates) & (Q(escalated_at__isnull=False) | Q(urgent=True)))
    )


def case_for(user: User, case_id: int | str) -> Case:
    """One case she may read, or 404 whether it exists elsewhere or not at all."""
    try:
        return (
            readable_cases(user)
            .select_related("report", "organization", "assignee", "report__content")
            .get(pk=int(case_id))
        )
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


@dataclass(frozen=True)
class Access:
    """Through which of her memberships she reads a case, and why."""

    OWNER = "owner"
    REFERRAL = "referral"
    ESCALATION = "escalation"
    URGENT = "urgent"

    membership: Membership
    via: str
    referral: Referral | None = None

    @property
    def organization(self) -> Organization:
        return self.membership.organization

    @property
    def is_owner(self) -> bool:
        return self.via == self.OWNER

    @property
    def works_case(self) -> bool:
        """Status, assignment, tags, notes and replies: the owner's members only."""
        return self.is_owner and self.membership.can_work_cases


def reading_access(user: User, case: Case) -> Access | None:
    """Her organisation that owns the case first, then one it was referred to, then the
    coordination; None when ``readable_cases`` would not give it to her either."""
    if not user.is_authenticated:
        return None
    memberships = {
        m.organization_id: m
        for m in Membership.objects.filter(user=user).select_related("organization", "user")
    }
    if case.organization_id in memberships:
        return Access(memberships[case.organization_id], Access.OWNER)
    referral = (
        Referral.objects.filter(
            case=case, state=Referral.State.ACCEPTED, to_organization_id__in=list(memberships)
        )
        .order_by("pk")
        .first()
    )
    if referral is not None:
        return Access(memberships[referral.to_organization_id], Access.REFERRAL, referral)
    if case.escalated_at is not None or case.urgent:
        via = Access.ESCALATION if case.escalated_at is not None else Access.URGENT
        for membership in memberships.values():
            if membership.organization.kind == Organization.Kind.NATIONAL_COORDINATOR:
                return Access(membership, via)
    return None


def is_coordinator(user: User) -> bool:
    return Membership.objects.filter(
        user=user, organization__kind=Organization.Kind.NATIONAL_COORDINATOR
    ).exists()


def escalated_cases(user: User, *, recent_days: int = 30) -> tuple[list[Case], list[Case]]:
    """For the coordination only (it reads every report, DESIGN.md): cases escalated
    because nobody acknowledged them in time, still waiting, oldest due first; and those
    escalated in the last ``recent_days`` that someone has taken since."""
    if not is_coordinator(user):
        return [], []
    escalated = Case.objects.filter(escalated_at__isnull=False).select_related(
        "organization", "assignee"
    )
    waiting = list(escalated.filter(status=Case.Status.NEW).order_by("sla_due_at", "pk"))
    since = timezone.now() - timedelta(days=recent_days)
    handled = list(
        escalated.exclude(status=Case.Status.NEW)
        .filter(escalated_at__gte=since)
        .order_by("-escalated_at", "pk")
    )
    return waiting, handled


def memberships_of(user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )


@dataclass(frozen=True)
class QueueFilters:
    """What the queue page and the API accept; empty means "any"."""

    status: str = ""
    category: str = ""
    region: str = ""
    urgent: str = ""  # "yes", "no" or ""
    assignee: str = ""  # a user id, "me", "none" or ""
    breached: bool = False

    @property
    def is_open_only(self) -> bool:
        # Closed cases leave the queue unless asked for: forty open cases are enough.
        return not self.status


def triage_queue(
    user: User, organization: Organization, filters: QueueFilters, *, now: datetime | None = None
) -> QuerySet[Case]:
    """Her organisation's cases, urgent first, then by the time they must be
    acknowledged; one query whatever the page size (tags are prefetched in one more)."""
    now = now or timezone.now()
    cases = cases_for(user).filter(organization=organization)
    if filters.is_open_only:
        cases = cases.exclude(status=Case.Status.CLOSED)
    else:
        cases = cases.filter(status=filters.status)
    if filters.category:
        cases = cases.filter(report__category=filters.category)
    if filters.region:
        cases = cases.filter(report__region=filters.region)
    if filters.urgent in ("yes", "no"):
        cases = cases.filter(urgent=filters.urgent == "yes")
    if filters.assignee == "me":
        cases = cases.filter(assignee=user)
    elif filters.assignee == "none":
        cases = cases.filter(assignee__isnull=True)
    elif filters.assignee.isdecimal():
        cases = cases.filter(assignee_id=int(filters.assignee))
    if filters.breached:
        cases = cases.filter(breached_q(now))
    return (
        cases.select_related("report", "assignee")
        .prefetch_related("tags")
        .order_by("-priority", "sla_due_at", "id")
    )


def queue_page(
    user: User,
    organization: Organization,
    filters: QueueFilters,
    number,
    *,
    per_page: int,
    now: datetime | None = None,
    strict: bool = False,
) -> Page:
    """One page of the queue.  The page's ids come first, from the queue's index alone;
    only those rows are then loaded with their report, assignee and tags.  Loading the
    joined rows and skipping thousands (a deep page) made PostgreSQL sort the whole
    queue instead (bench/queue.py).  ``strict``: EmptyPage for a page out of range (the
    API says so) instead of the nearest page (the pages do that)."""
    cases = triage_queue(user, organization, filters, now=now)
    paginator = Paginator(cases.values_list("id", flat=True), per_page)
    if strict:
        try:
            page = paginator.page(number)
        except EmptyPage as empty:
            raise EmptyPage(str(empty), paginator.num_pages) from None
    else:
        page = paginator.get_page(number)
    ids = list(page.object_list)
    loaded = {case.pk: case for case in cases.filter(pk__in=ids)}
    page.object_list = [loaded[pk] for pk in ids if pk in loaded]
    return page


def breached_q(now: datetime) -> Q:
    """Not acknowledged in time: still new after its due time."""
    return Q(status=Case.Status.NEW, sla_due_at__lt=now)


def queue_counts(user: User, organization: Organization, *, now: datetime | None = None) -> dict:
    """The numbers at the top of the queue, in one query."""
    now = now or timezone.now()
    # Every count is of open cases: the partial index of open cases is all it reads.
    open_cases = (
        cases_for(user).filter(organization=organization).exclude(status=Case.Status.CLOSED)
    )
    return open_cases.aggregate(
        open=Count("id"),
        new=Count("id", filter=Q(status=Case.Status.NEW)),
        urgent=Count("id", filter=Q(urgent=True)),
        breached=Count("id", filter=breached_q(now)),
        mine=Count("id", filter=Q(assignee=user)),
        unassigned=Count("id", filter=Q(assignee__isnull=True)),
    )


def consent_questions(case: Case) -> list[ConsentRequest]:
    """The questions referrals put to her on her page, her yes first: with what she
    ticked when she filed, where her consent to share stands (the case page says it)."""
    granted = ConsentRequest.State.GRANTED
    return sorted(
        case.report.consent_requests.all(), key=lambda q: (q.state != granted, q.position)
    )


def colleagues(case: Case) -> QuerySet[User]:
    """Who a case can be assigned to: its organisation's members who work cases."""
    roles = [Membership.Role.TRIAGE_LEAD, Membership.Role.CASEWORKER, Membership.Role.ORG_ADMIN]
    return User.objects.filter(
        memberships__organization_id=case.organization_id, memberships__role__in=roles
    ).order_by("username")


TIMELINE_LABELS = {
    "report.filed": gettext_lazy("She filed the report"),
    "reporter.message": gettext_lazy("She wrote a message"),
    "reporter.evidence": gettext_lazy("She added evidence"),
    Action.CASE_ASSIGNED: gettext_lazy("Assigned"),
    Action.CASE_TAGGED: gettext_lazy("Tags changed"),
    Action.NOTE_ADDED: gettext_lazy("Note added"),
    Action.MESSAGE_SENT: gettext_lazy("Reply sent to her"),
    Action.CASE_VIEWED: gettext_lazy("opened the case"),
    Action.EVIDENCE_VIEWED: gettext_lazy("viewed a file"),
    Action.EVIDENCE_DOWNLOADED: gettext_lazy("downloaded an original"),
    Action.REFERRAL_CREATED: gettext_lazy("Referred to another organisation"),
    Action.REFERRAL_CONSENT_ASKED: gettext_lazy("Her consent asked on her page"),
    Action.REFERRAL_ACCEPTED: gettext_lazy("Referral accepted"),
    Action.REFERRAL_DECLINED: gettext_lazy("Referral declined"),
}


def action_label(action: str) -> str:
    return str(TIMELINE_LABELS.get(action, action))


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    action: str
    detail: dict
    hour_only: bool = False  # hers: the hour is all that is kept

    @property
    def label(self) -> str:
        if self.action == Action.CASE_STATUS:
            statuses = dict(Case.Status.choices)
            moved = _("Status: %(from)s → %(to)s") % {
                "from": statuses.get(self.detail.get("from"), "?"),
                "to": statuses.get(self.detail.get("to"), "?"),
            }
            outcome = self.detail.get("outcome")
            if outcome in Case.Outcome.values:
                return f"{moved} ({Case.Outcome(outcome).label})"
            return moved
        if self.action == Action.CASE_LEGAL_HOLD:
            if self.detail.get("on"):
                return _("Placed under legal hold: retention will not erase it")
            return _("Legal hold lifted")
        return action_label(self.action)

    @property
    def reason_label(self) -> str:
        """Why an original was downloaded: a label of the list, or the free text a row
        written before the list holds (the log cannot be rewritten)."""
        reason = self.detail.get("reason")
        if not isinstance(reason, str) or not reason:
            return ""
        return DownloadReason(reason).label if reason in DownloadReason.values else reason


def timeline(case: Case) -> list[TimelineEntry]:
    """What happened to the case, oldest first: the audit rows of acts on it (not the
    reads), her messages and the evidence she added (times to the hour, as stored).

    Her times are to the hour, the staff's exact: sorted by time alone, the message she
    wrote at 14:40 in answer to a reply sent at 14:20 came first, at "14:00".  What is
    known is placed in order instead: a message of hers comes after the reply before it
    in the conversation (messages are numbered within the conversation, and the k-th
    reply of the case was written with its k-th "reply sent" row, in one transaction
    under the case's lock).  Nothing finer is stored or shown: this is the conversation's own
    order, which the page shows anyway; staff acts after that reply, whose order to
    hers nothing tells, follow her message.  Otherwise her acts sit at the start of
    their hour, the only time kept, and the page says "to the hour" beside them."""
    rows = list(
        AuditEvent.objects.filter(case_id=case.pk)
        .exclude(action__in=ACCESS_ACTIONS)
        .order_by("seq")
    )
    keyed = [((e.at, float(e.seq)), TimelineEntry(e.at, e.actor, e.action, e.detail)) for e in rows]
    report = case.report
    messages = list(
        report.messages.order_by("position").values_list("position", "author", "created_at")
    )
    replies = [position for position, author, _ in messages if author != "reporter"]
    sent = [e for e in rows if e.action == Action.MESSAGE_SENT]
    # Erased messages, or replies from before the rows were kept: no pairing is known.
    reply_row = dict(zip(replies, sent, strict=True)) if len(replies) == len(sent) else {}

    def after_known(position: int, hour: datetime) -> tuple[datetime, float]:
        before = [reply_row[r] for r in replies if r < position and r in reply_row]
        if before and before[-1].at >= hour:
            return (before[-1].at, before[-1].seq + 0.5)
        return (hour, -1.0)

    def hers(at: datetime, action: str, detail: dict, key: tuple) -> tuple:
        return (key, TimelineEntry(at, "reporter", action, detail, hour_only=True))

    # Filing comes first: nothing, hers or the staff's, happened to the case before it.
    keyed.append(hers(report.created_at, "report.filed", {}, (report.created_at, -2.0)))
    keyed += [
        hers(at, "reporter.message", {}, after_known(position, at))
        for position, author, at in messages
        if author == "reporter"
    ]
    keyed += [
        hers(item.received_at, "reporter.evidence", {"item": item.pk}, (item.received_at, -1.0))
        for item in report.evidence.all()
    ]
    return [entry for _, entry in sorted(keyed, key=lambda pair: pair[0])]


def access_log(case: Case, *, limit: int = 50) -> list[TimelineEntry]:
    """Who opened the case or its files, newest first."""
    rows = AuditEvent.objects.filter(case_id=case.pk, action__in=ACCESS_ACTIONS).order_by("-seq")
    return [TimelineEntry(e.at, e.actor, e.action, e.detail) for e in rows[:limit]]
