"""She comes back with her receipt code: status, her words, her files, more evidence."""

from __future__ import annotations

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from reporting import services
from reporting.models import Report
from tests.support.uploading import jpeg

pytestmark = pytest.mark.django_db

NARRATIVE = "Il a créé un faux compte à mon nom."
FACTS = services.ReportFacts(
    urgency=[],
    category="impersonation",
    region="oriental",
    language="fr",
    age_band="25_34",
    services=["takedown"],
    consent_share=False,
    consent_statistics=True,
)


@pytest.fixture
def filed(coordinator_key) -> tuple[Report, str]:
    pending = services.new_receipt()
    recipients = services.recipients_for(FACTS, pending)
    report = services.file_report(
        FACTS,
        services.ReportContent(narrative=NARRATIVE),
        [],
        pending=pending,
        recipients=recipients,
    )
    return report, pending.display


def page(response) -> str:
    return html.unescape(response.content.decode())


def test_her_code_opens_her_report_with_its_status_and_her_words(client, filed):
    _, code = filed
    response = client.post("/fr/return/", {"code": code})
    assert response["Location"] == "/fr/return/report/"
    assert response.cookies["reporter_key"]["httponly"]

    shown = page(client.get("/fr/return/report/"))
    assert "Reçu : il attend une intervenante" in shown
    assert NARRATIVE in shown


def test_the_report_page_does_not_open_without_the_browsers_cookie(client, filed):
    _, code = filed
    client.post("/fr/return/", {"code": code})
    client.cookies.pop("reporter_key")
    response = client.get("/fr/return/report/")
    assert response["Location"] == "/fr/return/"


def test_a_wrong_code_is_explained_in_arabic(client, filed):
    response = client.post("/ar/return/", {"code": "1111 2222 3333 4444"})
    assert response.status_code == 400
    assert "لا يفتح هذا الرمز أي بلاغ" in page(response)


def test_after_five_wrong_codes_even_the_right_one_must_wait(client, filed, same_minute):
    _, code = filed
    for _ in range(5):
        client.post("/fr/return/", {"code": "0000 0000 0000 0001"})
    response = client.post("/fr/return/", {"code": code})
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert "Trop de codes ont été essayés" in page(response)


def test_she_adds_evidence_that_opens_for_who_helps_her(client, filed, coordinator_key):
    report, code = filed
    client.post("/fr/return/", {"code": code})

    response = client.post(
        "/fr/return/evidence/", {"evidence": SimpleUploadedFile("faux.jpg", jpeg())}
    )

    assert response["Location"] == "/fr/return/report/"
    shown = page(client.get("/fr/return/report/"))
    assert "1 fichier a été ajouté à votre signalement." in shown
    assert "faux.jpg" in shown
    item = report.evidence.get()
    from evidence import services as evidence

    assert evidence.read_object(item.original, [coordinator_key]) == jpeg()


def test_a_refused_file_on_return_is_named_and_nothing_is_kept(client, filed, blob_root):
    report, code = filed
    before = {p for p in blob_root.rglob("*") if p.is_file()}
    client.post("/fr/return/", {"code": code})
    response = client.post(
        "/fr/return/evidence/",
        {"evidence": SimpleUploadedFile("x.jpg", b"MZ\x90\x00" + b"\x00" * 8000)},
    )
    assert response.status_code == 400
    assert "ce type de fichier n'est pas accepté" in page(response)
    assert report.evidence.count() == 0
    assert {p for p in blob_root.rglob("*") if p.is_file()} == before


def test_one_refused_file_on_return_leaves_the_good_ones_added(client, filed, blob_root):
    report, code = filed
    client.post("/fr/return/", {"code": code})
    response = client.post(
        "/fr/return/evidence/",
        {
            "evidence": [
                SimpleUploadedFile("programme.jpg", b"MZ\x90\x00" + b"\x00" * 8000),
                SimpleUploadedFile("capture.jpg", jpeg()),
            ]
        },
    )
    shown = page(response)
    assert response.status_code == 200
    assert "Ces fichiers n'ont pas été gardés ; les autres ont été ajoutés :" in shown
    assert "programme.jpg" in shown
    assert "1 fichier a été ajouté à votre signalement." in shown
    assert report.evidence.count() == 1


