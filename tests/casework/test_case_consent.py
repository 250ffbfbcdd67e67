"""The case page says where her consent to share stands: ticked when she filed, or
given since, on her return page, to a question a referral put to her (issue 15, item 11).
"""

from __future__ import annotations

import html
import re

import pytest

from casework import services
from tests.support.cast import PASSWORD, file_report, returning_reporter

pytestmark = pytest.mark.django_db


def consent_shown(client, case, language: str = "fr") -> str:
    page = html.unescape(client.get(f"/{language}/staff/cases/{case.pk}/").content.decode())
    found = re.search(r'<dd data-testid="consent-share">(.*?)</dd>', page, re.S)
    assert found, "the case page shows no consent to share"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def refer_to_clinic(cast, case):
    alice = cast.users["alice"]
    return services.refer_case(
        case,
        to=cast.orgs["clinic"],
        service="legal",
        reason="Elle veut porter plainte.",
        actor=alice,
        identity=services.unlock_member_key(alice, PASSWORD),
    )


def test_her_yes_on_her_page_shows_as_consent_on_the_case_page(cast):
    report, pending = file_report(consent_share=False)
    alice = cast.client("alice")
    assert consent_shown(alice, report.case) == "non"
    referral = refer_to_clinic(cast, report.case)
    assert consent_shown(alice, report.case).startswith(
        "Demandée sur sa page pour Clinique juridique L"
    )

    her = returning_reporter(pending)
    her.post("/fr/return/consent/", {"question": referral.consent_request_id, "answer": "yes"})

    shown = consent_shown(alice, report.case)
    assert shown.startswith("oui"), shown
    assert "Clinique juridique L" in shown
    assert "sur sa page" in shown
    assert consent_shown(alice, report.case, "ar").startswith("نعم")


def test_her_no_shows_as_no_with_whom_she_refused(cast):
    report, pending = file_report(consent_share=False)
    referral = refer_to_clinic(cast, report.case)

    her = returning_reporter(pending)
    her.post("/fr/return/consent/", {"question": referral.consent_request_id, "answer": "no"})

    shown = consent_shown(cast.client("alice"), report.case)
    assert shown.startswith("non"), shown
    assert "refusé" in shown
    assert "Clinique juridique L" in shown


def test_consent_ticked_when_she_filed_shows_as_yes(cast):
    report, _ = file_report(consent_share=True)

    assert consent_shown(cast.client("alice"), report.case).startswith("oui")
