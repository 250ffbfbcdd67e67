"""Caseworkers see how each thing of hers was sealed: on her device (her browser sealed
it before it left; the server only held ciphertext) or by the server as it arrived."""

from __future__ import annotations

import hashlib
import html
import io
import json

import pytest
from django.conf import settings

from evidence import age, resumable
from evidence.models import EvidenceItem, SealedObject, this_hour
from reporting import services as reporting
from reporting.models import Report
from tests.support.cast import file_report
from tests.support.uploading import jpeg

pytestmark = pytest.mark.django_db

NARRATIVE = "Il menace de publier mes photos."
ON_HER_DEVICE = {"fr": "Scellé sur son appareil", "ar": "مختوم على جهازها"}
BY_THE_SERVER = {"fr": "Scellé par le serveur à son arrivée", "ar": "ختمه الخادم عند وصوله"}


def sealed_by_her_browser(data: bytes, recipients: list[age.Recipient]) -> SealedObject:
    """What her browser would send: an age file to the report's readers, uploaded and
    claimed through the resumable upload."""
    sealed = age.encrypt(data, recipients)
    owner = "her session"
    token = resumable.start_upload(
        length=len(sealed),
        owner=owner,
        readers=len(recipients),
        max_size=settings.EVIDENCE_MAX_FILE_BYTES,
    )
    resumable.append(token, owner, 0, io.BytesIO(sealed))
    return resumable.claim(token, owner)


def report_sealed_both_ways() -> Report:
    """Her words and a PDF sealed on her device; a photo sealed by the server."""
    report, _ = file_report(narrative=NARRATIVE, files=(("photo.jpg", jpeg()),))
    recipients = reporting.report_recipients(report)
    words = {"narrative": NARRATIVE, "identifiers": "", "contact": ""}
    content = sealed_by_her_browser(json.dumps(words).encode(), recipients)
    Report.objects.filter(pk=report.pk).update(content=content)
    pdf = b"%PDF-1.4\n" + bytes(5000)
    item = EvidenceItem.objects.create(
        original=sealed_by_her_browser(pdf, recipients),
        note=sealed_by_her_browser(json.dumps({"name": "contrat.pdf"}).encode(), recipients),
        kind="pdf",
        mime="application/pdf",
        extension="pdf",
        size=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
        received_at=this_hour(),
        position=2,
    )
    report.evidence.add(item)
    return Report.objects.get(pk=report.pk)


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_case_page_says_beside_her_words_and_each_file_how_it_was_sealed(cast, language):
    report = report_sealed_both_ways()

    page = html.unescape(
        cast.client("alice").get(f"/{language}/staff/cases/{report.case.pk}/").content.decode()
    )

    assert NARRATIVE in page
    words = page[page.index(NARRATIVE) :]
    photo = page.index("photo.jpg")
    pdf = page.index("contrat.pdf")
    assert words.index(ON_HER_DEVICE[language]) < words.index("photo.jpg")
    assert page.index(BY_THE_SERVER[language], photo) < pdf
    assert page.index(ON_HER_DEVICE[language], pdf) > pdf
    assert page.count(ON_HER_DEVICE[language]) == 2
    assert page.count(BY_THE_SERVER[language]) == 1


def test_the_staff_api_says_how_her_words_and_each_file_were_sealed(cast):
    report = report_sealed_both_ways()

    body = cast.client("alice").get(f"/api/staff/cases/{report.case.pk}/").json()

    assert body["narrative"] == NARRATIVE
    assert body["content_sealed_by"] == "browser"
    assert [(e["name"], e["sealed_by"]) for e in body["evidence"]] == [
        ("photo.jpg", "server"),
        ("contrat.pdf", "browser"),
    ]


def test_a_report_sealed_by_the_server_says_so(cast):
    report, _ = file_report(narrative=NARRATIVE)
    body = cast.client("alice").get(f"/api/staff/cases/{report.case.pk}/").json()
    assert body["content_sealed_by"] == "server"
