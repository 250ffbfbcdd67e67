"""Tor Browser at its "safer" level runs scripts without the JIT, about fifty times
slower (issue 18, item 8): Chromium's --jitless stands in for it.  A text report and a
small photo still file, sealed on her phone; for files that would take long to seal
there, the page says how long and offers to let the server seal them instead."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import Browser, expect

from evidence.models import SealedObject
from reporting.models import Report
from tests.reporting.test_sealed_on_her_device import PHONE
from tests.support.intake_pages import answer_the_steps
from tests.support.processes import CHROMIUM, CHROMIUM_ARGS, JITLESS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def jitless_browser(browser) -> Iterator[Browser]:
    # From the session's Playwright: a second one in the same process is refused.
    jitless = browser.browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, JITLESS])
    yield jitless
    jitless.close()


def small_photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (20, 90, 160)).save(out, "JPEG")
    return out.getvalue()


def test_without_the_jit_a_text_report_and_a_photo_are_sealed_on_her_phone(
    jitless_browser, live_server, coordinator_key
):
    page = jitless_browser.new_page(viewport=PHONE)
    # The engine really runs without its JIT: WebAssembly, which needs it, is gone.
    assert page.evaluate("typeof WebAssembly") == "undefined"
    answer_the_steps(page, live_server.url)
    page.locator("textarea[name=narrative]").fill("Il me menace sur Instagram.")
    page.locator("input[name=evidence]").set_input_files(
        [{"name": "menace.jpg", "mimeType": "image/jpeg", "buffer": small_photo()}]
    )
    page.locator("form.intake button[type=submit]").click()

    code = page.locator("#receipt-view .receipt-code")
    expect(code).to_be_visible(timeout=120_000)
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", code.inner_text())
    report = Report.objects.get()
    assert report.content.sealed_by == SealedObject.SealedBy.BROWSER
    assert report.evidence.get().working_copy.sealed_by == SealedObject.SealedBy.BROWSER
    page.close()


def test_without_the_jit_a_large_file_is_timed_and_she_may_let_the_server_seal_it(
    jitless_browser, live_server, coordinator_key, settings
):
    # Large for this device: what would take more than a second to seal here.  (The
    # setting is read by the page; the default, two minutes, is for real phones.)
    settings.INTAKE_SLOW_SEALING_SECONDS = 1
    page = jitless_browser.new_page(viewport=PHONE)
    answer_the_steps(page, live_server.url)
    page.locator("textarea[name=narrative]").fill("La vidéo qu'il fait circuler.")
    video = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + os.urandom(12 * 1024 * 1024)
    page.locator("input[name=evidence]").set_input_files(
        [{"name": "video.mp4", "mimeType": "video/mp4", "buffer": video}]
    )
    uploads = []
    page.on("request", lambda r: "/uploads/" in r.url and uploads.append(r.method))
    page.locator("form.intake button[type=submit]").click()

    choice = page.locator("#sealing-slow")
    expect(choice).to_be_visible(timeout=60_000)
    assert re.search(r"environ \d+ min", choice.inner_text())
    assert uploads == []  # nothing sent while she decides
    page.get_by_role("button", name="Laisser le serveur les verrouiller").click()
    page.wait_for_url("**/report/receipt/", timeout=60_000)

    report = Report.objects.get()
    assert report.content.sealed_by == SealedObject.SealedBy.SERVER
    assert report.evidence.get().size == len(video)
    page.close()