def test_adding_evidence_with_no_file_chosen_says_so(client, filed):
    report, code = filed
    client.post("/fr/return/", {"code": code})
    response = client.post("/fr/return/evidence/", {})
    assert response.status_code == 400
    assert "Aucun fichier n'a été choisi." in page(response)
    assert report.evidence.count() == 0


def test_the_limits_are_stated_beside_the_file_field_in_arabic(client, filed):
    _, code = filed
    client.post("/ar/return/", {"code": code})
    shown = page(client.get("/ar/return/report/"))
    assert "حتى 200 ميغابايت لكل ملف و1024 ميغابايت في المجموع." in shown


def test_nothing_she_types_is_kept_by_her_browser(client, filed):
    _, code = filed
    login = page(client.get("/fr/return/"))
    assert re.search(r'<input[^>]*name="code"[^>]*autocomplete="off"', login)
    client.post("/fr/return/", {"code": code})
    shown = page(client.get("/fr/return/report/"))
    assert re.search(r'<textarea[^>]*name="text"[^>]*autocomplete="off"', shown)


def test_closing_the_report_on_this_device_forgets_it(client, filed):
    _, code = filed
    client.post("/fr/return/", {"code": code})
    response = client.post("/fr/return/leave/")
    assert response.cookies["reporter_key"]["max-age"] == 0
    assert client.get("/fr/return/report/")["Location"] == "/fr/return/"


def test_a_lost_code_page_says_kindly_what_she_can_do(client):
    shown = page(client.get("/fr/return/"))
    assert "Personne ne peut le retrouver" in shown
    assert "/fr/report/" in shown


def test_she_reads_a_reply_and_answers_it(client, filed, coordinator_key):
    report, code = filed
    services.post_message(
        report, "Bonjour, je suis Salma. Avez-vous gardé les captures ?", author="helper"
    )
    client.post("/fr/return/", {"code": code})

    shown = page(client.get("/fr/return/report/"))
    assert "Avez-vous gardé les captures ?" in shown

    response = client.post("/fr/return/message/", {"text": "Oui, je les ai toutes."})
    assert response["Location"] == "/fr/return/report/#messages"
    thread = services.read_messages(report, coordinator_key)
    assert [(m["author"], m["text"]) for m in thread] == [
        ("helper", "Bonjour, je suis Salma. Avez-vous gardé les captures ?"),
        ("reporter", "Oui, je les ai toutes."),
    ]


def test_an_empty_message_is_explained_and_nothing_is_sent(client, filed):
    report, code = filed
    client.post("/fr/return/", {"code": code})
    response = client.post("/fr/return/message/", {"text": ""})
    assert response.status_code == 400
    assert "avant de l'envoyer" in page(response)
    assert not report.messages.exists()


def test_expired_sessions_naming_her_report_are_deleted_every_hour(client, filed, settings):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from reporting.tasks import clear_expired_sessions

    _, code = filed
    client.post("/fr/return/", {"code": code})
    hers = Session.objects.get()
    other = Client()
    other.get("/fr/report/step/urgency/")
    other.post("/fr/report/step/urgency/", {"urgency": [], "category": "threats"})
    Session.objects.filter(pk=hers.pk).update(expire_date=timezone.now() - timedelta(minutes=1))

    assert clear_expired_sessions() == 1
    assert clear_expired_sessions() == 0  # safe to run twice
    assert not Session.objects.filter(pk=hers.pk).exists()
    assert Session.objects.count() == 1  # the visitor still filling in her report keeps hers
    assert timezone.now() + timedelta(hours=settings.SESSION_COOKIE_AGE // 3600 + 1) > max(
        Session.objects.values_list("expire_date", flat=True)
    )


def test_her_report_left_idle_closes_and_the_key_leaves_the_session(client, filed, settings):
    _, code = filed
    client.post("/fr/return/", {"code": code})
    assert client.get("/fr/return/report/").status_code == 200
    session = client.session
    session["reporter_seen"] -= settings.REPORTER_IDLE_MINUTES + 1
    session.save()

    response = client.get("/fr/return/report/")

    assert response["Location"] == "/fr/return/"
    assert "reporter_key_sealed" not in client.session
    # Her cookie alone opens nothing any more, even if she comes straight back.
    assert client.get("/fr/return/report/")["Location"] == "/fr/return/"
