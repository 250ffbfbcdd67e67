"""Evidence bundles, from the lawyer's request to the file she opens with `age`.

The building runs here in the test process, which plays a bundle builder (its key made
in memory by bundles.builder, as a worker does at start);
tests/bundles/test_bundle_worker.py runs it on a real worker through Redis.
"""

from __future__ import annotations

import html
import io
import json
import os
import tarfile
from datetime import timedelta

import bagit
import pytest
from django.core import mail

from bundles import build, builder
from bundles import services as bundle_services
from casework import audit, services, workflow
from casework.audit import Action
from casework.models import AuditEvent, Bundle, Membership, Organization
from evidence import services as evidence
from evidence import verify_bundle
from evidence.blobstore import blob_store, this_hour
from evidence.exceptions import CannotOpen
from evidence.models import CustodyEvent
from tests.evidence.agetool import run
from tests.support.cast import PASSWORD, file_report, new_user, signed_in_client
from tests.support.uploading import jpeg

State = Bundle.State
NARRATIVE = "Il a publié mes photos et menace de les envoyer à mon employeur."


def key_of(user):
    return services.unlock_member_key(user, PASSWORD)


def referred_case(cast, *, narrative: str = NARRATIVE, text: bytes = b"x" * 5000):
    """A case of association A, with a photo and a text file, referred to the legal
    clinic with her consent and accepted by leila."""
    report, _ = file_report(
        narrative=narrative, files=(("capture écran.jpg", jpeg()), ("menaces.txt", text))
    )
    alice = cast.users["alice"]
    referral = services.refer_case(
        report.case,
        to=cast.orgs["clinic"],
        service="legal",
        reason="Plainte au pénal.",
        actor=alice,
        identity=key_of(alice),
    )
    services.accept_referral(referral, actor=cast.users["leila"])
    return report.case


@pytest.fixture
def referred(cast):
    return referred_case(cast)


@pytest.fixture
def running_builder():
    """This process, as a bundle builder: its key made in memory, its row says it is
    alive."""
    identity = builder.become_builder("pytest-builder@localhost")
    yield identity
    builder.stop_building()


def ask_and_approve(cast, case, **include) -> Bundle:
    bundle = bundle_services.request_bundle(case, actor=cast.users["leila"])
    alice = cast.users["alice"]
    return bundle_services.approve_bundle(bundle, actor=alice, identity=key_of(alice), **include)


