"""A real bundle worker: started with the bundle queue, it makes its key in memory and
says where to reach it; the association's approval lends it the case through that key,
the job travels through Redis, and the lawyer downloads what it built."""

from __future__ import annotations

import io

import bagit
import pytest

from casework import services
from casework.models import Bundle
from evidence.age import read_header
from tests.casework.test_bundles import key_of, opened_bag, referred  # noqa: F401 - fixture
from tests.processes import bundle_builder, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_bundle_worker_builds_what_the_association_approved(cast, referred, settings, tmp_path):  # noqa: F811 - the fixture
    with bundle_builder(settings, tmp_path) as (hostname, log):
        item = referred.report.evidence.first()
        before = stanzas(item)
        bundle = services.request_bundle(referred, actor=cast.users["leila"])
        alice = cast.users["alice"]
        services.approve_bundle(bundle, actor=alice, identity=key_of(alice))
        bundle.refresh_from_db()
        assert bundle.builder == hostname
        assert stanzas(item) == before + 1  # lent to the builder's key, for this job
        wait_until(
            lambda: Bundle.objects.get(pk=bundle.pk).state in ("ready", "failed"),
            timeout=60,
            what="the bundle to be built",
        )
    bundle.refresh_from_db()
    assert bundle.state == Bundle.State.READY, (bundle.failure, log.read_text()[-3000:])
    assert bundle.progress_done == bundle.progress_total

    _, _, bag_dir = opened_bag(cast, bundle, tmp_path)
    bagit.Bag(str(bag_dir)).validate()
    # The loan is over: each header is back to the readers it had before approval.
    assert stanzas(item) == before


def stanzas(item) -> int:
    item.original.refresh_from_db()
    return len(read_header(io.BytesIO(bytes(item.original.header))).stanzas)
