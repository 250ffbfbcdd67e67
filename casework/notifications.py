"""The emails the workflow sends: that something waits, never what it is about.

An email crosses mail servers nobody here controls, so it carries only a case
reference, an organisation's name, a due time and a link to the signed-in page: no
category, region, urgency sign, name, words or file of hers (DESIGN.md).  Each step sends
one message (everyone in Bcc), so the mail server takes all of it or none of it, and a
step retried after a failure does not tell half the people twice.

Written in the site's language (settings.LANGUAGE_CODE): staff accounts carry no
language of their own yet.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from casework import workflow
from casework.models import Case, Membership, Organization, Referral, User, WorkflowStep

logger = logging.getLogger(__name__)

StepKind = WorkflowStep.Kind


def _link(name: str, *args) -> str:
    return settings.SITE_URL + reverse(name, args=args)


def organization_addresses(organization: Organization) -> list[str]:
    """Its notification address, then its members who work cases (one each)."""
    roles = [Membership.Role.TRIAGE_LEAD, Membership.Role.CASEWORKER, Membership.Role.ORG_ADMIN]
    members = User.objects.filter(
        is_active=True, memberships__organization=organization, memberships__role__in=roles
    ).exclude(email="")
    addresses = [organization.notification_email] if organization.notification_email else []
    addresses += members.order_by("pk").values_list("email", flat=True)
    return list(dict.fromkeys(addresses))


def coordination_addresses() -> list[str]:
    addresses: list[str] = []
    for organization in Organization.objects.filter(kind=Organization.Kind.NATIONAL_COORDINATOR):
        addresses += organization_addresses(organization)
    return list(dict.fromkeys(addresses))


def send(addresses: list[str], subject: str, template: str, context: dict) -> int:
    """One message to ``addresses`` (all in Bcc), its body rendered from ``template`` (a
    template name); the current step is forgotten once the mail server accepted it.
    Other apps' performers (bundles/notifications.py) send through it too."""
    if not addresses:
        # Nobody to tell by email: the case is in the queue all the same.
        logger.info("no address to notify for %s", template)
        return 0
    body = render_to_string(template, context)
    step_message_id = workflow.message_id()
    message = EmailMessage(
        subject=f"[{settings.OTP_TOTP_ISSUER}] {subject}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[settings.DEFAULT_FROM_EMAIL],
        bcc=addresses,
        headers={"Message-ID": step_message_id} if step_message_id else None,
    )
    connection = get_connection()
    connection.open()
    try:
        sent = connection.send_messages([message])
        workflow.performed()  # accepted: forget the step before anything else can fail
    finally:
        connection.close()
    return sent


def _local(moment):
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")


@workflow.performs(StepKind.NEW_CASE)
def new_case(step: WorkflowStep) -> None:
    case = step.case
    if case is None or case.status != Case.Status.NEW:
        return  # someone already took it: no point calling everyone
    with translation.override(settings.LANGUAGE_CODE):
        send(
            organization_addresses(case.organization),
            _("New case %(reference)s is waiting") % {"reference": case.reference},
            "casework/email/new_case.txt",
            {
                "case": case,
                "organization": case.organization,
                "due": _local(case.sla_due_at),
                "link": _link("casework:case", case.pk),
            },
        )


@workflow.performs(StepKind.ACTIVITY)
def activity(step: WorkflowStep) -> None:
    case = step.case
    if case is None or case.status == Case.Status.CLOSED or case.erased_at:
        return
    assignee = case.assignee
    if assignee is not None and assignee.is_active and assignee.email:
        addresses = [assignee.email]
    else:  # nobody has it yet: whoever watches the organisation's queue
        addresses = organization_addresses(case.organization)
    with translation.override(settings.LANGUAGE_CODE):
        send(
            addresses,
            _("Something new on case %(reference)s") % {"reference": case.reference},
            "casework/email/activity.txt",
            {"case": case, "link": _link("casework:case", case.pk)},
        )


@workflow.performs(StepKind.ESCALATION)
def escalation(step: WorkflowStep) -> None:
    case = step.case
    if case is None or case.status != Case.Status.NEW:
        return  # acknowledged meanwhile
    with translation.override(settings.LANGUAGE_CODE):
        send(
            coordination_addresses(),
            _("Case %(reference)s was not acknowledged in time") % {"reference": case.reference},
            "casework/email/escalation.txt",
            {
                "case": case,
                "organization": case.organization,
                "due": _local(case.sla_due_at),
                "link": _link("casework:escalations"),
            },
        )


@workflow.performs(StepKind.REMINDER)
def reminder(step: WorkflowStep) -> None:
    user = User.objects.filter(pk=step.detail.get("user"), is_active=True).first()
    if user is None or not user.email:
        return
    cases = list(
        Case.objects.filter(pk__in=step.detail.get("cases", []), assignee=user)
        .exclude(status=Case.Status.CLOSED)
        .order_by("-priority", "sla_due_at", "pk")
    )
    if not cases:
        return
    with translation.override(settings.LANGUAGE_CODE):
        send(
            [user.email],
            _("%(count)d of your cases are waiting for you") % {"count": len(cases)},
            "casework/email/reminder.txt",
            {
                "cases": [(c.reference, _link("casework:case", c.pk)) for c in cases],
                "days": settings.CASEWORK_REMINDER_DAYS,
            },
        )


def _referral(step: WorkflowStep) -> Referral | None:
    return (
        Referral.objects.filter(pk=step.detail.get("referral"))
        .select_related("case", "from_organization", "to_organization", "referred_by")
        .first()
    )


@workflow.performs(StepKind.REFERRAL_OFFERED)
def referral_offered(step: WorkflowStep) -> None:
    referral = _referral(step)
    if referral is None or referral.state != Referral.State.OFFERED:
        return
    with translation.override(settings.LANGUAGE_CODE):
        send(
            organization_addresses(referral.to_organization),
            _("%(organization)s asks you to take a case")
            % {"organization": referral.from_organization.name},
            "casework/email/referral_offered.txt",
            {"referral": referral, "link": _link("casework:referrals")},
        )


@workflow.performs(StepKind.REFERRAL_ANSWERED)
def referral_answered(step: WorkflowStep) -> None:
    referral = _referral(step)
    if referral is None:
        return
    referrer = referral.referred_by
    addresses = [referrer.email] if referrer.is_active and referrer.email else []
    with translation.override(settings.LANGUAGE_CODE):
        send(
            addresses or organization_addresses(referral.from_organization),
            _("Referral of case %(reference)s: %(state)s")
            % {
                "reference": referral.case.reference,
                "state": referral.get_state_display(),
            },
            "casework/email/referral_answered.txt",
            {"referral": referral, "link": _link("casework:case", referral.case_id)},
        )
