"""Her return visit with scripts on, at the server (reporting/views/visits.py): what it hands
out and to whom, and what it refuses, holding no key of hers.  The browser's part is
played here by Python (the test opens her key as her Worker would); in Chromium it is
tests/reporting/test_return_with_scripts.py."""

from __future__ import annotations

import base64
import io
import json

import pytest
from django.conf import settings
from django.test import Client
from django.utils.crypto import get_random_string

from evidence import age, keys
from evidence import services as evidence
from evidence.models import EvidenceItem, ResumableUpload
from reporting import receipts, services
from reporting.exceptions import ReportChanged
from reporting.models import ConsentRequest, Message, Report
from tests.support.cast import file_report
from tests.support.uploading import send_resumable

pytestmark = pytest.mark.django_db

WORDS = "Il publie mes photos depuis mars."
CLINIC = "Clinique juridique L"


class HerBrowser:
    """Her browser on the code page with scripts on: the CSRF cookie and header its
    script sends, and her key once it has opened it."""

    def __init__(self, language: str = "fr") -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.language = language
        self.csrf = get_random_string(32)
        self.client.cookies["csrftoken"] = self.csrf
        self.identity: keys.Identity | None = None

    def post(self, path: str, body: dict):
        return self.client.post(
            f"/{self.language}/return/{path}",
            json.dumps(body),
            content_type="application/json",
            HTTP_X_CSRFTOKEN=self.csrf,
        )

    def get(self, path: str):
        return self.client.get(f"/{self.language}/return/{path}")

    def find(self, code: str):
        stretched = keys.stretch_code(
            receipts.normalise(code), work_factor=settings.EVIDENCE_RECEIPT_WORK_FACTOR
        )
        return self.post("open/", {"lookup": stretched.lookup}), stretched

    def open(self, code: str) -> dict:
        """The whole opening, as return.js does it; her report as the server sent it."""
        found, stretched = self.find(code)
        assert found.status_code == 200, found.content
        self.identity = keys.open_identity_with_passphrase(
            base64.b64decode(found.json()["sealed_identity"]), stretched.passphrase
        )
        challenge = base64.b64decode(found.json()["challenge"])
        proof = age.decrypt(challenge, [self.identity]).decode()
        opened = self.post("open/proof/", {"proof": proof})
        assert opened.status_code == 200, opened.content
        return opened.json()

    def upload(self, data: bytes, recipients: list[str]) -> str:
        """``data`` sealed to ``recipients`` and sent through the resumable uploads."""
        sealed = age.encrypt(data, [keys.parse_recipient(r) for r in recipients])
        return send_resumable(self.client, self.language, self.csrf, sealed)


def message_of(text: str) -> bytes:
    return json.dumps({"text": text, "sent_at": "2026-03-01T10:00:00+00:00"}).encode()


@pytest.fixture
def filed(coordinator_key, blob_root):
    return file_report(narrative=WORDS)


def test_the_server_answers_a_lookup_with_her_key_still_sealed_and_opens_nothing(filed):
    report, pending = filed
    her = HerBrowser()
    found, _ = her.find(pending.code)
    assert found.status_code == 200
    assert base64.b64decode(found.json()["sealed_identity"]) == bytes(report.reporter.sealed_key)
    # Found is not open: until her browser shows it holds her key, nothing more.
    assert her.get("sealed/").status_code == 403
    assert her.post("sealed/message/", {"token": "x"}).status_code == 403


def test_her_report_comes_sealed_and_each_object_only_to_her_visit(filed, coordinator_key):
    report, pending = filed
    her = HerBrowser()
    shown = her.open(pending.display)

    assert WORDS not in json.dumps(shown, ensure_ascii=False)
    assert shown["readers"] == report.sealed_to
    assert shown["status"] == "Reçu : il attend une intervenante"
    words = her.client.get(shown["content"]["url"])
    assert words["Cache-Control"] == "no-store"
    age_file = b"".join(words.streaming_content)
    assert json.loads(age.decrypt(age_file, [her.identity]))["narrative"] == WORDS
    # Another report's object is not hers to fetch, even by its id.
    other, _ = file_report(narrative="Autre")
    assert her.get(f"sealed/{other.content.pk}/").status_code == 404
    # Without the visit, nothing at all.
    assert HerBrowser().client.get(shown["content"]["url"]).status_code == 403


def test_a_wrong_lookup_is_refused_in_arabic_and_counted_like_a_wrong_code(filed, same_minute):
    her = HerBrowser(language="ar")
    for _ in range(settings.RECEIPT_FAILURES_PER_SESSION):
        refused = her.post("open/", {"lookup": "0" * 64})
        assert refused.status_code == 400
        assert refused.json()["reason"] == "code"
        assert "لا يفتح هذا الرمز أي بلاغ" in refused.json()["message"]
    _, pending = filed
    waiting, _ = her.find(pending.code)
    assert waiting.status_code == 429
    assert int(waiting["Retry-After"]) > 0


