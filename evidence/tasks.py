from celery import shared_task
from django.conf import settings

from evidence import resumable, services


@shared_task(acks_late=True)
def sweep_orphan_blobs() -> int:
    """Hourly: remove uploads her browser abandoned, then payloads no row points at.
    Safe to run twice."""
    abandoned = resumable.sweep_abandoned_uploads(
        older_than_hours=settings.EVIDENCE_UPLOAD_ABANDONED_HOURS
    )
    return abandoned + services.sweep_orphan_blobs()
