"""The blind-server test (issue 18): with scripts on, the server never holds what she
wrote or sent.

A report is filed in Chromium with a canary in every field, in a file's name, in a
file's content and in a photo's EXIF.  Every request the server received during the
test is recorded as the WSGI application read it (its address, headers and body), and
the sealing kernel (evidence/age) is instrumented.  The canary, plain or in base64, hex
or UTF-16, is in none of those requests, nor in the database, the blob store, the logs
or Redis; and the web process sealed none of her content and opened no key.  Then the
same report with scripts off: the server sealed it, and the test sees the difference.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from PIL import ExifTags, Image
from playwright.sync_api import Browser, Page, expect

from evidence import age
from reporting.models import Report
from tests.support.intake_pages import answer_the_steps

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CANARY = "CANARY-b5e1d07"
PHONE = {"width": 360, "height": 740}


def spellings(text: str) -> list[bytes]:
    """The ways the canary could travel: as it is, in UTF-16 either way, in hex, and in
    base64 at each of the three alignments (the characters that depend on the bytes
    around it cut off)."""
    raw = text.encode()
    forms = [raw, text.encode("utf-16-le"), text.encode("utf-16-be")]
    forms += [raw.hex().encode(), raw.hex().upper().encode()]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        start = (shift * 4 + 2) // 3 + 1  # past the characters that hold padding bits
        forms.append(encoded[start : len(encoded) - 4])
    return forms


def carries_canary(blob: bytes) -> bool:
    return any(form in blob for form in spellings(CANARY))


class Recorder:
    """What the server received and what its sealing kernel did, while the test runs."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.sealed_plaintext: list[bytes] = []
        self.unwraps = 0
        self.opened = 0


class _Tee:
    def __init__(self, stream, record: bytearray) -> None:
        self.stream, self.record = stream, record

    def read(self, *args):
        data = self.stream.read(*args)
        self.record.extend(data)
        return data

    def readline(self, *args):
        data = self.stream.readline(*args)
        self.record.extend(data)
        return data


@pytest.fixture
def recorder(monkeypatch) -> Recorder:
    seen = Recorder()
    serve = WSGIHandler.__call__

    def recording(handler, environ, start_response):
        body = bytearray()
        environ["wsgi.input"] = _Tee(environ["wsgi.input"], body)
        head = " ".join(
            f"{k}={v}" for k, v in environ.items() if isinstance(v, str) and k.isupper()
        )
        try:
            return serve(handler, environ, start_response)
        finally:
            seen.requests.append(head.encode() + b"\n" + bytes(body))

    monkeypatch.setattr(WSGIHandler, "__call__", recording)

    write = age.Encryptor.write

    def sealing(encryptor, data):
        seen.sealed_plaintext.append(bytes(data))
        return write(encryptor, data)

    monkeypatch.setattr(age.Encryptor, "write", sealing)
    for identity in (age.X25519Identity, age.ScryptIdentity):
        unwrap = identity.unwrap

        def counting(self, stanzas, _unwrap=unwrap):
            seen.unwraps += 1
            return _unwrap(self, stanzas)

        monkeypatch.setattr(identity, "unwrap", counting)
    open_sealed = age.open_sealed

    def opening(*args, **kwargs):
        seen.opened += 1
        return open_sealed(*args, **kwargs)

    monkeypatch.setattr(age, "open_sealed", opening)
    return seen


@pytest.fixture
def logged(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def _photo() -> bytes:
    image = Image.new("RGB", (40, 30), (120, 30, 60))
    exif = Image.Exif()
    exif[ExifTags.Base.ImageDescription] = CANARY
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


# Made once, before any test starts capturing logs: Pillow's own debug lines about
# writing the canary into the EXIF are the test's, not the server's.
PHOTO = _photo()


def file_with_canary_everywhere(browser: Browser, base: str, *, scripts: bool) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=scripts, locale="fr-FR")
    page: Page = context.new_page()
    answer_the_steps(page, base, category="doxxing")
    page.locator("textarea[name=narrative]").fill(f"Il a publié mon adresse. {CANARY}")
    page.locator("textarea[name=identifiers]").fill(f"@{CANARY}")
    page.locator("input[name=contact]").fill(f"{CANARY}@example.org")
    page.locator("input[name=evidence]").set_input_files(
        [
            {"name": f"{CANARY}.jpg", "mimeType": "image/jpeg", "buffer": PHOTO},
            {
                "name": f"notes-{CANARY}.txt",
                "mimeType": "text/plain",
                "buffer": f"Ce qu'il a écrit : {CANARY}\n".encode(),
            },
        ]
    )
    page.locator("form.intake button[type=submit]").click()
    if scripts:
        expect(page.locator("#receipt-view")).to_be_visible(timeout=60_000)
    else:
        page.wait_for_url("**/report/receipt/")
    context.close()


