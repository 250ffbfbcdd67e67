"""Her return visit with scripts on (issue 18, item 7), in a real Chromium at 360 px:
her code stays on her phone, her key is opened there, her report is opened there and
shown in the same page; what she writes and adds is sealed there; her "yes" re-issues
the headers of her report there.  The server opens nothing of hers meanwhile."""

from __future__ import annotations

import io
import json
import re
import subprocess

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from evidence import age, keys
from evidence import services as evidence
from evidence.models import CustodyEvent, SealedObject
from reporting import services
from reporting.models import ConsentRequest, Message, Report
from tests.reporting import test_blind_server
from tests.reporting.test_sealed_on_her_device import PDF, answer_the_steps, photo_with_metadata
from tests.reporting.test_sealed_on_her_device import send as send_report
from tests.support.cast import file_report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The blind-server test's instruments: every request as the server read it, and what
# the sealing kernel (evidence/age) opened.
recorder = test_blind_server.recorder

PHONE = {"width": 360, "height": 740}
WORDS = "Il m'écrit encore depuis un autre compte.\nDeuxième ligne."
PHOTO = photo_with_metadata()
CLINIC = "Clinique juridique L"


def phone(browser: Browser, *, locale: str = "fr-FR") -> Page:
    context = browser.new_context(
        viewport=PHONE, locale=locale, is_mobile=True, has_touch=True, accept_downloads=True
    )
    return context.new_page()


def open_report(page: Page, base: str, code: str, *, lang: str = "fr") -> None:
    page.goto(f"{base}/{lang}/return/")
    page.locator("input[name=code]").fill(code)
    page.locator("form[data-open-visit] button[type=submit]").click()
    expect(page.locator("#visit-view")).to_be_visible(timeout=30_000)


def storage_of_this_site(page: Page) -> dict:
    return page.evaluate(
        """async () => ({
            local: Object.keys(localStorage),
            session: Object.keys(sessionStorage),
            databases: (await indexedDB.databases()).map((d) => d.name),
            cookie: document.cookie,
        })"""
    )


def test_a_report_the_server_sealed_opens_on_her_phone_and_the_server_opens_nothing(
    browser,
    live_server,
    coordinator_key,
    recorder,
):
    report, pending = file_report(narrative=WORDS, files=(("capture.jpg", PHOTO),))
    services.post_message(report, "Nous avons bien reçu.", author=Message.Author.HELPER)
    recorder.requests.clear()
    page = phone(browser)

    open_report(page, live_server.url, pending.display)

    view = page.locator("#visit-view")
    expect(view.locator("[data-narrative]")).to_have_text(WORDS)
    expect(view.locator("[data-files] li")).to_contain_text("capture.jpg")
    expect(view.locator("[data-thread] li")).to_contain_text("Nous avons bien reçu.")
    expect(view.locator("[data-status]")).to_have_text("Reçu : il attend une intervenante")
    # In the same page, with nothing of hers in its address; the code is gone from it.
    assert page.url == f"{live_server.url}/fr/return/"
    assert page.locator("input[name=code]").input_value() == ""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Her file comes down opened on her phone, byte for byte.
    with page.expect_download() as download:
        view.locator("[data-files] [data-download]").click()
    assert download.value.suggested_filename == "capture.jpg"
    with open(download.value.path(), "rb") as got:
        assert got.read() == PHOTO

    # Her code never left her phone, nor the secret that opens her key, nor her key.
    stretched = keys.stretch_code(pending.code, work_factor=settings.EVIDENCE_RECEIPT_WORK_FACTOR)
    secrets = [pending.code, pending.display, stretched.passphrase, str(pending.identity)]
    for request in recorder.requests:
        for secret in secrets:
            assert secret.encode() not in request
    assert any(stretched.lookup.encode() in r for r in recorder.requests)
    # The web process opened no key and no sealed object of hers: her phone did.
    assert (recorder.unwraps, recorder.opened) == (0, 0)
    assert storage_of_this_site(page) == {"local": [], "session": [], "databases": [], "cookie": ""}
    page.context.close()


