"""What happens to cases with time, run by beat: escalation, reminders, retention.

Each function is safe to run twice and at the same time as itself: every case is
claimed by a conditional UPDATE, so two beats (or a beat and a slow previous run) never
escalate, remind or erase the same case twice.  Notifications go through the outbox
(casework/workflow.py), written in the same transaction as the change.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from casework import audit, workflow
from casework.audit import Action
from casework.models import AuditEvent, Bundle, Case, CaseNote, Referral, WorkflowStep
from evidence import services as evidence
from evidence.blobstore import blob_store
from evidence.models import SealedObject
from reporting import services as reporting

logger = logging.getLogger(__name__)

Status = Case.Status
StepKind = WorkflowStep.Kind


def overdue(now: datetime) -> Q:
    """Nobody acknowledged it by its due time, and the coordination was not told yet."""
    return Q(status=Status.NEW, sla_due_at__lt=now, escalated_at__isnull=True)


def escalate_overdue(*, now: datetime | None = None) -> int:
    """Hand every case nobody acknowledged in time to the coordination's attention.

    The due time was set when the case opened (4 / 24 / 48 hours by its urgency,
    settings.CASEWORK_SLA_*); the coordination is told by email and sees the case on its
    escalations page.  Returns how many cases were escalated by this run.
    """
    now = now or timezone.now()
    escalated = 0
    for case_id in Case.objects.filter(overdue(now)).values_list("pk", flat=True):
        with transaction.atomic():
            # The claim: a second beat finds escalated_at set and updates nothing.
            if not Case.objects.filter(overdue(now), pk=case_id).update(escalated_at=now):
                continue
            case = Case.objects.get(pk=case_id)
            audit.record(
                audit.SYSTEM,
                Action.CASE_ESCALATED,
                case=case,
                detail={"due": case.sla_due_at.isoformat()},
            )
            workflow.add_step(StepKind.ESCALATION, case=case)
            escalated += 1
    if escalated:
        logger.info("escalated %d case(s) nobody acknowledged in time", escalated)
    return escalated


def remind_assignees(*, now: datetime | None = None) -> int:
    """One email per caseworker listing her open cases that nobody touched for
    CASEWORK_REMINDER_DAYS, at most once per that many days per case.  Returns how many
    reminders were written."""
    now = now or timezone.now()
    quiet_since = now - timedelta(days=settings.CASEWORK_REMINDER_DAYS)
    waiting = (
        Case.objects.exclude(status=Status.CLOSED)
        .filter(assignee__isnull=False, assignee__is_active=True)
        .annotate(last_touch=Coalesce("last_activity_at", "opened_at"))
        .filter(last_touch__lt=quiet_since)
        .filter(Q(reminded_at__isnull=True) | Q(reminded_at__lt=quiet_since))
    )
    by_assignee: dict[int, list[int]] = {}
    for case_id, assignee_id in waiting.values_list("pk", "assignee_id").order_by("pk"):
        by_assignee.setdefault(assignee_id, []).append(case_id)
    written = 0
    for assignee_id, case_ids in by_assignee.items():
        with transaction.atomic():
            claimed = list(
                Case.objects.filter(pk__in=case_ids, assignee_id=assignee_id)
                .filter(Q(reminded_at__isnull=True) | Q(reminded_at__lt=quiet_since))
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)
            )
            if not claimed:
                continue
            Case.objects.filter(pk__in=claimed).update(reminded_at=now)
            workflow.add_step(StepKind.REMINDER, detail={"user": assignee_id, "cases": claimed})
            written += 1
    return written


def retention_due(now: datetime) -> Q:
    cutoff = now - timedelta(days=settings.CASEWORK_RETENTION_DAYS)
    # A case under legal hold waits, however old, until someone lifts the hold.
    return Q(status=Status.CLOSED, closed_at__lt=cutoff, erased_at__isnull=True, legal_hold=False)


def erase_case(case_id: int, *, now: datetime | None = None) -> bool:
    """Crypto-erasure of a closed case past retention: her words, files, messages, her
    key, the case's notes, the referral reasons, bundle refusals and download notes lose
    their headers, then their payloads, and a bundle not yet downloaded loses its file.
    The routing facts, the case's dates and the audit log stay; the log gains a tombstone
    saying how much was erased.  False if someone reopened it, or it was erased already."""
    now = now or timezone.now()
    with transaction.atomic():
        case = (
            Case.objects.select_for_update()
            .filter(retention_due(now), pk=case_id)
            .select_related("report")
            .first()
        )
        if case is None:
            return False
        erased = reporting.erase_report(case.report)
        sealed = [note.body for note in CaseNote.objects.filter(case=case).select_related("body")]
        for referral in Referral.objects.filter(case=case).select_related(
            "reason", "decline_reason"
        ):
            sealed += [referral.reason, referral.decline_reason]
        bundles = Bundle.objects.filter(case=case).select_related("refusal")
        sealed += [bundle.refusal for bundle in bundles]
        # The notes given with downloads of her originals: the audit rows name them.
        downloads = AuditEvent.objects.filter(case_id=case.pk, action=Action.EVIDENCE_DOWNLOADED)
        noted = [row.detail["note"] for row in downloads if isinstance(row.detail.get("note"), int)]
        sealed += list(SealedObject.objects.filter(pk__in=noted))
        # A bundle still waiting to be downloaded holds all of it, sealed to the lawyer.
        for key in bundles.exclude(blob_key="").values_list("blob_key", flat=True):
            transaction.on_commit(lambda key=key: blob_store().delete(key))
        bundles.filter(state=Bundle.State.READY).update(state=Bundle.State.EXPIRED)
        for obj in sealed:
            if obj is not None and obj.erased_at is None:
                evidence.erase_object(obj)
                erased += 1
        Case.objects.filter(pk=case.pk).update(erased_at=now)
        audit.record(audit.SYSTEM, Action.CASE_ERASED, case=case, detail={"sealed_objects": erased})
    return True


def apply_retention(*, now: datetime | None = None, limit: int = 500) -> int:
    """Erase closed cases past CASEWORK_RETENTION_DAYS, at most ``limit`` per run (beat
    runs it hourly, so a backlog drains without one run outliving its time limit)."""
    now = now or timezone.now()
    ids = list(
        Case.objects.filter(retention_due(now)).order_by("closed_at").values_list("pk", flat=True)
    )
    erased = sum(erase_case(case_id, now=now) for case_id in ids[:limit])
    if erased:
        logger.info("retention erased %d closed case(s)", erased)
    return erased


@transaction.atomic
def retry_failed_steps(step_ids: list[int], *, actor) -> int:
    """The operator's "try again" on failed workflow steps (admin): each step sent
    again, and the act on the audit log with the steps it concerned.  Returns how many
    were failed and are now pending."""
    retried = workflow.retry_failed(step_ids)
    if retried:
        audit.record(actor, Action.WORKFLOW_RETRIED, detail={"steps": retried})
    return len(retried)