def database_rows() -> list[bytes]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        tables = [name for (name,) in cursor.fetchall()]
        rows = []
        for table in tables:
            cursor.execute(f'SELECT row_to_json(t)::text FROM "{table}" t')  # noqa: S608 - names from the catalogue
            rows += [text.encode() for (text,) in cursor.fetchall()]
    return rows


def redis_values() -> list[bytes]:
    values = []
    urls = {settings.CACHES["default"]["LOCATION"], settings.CELERY_BROKER_URL}
    for url in urls:
        if not url.startswith("redis"):
            continue
        client = redis.Redis.from_url(url)
        for key in client.scan_iter():
            kind = client.type(key)
            if kind == b"string":
                values.append(key + b" " + (client.get(key) or b""))
            elif kind == b"list":
                values += [key + b" " + v for v in client.lrange(key, 0, -1)]
            elif kind == b"hash":
                values += [key + b" " + k + v for k, v in client.hgetall(key).items()]
            elif kind in (b"set", b"zset"):
                members = client.smembers(key) if kind == b"set" else client.zrange(key, 0, -1)
                values += [key + b" " + m for m in members]
    return values


def blob_files() -> list[bytes]:
    root = Path(settings.EVIDENCE_BLOB_ROOT)
    return [path.read_bytes() for path in root.rglob("*") if path.is_file()]


def test_with_scripts_on_the_server_never_holds_what_she_sent(
    browser, live_server, coordinator_key, recorder, logged
):
    file_with_canary_everywhere(browser, live_server.url, scripts=True)

    report = Report.objects.get()
    assert report.evidence.count() == 2
    assert len(recorder.requests) > 10  # pages, uploads, the filing: all were seen
    assert [r[:200] for r in recorder.requests if carries_canary(r)] == []
    assert [r[:200] for r in database_rows() if carries_canary(r)] == []
    assert not any(carries_canary(blob) for blob in blob_files())
    assert not any(carries_canary(v) for v in redis_values())
    assert not carries_canary(logged.text.encode())
    # The web process sealed nothing of hers, and opened no key and no sealed object.
    assert not any(carries_canary(p) for p in recorder.sealed_plaintext)
    assert (recorder.unwraps, recorder.opened) == (0, 0)


def test_with_scripts_off_the_server_seals_it_and_so_holds_it_for_that_moment(
    browser, live_server, coordinator_key, recorder
):
    file_with_canary_everywhere(browser, live_server.url, scripts=False)

    Report.objects.get()
    # Her words and files crossed the server in the clear, and it sealed them: the
    # difference the last step tells her about.
    assert any(carries_canary(r) for r in recorder.requests)
    assert any(carries_canary(p) for p in recorder.sealed_plaintext)
    # At rest, it is sealed all the same.
    assert not any(carries_canary(blob) for blob in blob_files())
    assert [r[:200] for r in database_rows() if carries_canary(r)] == []


def test_the_canary_finder_finds_each_spelling():
    # The test above is only as good as this: each way of writing the canary is found.
    for form in ("plain", "utf16", "hex", "base64"):
        text = {
            "plain": f"x {CANARY} y".encode(),
            "utf16": f"x {CANARY} y".encode("utf-16-le"),
            "hex": f"x {CANARY} y".encode().hex().encode(),
            "base64": base64.b64encode(f"xx {CANARY} y".encode()),
        }[form]
        assert carries_canary(text), form
    assert not carries_canary(re.sub(rb"7", b"8", CANARY.encode()))
