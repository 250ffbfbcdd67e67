"""Filing a report: facts in plaintext, her words and files sealed to her and to whoever
helps her, and nothing half-stored when anything fails."""

from __future__ import annotations

import io
import json

import pytest
from django.db import connection
from PIL import Image

from evidence import images
from evidence import services as evidence
from evidence.models import CustodyEvent, EvidenceItem, SealedObject
from reporting import services
from reporting.exceptions import IntakeUnavailable
from reporting.models import Report, ReporterKey
from tests.support.uploading import jpeg, parse, text_bytes

pytestmark = pytest.mark.django_db(transaction=True)

NARRATIVE = "Il a publié mes photos dans le groupe de la classe, et menace de recommencer."
FACTS = services.ReportFacts(
    urgency=["images_spreading"],
    category="intimate_images",
    region="casablanca_settat",
    language="fr",
    age_band="18_24",
    services=["takedown", "listening"],
    consent_share=True,
    consent_statistics=False,
)


def photo_with_gps() -> bytes:
    image = Image.new("RGB", (120, 90), (40, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMakerSecret"  # Make
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def file(uploads_spec=None, content=None):
    pending = services.new_receipt()
    recipients = services.recipients_for(FACTS, pending)
    _, files, handler = parse(recipients, uploads_spec or {})
    report = services.file_report(
        FACTS,
        content or services.ReportContent(narrative=NARRATIVE, identifiers="@harceleur_123"),
        files.getlist("evidence"),
        pending=pending,
        recipients=recipients,
    )
    return report, pending, handler


def test_her_words_are_sealed_and_open_for_her_and_for_the_coordination(coordinator_key):
    report, pending, _ = file()

    for key in (pending.identity, coordinator_key):
        content = services.read_content(Report.objects.get(pk=report.pk), key)
        assert content["narrative"] == NARRATIVE
        assert content["identifiers"] == "@harceleur_123"
    with connection.cursor() as cursor:
        cursor.execute("SELECT content_id FROM reporting_report")
        assert cursor.fetchall() == [(report.content_id,)]


def test_routing_facts_are_kept_in_plaintext_and_times_to_the_hour(coordinator_key):
    report, _, _ = file()
    report.refresh_from_db()
    assert (report.category, report.gbvims_type, report.region) == (
        "intimate_images",
        "psychological",
        "casablanca_settat",
    )
    assert report.services == ["listening", "takedown"]
    assert report.is_urgent
    assert (report.created_at.minute, report.created_at.second) == (0, 0)


def test_her_receipt_opens_her_report(coordinator_key):
    report, pending, _ = file()
    reporter, identity = services.open_receipt(pending.display)
    assert reporter.report == report
    assert services.read_content(reporter.report, identity)["narrative"] == NARRATIVE


def test_an_image_gets_a_clean_working_copy_a_hash_and_custody(coordinator_key):
    original = photo_with_gps()
    report, pending, _ = file({"evidence": [("capture.jpg", original)]})

    [item] = report.evidence.all()
    assert evidence.read_object(item.original, [coordinator_key]) == original
    copy = evidence.read_object(item.working_copy, [pending.identity])
    assert b"PhoneMakerSecret" not in copy
    assert Image.open(io.BytesIO(copy)).size == (120, 90)
    note = json.loads(evidence.read_object(item.note, [coordinator_key]))
    assert note["name"] == "capture.jpg"
    actions = list(item.custody.values_list("action", flat=True))
    assert actions == [CustodyEvent.Action.RECEIVED, CustodyEvent.Action.WORKING_COPY_MADE]
    received = item.custody.first()
    assert received.detail["sha256"] == item.sha256
    assert (received.at.minute, received.at.second) == (0, 0)


def test_a_chat_export_is_kept_as_it_came_without_a_working_copy(coordinator_key):
    chat = text_bytes(20_000)
    report, _, _ = file({"evidence": [("WhatsApp Chat.txt", chat)]})
    [item] = report.evidence.all()
    assert item.working_copy is None
    assert evidence.read_object(item.original, [coordinator_key]) == chat


def test_an_image_that_cannot_be_decoded_keeps_its_original_and_says_why(coordinator_key):
    broken = jpeg()[:300] + b"\x00" * 5000  # a JPEG header, then nothing decodable
    report, _, _ = file({"evidence": [("broken.jpg", broken)]})
    [item] = report.evidence.all()
    assert item.working_copy is None
    refused = item.custody.get(action=CustodyEvent.Action.WORKING_COPY_REFUSED)
    assert refused.detail["reason"] in {"corrupt", "unsupported"}
    assert evidence.read_object(item.original, [coordinator_key]) == broken


def test_no_report_can_be_filed_while_no_organisation_holds_a_key():
    with pytest.raises(IntakeUnavailable):
        services.recipients_for(FACTS, services.new_receipt())


def test_a_failure_while_filing_leaves_no_half_report(coordinator_key, blob_root, monkeypatch):
    def broken_sanitise(_):
        raise RuntimeError("the disk filled up while sealing the working copy")

    monkeypatch.setattr(images, "sanitise", broken_sanitise)
    pending = services.new_receipt()
    recipients = services.recipients_for(FACTS, pending)
    _, files, _ = parse(recipients, {"evidence": [("capture.jpg", photo_with_gps())]})
    handler_uploads = files.getlist("evidence")
    with pytest.raises(RuntimeError):
        services.file_report(
            FACTS,
            services.ReportContent(narrative=NARRATIVE),
            handler_uploads,
            pending=pending,
            recipients=recipients,
        )

    assert not Report.objects.exists()
    assert not ReporterKey.objects.exists()
    assert not EvidenceItem.objects.exists()
    assert not SealedObject.objects.exists()
    # The upload's payload is the view's to discard; everything sealed while filing is
    # already gone, without waiting for the orphan sweep.
    [upload_blob] = [p for p in blob_root.rglob("*") if p.is_file()]
    upload_keys = {u.blob.key for u in handler_uploads}
    assert upload_blob.name in upload_keys


def test_evidence_added_later_opens_for_the_same_people(coordinator_key):
    report, pending, _ = file()
    recipients = services.report_recipients(report)
    _, files, _ = parse(recipients, {"evidence": [("later.jpg", photo_with_gps())]})

    services.add_evidence(report, files.getlist("evidence"))

    [item] = report.evidence.all()
    for key in (pending.identity, coordinator_key):
        assert evidence.read_object(item.original, [key]) == photo_with_gps()
