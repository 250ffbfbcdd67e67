"""The intake pages: every step, every way of getting it wrong, and nothing half-stored."""

from __future__ import annotations

import html
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from evidence import services as evidence
from reporting import services
from reporting.models import Report, ReporterKey
from tests.support.uploading import jpeg

pytestmark = pytest.mark.django_db

NARRATIVE = "Depuis mars, il publie mes photos et m'écrit la nuit."
STEPS = [
    ("urgency", {"urgency": ["images_spreading"], "category": "intimate_images"}),
    (
        "about",
        {
            "region": "fes_meknes",
            "language": "ar",
            "age_band": "18_24",
            "services": ["takedown"],
            "consent_share": "yes",
            "consent_statistics": "no",
        },
    ),
]


def answer_steps(client, lang="fr"):
    for name, data in STEPS:
        response = client.post(f"/{lang}/report/step/{name}/", data)
        assert response.status_code == 302, response.content.decode()[:3000]


def send(client, lang="fr", **fields):
    data = {"narrative": NARRATIVE, "identifiers": "@omar_x", "contact": "", **fields}
    return client.post(f"/{lang}/report/your-words/", data)


def blobs(root):
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_report_filed_through_the_pages_gives_a_code_that_opens_it(client, coordinator_key):
    answer_steps(client)
    response = send(client, evidence=SimpleUploadedFile("capture.jpg", jpeg()))
    assert response.status_code == 302

    page = client.get(response["Location"]).content.decode()
    code = re.search(r'class="receipt-code"[^>]*>([\d ]+)<', page).group(1)
    reporter, identity = services.open_receipt(code)
    report = reporter.report
    assert (report.category, report.region, report.urgency) == (
        "intimate_images",
        "fes_meknes",
        ["images_spreading"],
    )
    assert services.read_content(report, coordinator_key)["narrative"] == NARRATIVE
    [item] = report.evidence.all()
    assert evidence.read_object(item.original, [identity]) == jpeg()


def test_under_18_makes_the_report_urgent(client, coordinator_key):
    answer_steps(client)
    client.post("/fr/report/step/about/", {**STEPS[1][1], "age_band": "under_18"})
    send(client)
    assert Report.objects.get().urgency == ["images_spreading", "minor"]


def test_jumping_to_the_last_step_leads_back_to_the_first(client):
    response = client.get("/fr/report/your-words/")
    assert response["Location"] == "/fr/report/step/urgency/"
    response = client.get("/fr/report/step/about/")
    assert response["Location"] == "/fr/report/step/urgency/"


def test_a_missing_answer_is_explained_in_her_language(client):
    response = client.post("/ar/report/step/urgency/", {})
    assert response.status_code == 200
    assert "يُرجى اختيار الأقرب لما يحدث لك." in response.content.decode()


def test_an_overlong_narrative_is_refused_kindly_and_nothing_is_kept(
    client, coordinator_key, blob_root
):
    answer_steps(client)
    response = send(client, narrative="x" * 100_001, evidence=SimpleUploadedFile("a.jpg", jpeg()))
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "Ce texte fait 100001 caractères ; il peut en contenir 100000" in page
    # Her words come back whole, in a box that will not cut them.
    assert "x" * 100_001 in page
    assert 'maxlength="' not in page
    assert not Report.objects.exists()
    assert not ReporterKey.objects.exists()
    assert blobs(blob_root) == []