def test_a_report_sealed_on_her_phone_opens_there_in_arabic_with_arabic_digits(
    browser, live_server, coordinator_key
):
    filing = phone(browser)
    answer_the_steps(filing, live_server.url)
    filing.locator("textarea[name=narrative]").fill(WORDS)
    filing.locator("input[name=evidence]").set_input_files(
        [{"name": "plainte.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    code = send_report(filing)
    filing.context.close()

    page = phone(browser, locale="ar-MA")
    arabic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    open_report(page, live_server.url, arabic, lang="ar")

    view = page.locator("#visit-view")
    expect(view.locator("[data-narrative]")).to_have_text(WORDS)
    expect(view.locator("[data-files] li")).to_contain_text("plainte.pdf")
    expect(view.locator("h1")).to_have_text("بلاغي")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.context.close()


def test_her_message_is_sealed_on_her_phone_and_the_caseworker_reads_it(
    browser, live_server, coordinator_key
):
    report, pending = file_report(narrative=WORDS)
    page = phone(browser)
    open_report(page, live_server.url, pending.display)

    page.locator("#visit-view textarea[name=text]").fill("Il a recommencé hier soir.")
    page.locator("[data-message-form] button[type=submit]").click()

    thread = page.locator("#visit-view [data-thread] li")
    expect(thread).to_have_count(1)
    expect(thread).to_contain_text("Il a recommencé hier soir.")
    expect(thread).to_contain_text("Vous")
    assert page.locator("#visit-view textarea[name=text]").input_value() == ""
    [message] = report.messages.all()
    assert message.body.sealed_by == SealedObject.SealedBy.BROWSER
    assert message.author == Message.Author.REPORTER
    [read] = services.read_messages(report, coordinator_key)
    assert (read["author"], read["text"]) == ("reporter", "Il a recommencé hier soir.")
    # And an empty one is asked for before anything is sealed.
    page.locator("[data-message-form] button[type=submit]").click()
    expect(page.locator("[data-message-form] [data-problem]")).to_have_text(
        "Écrivez votre message avant de l'envoyer."
    )
    assert report.messages.count() == 1
    page.context.close()


def test_evidence_she_adds_is_sealed_on_her_phone_and_opens_for_who_helps_her(
    browser, live_server, coordinator_key
):
    report, pending = file_report(narrative=WORDS, files=(("avant.pdf", PDF),))
    page = phone(browser)
    open_report(page, live_server.url, pending.display)

    page.locator("#visit-view input[name=evidence]").set_input_files(
        [{"name": "capture.jpg", "mimeType": "image/jpeg", "buffer": PHOTO}]
    )
    page.locator("[data-evidence-form] button[type=submit]").click()

    expect(page.locator("#visit-view [data-notice]")).to_have_text(
        "1 fichier a été ajouté à votre signalement."
    )
    expect(page.locator("#visit-view [data-files] li")).to_have_count(2)
    expect(page.locator("#visit-view [data-files] li").nth(1)).to_contain_text("capture.jpg")
    first, added = report.evidence.all()
    assert (first.original.sealed_by, added.original.sealed_by) == ("server", "browser")
    assert added.position == first.position + 1
    assert evidence.read_object(added.original, [coordinator_key]) == PHOTO
    assert b"Model-SECRET" not in evidence.read_object(added.working_copy, [coordinator_key])
    received = added.custody.get(action=CustodyEvent.Action.RECEIVED)
    assert received.detail["sha256_claimed_by"] == "her device"
    page.context.close()


@pytest.fixture
def clinic():
    """The organisation a question is about: its key, which nothing opens yet."""
    return keys.new_identity()


def test_her_yes_re_issues_every_header_on_her_phone_and_the_clinic_then_reads_all(
    browser,
    live_server,
    coordinator_key,
    clinic,
    recorder,
    tmp_path,
):
    report, pending = file_report(narrative=WORDS, files=(("capture.jpg", PHOTO),))
    services.post_message(report, "Nous avons bien reçu.", author=Message.Author.HELPER)
    question = services.ask_consent(
        report, service="legal", organization_name=CLINIC, recipient=str(clinic.recipient)
    )
    payloads = {s.pk: s.payload_size for s in services.sealed_objects(report)}
    page = phone(browser)
    open_report(page, live_server.url, pending.display)
    asked = page.locator("#visit-view [data-testid=consent-question]")
    expect(asked).to_contain_text(CLINIC)
    expect(asked).to_contain_text("des conseils juridiques")
    recorder.unwraps = recorder.opened = 0

    asked.get_by_role("button", name="Oui, le transmettre").click()

    expect(page.locator("#visit-view [data-notice]")).to_have_text(
        f"Merci. Votre signalement est maintenant transmis à {CLINIC}."
    )
    expect(asked).to_have_count(0)
    expect(page.locator("#visit-view [data-answered] li")).to_contain_text(CLINIC)
    report = Report.objects.get(pk=report.pk)
    question.refresh_from_db()
    assert question.state == ConsentRequest.State.GRANTED
    assert report.sealed_to[-1] == str(clinic.recipient)
    # Her phone re-issued the headers: the server opened no key to do it.
    assert (recorder.unwraps, recorder.opened) == (0, 0)
    # Every object opens for the clinic now, the payloads untouched.
    sealed = services.sealed_objects(report)
    assert {s.pk: s.payload_size for s in sealed} == payloads
    assert services.read_content(report, clinic)["narrative"] == WORDS
    assert evidence.read_object(report.evidence.get().original, [clinic]) == PHOTO
    assert services.read_messages(report, clinic)[0]["text"] == "Nous avons bien reçu."
    for each in sealed:
        evidence.read_object(each, [clinic])
        evidence.read_object(each, [coordinator_key])
        assert len(age.read_header(io.BytesIO(bytes(each.header))).stanzas) == 3
    # And the age tool opens one with the clinic's key.
    (tmp_path / "clinic.key").write_text(str(clinic) + "\n")
    (tmp_path / "words.age").write_bytes(b"".join(evidence.age_file(report.content)))
    opened = subprocess.run(
        ["age", "-d", "-i", str(tmp_path / "clinic.key"), str(tmp_path / "words.age")],
        capture_output=True,
        check=True,
    )
    assert json.loads(opened.stdout)["narrative"] == WORDS
    page.context.close()


def test_her_yes_after_a_reply_arrived_meanwhile_is_re_issued_again_and_covers_it(
    browser, live_server, coordinator_key, clinic
):
    report, pending = file_report(narrative=WORDS)
    services.ask_consent(
        report, service="legal", organization_name=CLINIC, recipient=str(clinic.recipient)
    )
    page = phone(browser)
    open_report(page, live_server.url, pending.display)
    # A reply arrives while she reads: the headers her phone fetched first miss it.
    fetched = []

    def reply_once(route):
        if not fetched:
            services.post_message(report, "Une réponse.", author=Message.Author.HELPER)
        fetched.append(1)
        route.continue_()

    page.route(re.compile(r".*/return/sealed/consent/$"), reply_once)
    page.locator("#visit-view [data-testid=consent-question] [data-answer=yes]").click()

    expect(page.locator("#visit-view [data-notice]")).to_contain_text(CLINIC)
    assert len(fetched) == 2  # refused as out of date once, then sent again
    report = Report.objects.get(pk=report.pk)
    assert services.read_messages(report, clinic)[0]["text"] == "Une réponse."
    page.context.close()


def test_her_no_shares_nothing(browser, live_server, coordinator_key, clinic):
    report, pending = file_report(narrative=WORDS)
    question = services.ask_consent(
        report, service="legal", organization_name=CLINIC, recipient=str(clinic.recipient)
    )
    headers = {s.pk: bytes(s.header) for s in services.sealed_objects(report)}
    page = phone(browser)
    open_report(page, live_server.url, pending.display)

    page.locator("#visit-view [data-testid=consent-question] [data-answer=no]").click()

    expect(page.locator("#visit-view [data-notice]")).to_have_text(
        "Merci. Rien n'a été transmis. Les personnes qui vous aident continuent de vous aider."
    )
    question.refresh_from_db()
    assert question.state == ConsentRequest.State.REFUSED
    report = Report.objects.get(pk=report.pk)
    assert str(clinic.recipient) not in report.sealed_to
    assert {s.pk: bytes(s.header) for s in services.sealed_objects(report)} == headers
    page.context.close()


def test_a_wrong_code_is_said_in_her_language_and_counted(
    browser, live_server, coordinator_key, same_minute
):
    file_report(narrative=WORDS)
    page = phone(browser, locale="ar-MA")
    page.goto(f"{live_server.url}/ar/return/")
    problem = page.locator("#visit-problem")
    for attempt in range(settings.RECEIPT_FAILURES_PER_SESSION):
        page.locator("input[name=code]").fill(f"1111 2222 3333 444{attempt}")
        page.locator("form[data-open-visit] button[type=submit]").click()
        expect(problem).to_contain_text("لا يفتح هذا الرمز أي بلاغ")
        page.evaluate("document.getElementById('visit-problem').textContent = ''")
    page.locator("input[name=code]").fill("1111 2222 3333 4449")
    page.locator("form[data-open-visit] button[type=submit]").click()
    # The wrong codes were counted as on the scripts-off page: now she must wait.
    expect(problem).to_contain_text("دقيقة")
    expect(page.locator("#visit-view")).to_be_hidden()
    page.context.close()


def test_nothing_of_hers_is_in_any_storage_after_the_quick_exit(
    browser, live_server, coordinator_key, neutral_site
):
    _, pending = file_report(narrative=WORDS, files=(("capture.jpg", PHOTO),))
    page = phone(browser)
    open_report(page, live_server.url, pending.display)
    with page.expect_download():
        page.locator("#visit-view [data-files] [data-download]").click()
    assert storage_of_this_site(page) == {"local": [], "session": [], "databases": [], "cookie": ""}

    page.locator("[data-quick-exit]").tap()
    page.wait_for_url(settings.QUICK_EXIT_URL)
    # Her page left no entry to come back to (location.replace); the site's address,
    # typed again, shows the code page and nothing of hers.
    page.go_back()
    assert page.url == "about:blank"
    page.goto(f"{live_server.url}/fr/return/")
    assert WORDS.split("\n")[0] not in page.content()
    assert "capture.jpg" not in page.content()
    expect(page.locator("#visit-view")).to_be_hidden()
    assert storage_of_this_site(page) == {"local": [], "session": [], "databases": [], "cookie": ""}
    # Her visit ended on the server too.
    assert page.request.get(f"{live_server.url}/fr/return/sealed/").status == 403
    # Only the site's own cookie for forms is left; her session is gone.
    assert {c["name"] for c in page.context.cookies()} <= {settings.CSRF_COOKIE_NAME}
    page.context.close()
