"""Build real multipart requests and run them through the sealing upload handler."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from PIL import Image

from evidence.uploads import SealingUploadHandler


def jpeg(size: tuple[int, int] = (64, 48), extra: bytes = b"") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG")
    return out.getvalue() + extra  # bytes after the end of image are kept, not shown


def text_bytes(size: int) -> bytes:
    """A WhatsApp chat export of about ``size`` bytes, cut between characters."""
    line = "12/03/2026, 21:40 - Omar: سأنشر صورك إن لم تدفعي\n"
    text = line * (size // len(line.encode()) + 1)
    while len(text.encode()) > size:
        text = text[:-1]
    return text.encode()


def parse(recipients, files: dict[str, list[tuple[str, bytes]]], fields: dict | None = None):
    """POST ``files`` (and ``fields``) through Django's multipart parser with the sealing
    handler; returns (POST, FILES, handler)."""
    data = dict(fields or {})
    for field_name, items in files.items():
        data[field_name] = [SimpleUploadedFile(name, content) for name, content in items]
    request = RequestFactory().post("/report/", data=data)
    handler = SealingUploadHandler(request, recipients=recipients)
    request.upload_handlers = [handler]
    return request.POST, request.FILES, handler


def send_resumable(client, language: str, csrf: str, sealed: bytes) -> str:
    """Send ``sealed`` (an age file) as her browser does (reporting/uploads.py, in one
    part) and return the upload's token."""
    tus = {"HTTP_TUS_RESUMABLE": "1.0.0", "HTTP_X_CSRFTOKEN": csrf}
    created = client.post(
        f"/{language}/report/uploads/", HTTP_UPLOAD_LENGTH=str(len(sealed)), **tus
    )
    assert created.status_code == 201, created.content
    sent = client.generic(
        "PATCH",
        created["Location"],
        sealed,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **tus,
    )
    assert sent.status_code == 204, sent.content
    return created["Location"].rstrip("/").rsplit("/", 1)[-1]