def test_a_refused_file_is_named_on_her_receipt_and_her_report_is_kept(
    client, coordinator_key, blob_root
):
    answer_steps(client)
    program = SimpleUploadedFile("programme.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 9000)

    response = send(client, evidence=[program, SimpleUploadedFile("capture.jpg", jpeg())])

    assert response.status_code == 302
    receipt = html.unescape(client.get(response["Location"]).content.decode())
    assert "ces fichiers n'ont pas été gardés" in receipt
    assert "programme.jpg" in receipt
    assert "ce type de fichier n'est pas accepté" in receipt
    report = Report.objects.get()
    assert services.read_content(report, coordinator_key)["narrative"] == NARRATIVE
    # The good file went in with her words; the refused one left nothing.
    [item] = report.evidence.all()
    assert '"name": "capture.jpg"' in evidence.read_object(item.note, [coordinator_key]).decode()


def test_a_file_over_the_limit_is_named_on_her_receipt_with_the_limit(
    client, coordinator_key, blob_root, settings
):
    settings.EVIDENCE_MAX_FILE_BYTES = 100_000
    answer_steps(client, lang="ar")
    response = send(
        client, lang="ar", evidence=SimpleUploadedFile("v.mp4", jpeg(extra=b"0" * 200_000))
    )
    assert response.status_code == 302
    receipt = client.get(response["Location"]).content.decode()
    assert "v.mp4" in receipt
    assert "أكبر من" in receipt
    assert Report.objects.get().evidence.count() == 0


def test_a_post_longer_than_the_limits_is_refused_before_its_body_is_read(
    client, coordinator_key, blob_root, settings
):
    settings.EVIDENCE_MAX_REPORT_BYTES = 2 * 1024 * 1024
    answer_steps(client)

    class Unread(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the body was read")

        readline = read

    response = client.generic(
        "POST",
        "/fr/report/your-words/",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(5 * 1024 * 1024),
        **{"wsgi.input": Unread()},
    )

    assert response.status_code == 413
    page = html.unescape(response.content.decode())
    assert "faisait 5 Mo, plus que les 2 Mo" in page
    assert "Jusqu'à 200 Mo par fichier et 2 Mo en tout." in page
    assert not Report.objects.exists()
    assert blobs(blob_root) == []


def test_a_post_without_its_csrf_token_stores_nothing(coordinator_key, blob_root):
    client = Client(enforce_csrf_checks=True)
    session = client.session
    session["intake"] = {
        "urgency": {"urgency": [], "category": "threats"},
        "about": {
            "region": "oriental",
            "language": "fr",
            "age_band": "25_34",
            "services": ["legal"],
            "consent_share": "no",
            "consent_statistics": "no",
        },
    }
    session.save()
    response = send(client, evidence=SimpleUploadedFile("a.jpg", jpeg()))
    assert response.status_code == 403
    assert blobs(blob_root) == []
    assert not Report.objects.exists()


def test_without_any_organisation_holding_a_key_she_is_told_and_nothing_is_kept(client, blob_root):
    answer_steps(client)
    response = send(client, evidence=SimpleUploadedFile("a.jpg", jpeg()))
    assert response.status_code == 503
    assert "n'est pas disponible" in html.unescape(response.content.decode())
    assert blobs(blob_root) == []


def test_the_code_stays_until_she_says_she_kept_it(client, coordinator_key):
    answer_steps(client)
    send(client)
    first = client.get("/fr/report/receipt/").content.decode()
    again = client.get("/fr/report/receipt/").content.decode()
    code = re.search(r'class="receipt-code"[^>]*>([\d ]+)<', first).group(1)
    assert code in again

    client.post("/fr/report/receipt/")
    after = html.unescape(client.get("/fr/report/receipt/").content.decode())
    assert code not in after
    assert "n'est plus affiché" in after


def test_a_file_name_with_folders_is_kept_without_them(client, coordinator_key):
    answer_steps(client)
    send(client, evidence=SimpleUploadedFile("../../etc/capture.jpg", jpeg()))
    item = Report.objects.get().evidence.get()
    assert '"name": "capture.jpg"' in evidence.read_object(item.note, [coordinator_key]).decode()


def test_a_decompression_bomb_is_refused_by_name_and_nothing_is_kept(
    client, coordinator_key, blob_root
):
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 million pixels, a few KB
    answer_steps(client)

    response = send(client, evidence=SimpleUploadedFile("photo.png", bomb.getvalue()))

    # Found only once the file is opened, after the upload: her words come back.
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "photo.png" in page
    assert "trop grande pour être ouverte sans risque" in page
    assert NARRATIVE in page
    assert not Report.objects.exists()
    assert blobs(blob_root) == []


def test_text_that_is_not_utf8_is_refused_kindly(client, coordinator_key):
    answer_steps(client)
    response = client.post(
        "/fr/report/your-words/",
        data=b"narrative=caf%E9+%FF%FE",  # Latin-1 bytes, not UTF-8
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "caractères que nous ne pouvons pas conserver" in html.unescape(
        response.content.decode()
    )
    assert not Report.objects.exists()


def test_an_upload_cut_off_midway_leaves_nothing(client, coordinator_key, blob_root):
    answer_steps(client)
    boundary = "CutHere"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="narrative"\r\n\r\nx\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="evidence"; filename="v.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + jpeg(extra=b"z" * 600_000)[:400_000]
    response = client.post(
        "/fr/report/your-words/",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 400
    assert not Report.objects.exists()
    assert blobs(blob_root) == []


def test_the_same_last_step_sent_twice_shows_the_one_receipt(client, coordinator_key):
    """The browser drops the answer to the first post when she taps Send again: the
    second post carries the same one-time token and gets the first post's receipt."""
    answer_steps(client)
    form = client.get("/fr/report/your-words/").content.decode()
    once = re.search(r'name="once" value="([^"]+)"', form).group(1)

    first = send(client, once=once)
    del client.cookies["receipt_key"]  # the first answer never reached her browser
    second = send(client, once=once)

    assert first.status_code == second.status_code == 302
    assert second["Location"] == "/fr/report/receipt/"
    page = client.get("/fr/report/receipt/").content.decode()
    code = re.search(r'class="receipt-code"[^>]*>([\d ]+)<', page).group(1)
    assert services.open_receipt(code)[0].report == Report.objects.get()


def test_a_post_after_filing_without_the_token_starts_again_and_shows_no_code(
    client, coordinator_key
):
    answer_steps(client)
    send(client)
    response = send(client, once="AGE-SECRET-KEY-1NOTTHEONE")
    assert response["Location"] == "/fr/report/step/urgency/"
    assert Report.objects.count() == 1


def test_her_words_and_the_accounts_she_names_are_not_kept_by_her_browser(client):
    answer_steps(client)
    form = client.get("/fr/report/your-words/").content.decode()
    for name in ("narrative", "identifiers"):
        assert re.search(rf'<textarea[^>]*name="{name}"[^>]*autocomplete="off"', form), name
    assert re.search(r'<input[^>]*name="contact"[^>]*autocomplete="off"', form)


def test_arabic_questions_end_with_their_question_mark_alone(client):
    pages = [client.get("/ar/report/step/urgency/").content.decode()]
    for name, data in STEPS:
        response = client.post(f"/ar/report/step/{name}/", data)
        pages.append(client.get(response["Location"]).content.decode())
    labels = re.findall(r"<(?:label|legend)[^>]*>([^<]*)<", "".join(pages))
    assert any(label.strip().endswith("؟") for label in labels)
    assert [label for label in labels if "؟:" in label] == []


def test_the_receipt_says_who_reads_her_report_and_how_she_will_know(client, coordinator_key):
    answer_steps(client)
    send(client)
    page = html.unescape(client.get("/fr/report/receipt/").content.decode())
    assert "Et maintenant" in page
    assert "Une intervenante vous répond sous 48 heures, 4 si vous êtes en danger." in page
    assert "Revenez avec votre code pour lire sa réponse." in page


@pytest.mark.parametrize(("lang", "answered"), [("fr", "fr"), ("ar", "ar"), ("en", "en")])
def test_the_language_to_answer_her_in_comes_answered_with_the_one_she_reads(
    client, lang, answered
):
    client.post(f"/{lang}/report/step/urgency/", dict(STEPS[0][1]))
    page = client.get(f"/{lang}/report/step/about/").content.decode()
    checked = re.findall(r'<input type="radio" name="language" value="(\w+)"[^>]*checked', page)
    assert checked == [answered]
    # Nothing else is answered for her: not her age, not either consent.
    assert re.findall(r'<input type="radio" name="(?!language)\w+"[^>]*checked', page) == []


def test_she_can_choose_another_language_than_the_one_she_reads(client, coordinator_key):
    client.post("/fr/report/step/urgency/", dict(STEPS[0][1]))
    client.post("/fr/report/step/about/", {**STEPS[1][1], "language": "zgh"})
    send(client)
    assert Report.objects.get().language == "zgh"


def test_her_questions_take_two_pages_before_her_words(client):
    response = client.get("/fr/report/")
    assert "Étape 1 sur 3" in response.content.decode()
    first = client.post("/fr/report/step/urgency/", dict(STEPS[0][1]))
    assert first["Location"] == "/fr/report/step/about/"
    second = client.post(first["Location"], dict(STEPS[1][1]))
    assert second["Location"] == "/fr/report/your-words/"
    assert "Étape 3 sur 3" in client.get(second["Location"]).content.decode()


@pytest.mark.parametrize(("old", "now"), [("what", "urgency"), ("help", "about")])
def test_a_link_to_a_step_since_merged_leads_to_the_page_that_asks_it(client, old, now):
    response = client.get(f"/ar/report/step/{old}/")
    assert response["Location"] == f"/ar/report/step/{now}/"


def test_a_missing_answer_on_a_long_page_is_announced_above_the_first_question(client):
    client.post("/ar/report/step/urgency/", dict(STEPS[0][1]))
    answers = {k: v for k, v in STEPS[1][1].items() if k != "consent_statistics"}
    page = client.post("/ar/report/step/about/", answers).content.decode()
    summary = page.index("يُرجى مراجعة ما هو مشار إليه أدناه.")
    assert summary < page.index('name="region"')
    # The question she missed, the last on the page, says what it needs.
    assert page.index("يُرجى الإجابة بنعم أو لا.") > page.index('name="consent_share"')
