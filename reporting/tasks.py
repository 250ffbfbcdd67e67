from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task(acks_late=True)
def clear_expired_sessions() -> int:
    """Hourly: delete expired sessions.  A reporter's session names her report and holds
    her sealed key while she reads it; Django never deletes one by itself, so without
    this a copy of the database would list every visit since the site began.  Safe to
    run twice."""
    deleted, _by_model = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
