"""Celery tasks of the casework workflow: thin, ids only, safe to run twice.

Every task is acknowledged after it finishes (config/celery.py), and each one claims
its work in the database before doing it, so a message delivered twice, or re-sent by
the outbox sweep, does the work once (casework/workflow.py).
"""

from celery import shared_task

from casework import workflow
from casework.services import lifecycle


@shared_task(acks_late=True, ignore_result=True)
def run_step(step_id: int) -> str:
    """Do one outbox step (tell an organisation, a caseworker, the coordination)."""
    return workflow.run_step(step_id)


@shared_task(acks_late=True, ignore_result=True)
def sweep_outbox() -> int:
    """Beat, every CASEWORK_OUTBOX_SWEEP_SECONDS: re-send waiting steps."""
    return workflow.sweep()


@shared_task(acks_late=True, ignore_result=True)
def escalate_overdue() -> int:
    """Beat: cases nobody acknowledged in time go to the coordination's attention."""
    return lifecycle.escalate_overdue()


@shared_task(acks_late=True, ignore_result=True)
def remind_assignees() -> int:
    """Beat, hourly: remind caseworkers of their cases left untouched."""
    return lifecycle.remind_assignees()


@shared_task(acks_late=True, ignore_result=True)
def apply_retention() -> int:
    """Beat, hourly: crypto-erase closed cases past the retention period."""
    return lifecycle.apply_retention()