def opened_bag(cast, bundle: Bundle, tmp_path):
    """The downloaded file, opened with the Debian age tool and the clinic's key."""
    lawyer = signed_in_client(cast.users["leila"])
    response = lawyer.get(f"/fr/staff/cases/{bundle.case_id}/bundles/{bundle.uuid}/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    sealed = tmp_path / bundle.file_name
    sealed.write_bytes(b"".join(response.streaming_content))
    clinic_key = services.organization_identity(cast.orgs["clinic"], key_of(cast.users["leila"]))
    key_file = tmp_path / "clinic.key"
    key_file.write_text(f"{clinic_key}\n")
    opened = run("-d", "-i", key_file, sealed)
    assert opened.returncode == 0, opened.stderr.decode()
    with tarfile.open(fileobj=io.BytesIO(opened.stdout)) as tar:
        (top,) = {name.split("/")[0] for name in tar.getnames()}
        tar.extractall(tmp_path / "bag", filter="data")
    return sealed, key_file, tmp_path / "bag" / top


def test_a_lawyer_asks_the_association_approves_and_she_opens_a_valid_signed_bag(
    cast, referred, running_builder, tmp_path
):
    bundle = ask_and_approve(cast, referred)
    assert bundle.state == State.PENDING
    assert build.build_bundle(bundle.pk) == "built"
    bundle.refresh_from_db()
    assert bundle.state == State.READY
    assert bundle.expires_at > bundle.built_at

    sealed, key_file, bag_dir = opened_bag(cast, bundle, tmp_path)
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert bag.info["External-Identifier"] == referred.reference
    assert bag.info["Internal-Notes"] == "not included"
    originals = sorted(p.name for p in (bag_dir / "data/originals").iterdir())
    assert any(name.endswith("_capture_écran.jpg") for name in originals)
    assert (bag_dir / "data/case-summary.pdf").read_bytes().startswith(b"%PDF-")
    assert NARRATIVE in (bag_dir / "data/case-summary.html").read_text()
    assert not (bag_dir / "data/messages").exists()  # not chosen

    # The chain of custody ends with this export, and names the files' hashes.
    custody = [
        json.loads(line) for line in (bag_dir / "data/custody.jsonl").read_text().splitlines()
    ]
    exported = [event for event in custody if event["action"] == "exported"]
    assert len(exported) == 2
    assert {e["detail"]["bundle"] for e in exported} == {str(bundle.uuid)}
    assert CustodyEvent.objects.filter(action=CustodyEvent.Action.EXPORTED).count() == 2

    # The standalone verifier agrees, against the key the site publishes.
    public_key = tmp_path / "signing-key.pem"
    public_key.write_bytes(
        signed_in_client(cast.users["leila"]).get("/bundles/signing-key.pem").content
    )
    report = verify_bundle.verify(sealed, identity_file=key_file, public_key_file=public_key)
    assert report.valid, report.reason
    # One byte changed anywhere in the file the lawyer carries, and it is not valid.
    data = bytearray(sealed.read_bytes())
    data[len(data) // 2] ^= 0x01
    sealed.write_bytes(bytes(data))
    tampered = verify_bundle.verify(sealed, identity_file=key_file, public_key_file=public_key)
    assert not tampered.valid


def test_the_builder_gives_its_access_back_once_the_bundle_is_built(
    cast, referred, running_builder
):
    bundle = ask_and_approve(cast, referred)
    build.build_bundle(bundle.pk)
    item = referred.report.evidence.first()
    with pytest.raises(CannotOpen):
        evidence.open_object(item.original, [running_builder])
    # ...while the organisations' own access is untouched.
    clinic_key = services.organization_identity(cast.orgs["clinic"], key_of(cast.users["leila"]))
    assert evidence.read_object(item.original, [clinic_key])


def test_notes_and_the_conversation_go_in_only_when_the_approver_includes_them(
    cast, referred, running_builder, tmp_path
):
    alice = cast.users["alice"]
    services.add_note(referred, "Son frère la surveille.", actor=alice)
    services.reply_to_reporter(referred, "Nous préparons le dossier.", actor=alice)
    bundle = ask_and_approve(cast, referred, include_notes=True, include_messages=True)
    build.build_bundle(bundle.pk)
    bundle.refresh_from_db()
    _, _, bag_dir = opened_bag(cast, bundle, tmp_path)
    assert "Son frère la surveille." in (bag_dir / "data/case-summary.html").read_text()
    conversation = (bag_dir / "data/messages/conversation.jsonl").read_text()
    assert "Nous préparons le dossier." in conversation
    assert bagit.Bag(str(bag_dir)).info["Internal-Notes"] == "included"


def test_the_bundle_page_reloads_itself_while_building_and_says_how_far(
    cast, referred, running_builder
):
    bundle = ask_and_approve(cast, referred)
    Bundle.objects.filter(pk=bundle.pk).update(
        state=State.BUILDING, progress_done=bundle.progress_total // 2
    )
    page = signed_in_client(cast.users["leila"]).get(
        f"/fr/staff/cases/{referred.pk}/bundles/{bundle.uuid}/"
    )
    html = page.content.decode()
    assert '<meta http-equiv="refresh" content="3">' in html
    assert "50 %" in html
    assert "En cours de construction" in html


def test_without_her_consent_nothing_reaches_the_clinic_and_it_cannot_ask(cast):
    report, _ = file_report(narrative=NARRATIVE, consent_share=False)
    alice = cast.users["alice"]
    services.refer_case(
        report.case,
        to=cast.orgs["clinic"],
        service="legal",
        reason="Plainte au pénal.",
        actor=alice,
        identity=key_of(alice),
    )  # waits for her answer on her page
    lawyer = signed_in_client(cast.users["leila"])
    assert lawyer.post(f"/fr/staff/cases/{report.case.pk}/bundles/").status_code == 404
    assert not Bundle.objects.exists()


def test_with_no_builder_running_approval_says_so_and_nothing_is_lent(cast, referred):
    bundle = bundle_services.request_bundle(referred, actor=cast.users["leila"])
    alice = signed_in_client(cast.users["alice"])
    response = alice.post(
        f"/fr/staff/cases/{referred.pk}/bundles/{bundle.uuid}/approve/", follow=True
    )
    assert "Le service de constitution des dossiers ne fonctionne pas" in response.content.decode()
    bundle.refresh_from_db()
    assert bundle.state == State.REQUESTED


def test_a_refusal_needs_a_reason_and_the_lawyer_reads_it(cast, referred):
    bundle = bundle_services.request_bundle(referred, actor=cast.users["leila"])
    alice = signed_in_client(cast.users["alice"])
    url = f"/fr/staff/cases/{referred.pk}/bundles/{bundle.uuid}/refuse/"
    alice.post(url, {"reason": ""})
    bundle.refresh_from_db()
    assert bundle.state == State.REQUESTED
    alice.post(url, {"reason": "Elle a retiré sa plainte."})
    bundle.refresh_from_db()
    assert bundle.state == State.REFUSED
    page = signed_in_client(cast.users["leila"]).get(
        f"/fr/staff/cases/{referred.pk}/bundles/{bundle.uuid}/"
    )
    assert "Elle a retiré sa plainte." in page.content.decode()
    # The reason is sealed, and no audit row holds it.
    assert not AuditEvent.objects.filter(detail__icontains="retiré").exists()


def test_another_legal_partner_cannot_ask_see_or_download(cast, referred, running_builder):
    other = Organization.objects.create(
        name="Cabinet M", slug="cabinet-m", kind=Organization.Kind.LEGAL_PARTNER
    )
    mounia = new_user("mounia")
    services.add_member(other, mounia, role=Membership.Role.LEGAL_PARTNER, unlocked_by=None)
    bundle = ask_and_approve(cast, referred)
    build.build_bundle(bundle.pk)
    outsider = signed_in_client(mounia)
    base = f"/fr/staff/cases/{referred.pk}/bundles/"
    assert outsider.post(base).status_code == 404
    assert outsider.get(f"{base}{bundle.uuid}/").status_code == 404
    assert outsider.get(f"{base}{bundle.uuid}/download/").status_code == 404
    # The association that holds the case sees it, but the file is sealed to the clinic:
    # no download for its members either.
    alice = signed_in_client(cast.users["alice"])
    assert alice.get(f"{base}{bundle.uuid}/").status_code == 200
    assert alice.get(f"{base}{bundle.uuid}/download/").status_code == 404
    downloads = AuditEvent.objects.filter(action=Action.BUNDLE_DOWNLOADED)
    assert not downloads.exists()


def test_every_step_is_audited_and_the_lawyer_is_told_without_content(
    cast, referred, running_builder, settings
):
    settings.CASEWORK_NOTIFY_ON_THE_HOUR = False
    bundle = ask_and_approve(cast, referred)
    build.build_bundle(bundle.pk)
    actions = list(
        AuditEvent.objects.filter(case_id=referred.pk, action__startswith="bundle.")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == [Action.BUNDLE_REQUESTED, Action.BUNDLE_APPROVED, Action.BUNDLE_BUILT]
    assert audit.verify()[1] is None
    for step in workflow.WorkflowStep.objects.filter(kind__startswith="bundle_"):
        workflow.run_step(step.pk)
    subjects = [m.subject for m in mail.outbox]
    assert any("Prêt" in s for s in subjects), subjects
    assert all(NARRATIVE not in m.body for m in mail.outbox)


def test_an_expired_bundle_loses_its_file(
    cast, referred, running_builder, django_capture_on_commit_callbacks
):
    bundle = ask_and_approve(cast, referred)
    build.build_bundle(bundle.pk)
    bundle.refresh_from_db()
    assert bundle.blob_key in {key for key, _ in blob_store().listing()}
    with django_capture_on_commit_callbacks(execute=True):
        assert bundle_services.expire_bundles(now=bundle.expires_at + timedelta(minutes=1)) == 1
    bundle.refresh_from_db()
    assert bundle.state == State.EXPIRED
    assert bundle.blob_key not in {key for key, _ in blob_store().listing()}


def test_retention_erases_the_refusal_and_a_bundle_still_waiting(
    cast, referred, running_builder, settings, django_capture_on_commit_callbacks
):
    ready = ask_and_approve(cast, referred)
    build.build_bundle(ready.pk)
    refused = bundle_services.request_bundle(referred, actor=cast.users["leila"])
    bundle_services.refuse_bundle(refused, actor=cast.users["alice"], reason="Elle hésite encore.")
    ready.refresh_from_db()
    refused.refresh_from_db()
    assert ready.state == State.READY
    assert blob_store().path(ready.blob_key).exists()
    services.change_status(referred, referred.Status.ACKNOWLEDGED, actor=cast.users["alice"])
    services.change_status(
        referred, referred.Status.CLOSED, actor=cast.users["alice"], outcome="helped"
    )
    referred.refresh_from_db()

    due = referred.closed_at + timedelta(days=settings.CASEWORK_RETENTION_DAYS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.apply_retention(now=due) == 1

    ready.refresh_from_db()
    refused.refusal.refresh_from_db()
    assert ready.state == State.EXPIRED
    assert not blob_store().path(ready.blob_key).exists()  # all of it, sealed to the lawyer
    assert refused.refusal.is_erased
    page = signed_in_client(cast.users["leila"]).get(
        f"/fr/staff/cases/{referred.pk}/bundles/{refused.uuid}/"
    )
    assert page.status_code == 200
    assert "Elle hésite encore." not in page.content.decode()


def test_the_hourly_orphan_sweep_leaves_a_ready_bundle_for_the_lawyer(
    cast, referred, running_builder
):
    bundle = ask_and_approve(cast, referred)
    build.build_bundle(bundle.pk)
    bundle.refresh_from_db()
    assert bundle.state == State.READY
    # Old enough for the sweep (payloads are stamped with their hour, evidence/blobstore.py).
    stamp = this_hour() - 3 * 3600
    os.utime(blob_store().path(bundle.blob_key), (stamp, stamp))

    evidence.sweep_orphan_blobs()

    assert blob_store().path(bundle.blob_key).exists()
    download = signed_in_client(cast.users["leila"]).get(
        f"/fr/staff/cases/{referred.pk}/bundles/{bundle.uuid}/download/"
    )
    assert download.status_code == 200


@pytest.mark.parametrize("failure", ["cannot_open", "storage", "unreachable", "ValueError"])
def test_a_failed_bundle_says_what_happened_and_who_can_act_never_approve_again(
    cast, referred, failure
):
    """Nobody can approve a failed bundle again (issue 15, item 10): the page says what
    happened and what comes next, to the lawyer (she can ask anew, with a button) and to
    the association (it will be asked again)."""
    bundle = bundle_services.request_bundle(referred, actor=cast.users["leila"])
    Bundle.objects.filter(pk=bundle.pk).update(state=State.FAILED, failure=failure)
    url = f"/fr/staff/cases/{referred.pk}/bundles/{bundle.uuid}/"
    lawyer = html.unescape(signed_in_client(cast.users["leila"]).get(url).content.decode())
    association = html.unescape(signed_in_client(cast.users["alice"]).get(url).content.decode())
    for page in (lawyer, association):
        assert "de nouveau" not in page.lower()
        assert "rien n'a été exporté" in page.lower()
        assert failure not in page.split("<main", 1)[-1]  # no raw code
    assert f'action="/fr/staff/cases/{referred.pk}/bundles/"' in lawyer
    assert "Demander un nouveau dossier de preuves" in lawyer
    assert "on vous demandera de l'approuver" in association
