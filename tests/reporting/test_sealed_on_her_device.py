"""Her report sealed on her phone (issue 18), in a real Chromium at 360 px: her receipt
made there, her words and files sealed there and uploaded as ciphertext, the photo's
working copy stripped there; with scripts off, the server seals, and the page says so."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re

import pytest
from PIL import ExifTags, Image
from playwright.sync_api import Browser, Page, expect

from evidence import services as evidence
from evidence.models import CustodyEvent, SealedObject
from reporting import services
from reporting.models import Report
from tests.support.cutting_proxy import CuttingProxy
from tests.support.intake_pages import answer_the_steps

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
WORDS = "Il a créé un faux compte à mon nom depuis mars."
WHO = "@faux_compte_2026"
CODE = re.compile(r"\d{4} \d{4} \d{4} \d{4}")


def phone(browser: Browser, *, scripts: bool, locale: str = "fr-FR") -> Page:
    context = browser.new_context(
        viewport=PHONE, java_script_enabled=scripts, locale=locale, is_mobile=True, has_touch=True
    )
    return context.new_page()


def photo_with_metadata() -> bytes:
    """A phone photo as she would send it: where and when it was taken, and by what."""
    image = Image.new("RGB", (64, 48))
    image.putdata([(x * 4 % 256, y * 5 % 256, (x + y) % 256) for y in range(48) for x in range(64)])
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Model-SECRET"
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] = "N"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90, comment=b"taken at home")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def send(page: Page) -> str:
    page.locator("form.intake button[type=submit]").click()
    view = page.locator("#receipt-view")
    expect(view).to_be_visible(timeout=60_000)
    code = view.locator(".receipt-code").inner_text()
    assert CODE.fullmatch(code), code
    return code


def test_with_scripts_on_her_words_and_files_are_sealed_on_her_phone(
    browser, live_server, coordinator_key
):
    page = phone(browser, scripts=True)
    answer_the_steps(page, live_server.url)
    # She is told where her words are locked: on her phone, not by the server.
    expect(page.locator("[data-browser-sealing]")).to_be_visible()
    expect(page.locator("[data-server-sealing]")).to_be_hidden()
    page.locator("textarea[name=narrative]").fill(WORDS)
    page.locator("textarea[name=identifiers]").fill(WHO)
    photo = photo_with_metadata()
    page.locator("input[name=evidence]").set_input_files(
        [
            {"name": "capture.jpg", "mimeType": "image/jpeg", "buffer": photo},
            {"name": "plainte.pdf", "mimeType": "application/pdf", "buffer": PDF},
        ]
    )
    code = send(page)

    # Her code is on screen, on the page she filed from, and in no address.
    assert page.url.endswith("/fr/report/your-words/")
    assert code.replace(" ", "") not in page.url
    [report] = Report.objects.all()
    assert report.content.sealed_by == SealedObject.SealedBy.BROWSER
    assert report.sealed_to[0] == report.reporter.key_recipient
    opened = services.read_content(report, coordinator_key)
    assert (opened["narrative"], opened["identifiers"]) == (WORDS, WHO)

    jpeg, pdf = report.evidence.all()
    assert (jpeg.kind, jpeg.mime, pdf.kind) == ("image", "image/jpeg", "pdf")
    # The original untouched, its hash computed on her phone and said to be hers.
    assert evidence.read_object(jpeg.original, [coordinator_key]) == photo
    assert jpeg.sha256 == hashlib.sha256(photo).hexdigest()
    assert jpeg.size == len(photo)
    received = jpeg.custody.get(action=CustodyEvent.Action.RECEIVED)
    assert received.detail["sha256_claimed_by"] == "her device"
    assert received.detail["ciphertext_sha256"] == jpeg.original.ciphertext_sha256
    # The working copy: the same pixels, without where, when and with what.
    copy = evidence.read_object(jpeg.working_copy, [coordinator_key])
    assert b"Model-SECRET" not in copy
    assert b"taken at home" not in copy
    assert Image.open(io.BytesIO(copy)).tobytes() == Image.open(io.BytesIO(photo)).tobytes()
    note = json.loads(evidence.read_object(jpeg.note, [coordinator_key]))
    assert note["name"] == "capture.jpg"
    assert "exif" in note["working_copy"]["removed"]
    assert evidence.read_object(pdf.original, [coordinator_key]) == PDF
    assert pdf.working_copy is None

    # The code her phone made opens her report on a visit with scripts off.
    page.context.close()
    later = phone(browser, scripts=False)
    later.goto(f"{live_server.url}/fr/return/")
    later.locator("input[name=code]").fill(code)
    later.locator("form button[type=submit]").click()
    later.wait_for_url("**/return/report/")
    assert WORDS in later.content()
    assert "capture.jpg" in later.content()
    later.context.close()


def test_in_arabic_on_a_phone_the_page_says_where_it_locks_and_shows_her_code(
    browser, live_server, coordinator_key
):
    page = phone(browser, scripts=True, locale="ar-MA")
    answer_the_steps(page, live_server.url, lang="ar")
    note = page.locator("[data-browser-sealing]")
    expect(note).to_be_visible()
    assert "على هذا الهاتف" in note.inner_text()
    page.locator("textarea[name=narrative]").fill("كيصيفط ليا ميساجات ديال التهديد")
    code = send(page)

    assert page.locator("#receipt-view h1").inner_text() == "تم استلام بلاغك"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The code reads left to right, as on her paper.
    assert page.locator("#receipt-view .receipt-code").get_attribute("dir") == "ltr"
    assert services.open_receipt(code)[0].report == Report.objects.get()
    page.context.close()


def test_with_scripts_off_the_last_step_says_the_server_locks_and_it_does(
    browser, live_server, coordinator_key
):
    page = phone(browser, scripts=False)
    answer_the_steps(page, live_server.url)
    expect(page.locator("[data-server-sealing]")).to_be_visible()
    expect(page.locator("[data-browser-sealing]")).to_be_hidden()
    assert "verrouillés par notre serveur" in page.locator("[data-server-sealing]").inner_text()
    page.locator("textarea[name=narrative]").fill(WORDS)
    page.locator("form.intake button[type=submit]").click()
    page.wait_for_url("**/report/receipt/")

    [report] = Report.objects.all()
    assert report.content.sealed_by == SealedObject.SealedBy.SERVER
    page.context.close()


def test_a_file_of_a_kind_not_taken_is_named_and_nothing_is_sent(
    browser, live_server, coordinator_key
):
    page = phone(browser, scripts=True)
    answer_the_steps(page, live_server.url)
    page.locator("textarea[name=narrative]").fill(WORDS)
    page.locator("input[name=evidence]").set_input_files(
        [
            {
                "name": "outil.exe",
                "mimeType": "application/octet-stream",
                "buffer": b"MZ\x90\x00" * 64,
            }
        ]
    )
    uploads = []
    page.on("request", lambda r: "/uploads/" in r.url and uploads.append(r.method))
    page.locator("form.intake button[type=submit]").click()

    problem = page.locator("#sealing-problem")
    expect(problem).to_be_visible()
    assert "« outil.exe »" in problem.inner_text()
    assert uploads == []
    assert not Report.objects.exists()
    # Her words are still there, and she can send again.
    assert page.locator("textarea[name=narrative]").input_value() == WORDS
    expect(page.locator("form.intake button[type=submit]")).to_be_enabled()
    page.context.close()


def test_an_empty_narrative_is_asked_for_before_anything_is_made(
    browser, live_server, coordinator_key
):
    page = phone(browser, scripts=True)
    answer_the_steps(page, live_server.url)
    page.locator("form.intake button[type=submit]").click()

    expect(page.locator("#sealing-problem")).to_have_text(
        "Dites-nous, même en quelques mots, ce qui s'est passé."
    )
    assert not Report.objects.exists()
    page.context.close()


def test_a_connection_cut_midway_costs_her_at_most_one_part_and_the_report_is_filed(
    browser, live_server, coordinator_key
):
    part = 4 * 1024 * 1024  # reporting/views/_common.py UPLOAD_PART_BYTES
    video = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + os.urandom(3 * part - 100)
    with CuttingProxy(live_server.url) as proxy:
        page = phone(browser, scripts=True)
        answer_the_steps(page, proxy.url)
        page.locator("textarea[name=narrative]").fill(WORDS)
        page.locator("input[name=evidence]").set_input_files(
            [{"name": "video.mp4", "mimeType": "video/mp4", "buffer": video}]
        )
        before = proxy.received
        # The connection drops three MiB into the second part of her video: her words and
        # its first part are with the server already.
        proxy.cut_next(after=3 * 1024 * 1024, containing=b"upload-offset: %d\r\n" % part)
        # Every sentence the status line says, however briefly.
        page.evaluate(
            """() => { window.said = []; const box = document.querySelector('#sealing-status');
            new MutationObserver(() => window.said.push(box.textContent))
              .observe(box, {subtree: true, childList: true, characterData: true}); }"""
        )
        page.locator("form.intake button[type=submit]").click()
        status = page.locator("#sealing-status")
        # Her progress, in figures she reads ("42 %" in French).
        expect(status.locator("[data-percent]")).to_have_text(re.compile(r"^\d+\s%$"))
        expect(page.locator("#receipt-view")).to_be_visible(timeout=60_000)
        said = page.evaluate("window.said")
        assert any("La connexion a été perdue" in text for text in said), said
        sent = proxy.received - before
        page.context.close()

    assert proxy.cuts == 1
    [item] = Report.objects.get().evidence.all()
    assert evidence.read_object(item.original, [coordinator_key]) == video
    # Hashed on her device as it was sealed.
    assert item.sha256 == hashlib.sha256(video).hexdigest()
    # All she sent: the sealed video (a little larger than the video), her words, the
    # note, the filing and the headers of each request, and at most the part cut.
    assert sent <= len(video) + part + 256 * 1024, sent


def test_words_over_the_limit_are_named_before_anything_is_sealed(
    browser, live_server, coordinator_key
):
    page = phone(browser, scripts=True)
    answer_the_steps(page, live_server.url)
    # 100 000 characters are taken (reporting/forms.py); an emoji is one of them, as the
    # server counts, though a browser counts it twice.
    page.locator("textarea[name=narrative]").fill("😢" * 100_000)
    uploads = []
    page.on("request", lambda r: "/uploads/" in r.url and uploads.append(r.method))
    page.locator("textarea[name=identifiers]").fill("x" * 2_001)
    page.locator("form.intake button[type=submit]").click()

    expect(page.locator("#sealing-problem")).to_contain_text("Ce texte est trop long")
    assert page.evaluate("document.activeElement.name") == "identifiers"
    assert uploads == []
    assert not Report.objects.exists()
    page.context.close()
