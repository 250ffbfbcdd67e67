"""What casework does when reporting announces something (reporting never imports us).

Every signal here is sent inside the transaction that records what it announces, so
the case, the referral and the workflow steps written here commit with her report (her
evidence, her message, her answer), or not at all.
"""

from __future__ import annotations

from django.dispatch import receiver

from casework import services, workflow
from casework.models import Case, WorkflowStep
from reporting.models import Message
from reporting.signals import consent_answered, evidence_added, message_posted, report_recorded

StepKind = WorkflowStep.Kind


@receiver(report_recorded)
def _open_case(sender, report_id: int, **kwargs) -> None:
    case = services.open_case(report_id)
    workflow.add_step(StepKind.NEW_CASE, case=case, after_her_act=True)


def _tell_caseworker(report_id: int) -> None:
    case = Case.objects.filter(report_id=report_id).exclude(status=Case.Status.CLOSED).first()
    if case is not None:
        workflow.add_step(StepKind.ACTIVITY, case=case, after_her_act=True)


@receiver(evidence_added)
def _evidence_added(sender, report_id: int, **kwargs) -> None:
    _tell_caseworker(report_id)


@receiver(message_posted)
def _message_posted(sender, report_id: int, author: str, **kwargs) -> None:
    if author == Message.Author.REPORTER:  # a helper's reply needs no email about itself
        _tell_caseworker(report_id)


@receiver(consent_answered)
def _consent_answered(sender, report_id: int, request_id: int, granted: bool, **kwargs) -> None:
    # Her answer to a referral's question: the referral is offered to the organisation,
    # or refused, with her answer.
    services.record_her_answer(request_id, granted=granted)
