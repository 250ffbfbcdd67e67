"""Referrals: a case shared with another organisation, for a service, with her consent.

Access is given the only way the keys allow (DESIGN.md): whoever holds a key that opens
her report re-issues its headers with the receiving organisation's recipient; no payload
is ever re-encrypted.  When her consent to share is on record (she ticked it when she
filed), the referring caseworker's key does it at once.  Otherwise she is asked on her
return visit (reporting owns the question), and her own key does it when she says yes:
nobody else could, and nobody should before she agrees.  The receiving organisation then
accepts (it reads the case from then on, read-only) or declines with a reason (its own
key re-issues the headers without itself).

Every staff step is in the audit log, in the transaction of the act; the reasons are
sealed to both organisations and never written in a row.  Her answer writes no audit
row: its exact time would date her visit (the referral keeps the answer, to the hour).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from casework import audit, states, workflow
from casework.audit import Action
from casework.exceptions import KeyLocked, NotAllowed
from casework.models import Case, Membership, Organization, Referral, User, WorkflowStep
from casework.services.access import (
    note_member_activity,
    open_organization_key,
    require_case_worker,
)
from casework.services.reasons import open_reason, seal_reason
from evidence import keys
from evidence import services as evidence
from evidence.exceptions import CannotOpen
from reporting import facts
from reporting import services as reporting

ReferralState = Referral.State
StepKind = WorkflowStep.Kind
# A referral still under way, or accepted: a second one to the same organisation would
# ask her, or tell the organisation, twice.
OPEN_STATES = [ReferralState.AWAITING_CONSENT, ReferralState.OFFERED, ReferralState.ACCEPTED]
# What the receiving organisation sees: nothing before she agreed, nothing she refused.
SEEN_BY_RECEIVER = [ReferralState.OFFERED, ReferralState.ACCEPTED, ReferralState.DECLINED]


class ReferralRefused(Exception):
    """The referral, or its answer, cannot be made as asked (``args[0]`` says why)."""


@dataclass
class ReferralView:
    """A referral and its reasons, opened for one request."""

    referral: Referral
    reason: str | None  # None: the key that opens it is locked in this session
    decline_reason: str | None = None
    can_answer: bool = False


def may_answer(membership: Membership | None) -> bool:
    """Who accepts or declines for the receiving organisation: those who work cases,
    and a legal partner's lawyers (taking a case is their call there)."""
    if membership is None:
        return False
    lawyer = (
        membership.role == Membership.Role.LEGAL_PARTNER
        and membership.organization.kind == Organization.Kind.LEGAL_PARTNER
    )
    return membership.can_work_cases or lawyer


def _answerer(referral: Referral, actor: User) -> Membership:
    membership = (
        Membership.objects.filter(user=actor, organization_id=referral.to_organization_id)
        .select_related("organization", "user")
        .first()
    )
    if not may_answer(membership):
        raise NotAllowed("referral", referral.pk)
    return membership


# --- reads --------------------------------------------------------------------------------


def referral_targets(case: Case) -> QuerySet[Organization]:
    """Where the case may be referred: other organisations holding a key that do not
    read her report already and have no referral of it under way."""
    under_way = Referral.objects.filter(case=case, state__in=OPEN_STATES).values(
        "to_organization_id"
    )
    return (
        Organization.objects.exclude(pk=case.organization_id)
        .filter(sealed_key__isnull=False)
        .exclude(key_recipient="")
        .exclude(key_recipient__in=case.report.sealed_to)
        .exclude(pk__in=under_way)
        .order_by("kind", "name")
    )


def referrals_received_by(user: User) -> QuerySet[Referral]:
    """Referrals to her organisations that they may see: offered ones first, then the
    answered ones, newest first."""
    if not user.is_authenticated:
        return Referral.objects.none()
    organizations = Membership.objects.filter(user=user).values("organization_id")
    offered_first = models.Case(
        models.When(state=ReferralState.OFFERED, then=models.Value(0)),
        default=models.Value(1),
        output_field=models.IntegerField(),
    )
    return (
        Referral.objects.filter(to_organization_id__in=organizations, state__in=SEEN_BY_RECEIVER)
        .select_related("case", "from_organization", "to_organization", "reason", "decline_reason")
        .order_by(offered_first, "-answered_at", "-pk")
    )


