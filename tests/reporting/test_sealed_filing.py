"""Filing a report her browser sealed (reporting/views/intake.py intake_sealed): what her
browser sends after the facts steps — her receipt as it made it, the tokens of her sealed
uploads — and what the server answers; each refusal keeps nothing of her report and
leaves her uploads for another try."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from django.test import Client
from django.utils.crypto import get_random_string

from evidence import age, keys
from evidence import services as evidence
from evidence.models import CustodyEvent, ResumableUpload, SealedObject
from reporting import services
from reporting.models import Report, ReporterKey
from tests.reporting.test_intake_pages import STEPS
from tests.support.uploading import jpeg, send_resumable

pytestmark = pytest.mark.django_db

WORDS = {
    "narrative": "Il menace d'envoyer mes photos à ma famille.",
    "identifiers": "@x",
    "contact": "",
}


class HerBrowser:
    """Her phone, scripts on: the facts steps as forms, then what intake.js and its
    Workers send.  Her receipt is made as the server makes one (the twins agree byte
    for byte: tests/reporting/test_receipt_twin.py)."""

    def __init__(self, language: str = "fr") -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.language = language
        self.csrf = get_random_string(32)
        self.client.cookies["csrftoken"] = self.csrf
        for name, data in STEPS:
            answer = self.client.post(
                f"/{language}/report/step/{name}/", {**data, "csrfmiddlewaretoken": self.csrf}
            )
            assert answer.status_code == 302
        page = self.client.get(f"/{language}/report/your-words/").content.decode()
        self.helpers = re.search(r'data-readers="([^"]*)"', page)[1].split()
        self.pending = services.new_receipt()
        self.readers = [str(self.pending.recipient), *self.helpers]

    def receipt(self, **changes) -> dict:
        sealed = keys.seal_identity_under_strong_secret(
            self.pending.identity, self.pending.stretched.passphrase
        )
        return {
            "lookup": self.pending.stretched.lookup,
            "recipient": str(self.pending.recipient),
            "sealed_identity": base64.b64encode(sealed).decode(),
            **changes,
        }

    def upload(self, plaintext: bytes, readers: list[str] | None = None) -> str:
        sealed = age.encrypt(plaintext, [keys.parse_recipient(r) for r in readers or self.readers])
        return send_resumable(self.client, self.language, self.csrf, sealed)

    def file(self, body: dict | bytes):
        return self.client.post(
            f"/{self.language}/report/your-words/sealed/",
            body if isinstance(body, bytes) else json.dumps(body),
            content_type="application/json",
            HTTP_X_CSRFTOKEN=self.csrf,
        )

    def photo_entry(self, photo: bytes, **changes) -> dict:
        return {
            "original": self.upload(photo),
            "note": self.upload(json.dumps({"name": "photo.jpg"}).encode()),
            "working_copy": self.upload(photo),
            "kind": "image",
            "mime": "image/jpeg",
            "extension": "jpg",
            "sha256": hashlib.sha256(photo).hexdigest(),
            **changes,
        }


def test_what_her_browser_sealed_is_filed_as_it_sent_it_and_her_code_opens_it(
    coordinator_key,
):
    her = HerBrowser()
    photo = jpeg()
    answer = her.file(
        {
            "receipt": her.receipt(),
            "content": her.upload(json.dumps(WORDS).encode()),
            "files": [her.photo_entry(photo)],
        }
    )

    assert answer.status_code == 200, answer.content
    report = Report.objects.get()
    assert report.sealed_to == her.readers
    assert report.content.sealed_by == SealedObject.SealedBy.BROWSER
    assert services.read_content(report, coordinator_key)["narrative"] == WORDS["narrative"]
    [item] = report.evidence.all()
    assert (item.kind, item.size, item.sha256) == (
        "image",
        len(photo),
        hashlib.sha256(photo).hexdigest(),
    )
    assert evidence.read_object(item.original, [coordinator_key]) == photo
    actions = list(item.custody.values_list("action", flat=True))
    assert actions == [CustodyEvent.Action.RECEIVED, CustodyEvent.Action.WORKING_COPY_MADE]
    # Her receipt, as her browser made it, opens her report by the server's path too.
    assert services.open_receipt(her.pending.display)[0].report == report
    # Her answers and the readers she was given are gone from her session.
    assert not ResumableUpload.objects.exists()
    assert her.client.get("/fr/report/your-words/").status_code == 302


def test_the_same_filing_sent_again_answers_as_the_first_and_files_once(coordinator_key):
    her = HerBrowser()
    body = {"receipt": her.receipt(), "content": her.upload(b'{"narrative": "x"}'), "files": []}
    assert her.file(body).status_code == 200
    again = her.file(body)

    assert again.status_code == 200
    assert again.json() == {"filed": True}
    assert Report.objects.count() == 1


def nothing_kept(uploads: int) -> None:
    assert not Report.objects.exists()
    assert not ReporterKey.objects.exists()
    assert not SealedObject.objects.exists()
    # Her uploads wait for another try (or the sweep).
    assert ResumableUpload.objects.count() == uploads


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"kind": "executable", "mime": "application/x-msdownload", "extension": "exe"}, "type"),
        ({"sha256": "not a hash"}, "sha256"),
        ({"kind": "pdf", "mime": "application/pdf", "extension": "pdf"}, "uploads"),
    ],
    ids=["type", "hash", "working-copy-of-a-pdf"],
)
def test_a_file_described_wrongly_is_refused_and_nothing_is_kept(coordinator_key, change, reason):
    her = HerBrowser()
    content = her.upload(b'{"narrative": "x"}')
    entry = her.photo_entry(jpeg(), **change)
    answer = her.file({"receipt": her.receipt(), "content": content, "files": [entry]})

    assert answer.status_code == 400
    assert answer.json()["reason"] == reason
    assert answer.json()["message"]
    nothing_kept(uploads=4)


def test_a_receipt_not_as_the_server_keeps_one_is_refused(coordinator_key):
    her = HerBrowser()
    content = her.upload(b'{"narrative": "x"}')
    answer = her.file({"receipt": her.receipt(lookup="ab" * 10), "content": content, "files": []})

    assert answer.status_code == 400
    assert answer.json()["reason"] == "receipt"
    assert answer.json()["message"].startswith("Votre code de suivi")
    nothing_kept(uploads=1)


def test_an_upload_of_another_session_cannot_be_filed(coordinator_key):
    her, other = HerBrowser(), HerBrowser()
    theirs = other.upload(b'{"narrative": "x"}')
    answer = her.file({"receipt": her.receipt(), "content": theirs, "files": []})

    assert answer.status_code == 400
    assert answer.json()["reason"] == "uploads"
    nothing_kept(uploads=1)


def test_files_together_over_the_report_limit_are_refused_and_nothing_is_kept(
    coordinator_key, settings
):
    her = HerBrowser()
    content = her.upload(b'{"narrative": "x"}')
    entry = her.photo_entry(jpeg())
    settings.EVIDENCE_MAX_REPORT_BYTES = 100
    answer = her.file({"receipt": her.receipt(), "content": content, "files": [entry]})

    assert answer.status_code == 400
    assert answer.json()["reason"] == "report_too_large"
    nothing_kept(uploads=4)


def test_without_the_facts_steps_nothing_is_filed(coordinator_key):
    her = HerBrowser()
    content = her.upload(b'{"narrative": "x"}')
    # Her answers are gone (filed from another tab, say): the page is out of date.
    session = her.client.session
    del session["intake"]
    session.save()
    answer = her.file({"receipt": her.receipt(), "content": content, "files": []})

    assert answer.status_code == 409
    assert answer.json()["reason"] == "steps"
    assert not Report.objects.exists()


def test_a_request_that_is_not_a_filing_is_refused_in_arabic_on_her_arabic_page(coordinator_key):
    her = HerBrowser(language="ar")
    answer = her.file(b"{not json")

    assert answer.status_code == 400
    assert answer.json()["message"] == (
        "تعذّر حفظ بلاغكِ كما قُفل. لم يُحفظ أي شيء؛ من فضلكِ أرسلي من جديد."
    )
