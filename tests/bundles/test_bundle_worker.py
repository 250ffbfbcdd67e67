"""A real bundle worker: started with the bundle queue, it makes its key in memory and
says where to reach it; the association's approval lends it the case through that key,
the job travels through Redis, and the lawyer downloads what it built.  Once it is
built, nothing of the case is left in the builder's memory."""

from __future__ import annotations

import base64
import io
import secrets
import subprocess
import sys

import bagit
import pytest

from bundles import services as bundle_services
from casework.models import Bundle
from evidence.age import read_header
from tests.bundles.test_bundles import NARRATIVE, key_of, opened_bag, referred_case
from tests.support.processes import bundle_builder, descendants, memory_copies, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def canary() -> bytes:
    return f"canary{secrets.token_hex(16)}".encode()


@pytest.fixture
def referred_with_canary(cast, canary):
    """As test_bundles.referred, with the canary in her words and in a text file."""
    return referred_case(
        cast, narrative=f"{NARRATIVE} {canary.decode()}", text=b"x" * 5000 + canary
    )


def forms_of(canary: bytes) -> list[bytes]:
    """The canary's bytes (UTF-8), and the part of its base64 that is the same wherever
    it starts inside a longer base64 text (each of the three alignments)."""
    forms = [canary]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + canary)
        forms.append(encoded[4 if shift else 0 : -4])
    return forms


def test_a_bundle_worker_builds_what_the_association_approved_and_keeps_none_of_it(
    cast, referred_with_canary, canary, settings, tmp_path
):
    case = referred_with_canary
    with bundle_builder(settings, tmp_path) as (hostname, log):
        pid = int((tmp_path / "bundles.pid").read_text())
        item = case.report.evidence.first()
        before = stanzas(item)
        bundle = bundle_services.request_bundle(case, actor=cast.users["leila"])
        alice = cast.users["alice"]
        bundle_services.approve_bundle(bundle, actor=alice, identity=key_of(alice))
        bundle.refresh_from_db()
        assert bundle.builder == hostname
        assert stanzas(item) == before + 1  # lent to the builder's key, for this job
        wait_until(
            lambda: Bundle.objects.get(pk=bundle.pk).state in ("ready", "failed"),
            timeout=60,
            what="the bundle to be built",
        )
        # The job is over once the process that built it is gone (see bundles/builder.py).
        wait_until(lambda: not descendants(pid), timeout=30, what="the build to end")
        # Every live process of the builder — the worker, and any child left — holds no
        # copy of her words or her file, as bytes or in base64.
        assert [memory_copies(p, forms_of(canary)) for p in [pid, *descendants(pid)]] == [0]
    bundle.refresh_from_db()
    assert bundle.state == Bundle.State.READY, (bundle.failure, log.read_text()[-3000:])
    assert bundle.progress_done == bundle.progress_total

    _, _, bag_dir = opened_bag(cast, bundle, tmp_path)
    bagit.Bag(str(bag_dir)).validate()
    assert canary in (bag_dir / "data/case-summary.html").read_bytes()  # it was in the bundle
    # The loan is over: each header is back to the readers it had before approval.
    assert stanzas(item) == before


def test_the_memory_scan_finds_a_canary_a_process_holds(canary):
    """The scan above can fail: a process that holds the canary is seen to."""
    holder = (
        "import sys, time; held = sys.stdin.buffer.readline(); print(1, flush=True); time.sleep(60)"
    )
    with subprocess.Popen(
        [sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as proc:
        try:
            proc.stdin.write(canary + b"\n")
            proc.stdin.flush()
            proc.stdout.readline()
            assert memory_copies(proc.pid, forms_of(canary)) > 0
            assert memory_copies(proc.pid, forms_of(canary[::-1])) == 0
        finally:
            proc.kill()


def stanzas(item) -> int:
    item.original.refresh_from_db()
    return len(read_header(io.BytesIO(bytes(item.original.header))).stanzas)