def received_referrals(user: User, *, identity: keys.Identity | None) -> list[ReferralView]:
    """Her organisations' referrals, with the reasons opened by her organisation's key."""
    memberships = {
        m.organization_id: m
        for m in Membership.objects.filter(user=user).select_related("organization", "user")
    }
    org_keys: dict[int, keys.Identity | None] = {}
    views = []
    for referral in referrals_received_by(user):
        org_id = referral.to_organization_id
        if org_id not in org_keys:
            try:
                org_keys[org_id] = open_organization_key(
                    referral.case, identity, organization=memberships[org_id].organization
                )
            except KeyLocked:
                org_keys[org_id] = None
        views.append(
            ReferralView(
                referral,
                open_reason(referral.reason, org_keys[org_id]),
                open_reason(referral.decline_reason, org_keys[org_id]),
                can_answer=may_answer(memberships[org_id]),
            )
        )
    return views


def case_referrals(
    case: Case, *, organization: Organization, identity: keys.Identity | None
) -> list[ReferralView]:
    """The case's referrals, for the owning organisation's members, reasons opened
    with its key (None where the key is locked)."""
    try:
        org_key = open_organization_key(case, identity, organization=organization)
    except KeyLocked:
        org_key = None
    referrals = case.referrals.select_related(
        "to_organization", "referred_by", "answered_by", "reason", "decline_reason"
    )
    return [
        ReferralView(r, open_reason(r.reason, org_key), open_reason(r.decline_reason, org_key))
        for r in referrals
    ]


# --- acts ---------------------------------------------------------------------------------


def refer_case(
    case: Case,
    *,
    to: Organization,
    service: str,
    reason: str,
    actor: User,
    identity: keys.Identity | None,
) -> Referral:
    """Refer the case to another organisation, for ``service``, for a reason sealed to
    both.  With her consent on record, her report is shared with it at once (the
    owner's key re-issues the headers) and it is offered the case; without, she is
    asked on her page and the referral waits for her answer."""
    # Whatever rolls back, the sealed reason's payload goes with it.
    with evidence.discard_on_failure(), transaction.atomic():
        return _refer(case, to=to, service=service, reason=reason, actor=actor, identity=identity)


def _refer(case, *, to, service, reason, actor, identity) -> Referral:
    require_case_worker(case, actor)
    reason = reason.strip()
    if not reason:
        raise ReferralRefused("reason_required")
    if service not in facts.Service.values:
        raise ReferralRefused("unknown_service")
    # Locked: two caseworkers referring at once to the same organisation make one referral.
    locked = (
        Case.objects.select_for_update().select_related("report", "organization").get(pk=case.pk)
    )
    to = Organization.objects.get(pk=to.pk)
    if locked.erased_at is not None:
        raise ReferralRefused("erased")
    if to.pk == locked.organization_id:
        raise ReferralRefused("same_organisation")
    if to.sealed_key is None or not to.key_recipient:
        raise ReferralRefused("no_key")
    if Referral.objects.filter(case=locked, to_organization=to, state__in=OPEN_STATES).exists():
        raise ReferralRefused("already_under_way")
    report = locked.report
    if to.key_recipient in report.sealed_to:
        # It reads her report already (the coordination, from intake): declining would
        # take away an access this referral did not give.
        raise ReferralRefused("already_reads")
    consent = report.consent_share
    question = None
    if consent:
        owner_key = open_organization_key(locked, identity)
        try:
            reporting.add_reader(report, to.key_recipient, unlocked_by=owner_key)
        except CannotOpen as exc:
            raise KeyLocked(locked.organization_id) from exc
    else:
        question = reporting.ask_consent(
            report, service=service, organization_name=to.name, recipient=to.key_recipient
        )
    referral = Referral.objects.create(
        case=locked,
        from_organization=locked.organization,
        to_organization=to,
        service=service,
        reason=seal_reason(reason, locked.organization, to),
        state=ReferralState.OFFERED if consent else ReferralState.AWAITING_CONSENT,
        referred_by=actor,
        consent_request=question,
        created_at=timezone.now(),
    )
    note_member_activity(locked)
    audit.record(
        actor,
        Action.REFERRAL_CREATED,
        case=locked,
        detail={
            "referral": referral.pk,
            "to": to.pk,
            "service": service,
            "consent": "on_record" if consent else "asked",
        },
    )
    if consent:
        workflow.add_step(StepKind.REFERRAL_OFFERED, case=locked, detail={"referral": referral.pk})
    else:
        audit.record(
            actor,
            Action.REFERRAL_CONSENT_ASKED,
            case=locked,
            detail={"referral": referral.pk, "to": to.pk},
        )
    return referral


def _offered(referral: Referral) -> Referral:
    locked = (
        Referral.objects.select_for_update()
        .select_related("case", "case__report", "from_organization", "to_organization")
        .get(pk=referral.pk)
    )
    if locked.state != ReferralState.OFFERED:
        raise ReferralRefused("not_offered")
    return locked


