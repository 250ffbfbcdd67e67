"""A caseworker signs in with her password and her authenticator's code, finds the
report in her queue, reads it and replies; the reporter then reads the reply with her
receipt code.  Real Chromium, real sealed storage, real TOTP."""

from __future__ import annotations

import pytest
from django_otp.oath import totp

from tests.support.cast import PASSWORD, confirmed_device, file_report, make_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NARRATIVE = "Il menace d'envoyer la vidéo à mon père avant samedi."
REPLY = "Nous sommes là. Ne supprimez rien : faites des captures avec la date."


def test_a_caseworker_reads_and_answers_and_the_reporter_reads_the_answer(browser, live_server):
    cast = make_cast()
    report, pending = file_report(narrative=NARRATIVE, urgency=("extortion_deadline",))
    device = confirmed_device(cast.users["alice"])

    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    page = staff.new_page()
    page.goto(f"{live_server.url}/fr/staff/")
    assert "/fr/staff/login/" in page.url  # signed out: sent to sign in
    page.locator("input[name=username]").fill("alice")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form.intake button[type=submit]").click()
    assert "/fr/staff/login/code/" in page.url
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=6):06d}"
    page.locator("input[name=code]").fill(code)
    page.locator("form.intake button[type=submit]").click()

    assert page.url.endswith("/fr/staff/")
    row = page.locator("table.queue tbody tr").first
    assert "urgent" in (row.get_attribute("class") or "")
    row.get_by_role("link", name=report.case.reference).click()
    assert page.get_by_test_id("narrative").inner_text() == NARRATIVE
    page.locator("#messages textarea[name=reply-text]").fill(REPLY)
    page.locator("#messages button[type=submit]").click()
    assert REPLY in page.locator("#messages .thread").inner_text()
    staff.close()

    # She comes back later, in another browser, with scripts off, knowing only her code.
    her = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740})
    mine = her.new_page()
    mine.goto(f"{live_server.url}/fr/return/")
    mine.locator("input[name=code]").fill(pending.display)
    mine.locator("form.intake button[type=submit]").click()
    assert REPLY in mine.locator(".thread").inner_text()
    assert NARRATIVE in mine.locator(".narrative").inner_text()
    her.close()
