"""In Chromium, scripts off: closing a case is two deliberate steps and asks why
(issue 15, item 13)."""

from __future__ import annotations

import pytest

from casework.models import AuditEvent, Case
from tests.support.cast import file_report, make_cast, signed_in_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_closing_asks_why_and_the_case_then_says_it(browser, live_server):
    cast = make_cast()
    report, _ = file_report()
    case = report.case
    client = signed_in_client(cast.users["alice"])
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 800})
    context.add_cookies(
        [
            {"name": name, "value": morsel.value, "url": live_server.url}
            for name, morsel in client.cookies.items()
        ]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/fr/staff/cases/{case.pk}/")
    assert page.get_by_text("Clôturer le dossier…").count() == 0  # new: acknowledge first
    page.get_by_role("button", name="Accuser réception").click()

    page.get_by_text("Clôturer le dossier…").click()
    page.get_by_role("button", name="Clôturer", exact=True).click()
    assert "Choisissez pourquoi le dossier est clôturé." in page.locator("main").inner_text()
    assert Case.objects.get(pk=case.pk).status == Case.Status.ACKNOWLEDGED

    page.get_by_label("Elle a cessé de répondre").check()
    page.get_by_role("button", name="Clôturer", exact=True).click()
    assert page.locator(".case-facts .case-status").inner_text() == "Clôturé"
    assert page.locator(".case-facts .case-outcome").inner_text() == "Elle a cessé de répondre"
    assert "(Elle a cessé de répondre)" in page.locator("ol.timeline").first.inner_text()
    row = AuditEvent.objects.get(case_id=case.pk, detail__to="closed")
    assert row.detail["outcome"] == "no_reply"

    page.get_by_role("button", name="Rouvrir").click()
    assert "Clôturé auparavant pour" in page.locator(".case-facts").inner_text()
    context.close()