@transaction.atomic
def accept_referral(referral: Referral, *, actor: User) -> Referral:
    """The receiving organisation takes the case: its members read it from now on
    (read-only; the referring organisation keeps working it), and the case becomes
    "referred" where its state allows, which tells her so."""
    _answerer(referral, actor)
    locked = _offered(referral)
    locked.state = ReferralState.ACCEPTED
    locked.answered_by = actor
    locked.answered_at = timezone.now()
    locked.save(update_fields=["state", "answered_by", "answered_at"])
    audit.record(
        actor,
        Action.REFERRAL_ACCEPTED,
        case=locked.case,
        organization=locked.to_organization,
        detail={
            "referral": locked.pk,
            # Where her consent is: ticked when she filed, or given in her answer (whose
            # time is on the question, to the hour, and nowhere else).
            "consent": "her_answer" if locked.consent_request_id else "on_record",
        },
    )
    _mark_referred(locked, actor)
    workflow.add_step(StepKind.REFERRAL_ANSWERED, case=locked.case, detail={"referral": locked.pk})
    return locked


def _mark_referred(referral: Referral, actor: User) -> None:
    case = Case.objects.select_for_update().select_related("report").get(pk=referral.case_id)
    target = Case.Status.REFERRED
    if not states.allowed(case.status, target, consent_share=states.has_consent(case)):
        return  # new (nobody acknowledged it yet) or closed: its status is the owner's call
    previous = case.status
    case.status = target
    case.last_activity_at = timezone.now()
    case.save(update_fields=["status", "last_activity_at"])
    reporting.set_status(case.report, states.REPORTER_STATUS[target])
    audit.record(
        actor,
        Action.CASE_STATUS,
        case=case,
        detail={"from": previous, "to": target, "referral": referral.pk},
    )


def decline_referral(
    referral: Referral, *, reason: str, actor: User, identity: keys.Identity | None
) -> Referral:
    """The receiving organisation says no, and why (sealed to both organisations).  Its
    own key re-issues her report's headers without itself: it reads nothing more."""
    with evidence.discard_on_failure(), transaction.atomic():
        return _decline(referral, reason=reason, actor=actor, identity=identity)


def _decline(referral, *, reason, actor, identity) -> Referral:
    _answerer(referral, actor)
    reason = reason.strip()
    if not reason:
        raise ReferralRefused("reason_required")
    locked = _offered(referral)
    to = locked.to_organization
    own_key = open_organization_key(locked.case, identity, organization=to)
    try:
        reporting.remove_reader(locked.case.report, to.key_recipient, unlocked_by=own_key)
    except CannotOpen as exc:
        raise KeyLocked(to.pk) from exc
    locked.decline_reason = seal_reason(reason, locked.from_organization, to)
    locked.state = ReferralState.DECLINED
    locked.answered_by = actor
    locked.answered_at = timezone.now()
    locked.save(update_fields=["decline_reason", "state", "answered_by", "answered_at"])
    audit.record(
        actor,
        Action.REFERRAL_DECLINED,
        case=locked.case,
        organization=to,
        detail={"referral": locked.pk},
    )
    workflow.add_step(StepKind.REFERRAL_ANSWERED, case=locked.case, detail={"referral": locked.pk})
    return locked


@transaction.atomic
def record_her_answer(request_id: int, *, granted: bool) -> Referral | None:
    """Her answer to the question a referral put to her (reporting's
    ``consent_answered``, inside the transaction of her answer).  Yes: her key has
    already shared her report with the organisation, which is now offered the case.
    No: the referral ends there, and nothing was shared.  No audit row: its exact time
    would date her visit."""
    referral = (
        Referral.objects.select_for_update()
        .filter(consent_request_id=request_id, state=ReferralState.AWAITING_CONSENT)
        .select_related("consent_request")
        .first()
    )
    if referral is None:
        return None
    if granted:
        referral.state = ReferralState.OFFERED
        referral.save(update_fields=["state"])
        workflow.add_step(
            StepKind.REFERRAL_OFFERED,
            case=referral.case,
            detail={"referral": referral.pk},
            after_her_act=True,
        )
    else:
        referral.state = ReferralState.REFUSED
        # Her answer's hour, as the question keeps it: nothing finer.
        referral.answered_at = referral.consent_request.answered_at
        referral.save(update_fields=["state", "answered_at"])
        workflow.add_step(
            StepKind.REFERRAL_ANSWERED,
            case=referral.case,
            detail={"referral": referral.pk},
            after_her_act=True,
        )
    return referral