def test_a_wrong_proof_closes_the_visit_and_counts(filed):
    _, pending = filed
    her = HerBrowser()
    her.find(pending.code)
    refused = her.post("open/proof/", {"proof": "0" * 64})
    assert refused.status_code == 400
    assert refused.json()["reason"] == "code"
    assert her.get("sealed/").status_code == 403
    assert her.client.session["receipt_failures"]


def test_her_message_sealed_in_her_browser_is_kept_and_the_caseworker_reads_it(
    filed, coordinator_key
):
    report, pending = filed
    her = HerBrowser()
    shown = her.open(pending.display)
    token = her.upload(message_of("Il a recommencé."), shown["readers"])

    posted = her.post("sealed/message/", {"token": token})

    assert posted.status_code == 200
    assert services.read_messages(report, coordinator_key)[0]["text"] == "Il a recommencé."
    assert report.messages.get().body.sealed_by == "browser"


def test_a_message_sealed_before_a_reader_was_added_is_refused_and_nothing_is_kept(
    filed, coordinator_key, clinic
):
    report, pending = filed
    her = HerBrowser()
    shown = her.open(pending.display)
    token = her.upload(message_of("Trop tard."), shown["readers"])
    services.add_reader(report, str(clinic.recipient), unlocked_by=coordinator_key)

    refused = her.post("sealed/message/", {"token": token})

    assert refused.status_code == 400
    assert refused.json()["reason"] == "stanzas"
    assert "a changé pendant que vous écriviez" in refused.json()["message"]
    assert not Message.objects.exists()
    assert ResumableUpload.objects.count() == 1  # hers still, for another try


def test_an_upload_that_is_not_hers_and_one_too_long_are_refused(filed, settings):
    _, pending = filed
    her = HerBrowser()
    shown = her.open(pending.display)
    someone = HerBrowser()
    someone.open(pending.display)
    theirs = someone.upload(message_of("pas à elle"), shown["readers"])
    assert her.post("sealed/message/", {"token": theirs}).json()["reason"] == "uploads"

    long = her.upload(message_of("x" * services.MESSAGE_MAX_BYTES), shown["readers"])
    refused = her.post("sealed/message/", {"token": long})
    assert (refused.status_code, refused.json()["reason"]) == (400, "message_too_long")
    assert not Message.objects.exists()


def sealed_file(her: HerBrowser, readers: list[str], *, kind: str = "pdf") -> dict:
    content = b"%PDF-1.4\n%%EOF\n"
    return {
        "original": her.upload(content, readers),
        "note": her.upload(json.dumps({"name": "plainte.pdf"}).encode(), readers),
        "working_copy": None,
        "kind": kind,
        "mime": "application/pdf",
        "extension": "pdf",
        "sha256": "0" * 64,
    }


def test_evidence_she_adds_is_kept_after_her_files_and_opens_for_who_helps_her(
    filed, coordinator_key
):
    report, pending = filed
    her = HerBrowser()
    shown = her.open(pending.display)

    added = her.post("sealed/evidence/", {"files": [sealed_file(her, shown["readers"])]})

    assert added.status_code == 200
    assert added.json()["message"] == "1 fichier a été ajouté à votre signalement."
    item = report.evidence.get()
    assert item.original.sealed_by == "browser"
    assert evidence.read_object(item.original, [coordinator_key]) == b"%PDF-1.4\n%%EOF\n"


def test_evidence_of_a_kind_not_taken_or_too_large_is_refused_and_nothing_is_kept(filed, settings):
    _, pending = filed
    her = HerBrowser(language="ar")
    shown = her.open(pending.display)
    odd = her.post("sealed/evidence/", {"files": [sealed_file(her, shown["readers"], kind="exe")]})
    assert (odd.status_code, odd.json()["reason"]) == (400, "type")
    assert odd.json()["message"] == "أحد ملفاتكِ من نوع لا يمكننا قبوله. لم يُحفظ أي شيء."
    none = her.post("sealed/evidence/", {"files": []})
    assert none.json()["reason"] == "no_file"
    settings.EVIDENCE_MAX_REPORT_BYTES = 4
    large = her.post("sealed/evidence/", {"files": [sealed_file(her, shown["readers"])]})
    assert (large.status_code, large.json()["reason"]) == (400, "report_too_large")
    assert not EvidenceItem.objects.exists()


@pytest.fixture
def clinic():
    return keys.new_identity()


@pytest.fixture
def asked(filed, clinic) -> ConsentRequest:
    report, _ = filed
    return services.ask_consent(
        report, service="legal", organization_name=CLINIC, recipient=str(clinic.recipient)
    )


