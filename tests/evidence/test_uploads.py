"""Evidence is sealed as it arrives, refused with a reason, and never left half-stored."""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path

import pytest
from django.test import RequestFactory

from evidence import age
from evidence import services as evidence
from evidence.uploads import SealedUpload, SealingUploadHandler, display_name
from tests.support.uploading import jpeg, parse, text_bytes

pytestmark = pytest.mark.django_db

MARKER = b"MARKER-she-sent-this-photo-of-the-threat-7f3a9c"
MiB = 1024 * 1024


@pytest.fixture
def org() -> age.X25519Identity:
    return age.X25519Identity.generate()


def files_under(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_an_upload_is_sealed_and_no_plaintext_reaches_any_disk(org, blob_root, settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    started = time.time()
    content = jpeg(extra=MARKER * 20_000)  # about 1 MiB: several chunks

    _, files, _ = parse([org.recipient], {"evidence": [("threat.jpg", content)]})

    [upload] = files.getlist("evidence")
    assert isinstance(upload, SealedUpload)
    assert (upload.sniffed.kind, upload.blob.size) == ("image", len(content))
    assert upload.blob.sha256 == hashlib.sha256(content).hexdigest()
    assert evidence.read_object(upload.blob.record(), [org]) == content
    system_temp = Path(tempfile.gettempdir())
    new_temp_files = [
        p for p in system_temp.iterdir() if p.is_file() and p.stat().st_mtime >= started
    ]
    written = files_under(blob_root) + files_under(tmp_path) + new_temp_files
    assert files_under(blob_root), "the sealed payload should be on disk"
    for path in written:
        assert MARKER not in path.read_bytes(), path


def test_fields_after_a_refused_file_are_kept_for_the_form(org, blob_root, settings):
    settings.EVIDENCE_MAX_FILE_BYTES = 1 * MiB
    post, files, handler = parse(
        [org.recipient],
        {"evidence": [("video.mp4", jpeg(extra=b"x" * (2 * MiB)))]},
        fields={"narrative": "Il m'a menacée hier soir"},
    )
    assert [(r.name, r.reason) for r in handler.refusals] == [("video.mp4", "too_large")]
    assert not files
    assert post["narrative"] == "Il m'a menacée hier soir"
    assert files_under(blob_root) == []


def test_the_report_limit_counts_every_file(org, blob_root, settings):
    settings.EVIDENCE_MAX_REPORT_BYTES = 1 * MiB
    first, second = jpeg(extra=b"a" * 600_000), jpeg(extra=b"b" * 600_000)
    _, files, handler = parse(
        [org.recipient], {"evidence": [("one.jpg", first), ("two.jpg", second)]}
    )
    assert [u.name for u in files.getlist("evidence")] == ["one.jpg"]
    assert [(r.name, r.reason) for r in handler.refusals] == [("two.jpg", "report_too_large")]
    assert len(files_under(blob_root)) == 1


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 9000),  # a program, whatever its name
        ("note.txt", b"MZ\x90\x00" + b"\x00" * 100),  # short: sniffed when complete
        ("page.html", b"<html><script>alert(1)</script></html>"),
    ],
    ids=["long executable", "short executable", "html"],
)
def test_a_type_outside_the_allow_list_is_refused_and_leaves_nothing(org, blob_root, name, content):
    _, files, handler = parse([org.recipient], {"evidence": [(name, content)]})
    assert not files
    assert [(r.name, r.reason) for r in handler.refusals] == [(name, "type")]
    assert files_under(blob_root) == []


def test_a_short_chat_export_is_accepted_as_text(org):
    _, files, _ = parse([org.recipient], {"evidence": [("WhatsApp Chat.txt", text_bytes(900))]})
    assert files["evidence"].sniffed.kind == "text"
    assert files["evidence"].image is None


def test_an_empty_file_is_refused(org, blob_root):
    _, files, handler = parse([org.recipient], {"evidence": [("empty.jpg", b"")]})
    assert not files
    assert [(r.name, r.reason) for r in handler.refusals] == [("empty.jpg", "empty")]
    assert files_under(blob_root) == []


def test_an_image_is_held_in_memory_only_up_to_the_limit(org, settings):
    settings.EVIDENCE_MAX_IMAGE_BYTES = 300_000
    small, large = jpeg(extra=b"s" * 10_000), jpeg(extra=b"l" * 600_000)
    _, files, _ = parse([org.recipient], {"evidence": [("small.jpg", small), ("large.jpg", large)]})
    small_upload, large_upload = files.getlist("evidence")
    assert small_upload.image == small
    assert large_upload.image is None  # too big to hold: still sealed as an original
    assert large_upload.blob.size == len(large)


def test_a_sealed_upload_cannot_be_read_back(org):
    _, files, _ = parse([org.recipient], {"evidence": [("threat.jpg", jpeg())]})
    with pytest.raises(OSError, match="cannot be read back"):
        files["evidence"].read()


def test_a_refused_form_discards_every_accepted_file(org, blob_root):
    _, _, handler = parse(
        [org.recipient], {"evidence": [("a.jpg", jpeg()), ("b.txt", text_bytes(5000))]}
    )
    assert len(files_under(blob_root)) == 2
    handler.discard_all()
    assert files_under(blob_root) == []


def test_a_body_cut_off_mid_file_leaves_nothing(org, blob_root):
    boundary = "BoUnDaRy"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="evidence"; '
        f'filename="cut.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    ).encode() + jpeg(extra=b"z" * 900_000)[:700_000]
    request = RequestFactory().generic(
        "POST", "/report/", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    handler = SealingUploadHandler(request, recipients=[org.recipient])
    request.upload_handlers = [handler]
    try:
        files = request.FILES
    except Exception:  # Django may call the body malformed; either way, nothing is kept
        files = {}
    handler.discard_all()  # what the intake view does when anything went wrong
    assert not files
    assert files_under(blob_root) == []


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("C:\\Users\\Amina\\Desktop\\capture.png", "capture.png"),
        ("../../etc/passwd", "passwd"),
        ("photo\u202egpj.exe", "photogpj.exe"),  # a right-to-left override hid ".exe"
        ("bad\x00name\x07.jpg", "badname.jpg"),
        ("", "file"),
        ("....", "file"),
        ("صورة التهديد.jpg", "صورة التهديد.jpg"),
        ("x" * 300 + ".jpg", "x" * 120),
    ],
)
def test_a_file_name_is_cleaned_for_display(raw, shown):
    assert display_name(raw) == shown
