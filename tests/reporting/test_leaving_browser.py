"""What a victim sees in Chromium when she leaves in a hurry, taps twice on a slow network,
types her code in Arabic, or chooses a file too large: nothing of hers comes back, no
receipt is lost, and she is told before anything is sent."""

from __future__ import annotations

import re
import time

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from reporting import services
from reporting.models import Report
from reporting.signals import report_recorded
from tests.support.cast import file_report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
WORDS = "Il publie mes photos depuis mars. MOTS-QUI-NE-DOIVENT-PAS-REVENIR"


@pytest.fixture(autouse=True)
def _leaving_goes_to_a_neutral_site(neutral_site):
    return neutral_site


def phone(browser: Browser, *, scripts: bool, locale: str = "fr-FR") -> Page:
    context = browser.new_context(
        viewport=PHONE, java_script_enabled=scripts, locale=locale, is_mobile=True, has_touch=True
    )
    return context.new_page()


def answer_the_steps(page: Page, base: str) -> None:
    page.goto(f"{base}/fr/report/")
    page.locator("input[name=category][value=impersonation]").check()
    page.get_by_role("button", name="Continuer").click()
    page.locator("select[name=region]").select_option("oriental")
    page.locator("input[name=age_band][value='25_34']").check()
    page.locator("input[name=services][value=takedown]").check()
    page.locator("input[name=consent_share][value=no]").check()
    page.locator("input[name=consent_statistics][value=no]").check()
    page.get_by_role("button", name="Continuer").click()
    page.wait_for_url("**/report/your-words/")


def quick_exit(page: Page) -> None:
    page.locator("[data-quick-exit]").tap()
    page.wait_for_url(settings.QUICK_EXIT_URL)
    assert page.title() == "Neutral"


def back_shows_nothing_of_hers(page: Page, *secrets: str) -> str:
    page.go_back()
    page.wait_for_load_state()
    shown = page.content()
    for secret in secrets:
        assert secret not in shown
    # Nor does a field hold what she typed.
    for box in page.locator("textarea, input[type=text]").all():
        assert box.input_value() == ""
    return shown


@pytest.mark.parametrize("scripts", [False, True], ids=["scripts-off", "scripts-on"])
def test_back_after_the_quick_exit_brings_back_neither_her_code_nor_her_words(
    browser, live_server, coordinator_key, scripts
):
    page = phone(browser, scripts=scripts)
    answer_the_steps(page, live_server.url)
    page.locator("textarea[name=narrative]").fill(WORDS)
    page.get_by_role("button", name="Envoyer mon signalement").click()
    if scripts:
        # Made on her phone and drawn into the page from its memory (issue 18).
        code = page.locator("#receipt-view .receipt-code")
        expect(code).to_be_visible(timeout=30_000)
        code = code.inner_text()
    else:
        page.wait_for_url("**/report/receipt/")
        code = page.locator(".receipt-code").inner_text()
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", code)

    quick_exit(page)
    back_shows_nothing_of_hers(page, code, code.replace(" ", ""))
    # Her session ended on the server: the receipt address shows no code either.
    page.goto(f"{live_server.url}/fr/report/receipt/")
    assert code not in page.content()
    assert "n'est plus affiché" in page.content()
    page.context.close()


@pytest.mark.parametrize("scripts", [False, True], ids=["scripts-off", "scripts-on"])
def test_back_after_the_quick_exit_does_not_restore_what_she_was_typing(
    browser, live_server, coordinator_key, scripts
):
    page = phone(browser, scripts=scripts)
    answer_the_steps(page, live_server.url)
    page.locator("textarea[name=narrative]").fill(WORDS)
    page.locator("textarea[name=identifiers]").fill("@abuser_account_42")

    quick_exit(page)
    back_shows_nothing_of_hers(page, WORDS, "@abuser_account_42")
    page.context.close()


@pytest.mark.parametrize("scripts", [False, True], ids=["scripts-off", "scripts-on"])
def test_the_quick_exit_closes_her_open_report(browser, live_server, coordinator_key, scripts):
    _, pending = file_report(narrative=WORDS)
    page = phone(browser, scripts=scripts)
    page.goto(f"{live_server.url}/fr/return/")
    page.locator("input[name=code]").fill(pending.display)
    page.get_by_role("button", name="Ouvrir mon signalement").click()
    if scripts:
        # Opened on her phone, in the same page (frontend/src/return.js).
        expect(page.locator("#visit-view [data-narrative]")).to_have_text(WORDS)
    else:
        page.wait_for_url("**/return/report/")
        assert WORDS in page.content()
    page.locator("textarea[name=text]").fill("Un message pas encore envoyé")

    quick_exit(page)
    back_shows_nothing_of_hers(page, WORDS, "Un message pas encore envoyé")
    page.goto(f"{live_server.url}/fr/return/report/")
    page.wait_for_url("**/fr/return/")
    assert WORDS not in page.content()
    page.context.close()


@pytest.fixture
def slow_filing():
    """The server takes three seconds to keep a report, as on a loaded server: time
    enough for a second tap to reach it while the first is still being filed."""

    def take_time(**kwargs):
        time.sleep(3)

    report_recorded.connect(take_time, dispatch_uid="slow-filing")
    yield
    report_recorded.disconnect(dispatch_uid="slow-filing")


