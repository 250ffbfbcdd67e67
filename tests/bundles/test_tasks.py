"""The bundle tasks under their names, old and new (bundles/tasks.py): a message queued
by the release that had them in casework still runs, and beat sends the new ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import current_app
from django.conf import settings

import bundles.tasks  # noqa: F401 - registers the tasks, as a worker's autodiscovery does
from casework.models import Bundle
from tests.bundles.test_bundles import (  # noqa: F401 - fixtures
    ask_and_approve,
    referred,
    running_builder,
)


def test_beat_sends_the_new_name():
    schedule = settings.CELERY_BEAT_SCHEDULE["expire-bundles"]
    assert schedule["task"] == "bundles.tasks.expire_bundles"
    assert "bundles.tasks.expire_bundles" in current_app.tasks


# Committed rows: the build runs in a child process, on a connection of its own.
@pytest.mark.django_db(transaction=True)
def test_a_message_under_the_old_names_still_runs(
    cast,
    referred,  # noqa: F811 - the fixture
    running_builder,  # noqa: F811 - the fixture
):
    bundle = ask_and_approve(cast, referred)
    # As a worker runs a message it took from the queue: by the name it carries.
    built = current_app.tasks["casework.tasks.build_bundle"].apply(args=(bundle.pk,)).get()
    # This process plays the builder, so the build runs in a child of it (builder.py).
    assert built == "built"
    bundle.refresh_from_db()
    assert bundle.state == Bundle.State.READY

    Bundle.objects.filter(pk=bundle.pk).update(expires_at=bundle.built_at - timedelta(days=1))
    expired = current_app.tasks["casework.tasks.expire_bundles"].apply().get()
    assert expired == 1
    bundle.refresh_from_db()
    assert bundle.state == Bundle.State.EXPIRED
