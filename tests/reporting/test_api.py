"""The intake API: filing, adding evidence and reading the status with the receipt code,
every way of getting it wrong, and nothing half-stored or in plaintext on a disk."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.test import RequestFactory
from django.utils import translation
from PIL import Image

from evidence import services as evidence
from evidence.models import EvidenceItem
from reporting import api, services
from reporting.models import Report, ReporterKey
from tests.support.uploading import jpeg, text_bytes

pytestmark = pytest.mark.django_db

NARRATIVE = "Depuis mars, il publie mes photos et m'écrit la nuit."
ANSWERS = {
    "urgency": ["images_spreading"],
    "category": "intimate_images",
    "region": "fes_meknes",
    "language": "ar",
    "age_band": "18_24",
    "services": ["takedown"],
    "consent_share": True,
    "consent_statistics": False,
    "narrative": NARRATIVE,
    "identifiers": "@omar_x",
}
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 9000


def file_report(client, **changes):
    return client.post("/api/reports/", {**ANSWERS, **changes}, content_type="application/json")


def filed_code(client, **changes) -> str:
    response = file_report(client, **changes)
    assert response.status_code == 201, response.json()
    return response.json()["receipt_code"]


def add_evidence(client, code, *files, header=None, **extra):
    return client.post(
        "/api/reports/evidence/",
        {"evidence": [SimpleUploadedFile(name, content) for name, content in files]},
        HTTP_AUTHORIZATION=header if header is not None else f"Receipt {code}",
        **extra,
    )


def french(message) -> str:
    with translation.override("fr"):
        return str(message)


def blobs(root) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def files_containing(marker: bytes, *roots) -> list[Path]:
    return [p for root in roots for p in blobs(root) if marker in p.read_bytes()]


class PlaintextTripwire(FileUploadHandler):
    """Stands in for Django's default upload handlers, and, unlike the temporary-file
    one, keeps every byte it is given in FILE_UPLOAD_TEMP_DIR: if it ever reads a body,
    the plaintext is there for the test to find."""

    def receive_data_chunk(self, raw_data, start):
        with (Path(settings.FILE_UPLOAD_TEMP_DIR) / "tripwire.part").open("ab") as out:
            out.write(raw_data)

    def file_complete(self, file_size):
        return None


# --- filing a report ---------------------------------------------------------------------


def test_a_report_filed_through_the_api_opens_with_its_code_and_reads_for_the_coordinator(
    client, coordinator_key
):
    response = file_report(client)

    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", body["receipt_code"])
    assert (body["status"], body["status_text"]) == (
        "received",
        "Reçu : il attend une intervenante",
    )
    reporter, identity = services.open_receipt(body["receipt_code"])
    report = reporter.report
    assert (report.category, report.region, report.urgency, report.services) == (
        "intimate_images",
        "fes_meknes",
        ["images_spreading"],
        ["takedown"],
    )
    assert (report.consent_share, report.consent_statistics) == (True, False)
    content = services.read_content(report, coordinator_key)
    assert (content["narrative"], content["identifiers"]) == (NARRATIVE, "@omar_x")
    assert services.read_content(report, identity)["narrative"] == NARRATIVE


def test_filing_sets_no_cookie_and_forbids_keeping_the_code_in_a_cache(client, coordinator_key):
    response = file_report(client)

    assert response.status_code == 201
    assert response.cookies == {}
    assert "no-store" in response["Cache-Control"]


def test_under_18_makes_a_report_filed_through_the_api_urgent(client, coordinator_key):
    filed_code(client, age_band="under_18")
    assert Report.objects.get().urgency == ["images_spreading", "minor"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("category", "hacking", "n'est pas un choix valide"),
        ("services", [], "Choisissez au moins un type d'aide."),
        ("narrative", "x" * 1_000_000, "il peut en contenir 100000"),
        ("narrative", "   ", "Dites-nous, même en quelques mots, ce qui s'est passé."),
        ("urgency", ["minor"], "n'est pas un choix valide"),
        ("contact", "x" * 2001, "2000"),
    ],
    ids=[
        "unknown-category",
        "no-service",
        "1-MB-narrative",
        "blank-narrative",
        "minor-is-not-for-her-to-tick",
        "overlong-contact",
    ],
)
def test_a_wrong_answer_is_refused_by_field_name_and_nothing_is_kept(
    client, coordinator_key, blob_root, field, value, message
):
    response = file_report(client, **{field: value})

    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert not Report.objects.exists()
    assert not ReporterKey.objects.exists()
    assert blobs(blob_root) == set()


def test_a_missing_narrative_is_explained_in_arabic_when_asked(client, coordinator_key):
    answers = {k: v for k, v in ANSWERS.items() if k != "narrative"}
    response = client.post(
        "/api/reports/", answers, content_type="application/json", HTTP_ACCEPT_LANGUAGE="ar"
    )
    assert response.status_code == 400
    assert response.json() == {"narrative": ["يُرجى إخبارنا، ولو ببضع كلمات، بما حدث."]}


def test_without_any_organisation_holding_a_key_the_api_answers_503_and_keeps_nothing(
    client, blob_root
):
    response = file_report(client)

    assert response.status_code == 503
    assert "Aucun partenaire ne peut recevoir de signalement" in response.json()["detail"]
    assert not Report.objects.exists()
    assert not ReporterKey.objects.exists()
    assert blobs(blob_root) == set()


# --- adding evidence ---------------------------------------------------------------------


def test_evidence_added_with_the_code_opens_for_the_coordinator_and_for_her(
    client, coordinator_key
):
    code = filed_code(client)
    chat = text_bytes(5_000)

    response = add_evidence(
        client, code, ("capture.jpg", jpeg()), ("chat.txt", chat), header=f"Receipt {code}"
    )

    assert response.status_code == 201
    assert response.json() == {
        "count": 2,
        "items": [{"kind": "image", "size": len(jpeg())}, {"kind": "text", "size": len(chat)}],
    }
    reporter, identity = services.open_receipt(code)
    photo, text = reporter.report.evidence.order_by("position")
    assert evidence.read_object(photo.original, [coordinator_key]) == jpeg()
    assert evidence.read_object(text.original, [coordinator_key]) == chat
    assert evidence.read_object(text.original, [identity]) == chat


def test_the_code_works_without_its_spaces(client, coordinator_key):
    code = filed_code(client)
    response = add_evidence(
        client, code, ("capture.jpg", jpeg()), header="Receipt " + code.replace(" ", "")
    )
    assert response.status_code == 201
    assert Report.objects.get().evidence.count() == 1


@pytest.mark.parametrize(
    ("header", "refusal"),
    [
        ("Receipt 0000 0000 0000 0000", api.ReceiptRefused),
        ("Receipt 1234 5678", api.ReceiptRefused),
        ("Bearer {code}", api.ReceiptMissing),
        ("{code}", api.ReceiptMissing),
        ("", api.ReceiptMissing),
    ],
    ids=["wrong-code", "too-short", "other-scheme", "no-scheme", "no-header"],
)
def test_evidence_without_a_good_receipt_is_refused_and_nothing_is_kept(
    client, coordinator_key, blob_root, header, refusal
):
    code = filed_code(client)
    before = blobs(blob_root)

    response = add_evidence(client, code, ("capture.jpg", jpeg()), header=header.format(code=code))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Receipt"
    assert response.json() == {"detail": french(refusal.default_detail)}
    assert not EvidenceItem.objects.exists()
    assert blobs(blob_root) == before


def test_a_program_disguised_as_a_photo_is_refused_by_name_and_nothing_is_kept(
    client, coordinator_key, blob_root
):
    code = filed_code(client)
    before = blobs(blob_root)

    response = add_evidence(client, code, ("capture.jpg", jpeg()), ("photo.jpg", ELF))

    assert response.status_code == 400
    body = response.json()
    assert body["refusals"] == [
        {"name": "photo.jpg", "reason": "type", "message": "ce type de fichier n'est pas accepté"}
    ]
    assert "Rien n'a été conservé" in body["evidence"][0]
    assert not EvidenceItem.objects.exists()
    assert blobs(blob_root) == before  # the good photo sent with it was not kept either


def test_a_file_over_the_limit_is_refused_with_the_limit_in_arabic(
    client, coordinator_key, blob_root, settings
):
    settings.EVIDENCE_MAX_FILE_BYTES = 1024 * 1024
    code = filed_code(client)
    before = blobs(blob_root)

    response = add_evidence(
        client,
        code,
        ("video.mp4", jpeg(extra=b"0" * 2_000_000)),
        HTTP_ACCEPT_LANGUAGE="ar",
    )

    assert response.status_code == 400
    [refusal] = response.json()["refusals"]
    assert (refusal["name"], refusal["reason"]) == ("video.mp4", "too_large")
    with translation.override("ar"):
        assert refusal["message"] == translation.gettext("larger than %(max_file_mb)s MB") % {
            "max_file_mb": 1
        }
    assert blobs(blob_root) == before


def test_a_decompression_bomb_is_refused_by_name_and_nothing_is_kept(
    client, coordinator_key, blob_root
):
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 million pixels, a few KB
    code = filed_code(client)
    before = blobs(blob_root)

    response = add_evidence(client, code, ("capture.jpg", jpeg()), ("photo.png", bomb.getvalue()))

    assert response.status_code == 400
    assert response.json()["refusals"] == [
        {
            "name": "photo.png",
            "reason": "image_too_large",
            "message": "cette image est trop grande pour être ouverte sans risque",
        }
    ]
    assert not EvidenceItem.objects.exists()
    assert blobs(blob_root) == before


def test_a_request_without_any_file_is_refused(client, coordinator_key):
    code = filed_code(client)
    response = client.post(
        "/api/reports/evidence/", {"note": "nothing"}, HTTP_AUTHORIZATION=f"Receipt {code}"
    )
    assert response.status_code == 400
    assert response.json() == {"evidence": [french(api.NO_FILE)], "refusals": []}


def test_evidence_as_json_instead_of_a_form_is_refused(client, coordinator_key):
    code = filed_code(client)
    response = client.post(
        "/api/reports/evidence/",
        {"evidence": "aGVsbG8="},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Receipt {code}",
    )
    assert response.status_code == 415
    assert not EvidenceItem.objects.exists()


def test_evidence_is_sealed_as_it_arrives_and_no_plaintext_reaches_any_disk(
    client, coordinator_key, blob_root, tmp_path, settings
):
    uploads_dir = tmp_path / "uploads"
    uploads_dir.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(uploads_dir)
    # Were the body read by the configured handlers instead of the sealing one, the
    # tripwire would keep its plaintext in FILE_UPLOAD_TEMP_DIR.
    settings.FILE_UPLOAD_HANDLERS = [f"{__name__}.PlaintextTripwire"]
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    marker = f"MARKER-{uuid.uuid4().hex}".encode()
    # Longer than the sealing handler's 256 KiB chunks, with the marker in every chunk.
    chat = b"".join(text_bytes(20_000) + marker + b"\n" for _ in range(40))
    code = filed_code(client)

    response = add_evidence(client, code, ("chat.txt", chat))

    assert response.status_code == 201
    assert files_containing(marker, blob_root, uploads_dir) == []
    item = Report.objects.get().evidence.get()
    assert evidence.read_object(item.original, [coordinator_key]) == chat

    # The check can see plaintext: the same body through the configured handlers leaves
    # the marker in FILE_UPLOAD_TEMP_DIR.
    request = RequestFactory().post("/", {"evidence": SimpleUploadedFile("chat.txt", chat)})
    request.FILES  # noqa: B018
    assert files_containing(marker, uploads_dir) == [uploads_dir / "tripwire.part"]


# --- her report's status -----------------------------------------------------------------


def test_her_status_shows_in_french_by_default_and_in_arabic_when_asked(client, coordinator_key):
    code = filed_code(client)
    add_evidence(client, code, ("capture.jpg", jpeg()))
    report = Report.objects.get()

    french = client.get("/api/reports/mine/", HTTP_AUTHORIZATION=f"Receipt {code}")
    arabic = client.get(
        "/api/reports/mine/", HTTP_AUTHORIZATION=f"Receipt {code}", HTTP_ACCEPT_LANGUAGE="ar"
    )

    assert french.status_code == arabic.status_code == 200
    assert french.json()["status_text"] == "Reçu : il attend une intervenante"
    assert arabic.json()["status_text"] == "تم الاستلام: في انتظار مكلّفة بالمتابعة"
    body = arabic.json()
    assert set(body) == {"status", "status_text", "created_at", "evidence_count"}
    assert (body["status"], body["evidence_count"]) == ("received", 1)
    assert body["created_at"][14:19] == "00:00"  # to the hour
    assert NARRATIVE not in arabic.content.decode()
    assert french.cookies == arabic.cookies == {}
    assert report.created_at.minute == 0


def test_her_status_needs_her_code(client, coordinator_key):
    filed_code(client)
    response = client.get("/api/reports/mine/", HTTP_AUTHORIZATION="Receipt 0000 0000 0000 0000")
    assert response.status_code == 401
    assert response.json() == {"detail": french(api.ReceiptRefused.default_detail)}


# --- the schema --------------------------------------------------------------------------


def test_the_schema_describes_the_three_endpoints(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert {"/api/reports/", "/api/reports/evidence/", "/api/reports/mine/"} <= set(paths)
    assert set(paths["/api/reports/"]) == {"post"}
    assert set(paths["/api/reports/evidence/"]) == {"post"}
    assert set(paths["/api/reports/mine/"]) == {"get"}

    new_report = schema["components"]["schemas"]["NewReport"]
    assert {"category", "services", "narrative", "consent_share"} <= set(new_report["required"])
    assert new_report["properties"]["narrative"]["maxLength"] == 100_000

    upload = paths["/api/reports/evidence/"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    files = schema["components"]["schemas"][form.rsplit("/", 1)[-1]]["properties"]["evidence"]
    assert files["items"] == {"type": "string", "format": "binary"}
    assert set(upload["responses"]) == {"201", "400", "401", "415", "429"}

    assert upload["security"] == paths["/api/reports/mine/"]["get"]["security"] == [{"receipt": []}]
    receipt = schema["components"]["securitySchemes"]["receipt"]
    assert (receipt["type"], receipt["in"], receipt["name"]) == (
        "apiKey",
        "header",
        "Authorization",
    )
    assert set(paths["/api/reports/"]["post"]["responses"]) == {"201", "400", "415", "429", "503"}
    # The limits' answer says how long to wait (web/schema.py, reporting/throttle.py).
    throttled = paths["/api/reports/mine/"]["get"]["responses"]["429"]
    assert throttled["headers"]["Retry-After"]["required"] is True


def test_a_body_that_is_not_json_is_refused_with_a_detail_the_schema_describes(
    client, coordinator_key
):
    response = client.post("/api/reports/", b"category=doxxing", content_type="application/json")

    # Found by tests/test_api_schema.py: the schema promised field errors only.
    assert response.status_code == 400
    assert list(response.json()) == ["detail"]
    assert not Report.objects.exists()
    schema = client.get("/api/schema/", {"format": "json"}).json()
    refused = schema["paths"]["/api/reports/"]["post"]["responses"]["400"]
    assert {"$ref": "#/components/schemas/Error"} in (
        refused["content"]["application/json"]["schema"]["oneOf"]
    )


def test_guessing_codes_through_the_api_is_stopped_site_wide(
    client, settings, coordinator_key, same_minute
):
    settings.RECEIPT_FAILURES_PER_MINUTE = 3
    for _ in range(3):
        response = client.get(
            "/api/reports/mine/", HTTP_AUTHORIZATION="Receipt 0000 0000 0000 0009"
        )
        assert response.status_code == 401
    response = client.get("/api/reports/mine/", HTTP_AUTHORIZATION="Receipt 0000 0000 0000 0009")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "Trop de codes ont été essayés" in response.json()["detail"]
    assert not response.cookies