def reissued(her: HerBrowser, readers: list[str], extra: str) -> tuple[dict, list[str]]:
    """What her browser does for her yes: every header re-issued with her key."""
    now = her.get("sealed/headers/").json()
    after = [*now["readers"], extra]
    headers = {
        pk: base64.b64encode(
            age.reissue_header(
                base64.b64decode(h), [her.identity], [keys.parse_recipient(r) for r in after]
            )
        ).decode()
        for pk, h in now["headers"].items()
    }
    return headers, now["readers"]


def test_her_yes_puts_the_headers_her_browser_re_issued_in_place(filed, asked, clinic):
    report, pending = filed
    her = HerBrowser()
    her.open(pending.display)
    headers, readers = reissued(her, report.sealed_to, str(clinic.recipient))

    said = her.post(
        "sealed/consent/",
        {"question": asked.pk, "answer": "yes", "readers": readers, "headers": headers},
    )

    assert said.status_code == 200
    assert said.json()["message"] == f"Merci. Votre signalement est maintenant transmis à {CLINIC}."
    report = Report.objects.get(pk=report.pk)
    assert services.read_content(report, clinic)["narrative"] == WORDS
    asked.refresh_from_db()
    assert asked.state == ConsentRequest.State.GRANTED


def test_headers_for_the_report_as_it_was_are_out_of_date_and_change_nothing(filed, asked, clinic):
    report, pending = filed
    her = HerBrowser()
    her.open(pending.display)
    headers, readers = reissued(her, report.sealed_to, str(clinic.recipient))
    services.post_message(report, "Une réponse.", author=Message.Author.HELPER)
    before = {s.pk: bytes(s.header) for s in services.sealed_objects(report)}

    said = her.post(
        "sealed/consent/",
        {"question": asked.pk, "answer": "yes", "readers": readers, "headers": headers},
    )

    assert said.status_code == 409
    assert said.json()["reason"] == "out_of_date"
    assert {s.pk: bytes(s.header) for s in services.sealed_objects(report)} == before
    asked.refresh_from_db()
    assert asked.state == ConsentRequest.State.ASKED
    with pytest.raises(ReportChanged):
        services.answer_browser_consent(
            report, asked.pk, granted=True, readers=[*readers, "age1x"], headers={}
        )


def test_headers_not_for_exactly_the_readers_after_her_yes_are_refused_whole(filed, asked, clinic):
    report, pending = filed
    her = HerBrowser()
    her.open(pending.display)
    now = her.get("sealed/headers/").json()
    # Re-issued for the readers it had, without the clinic: one stanza short.
    short = {
        pk: base64.b64encode(
            age.reissue_header(
                base64.b64decode(h),
                [her.identity],
                [keys.parse_recipient(r) for r in now["readers"]],
            )
        ).decode()
        for pk, h in now["headers"].items()
    }
    before = {s.pk: bytes(s.header) for s in services.sealed_objects(report)}

    said = her.post(
        "sealed/consent/",
        {"question": asked.pk, "answer": "yes", "readers": now["readers"], "headers": short},
    )

    assert (said.status_code, said.json()["reason"]) == (400, "stanzas")
    assert {s.pk: bytes(s.header) for s in services.sealed_objects(report)} == before
    asked.refresh_from_db()
    assert asked.state == ConsentRequest.State.ASKED
    # A passphrase stanza is no reader's: refused too.
    scrypt = age.encrypt(b"", [age.ScryptRecipient(b"pass", work_factor=10)])
    header = age.read_header(io.BytesIO(scrypt)).raw
    said = her.post(
        "sealed/consent/",
        {
            "question": asked.pk,
            "answer": "yes",
            "readers": now["readers"],
            "headers": {pk: base64.b64encode(header).decode() for pk in now["headers"]},
        },
    )
    assert (said.status_code, said.json()["reason"]) == (400, "stanzas")


def test_her_no_needs_no_key_and_a_question_not_hers_is_not_found(filed, asked, clinic):
    report, pending = filed
    her = HerBrowser()
    her.open(pending.display)
    other, _ = file_report(narrative="Autre")
    theirs = services.ask_consent(
        other, service="legal", organization_name=CLINIC, recipient=str(clinic.recipient)
    )
    assert her.post("sealed/consent/", {"question": theirs.pk, "answer": "no"}).status_code == 404

    said = her.post("sealed/consent/", {"question": asked.pk, "answer": "no"})

    assert said.status_code == 200
    asked.refresh_from_db()
    assert asked.state == ConsentRequest.State.REFUSED
    assert str(clinic.recipient) not in Report.objects.get(pk=report.pk).sealed_to


def test_her_visit_left_idle_closes(filed, settings):
    _, pending = filed
    her = HerBrowser()
    her.open(pending.display)
    session = her.client.session
    session["browser_visit_seen"] -= settings.REPORTER_IDLE_MINUTES + 1
    session.save()

    closed = her.get("sealed/")

    assert closed.status_code == 403
    assert closed.json()["message"].startswith("Votre signalement a été fermé")
    assert "browser_visit" not in her.client.session
