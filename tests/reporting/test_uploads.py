"""Her browser's resumable uploads over tus 1.0.0 (reporting/uploads.py): what it sends,
what it is told, in her language, and that a refusal keeps nothing."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.test import Client
from django.utils.crypto import get_random_string, salted_hmac

from evidence import age, resumable, services
from evidence.models import ResumableUpload, SealedObject
from reporting.uploads import SESSION_READERS

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


class HerBrowser:
    """A browser on the page that seals her files: a session that knows her readers,
    the CSRF cookie and the header its script sends."""

    def __init__(self, readers: int | None = 3, language: str = "fr") -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.language = language
        session = self.client.session
        if readers is not None:
            session[SESSION_READERS] = readers
        session.save()
        self.csrf = get_random_string(32)
        self.client.cookies["csrftoken"] = self.csrf

    @property
    def owner(self) -> str:
        key = self.client.session.session_key
        return salted_hmac("reporting.uploads", key).hexdigest()

    def headers(self, **extra: str) -> dict[str, str]:
        return {**TUS, "HTTP_X_CSRFTOKEN": self.csrf, **extra}

    def create(self, length: int, **extra: str):
        return self.client.post(
            f"/{self.language}/report/uploads/",
            **self.headers(HTTP_UPLOAD_LENGTH=str(length), **extra),
        )

    def head(self, location: str):
        return self.client.head(location, **self.headers())

    def patch(self, location: str, offset: int, body: bytes, **extra: str):
        return self.client.generic(
            "PATCH",
            location,
            body,
            content_type="application/offset+octet-stream",
            **self.headers(HTTP_UPLOAD_OFFSET=str(offset), **extra),
        )

    def delete(self, location: str):
        return self.client.delete(location, **self.headers())

    def send(self, data: bytes, parts: int = 65536):
        """Create, then PATCH in parts; the last answer (or the first refusal)."""
        created = self.create(len(data))
        if created.status_code != 201:
            return created
        location = created["Location"]
        offset, answer = 0, created
        while offset < len(data):
            answer = self.patch(location, offset, data[offset : offset + parts])
            if answer.status_code != 204:
                return answer
            offset = int(answer["Upload-Offset"])
        return answer


def sealed_file(size: int, readers: int) -> tuple[bytes, bytes, list[age.X25519Identity]]:
    identities = [age.X25519Identity.generate() for _ in range(readers)]
    plain = os.urandom(size)
    return plain, age.encrypt(plain, [i.recipient for i in identities]), identities


def files_in(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_options_say_which_protocol_and_how_large_a_file_may_be(settings, client):
    settings.EVIDENCE_MAX_FILE_BYTES = 2 * MiB
    answer = client.options("/fr/report/uploads/")
    assert answer.status_code == 204
    assert answer["Tus-Version"] == "1.0.0"
    assert answer["Tus-Extension"] == "creation,termination"
    assert int(answer["Tus-Max-Size"]) == resumable.largest_ciphertext(2 * MiB)


def test_her_browser_sends_a_sealed_file_in_parts_and_her_readers_open_it(blob_root):
    plain, data, identities = sealed_file(300_000, 3)
    browser = HerBrowser(readers=3)

    created = browser.create(len(data), HTTP_UPLOAD_METADATA="filename c2VjcmV0LmpwZw==")
    assert created.status_code == 201
    assert created["Tus-Resumable"] == "1.0.0"
    location = created["Location"]
    assert location.startswith("/fr/report/uploads/")
    status = browser.head(location)
    assert (status.status_code, status["Upload-Offset"]) == (200, "0")
    assert status["Upload-Length"] == str(len(data))
    assert status["Cache-Control"] == "no-store"
    for offset in range(0, len(data), 100_000):
        answer = browser.patch(location, offset, data[offset : offset + 100_000])
        assert answer.status_code == 204, answer.content
        assert answer["Upload-Offset"] == str(min(offset + 100_000, len(data)))
    assert browser.head(location)["Upload-Offset"] == str(len(data))

    # The filing (the lead's) claims it with the same owner the view used.
    token = location.rstrip("/").rsplit("/", 1)[1]
    sealed = resumable.claim(token, browser.owner)
    assert sealed.sealed_by == SealedObject.SealedBy.BROWSER
    for identity in identities:
        assert services.read_object(sealed, [identity]) == plain
    # Nothing of the name she gave in Upload-Metadata was kept anywhere.
    assert b"secret" not in b"".join(p.read_bytes() for p in files_in(blob_root))


def test_the_address_of_an_upload_keeps_the_language_of_her_page():
    data = sealed_file(10, 3)[1]
    created = HerBrowser(language="ar").create(len(data))
    assert created["Location"].startswith("/ar/report/uploads/")


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("stanza count", "stanzas"),
        ("scrypt stanza", "stanzas"),
        ("truncated payload", "payload"),
        ("overlong payload", "payload"),
        ("header over the cap", "header"),
    ],
)
def test_a_file_not_sealed_as_the_server_accepts_is_refused_clearly_and_nothing_is_kept(
    kind, reason, blob_root
):
    data, readers = {
        "stanza count": (sealed_file(1000, 2)[1], 3),
        "scrypt stanza": (
            age.encrypt(b"her words " * 20, [age.ScryptRecipient(b"guess", work_factor=10)]),
            1,
        ),
        "truncated payload": (sealed_file(65541, 3)[1][:-6], 3),
        "overlong payload": (sealed_file(65536, 3)[1] + bytes(16), 3),
        "header over the cap": (sealed_file(10, 50)[1], 50),
    }[kind]
    answer = HerBrowser(readers=readers).send(data, parts=3000)
    assert answer.status_code == 400
    assert answer.json() == {
        "reason": reason,
        "message": "Ce fichier n'a pas pu être envoyé tel qu'il a été scellé. Rien n'a été "
        "gardé ; veuillez réessayer.",
    }
    assert not ResumableUpload.objects.exists()
    assert not SealedObject.objects.exists()
    assert files_in(blob_root) == []


def test_a_refusal_speaks_arabic_on_her_arabic_page():
    data = sealed_file(1000, 2)[1]
    answer = HerBrowser(readers=3, language="ar").send(data)
    assert answer.status_code == 400
    assert answer.json()["message"] == (
        "تعذّر إرسال هذا الملف كما خُتم. لم يُحفظ منه شيء؛ حاولي مرة أخرى من فضلك."
    )


def test_a_file_over_the_limit_is_refused_before_its_first_byte(settings, blob_root):
    settings.EVIDENCE_MAX_FILE_BYTES = MiB
    answer = HerBrowser().create(resumable.largest_ciphertext(MiB) + 1)
    assert answer.status_code == 413
    assert answer.json()["reason"] == "size"
    assert "1 Mo" in answer.json()["message"]
    assert not ResumableUpload.objects.exists()
    assert files_in(blob_root) == []


def test_a_part_from_the_wrong_offset_is_a_conflict_that_says_where_the_upload_stands():
    data = sealed_file(100_000, 3)[1]
    browser = HerBrowser()
    location = browser.create(len(data))["Location"]
    assert browser.patch(location, 0, data[:10_000]).status_code == 204
    conflict = browser.patch(location, 5000, data[5000:20_000])
    assert conflict.status_code == 409
    assert conflict["Upload-Offset"] == "10000"
    assert conflict.json()["reason"] == "offset"
    assert browser.head(location)["Upload-Offset"] == "10000"


def test_a_part_beyond_the_length_announced_is_refused_unread():
    data = sealed_file(1000, 3)[1]
    browser = HerBrowser()
    location = browser.create(len(data))["Location"]
    answer = browser.patch(location, 0, data + b"more")
    assert answer.status_code == 413
    assert browser.head(location)["Upload-Offset"] == "0"


def test_another_sessions_token_finds_nothing_and_leaves_the_upload_alone():
    data = sealed_file(1000, 3)[1]
    hers = HerBrowser()
    location = hers.create(len(data))["Location"]
    other = HerBrowser()
    assert other.head(location).status_code == 404
    answer = other.patch(location, 0, data)
    assert answer.status_code == 404
    assert answer.json()["reason"] == "not_found"
    assert other.delete(location).status_code == 404
    assert hers.head(location)["Upload-Offset"] == "0"
    assert other.head("/fr/report/uploads/made-up/").status_code == 404


def test_too_many_uploads_at_once_are_refused():
    browser = HerBrowser(readers=1)
    for _ in range(resumable.MAX_UPLOADS_PER_OWNER):
        assert browser.create(1000).status_code == 201
    answer = browser.create(1000)
    assert answer.status_code == 429
    assert answer.json()["reason"] == "too_many"


def test_termination_removes_every_byte(blob_root, django_capture_on_commit_callbacks):
    data = sealed_file(100_000, 3)[1]
    browser = HerBrowser()
    location = browser.create(len(data))["Location"]
    browser.patch(location, 0, data[:50_000])
    with django_capture_on_commit_callbacks(execute=True):
        assert browser.delete(location).status_code == 204
    assert browser.head(location).status_code == 404
    assert files_in(blob_root) == []
    assert not ResumableUpload.objects.exists()


def test_without_the_readers_of_her_report_in_her_session_nothing_can_start():
    answer = HerBrowser(readers=None).create(1000)
    assert answer.status_code == 403
    assert answer.json()["reason"] == "session"


def test_without_the_csrf_header_nothing_is_done(blob_root):
    browser = HerBrowser()
    answer = browser.client.post("/fr/report/uploads/", HTTP_UPLOAD_LENGTH="1000", **TUS)
    assert answer.status_code == 403
    assert answer.json()["reason"] == "csrf"
    assert not ResumableUpload.objects.exists()


def test_requests_outside_the_protocol_are_refused():
    data = sealed_file(1000, 3)[1]
    browser = HerBrowser()
    unversioned = browser.client.post(
        "/fr/report/uploads/", HTTP_UPLOAD_LENGTH="1000", HTTP_X_CSRFTOKEN=browser.csrf
    )
    assert unversioned.status_code == 412
    assert unversioned["Tus-Version"] == "1.0.0"
    location = browser.create(len(data))["Location"]
    wrong_type = browser.client.generic(
        "PATCH",
        location,
        data,
        content_type="application/octet-stream",
        **browser.headers(HTTP_UPLOAD_OFFSET="0"),
    )
    assert wrong_type.status_code == 415
    assert browser.create(-1).status_code == 400


def test_no_body_sent_to_the_upload_addresses_reaches_a_temporary_file(settings, tmp_path):
    # Even with Django's disk-spilling handler configured, the views read no body
    # through it: the PATCH body goes to the blob store only, a POST's is read past.
    settings.FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    browser = HerBrowser()
    answer = browser.client.post(
        "/fr/report/uploads/",
        {"file": io.BytesIO(b"her plaintext " * 1000)},
        **browser.headers(HTTP_UPLOAD_LENGTH="1000"),
    )
    assert answer.status_code == 201
    assert list(tmp_path.iterdir()) == []
