"""JSON nested too deep is bad input, not a server error: every JSON endpoint answers 400
with a message in the visitor's language (Python's parser recurses, and a thousand
brackets used to end in a RecursionError and a 500)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.reporting.test_api import ANSWERS
from tests.support.cast import file_report

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000
# Deep but within what the parser recurses through: the answer must still be a 400.
SHALLOWER = '{"narrative": ' + "[" * 200 + "]" * 200 + "}"


@pytest.mark.parametrize("body", [DEEP, SHALLOWER, '{"a": ' * 5000 + "1" + "}" * 5000])
def test_filing_with_json_nested_too_deep_is_refused_with_a_clear_message(body):
    response = Client().post(
        "/api/reports/", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="fr"
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "La demande est imbriquée trop profondément."}


def test_the_message_is_in_arabic_for_an_arabic_visitor():
    response = Client().post(
        "/api/reports/", DEEP, content_type="application/json", HTTP_ACCEPT_LANGUAGE="ar"
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "الطلب متداخل بعمق كبير."}


def test_a_return_visit_posting_deep_json_is_refused_not_a_server_error(cast):
    _, pending = file_report()
    response = Client().post(
        "/api/reports/",
        DEEP,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Receipt {pending.display}",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "The request is nested too deeply."}


def test_staff_endpoints_refuse_deep_json_the_same_way(cast):
    report, _ = file_report()
    client = cast.client("alice")

    response = client.post(
        f"/api/staff/cases/{report.case.pk}/notes/",
        DEEP,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "La demande est imbriquée trop profondément."}


def test_ordinary_nesting_still_files_a_report(cast):
    answers = {**ANSWERS, "narrative": "Depuis mars, il publie mes photos."}
    response = Client().post("/api/reports/", answers, content_type="application/json")

    assert response.status_code == 201
