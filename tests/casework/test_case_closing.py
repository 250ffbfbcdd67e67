"""Closing a case asks why, from a short list the statistics count; a new case is
acknowledged before it is closed (issue 15, item 13)."""

from __future__ import annotations

import html
import json

import pytest

from casework import services, states
from casework.exceptions import OutcomeMissing, TransitionRefused
from casework.models import AuditEvent, Case
from tests.support.cast import file_report

pytestmark = pytest.mark.django_db

Status = Case.Status
Outcome = Case.Outcome


def text(response) -> str:
    return html.unescape(response.content.decode())


def acknowledged(cast) -> Case:
    report, _ = file_report()
    return services.change_status(report.case, Status.ACKNOWLEDGED, actor=cast.users["alice"])


def test_a_new_case_offers_no_close_and_the_service_refuses_to_close_it(cast):
    report, _ = file_report()
    client = cast.client("alice")

    page = text(client.get(f"/fr/staff/cases/{report.case.pk}/"))
    posted = client.post(
        f"/fr/staff/cases/{report.case.pk}/status/",
        {"to": "closed", "outcome": "duplicate"},
        follow=True,
    )

    assert "Clôturer" not in page
    assert [to for to, _ in states.moves_from(Status.NEW, consent_share=True)] == [
        Status.ACKNOWLEDGED
    ]
    assert Case.objects.get(pk=report.case.pk).status == Status.NEW
    assert "Accusez d'abord réception" in text(posted)
    with pytest.raises(TransitionRefused):
        services.change_status(
            report.case, Status.CLOSED, actor=cast.users["alice"], outcome=Outcome.DUPLICATE
        )
    assert not AuditEvent.objects.filter(case_id=report.case.pk, detail__to="closed").exists()


def test_closing_without_an_outcome_is_refused_and_nothing_changes(cast):
    case = acknowledged(cast)
    rows = AuditEvent.objects.count()

    with pytest.raises(OutcomeMissing):
        services.change_status(case, Status.CLOSED, actor=cast.users["alice"])
    with pytest.raises(OutcomeMissing):
        services.change_status(case, Status.CLOSED, actor=cast.users["alice"], outcome="bored")

    case.refresh_from_db()
    assert (case.status, case.outcome, case.closed_at) == (Status.ACKNOWLEDGED, "", None)
    assert AuditEvent.objects.count() == rows


def test_the_close_form_asks_why_and_the_page_and_queue_show_the_outcome(cast):
    case = acknowledged(cast)
    client = cast.client("alice")
    url = f"/fr/staff/cases/{case.pk}/status/"

    page = text(client.get(f"/fr/staff/cases/{case.pk}/"))
    assert "Pourquoi clôturer ce dossier ?" in page
    assert "Elle a cessé de répondre" in page

    refused = client.post(url, {"to": "closed"})
    assert refused.status_code == 400
    assert "Choisissez pourquoi le dossier est clôturé." in text(refused)
    assert Case.objects.get(pk=case.pk).status == Status.ACKNOWLEDGED

    client.post(url, {"to": "closed", "outcome": "content_removed"})

    closed = Case.objects.get(pk=case.pk)
    assert (closed.status, closed.outcome) == (Status.CLOSED, Outcome.CONTENT_REMOVED)
    row = AuditEvent.objects.get(case_id=case.pk, detail__to="closed")
    assert row.detail == {"from": "acknowledged", "to": "closed", "outcome": "content_removed"}
    facts = text(client.get(f"/fr/staff/cases/{case.pk}/"))
    assert '<dt>Issue</dt><dd class="case-outcome">Le contenu a été retiré</dd>' in facts
    assert "Le contenu a été retiré" in text(client.get("/fr/staff/?status=closed"))
    assert "تمت إزالة المحتوى" in text(
        cast.client("alice", language="ar").get("/ar/staff/?status=closed")
    )


def test_reopening_keeps_the_outcome_and_closing_again_asks_again(cast):
    alice = cast.users["alice"]
    case = acknowledged(cast)
    services.change_status(case, Status.CLOSED, actor=alice, outcome=Outcome.NO_REPLY)

    reopened = services.change_status(case, Status.IN_PROGRESS, actor=alice)
    assert (reopened.status, reopened.outcome) == (Status.IN_PROGRESS, Outcome.NO_REPLY)
    with pytest.raises(OutcomeMissing):
        services.change_status(case, Status.CLOSED, actor=alice)
    again = services.change_status(case, Status.CLOSED, actor=alice, outcome=Outcome.HELPED)

    assert (again.status, again.outcome) == (Status.CLOSED, Outcome.HELPED)


def test_the_api_asks_for_an_outcome_to_close_and_answers_it(cast):
    case = acknowledged(cast)
    client = cast.client("alice")
    url = f"/api/staff/cases/{case.pk}/status/"

    def post(body):
        return client.post(url, json.dumps(body), content_type="application/json")

    missing = post({"to": "closed"})
    wrong = post({"to": "closed", "outcome": "bored"})
    closed = post({"to": "closed", "outcome": "not_our_remit"})

    assert missing.status_code == 400
    assert list(missing.json()) == ["outcome"]
    assert wrong.status_code == 400
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["outcome"]) == ("closed", "not_our_remit")
    listed = client.get("/api/staff/cases/?status=closed").json()["results"]
    assert [c["outcome"] for c in listed] == ["not_our_remit"]
