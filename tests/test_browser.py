"""The public pages in a real Chromium: languages, right-to-left, quick exit, no third party."""

from __future__ import annotations

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

NEUTRAL_PAGE = "<!doctype html><title>Neutral</title><p>An ordinary page.</p>"
PHONE = {"width": 360, "height": 740}


def open_page(browser: Browser, *, scripts: bool = True) -> Page:
    context = browser.new_context(
        viewport=PHONE, java_script_enabled=scripts, locale="fr-FR", is_mobile=True, has_touch=True
    )
    context.neutral_site_requests = []

    # The neutral site is answered here: the test machine has no Internet, and the test
    # is about leaving this site, not about the other one.
    def neutral_site(route):
        context.neutral_site_requests.append(route.request.headers)
        route.fulfill(status=200, content_type="text/html", body=NEUTRAL_PAGE)

    context.route(f"{settings.QUICK_EXIT_URL}**", neutral_site)
    return context.new_page()


@pytest.mark.parametrize(
    ("lang", "direction", "heading", "exit_label"),
    [
        ("fr", "ltr", "Un lieu sûr pour signaler la violence en ligne", "Quitter vite"),
        ("ar", "rtl", "مكان آمن للتبليغ عن العنف الرقمي", "خروج سريع"),
        ("en", "ltr", "A safe place to report online violence", "Quick exit"),
    ],
)
def test_home_page_reads_in_each_language_on_a_phone(
    browser, live_server, lang, direction, heading, exit_label
):
    page = open_page(browser)
    page.goto(f"{live_server.url}/{lang}/")

    assert page.locator("h1").inner_text() == heading
    assert page.evaluate("getComputedStyle(document.body).direction") == direction
    exit_button = page.locator("[data-quick-exit]")
    assert exit_label in exit_button.inner_text()
    # Nothing spills sideways on a 360-px screen, and the exit is on screen without
    # scrolling: right-hand side in French and English, left-hand side in Arabic.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = exit_button.bounding_box()
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= PHONE["height"]
    centre = box["x"] + box["width"] / 2
    assert (centre < PHONE["width"] / 2) == (direction == "rtl")
    page.context.close()


def test_language_links_work_with_scripts_off(browser, live_server):
    page = open_page(browser, scripts=False)
    page.goto(f"{live_server.url}/fr/")

    page.get_by_role("link", name="العربية").click()
    page.wait_for_url(f"{live_server.url}/ar/")
    assert page.locator("html").get_attribute("dir") == "rtl"

    page.get_by_role("link", name="English").click()
    page.wait_for_url(f"{live_server.url}/en/")
    assert page.locator("h1").inner_text() == "A safe place to report online violence"
    page.context.close()


def test_quick_exit_tap_leaves_and_takes_this_page_out_of_the_history(browser, live_server):
    page = open_page(browser)
    page.goto(f"{live_server.url}/fr/")
    page.goto(f"{live_server.url}/en/")

    page.locator("[data-quick-exit]").tap()
    page.wait_for_url(settings.QUICK_EXIT_URL)
    assert page.title() == "Neutral"
    # The neutral site is not told where she came from.
    assert [headers.get("referer") for headers in page.context.neutral_site_requests] == [None]

    # Back goes to the page before the one she left, not to the page she fled.
    page.go_back()
    page.wait_for_url(f"{live_server.url}/fr/")
    page.context.close()


def test_escape_key_leaves_for_the_neutral_site(browser, live_server):
    page = open_page(browser)
    page.goto(f"{live_server.url}/ar/")

    page.keyboard.press("Escape")
    page.wait_for_url(settings.QUICK_EXIT_URL)
    assert page.title() == "Neutral"
    page.context.close()


def test_quick_exit_still_leaves_with_scripts_off(browser, live_server, neutral_site):
    page = open_page(browser, scripts=False)
    page.goto(f"{live_server.url}/fr/")
    assert not page.locator(".quick-exit-hint").is_visible()  # no Esc promise without JS

    # Through our exit page, which ends her session, then on to the neutral site.
    page.locator("[data-quick-exit]").click()
    page.wait_for_url(neutral_site)
    assert page.title() == "Neutral"
    page.context.close()


def test_page_loads_nothing_from_another_host_and_breaks_no_policy(browser, live_server):
    page = open_page(browser)
    requests, complaints = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: complaints.append(message.text))
    page.goto(f"{live_server.url}/ar/")
    page.wait_for_load_state("networkidle")

    assert requests, "the page made no request at all"
    assert [url for url in requests if not url.startswith(live_server.url)] == []
    assert [text for text in complaints if "Content Security Policy" in text] == []
    # The stylesheet and the script did load under the policy.
    assert page.evaluate("document.documentElement.classList.contains('has-js')")
    exit_colour = page.locator("[data-quick-exit]").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert exit_colour == "rgb(179, 38, 30)"
    page.context.close()


def test_operator_signs_in_to_the_admin(browser, live_server, django_user_model):
    # Form posts from our own pages must pass Django's CSRF origin check under our
    # referrer policy; the operator signs in like every staff account: password, then
    # the code of her authenticator, then back to the admin she asked for.
    from django_otp.oath import totp

    from tests.support.cast import confirmed_device

    operator = django_user_model.objects.create_superuser(
        "operator", password="correct horse battery"
    )
    device = confirmed_device(operator)
    page = open_page(browser)
    page.goto(f"{live_server.url}/admin/")
    assert "/staff/login/" in page.url
    page.fill("input[name=username]", "operator")
    page.fill("input[name=password]", "correct horse battery")
    page.click("form.intake button[type=submit]")
    page.fill("input[name=code]", f"{totp(device.bin_key, step=30, t0=0, digits=6):06d}")
    page.click("form.intake button[type=submit]")

    page.wait_for_url(f"{live_server.url}/admin/")
    expect(page.get_by_role("link", name="Organisations")).to_be_visible()
    page.context.close()