def test_a_second_tap_on_send_with_scripts_off_shows_the_receipt_of_the_one_report(
    browser, live_server, coordinator_key, slow_filing
):
    page = phone(browser, scripts=False)
    answer_the_steps(page, live_server.url)
    page.locator("textarea[name=narrative]").fill(WORDS)
    posts = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    button = page.get_by_role("button", name="Envoyer mon signalement")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    # Taps as a finger makes them: nothing waits for the page in between.
    page.mouse.click(x, y)
    page.wait_for_timeout(1000)  # the first post is with the server
    page.mouse.click(x, y)
    # Polled: waiting on a navigation would meet the first one, which the second aborts.
    deadline = time.monotonic() + 30
    while "/report/receipt/" not in page.url and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    page.wait_for_load_state()

    assert len(posts) == 2
    code = page.locator(".receipt-code").inner_text()
    [report] = Report.objects.all()
    assert services.open_receipt(code)[0].report == report
    page.context.close()


def test_with_scripts_on_send_says_it_is_sending_and_a_second_tap_sends_nothing(
    browser, live_server, coordinator_key, slow_filing
):
    page = phone(browser, scripts=True)
    answer_the_steps(page, live_server.url)
    page.locator("textarea[name=narrative]").fill(WORDS)
    filings = []
    page.on("request", lambda r: r.url.endswith("/sealed/") and filings.append(r.method))
    send = page.locator("form.intake button[type=submit]")
    send.scroll_into_view_if_needed()
    box = send.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    page.mouse.click(x, y)
    page.wait_for_timeout(200)
    assert send.is_disabled()
    assert send.inner_text() == "Envoi en cours… Gardez cette page ouverte."
    expect(page.locator("#sealing-status")).to_be_visible()
    page.mouse.click(x, y)
    # The filing takes three seconds on the server (slow_filing): one report, one code.
    expect(page.locator("#receipt-view")).to_be_visible(timeout=30_000)
    assert filings == ["POST"]
    [report] = Report.objects.all()
    code = page.locator("#receipt-view .receipt-code").inner_text()
    assert services.open_receipt(code)[0].report == report
    page.context.close()


def test_with_scripts_on_a_file_over_the_limit_is_named_before_anything_is_sent(
    browser, live_server, coordinator_key, settings
):
    settings.EVIDENCE_MAX_FILE_BYTES = 1024 * 1024
    page = phone(browser, scripts=True)
    answer_the_steps(page, live_server.url)
    page.locator("textarea[name=narrative]").fill(WORDS)
    posts = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    page.locator("input[name=evidence]").set_input_files(
        files=[{"name": "video-longue.mp4", "mimeType": "video/mp4", "buffer": b"0" * 2_000_000}]
    )

    problem = page.locator("#id_evidence_problem")
    assert problem.is_visible()
    assert problem.inner_text() == (
        "\N{LEFT-POINTING DOUBLE ANGLE QUOTATION MARK} video-longue.mp4 "
        "\N{RIGHT-POINTING DOUBLE ANGLE QUOTATION MARK} dépasse 1 Mo : "
        "choisissez un fichier plus petit, ou laissez-le de côté."
    )
    page.get_by_role("button", name="Envoyer mon signalement").click()
    page.wait_for_timeout(500)
    assert posts == []
    assert not Report.objects.exists()
    page.context.close()


def test_the_arabic_code_box_reads_left_to_right_like_her_receipt(browser, live_server):
    page = phone(browser, scripts=False, locale="ar")
    page.goto(f"{live_server.url}/ar/return/")
    box = page.locator("input[name=code]")
    box.fill("7658 3353 6931 5134")

    assert box.evaluate("e => getComputedStyle(e).direction") == "ltr"
    # The first group she typed is on the left, as on her receipt and her paper.
    assert box.evaluate("e => getComputedStyle(e).textAlign") == "left"
    page.context.close()


def test_the_escape_promise_is_shown_on_a_computer_and_not_on_a_phone(browser, live_server):
    page = phone(browser, scripts=True)
    page.goto(f"{live_server.url}/fr/")
    assert not page.locator(".quick-exit-hint").is_visible()
    page.context.close()

    desk = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    page = desk.new_page()
    page.goto(f"{live_server.url}/fr/")
    assert page.locator(".quick-exit-hint").is_visible()
    desk.close()


def test_with_scripts_off_a_post_over_the_limit_is_answered_before_it_is_sent(
    browser, live_server, coordinator_key, settings
):
    settings.EVIDENCE_MAX_REPORT_BYTES = 2 * 1024 * 1024
    page = phone(browser, scripts=False)
    answer_the_steps(page, live_server.url)
    page.locator("textarea[name=narrative]").fill(WORDS)
    page.locator("input[name=evidence]").set_input_files(
        files=[{"name": "video.mp4", "mimeType": "video/mp4", "buffer": b"0" * 5_000_000}]
    )

    page.locator("form.intake button[type=submit]").click()

    assert (
        "Ce que vous avez envoyé faisait 5 Mo, plus que les 2 Mo"
        in page.locator("main").inner_text()
    )
    assert not Report.objects.exists()
    page.context.close()
