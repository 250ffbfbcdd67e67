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
    ("urgency", {"urgency": ["images_spreading"]}),
    ("what", {"category": "intimate_images"}),
    ("about", {"region": "fes_meknes", "language": "ar", "age_band": "18_24"}),
    ("help", {"services": ["takedown"], "consent_share": "yes", "consent_statistics": "no"}),
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
    client.post(
        "/fr/report/step/about/", {"region": "fes_meknes", "language": "ar", "age_band": "under_18"}
    )
    client.post("/fr/report/step/help/", dict(STEPS[3][1]))
    send(client)
    assert Report.objects.get().urgency == ["images_spreading", "minor"]


def test_jumping_to_the_last_step_leads_back_to_the_first(client):
    response = client.get("/fr/report/your-words/")
    assert response["Location"] == "/fr/report/step/urgency/"
    response = client.get("/fr/report/step/help/")
    assert response["Location"] == "/fr/report/step/urgency/"


def test_a_missing_answer_is_explained_in_her_language(client):
    client.post("/ar/report/step/urgency/", {})
    response = client.post("/ar/report/step/what/", {})
    assert response.status_code == 200
    assert "يُرجى اختيار الأقرب لما يحدث لك." in response.content.decode()


def test_an_overlong_narrative_is_refused_kindly_and_nothing_is_kept(
    client, coordinator_key, blob_root
):
    answer_steps(client)
    response = send(client, narrative="x" * 1_000_000, evidence=SimpleUploadedFile("a.jpg", jpeg()))
    assert response.status_code == 400
    assert "Restez sous 20000 caractères" in response.content.decode()
    assert not Report.objects.exists()
    assert not ReporterKey.objects.exists()
    assert blobs(blob_root) == []


def test_a_refused_file_is_named_and_her_words_are_kept(client, coordinator_key, blob_root):
    answer_steps(client)
    program = SimpleUploadedFile("photo.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 9000)

    response = send(client, evidence=program)

    page = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert "ce type de fichier n'est pas accepté" in page
    assert NARRATIVE in page  # her text is still in the form
    assert not Report.objects.exists()
    assert blobs(blob_root) == []


def test_a_file_over_the_limit_is_refused_with_the_limit(
    client, coordinator_key, blob_root, settings
):
    settings.EVIDENCE_MAX_FILE_BYTES = 100_000
    answer_steps(client, lang="ar")
    response = send(
        client, lang="ar", evidence=SimpleUploadedFile("v.mp4", jpeg(extra=b"0" * 200_000))
    )
    assert response.status_code == 400
    assert "أكبر من" in response.content.decode()
    assert blobs(blob_root) == []


def test_a_post_without_its_csrf_token_stores_nothing(coordinator_key, blob_root):
    client = Client(enforce_csrf_checks=True)
    session = client.session
    session["intake"] = {
        "urgency": {"urgency": []},
        "what": {"category": "threats"},
        "about": {"region": "oriental", "language": "fr", "age_band": "25_34"},
        "help": {"services": ["legal"], "consent_share": "no", "consent_statistics": "no"},
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

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "photo.png" in page
    assert "trop grande pour être ouverte sans risque" in page
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
