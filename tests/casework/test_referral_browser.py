"""She is asked, on her phone with scripts off and in Arabic, whether her report may go
to a legal clinic; she says yes; the clinic's lawyer accepts and reads it.  Real
Chromium, real sealed storage: her yes re-issues the headers with her own key."""

from __future__ import annotations

import pytest

from casework import services
from casework.models import Referral
from tests.support.cast import PASSWORD, file_report, make_cast, signed_in_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NARRATIVE = "نشر صوري في مجموعة على واتساب ويهددني بالمزيد."


def test_she_agrees_in_arabic_without_scripts_and_the_clinic_then_reads_her_report(
    browser, live_server, tmp_path
):
    cast = make_cast()
    report, pending = file_report(narrative=NARRATIVE, consent_share=False)
    alice = cast.users["alice"]
    referral = services.refer_case(
        report.case,
        to=cast.orgs["clinic"],
        service="legal",
        reason="Elle veut porter plainte.",
        actor=alice,
        identity=services.unlock_member_key(alice, PASSWORD),
    )
    assert referral.state == Referral.State.AWAITING_CONSENT

    her = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740})
    page = her.new_page()
    page.goto(f"{live_server.url}/ar/return/")
    page.locator("input[name=code]").fill(pending.display)
    page.locator("form.intake button[type=submit]").click()
    question = page.get_by_test_id("consent-question")
    assert "Clinique juridique L" in question.inner_text()
    assert "هل توافقين؟" in question.inner_text()
    page.screenshot(path=str(tmp_path / "consent-ar-360.png"), full_page=True)
    question.get_by_role("button", name="نعم، أوافق على إرساله").click()
    assert "شكرًا لكِ. أصبح بلاغكِ الآن لدى Clinique juridique L" in (
        page.get_by_test_id("consent-thanks").inner_text()
    )
    assert page.get_by_test_id("consent-question").count() == 0
    her.close()

    referral.refresh_from_db()
    assert referral.state == Referral.State.OFFERED
    lawyer_client = signed_in_client(cast.users["leila"])
    assert lawyer_client.get(f"/fr/staff/cases/{report.case.pk}/").status_code == 404

    # The lawyer, in her browser: the referral with its reason (opened with her
    # organisation's key), accept, then the case, read-only.
    lawyer = browser.new_context(viewport={"width": 1024, "height": 800})
    lawyer.add_cookies(
        [
            {"name": name, "value": morsel.value, "url": live_server.url}
            for name, morsel in lawyer_client.cookies.items()
        ]
    )
    page = lawyer.new_page()
    page.goto(f"{live_server.url}/fr/staff/referrals/")
    offered = page.get_by_test_id(f"referral-{referral.pk}")
    assert "Elle veut porter plainte." in offered.inner_text()
    assert "Association A" in offered.inner_text()
    page.screenshot(path=str(tmp_path / "referrals-fr.png"), full_page=True)
    offered.get_by_role("button", name="Accepter").click()
    assert f"Votre organisation lit désormais le dossier {report.case.reference}" in (
        page.locator(".flash").inner_text()
    )
    page.get_by_role("link", name=report.case.reference).click()
    assert page.get_by_test_id("narrative").inner_text() == NARRATIVE
    assert page.locator("#messages textarea").count() == 0  # she reads; Association A works
    lawyer.close()
