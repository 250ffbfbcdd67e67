from celery import shared_task

from evidence import services


@shared_task(acks_late=True)
def sweep_orphan_blobs() -> int:
    """Hourly: remove payloads no row points at. Safe to run twice."""
    return services.sweep_orphan_blobs()
