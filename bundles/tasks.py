"""Celery tasks of evidence bundles: thin, ids only, safe to run twice.

``build_bundle`` is sent by name (bundles/services.py) to the private queue of the one
builder lent the keys; ``expire_bundles`` runs from beat (config/settings.py).
"""

from celery import shared_task

from bundles import build, builder, services


@shared_task(acks_late=True, ignore_result=True)
def build_bundle(bundle_id: int) -> str:
    """Build one approved evidence bundle; sent to the one builder lent the keys, which
    builds it in a child process that exits with what it read (bundles/builder.py)."""
    # The builder runs what it is handed: it never imports the build, which needs it.
    return builder.build_in_child(bundle_id, work=build.build_bundle, interrupted=build.interrupted)


@shared_task(acks_late=True, ignore_result=True)
def expire_bundles() -> int:
    """Beat, hourly: ready bundles past their date lose their file."""
    return services.expire_bundles()


# The names these tasks had when bundles lived in casework: a message already queued
# under them (a build approved just before the upgrade, a beat tick from an old
# schedule file) still runs.  Remove both in the release after the one that moved them
# (issue 17), once no queue can hold a message sent by the old code.
@shared_task(name="casework.tasks.build_bundle", acks_late=True, ignore_result=True)
def build_bundle_by_its_old_name(bundle_id: int) -> str:
    return build_bundle(bundle_id)


@shared_task(name="casework.tasks.expire_bundles", acks_late=True, ignore_result=True)
def expire_bundles_by_its_old_name() -> int:
    return expire_bundles()
