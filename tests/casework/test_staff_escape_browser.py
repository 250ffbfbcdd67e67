"""The quick exit is the victim's.  On a staff page, Escape must not throw away the note a
caseworker is writing and leave her signed in behind a neutral site."""

from __future__ import annotations

import pytest
from django_otp.oath import totp

from tests.support.cast import PASSWORD, confirmed_device, file_report, make_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DRAFT = "Appeler la plateforme lundi; elle a gardé les captures."


def test_escape_on_a_case_page_keeps_the_caseworker_and_her_draft(browser, live_server):
    cast = make_cast()
    report, _ = file_report(narrative="Il a pris mon compte.")
    device = confirmed_device(cast.users["alice"])
    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    page = staff.new_page()
    page.goto(f"{live_server.url}/fr/staff/login/")
    page.locator("input[name=username]").fill("alice")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form.intake button[type=submit]").click()
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=6):06d}"
    page.locator("input[name=code]").fill(code)
    page.locator("form.intake button[type=submit]").click()
    page.goto(f"{live_server.url}/fr/staff/cases/{report.case.pk}/")
    case_page = page.url

    note = page.locator("textarea").first
    note.fill(DRAFT)
    note.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)

    assert page.url == case_page
    assert note.input_value() == DRAFT
    assert page.locator("[data-quick-exit]").count() == 0
    staff.close()
