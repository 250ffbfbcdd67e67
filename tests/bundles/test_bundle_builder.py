"""Who the platform lends a case to for building a bundle, and what happens when the
process building it dies (bundles/builder.py).

The building runs here in the test process, which plays a bundle builder, as in
tests/bundles/test_bundles.py; tests/bundles/test_bundle_worker.py runs a real one."""

from __future__ import annotations

import html
import logging
import os
import signal
from datetime import timedelta

import pytest
from celery.signals import worker_shutdown
from django.utils import timezone

from bundles import build, builder
from bundles import services as bundle_services
from casework.audit import Action
from casework.models import AuditEvent, Bundle, BundleBuilder
from evidence import age
from evidence import services as evidence
from evidence.exceptions import CannotOpen
from tests.bundles.test_bundle_worker import stanzas
from tests.bundles.test_bundles import (  # noqa: F401 - fixtures
    ask_and_approve,
    referred,
    running_builder,
)
from tests.support.cast import signed_in_client

State = Bundle.State


def planted_builder(*, signature: str = "") -> age.X25519Identity:
    """What someone who can write to the database (and nothing else) adds: a builder
    row with a recipient of hers, newer than any other, heard from just now.  Returns
    her key, which would open whatever were lent to that row."""
    hers = age.X25519Identity.generate()
    now = timezone.now()
    BundleBuilder.objects.create(
        name="bundles@elsewhere",
        recipient=str(hers.recipient),
        started_at=now + timedelta(minutes=1),  # chosen first if it counted
        heard_at=now,
        signature=signature,
    )
    return hers


@pytest.mark.django_db
def test_a_builder_written_into_the_database_is_lent_nothing(
    cast,
    referred,  # noqa: F811 - the fixture
    running_builder,  # noqa: F811 - the fixture
    caplog,
):
    genuine = BundleBuilder.objects.get(name=builder.name())
    # Even with the genuine builder's signature copied onto it: it signs another recipient.
    hers = planted_builder(signature=genuine.signature)

    with caplog.at_level(logging.ERROR, logger="bundles.services"):
        bundle = ask_and_approve(cast, referred)

    assert bundle.builder == genuine.name  # the approval went to the genuine one
    for item in referred.report.evidence.all():
        with pytest.raises(CannotOpen):
            evidence.open_object(item.original, [hers])
    referred.report.content.refresh_from_db()  # lent to the genuine builder's key
    assert evidence.read_object(referred.report.content, [running_builder])
    passed = AuditEvent.objects.get(action=Action.BUNDLE_BUILDER_REFUSED)
    assert passed.detail["builder"] == "bundles@elsewhere"
    assert passed.detail["recipient"] == str(hers.recipient)
    assert "EVIDENCE_SIGNING_KEY_FILE" in caplog.text
    assert "casework_bundlebuilder" in caplog.text


@pytest.mark.django_db
def test_with_only_a_builder_written_into_the_database_approval_says_whom_to_tell(
    cast,
    referred,  # noqa: F811 - the fixture
):
    planted_builder()
    bundle = bundle_services.request_bundle(referred, actor=cast.users["leila"])
    item = referred.report.evidence.first()
    before = stanzas(item)

    alice = signed_in_client(cast.users["alice"])
    response = alice.post(
        f"/fr/staff/cases/{referred.pk}/bundles/{bundle.uuid}/approve/", follow=True
    )

    said = html.unescape(response.content.decode())
    assert "pas signé par la plateforme" in said
    assert "Prévenez l'opérateur de la plateforme" in said
    bundle.refresh_from_db()
    assert bundle.state == State.REQUESTED  # she may approve again once it is put right
    assert stanzas(item) == before  # nothing lent
    # The refusal undid the approval, not the audit row that says why.
    assert AuditEvent.objects.filter(action=Action.BUNDLE_BUILDER_REFUSED).count() == 1


def claim_then_die(bundle_id: int) -> str:
    """A build that starts, then is killed (out of memory, kill -9) before it ends."""
    Bundle.objects.filter(pk=bundle_id).update(state=State.BUILDING)
    os.kill(os.getpid(), signal.SIGKILL)
    return "never"


@pytest.mark.django_db(transaction=True)
def test_a_build_killed_midway_fails_the_bundle_and_its_loan_is_taken_back(
    cast,
    referred,  # noqa: F811 - the fixture
    running_builder,  # noqa: F811 - the fixture
):
    item = referred.report.evidence.first()
    before = stanzas(item)
    bundle = ask_and_approve(cast, referred)
    assert stanzas(item) == before + 1

    # In a child process of this one, as the worker does (bundles/tasks.build_bundle).
    ended = build.interrupted
    assert (
        builder.build_in_child(bundle.pk, work=claim_then_die, interrupted=ended) == "interrupted"
    )

    bundle.refresh_from_db()
    assert bundle.state == State.FAILED
    assert stanzas(item) == before  # the key's holder took the loan back
    assert AuditEvent.objects.filter(
        action=Action.BUNDLE_FAILED, detail__reason="interrupted"
    ).exists()
    page = signed_in_client(cast.users["leila"]).get(
        f"/fr/staff/cases/{referred.pk}/bundles/{bundle.uuid}/"
    )
    assert "s'est arrêté pendant sa constitution" in html.unescape(page.content.decode())


@pytest.mark.django_db
def test_a_builder_forgets_its_key_when_its_worker_shuts_down():
    builder.become_builder("pytest-shutdown-builder@localhost")
    alive = builder._stop
    try:
        # What Celery sends in the worker's own process once its pool has stopped.
        worker_shutdown.send(sender=None)
        assert builder.identity() is None
        assert builder.name() == ""
        assert alive.is_set()  # its "I am alive" thread stops
    finally:
        builder.stop_building()


def test_a_worker_that_is_no_builder_shuts_down_as_it_always_did():
    assert builder.identity() is None
    worker_shutdown.send(sender=None)
    assert builder.identity() is None
