"""Referrals: a case offered to another organisation, with her consent, answered by it.

Access moves only by re-issuing headers (the payloads on disk never change), the
receiving organisation reads only once it accepted, and every staff step is audited
without its reason.
"""

from __future__ import annotations

import html
import json

import pytest
from django.core import mail
from django.utils import translation

from casework import services, workflow
from casework.audit import Action
from casework.exceptions import NotAllowed
from casework.models import AuditEvent, Case, Referral, WorkflowStep
from evidence import services as evidence
from evidence.exceptions import CannotOpen
from reporting import services as reporting
from reporting.models import ConsentRequest, Report
from tests.support.cast import PASSWORD, file_report, returning_reporter
from tests.support.uploading import jpeg

pytestmark = pytest.mark.django_db

State = Referral.State
Kind = WorkflowStep.Kind
NARRATIVE = "Il publie mes photos et menace de les envoyer à ma famille."
REASON = "Elle a besoin d'une écoute régulière, près de chez sa sœur à Fès."
DECLINE = "Nous sommes complets ce mois-ci, essayez l'association de Meknès."


def key_of(user):
    return services.unlock_member_key(user, PASSWORD)


def org_key(cast, slug: str, member: str):
    return services.organization_identity(cast.orgs[slug], key_of(cast.users[member]))


def text(response) -> str:
    return html.unescape(response.content.decode())


def payloads(blob_root) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in blob_root.rglob("*") if p.is_file()}


def acknowledged(cast, **kwargs) -> Case:
    report, pending = file_report(narrative=NARRATIVE, **kwargs)
    case = services.change_status(report.case, "acknowledged", actor=cast.users["alice"])
    case.pending = pending
    return case


def refer(cast, case, *, to="centre", service="listening", reason=REASON) -> Referral:
    return services.refer_case(
        case,
        to=cast.orgs[to],
        service=service,
        reason=reason,
        actor=cast.users["alice"],
        identity=key_of(cast.users["alice"]),
    )


def case_url(case) -> str:
    return f"/fr/staff/cases/{case.pk}/"


def test_with_her_consent_on_record_the_organisation_reads_only_once_it_accepts(cast, blob_root):
    case = acknowledged(cast, files=(("capture.jpg", jpeg()),))
    item = case.report.evidence.get()
    nadia = cast.client("nadia")
    before = payloads(blob_root)
    headers = bytes(case.report.content.header)

    referral = refer(cast, case)

    assert referral.state == State.OFFERED
    # Offered is not accepted: nothing of the case opens for the centre yet.
    assert nadia.get(case_url(case)).status_code == 404
    assert nadia.get(f"/api/staff/cases/{case.pk}/").status_code == 404
    assert nadia.get(f"/fr/staff/cases/{case.pk}/evidence/{item.pk}/view/").status_code == 404

    accepted = nadia.post(f"/fr/staff/referrals/{referral.pk}/accept/")

    assert accepted.status_code == 302
    referral.refresh_from_db()
    assert referral.state == State.ACCEPTED
    assert referral.answered_by == cast.users["nadia"]
    page = nadia.get(case_url(case))
    assert page.status_code == 200
    assert NARRATIVE in text(page)
    assert "capture.jpg" in text(page)
    image = nadia.get(f"/fr/staff/cases/{case.pk}/evidence/{item.pk}/view/")
    assert b"".join(image.streaming_content)[:2] == b"\xff\xd8"
    # Opened with the centre's own key: the headers were re-issued to it...
    centre = org_key(cast, "centre", "nadia")
    report = Report.objects.get(pk=case.report_id)
    assert reporting.read_content(report, centre)["narrative"] == NARRATIVE
    assert evidence.read_object(report.evidence.get().original, [centre]) == jpeg()
    assert bytes(report.content.header) != headers
    # ...and no payload was re-encrypted: every file on disk before is there, unchanged;
    # the only new ones are the reason's.
    after = payloads(blob_root)
    assert {path: after[path] for path in before} == before
    assert len(after) - len(before) == 1
    # The status tells her it was passed on, with her consent.
    case.refresh_from_db()
    assert case.status == Case.Status.REFERRED
    assert Report.objects.get(pk=case.report_id).status == Report.Status.REFERRED


def test_a_reader_from_the_receiving_organisation_sees_the_file_read_only(cast):
    case = acknowledged(cast)
    services.add_note(case, "Note interne : elle a peur de son frère.", actor=cast.users["alice"])
    referral = refer(cast, case)
    services.accept_referral(referral, actor=cast.users["nadia"])
    nadia = cast.client("nadia")

    shown = text(nadia.get(case_url(case)))

    assert "Note interne" not in shown  # notes are sealed to the owner only
    assert 'data-testid="read-only"' in shown
    assert "Association A" in shown
    for action in ("status", "assign", "tags", "notes", "reply", "refer"):
        assert f"/fr/staff/cases/{case.pk}/{action}/" not in shown
    api = nadia.get(f"/api/staff/cases/{case.pk}/").json()
    assert api["access"] == "referral"
    assert api["moves"] == []
    assert api["notes"] == []
    assert api["narrative"] == NARRATIVE


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("status", {"to": "in_progress"}),
        ("assign", {"assignee": "me"}),
        ("tags", {"tags": "court"}),
        ("notes", {"note-text": "une note"}),
        ("reply", {"reply-text": "un message"}),
        ("refer", {"to": "1", "service": "legal", "reason": "x"}),
    ],
)
def test_a_reader_who_tries_to_work_the_case_is_told_her_role_does_not_allow_it(cast, action, body):
    case = acknowledged(cast)
    services.accept_referral(refer(cast, case), actor=cast.users["nadia"])
    case.refresh_from_db()
    before = (case.status, case.assignee_id, case.notes.count(), case.report.messages.count())

    response = cast.client("nadia").post(f"/fr/staff/cases/{case.pk}/{action}/", body)

    assert response.status_code == 403
    assert "Votre rôle ne le permet pas" in text(response)
    case.refresh_from_db()
    assert (case.status, case.assignee_id, case.notes.count(), case.report.messages.count()) == (
        before
    )


def test_without_her_consent_she_is_asked_on_her_page_and_her_yes_shares_it(cast, blob_root):
    case = acknowledged(cast, consent_share=False, files=(("preuve.jpg", jpeg()),))
    before = payloads(blob_root)
    referral = refer(cast, case, to="clinic", service="legal")

    assert referral.state == State.AWAITING_CONSENT
    assert case.report.consent_requests.get().state == ConsentRequest.State.ASKED
    # Nothing is shared before she answers, and the clinic is not even told.
    clinic = org_key(cast, "clinic", "leila")
    with pytest.raises(CannotOpen):
        reporting.read_content(case.report, clinic)
    assert not WorkflowStep.objects.filter(kind=Kind.REFERRAL_OFFERED).exists()
    assert f"referral-{referral.pk}" not in text(cast.client("leila").get("/fr/staff/referrals/"))

    her = returning_reporter(case.pending)
    page = text(her.get("/fr/return/report/"))
    assert "Clinique juridique L" in page
    assert 'name="answer" value="yes"' in page
    her.post("/fr/return/consent/", {"question": referral.consent_request_id, "answer": "yes"})

    referral.refresh_from_db()
    assert referral.state == State.OFFERED
    assert referral.answered_at is None  # her answer's time is on the question, to the hour
    step = WorkflowStep.objects.get(kind=Kind.REFERRAL_OFFERED)
    assert step.detail == {"referral": referral.pk}
    # Her own key re-issued the headers: the clinic's opens them, no payload changed.
    report = Report.objects.get(pk=case.report_id)
    assert reporting.read_content(report, clinic)["narrative"] == NARRATIVE
    assert evidence.read_object(report.evidence.get().original, [clinic]) == jpeg()
    after = payloads(blob_root)
    assert {path: after[path] for path in before} == before

    services.accept_referral(referral, actor=cast.users["leila"])
    assert NARRATIVE in text(cast.client("leila").get(case_url(case)))
    accepted = AuditEvent.objects.get(action=Action.REFERRAL_ACCEPTED)
    assert accepted.detail["consent"] == "her_answer"


def test_her_no_ends_the_referral_and_shares_nothing(cast):
    case = acknowledged(cast, consent_share=False)
    referral = refer(cast, case)
    sealed_to = list(case.report.sealed_to)

    her = returning_reporter(case.pending)
    her.post("/fr/return/consent/", {"question": referral.consent_request_id, "answer": "no"})

    referral.refresh_from_db()
    assert referral.state == State.REFUSED
    assert Report.objects.get(pk=case.report_id).sealed_to == sealed_to
    with pytest.raises(CannotOpen):
        reporting.read_content(case.report, org_key(cast, "centre", "nadia"))
    with pytest.raises(services.ReferralRefused):  # never offered: nothing to accept
        services.accept_referral(referral, actor=cast.users["nadia"])
    assert cast.client("nadia").get(case_url(case)).status_code == 404
    assert WorkflowStep.objects.filter(kind=Kind.REFERRAL_ANSWERED).count() == 1
    # Her answer leaves no audit row: an exact time would date her visit.
    actions = set(AuditEvent.objects.filter(case_id=case.pk).values_list("action", flat=True))
    assert actions == {Action.CASE_STATUS, Action.REFERRAL_CREATED, Action.REFERRAL_CONSENT_ASKED}
    # The referring caseworker sees her answer on the case.
    with translation.override("fr"):
        refused = str(State.REFUSED.label)
    assert refused in text(cast.client("alice").get(case_url(case)))


def test_declining_needs_a_reason_and_takes_the_organisations_access_back(cast):
    case = acknowledged(cast)
    referral = refer(cast, case)
    nadia = cast.client("nadia")
    centre = org_key(cast, "centre", "nadia")
    assert reporting.read_content(Report.objects.get(pk=case.report_id), centre)

    refused = nadia.post(f"/fr/staff/referrals/{referral.pk}/decline/", {"reason": "   "})

    assert refused.status_code == 400
    assert "Ce champ est obligatoire" in text(refused)
    referral.refresh_from_db()
    assert referral.state == State.OFFERED

    declined = nadia.post(f"/fr/staff/referrals/{referral.pk}/decline/", {"reason": DECLINE})

    assert declined.status_code == 302
    referral.refresh_from_db()
    assert referral.state == State.DECLINED
    report = Report.objects.get(pk=case.report_id)
    assert cast.orgs["centre"].key_recipient not in report.sealed_to
    with pytest.raises(CannotOpen):
        reporting.read_content(report, centre)
    # What she adds from now on is not sealed to the centre either.
    reporting.post_message(report, "Merci", author="reporter")
    with pytest.raises(CannotOpen):
        reporting.read_messages(report, centre)
    assert nadia.get(case_url(case)).status_code == 404
    # The referring caseworker reads why, opened with her organisation's key.
    assert DECLINE in text(cast.client("alice").get(case_url(case)))


def test_only_the_receiving_organisation_answers_a_referral(cast):
    case = acknowledged(cast)
    referral = refer(cast, case)

    for who in ("alice", "leila", "coralie"):
        assert cast.client(who).post(f"/fr/staff/referrals/{referral.pk}/accept/").status_code == (
            404
        )
        with pytest.raises(NotAllowed):
            services.accept_referral(referral, actor=cast.users[who])
    referral.refresh_from_db()
    assert referral.state == State.OFFERED
    assert f"referral-{referral.pk}" not in text(cast.client("leila").get("/fr/staff/referrals/"))


def test_an_organisation_with_no_referral_still_gets_not_found_everywhere(cast):
    case = acknowledged(cast, files=(("capture.jpg", jpeg()),))
    item = case.report.evidence.get()
    services.accept_referral(refer(cast, case), actor=cast.users["nadia"])
    leila = cast.client("leila")

    for url in (
        case_url(case),
        f"/fr/staff/cases/{case.pk}/evidence/{item.pk}/view/",
        f"/fr/staff/cases/{case.pk}/evidence/{item.pk}/original/",
        f"/api/staff/cases/{case.pk}/",
    ):
        assert leila.get(url).status_code == 404, url
    assert leila.post(f"/fr/staff/cases/{case.pk}/refer/", {}).status_code == 404


def test_every_staff_step_is_audited_without_its_reason(cast):
    case = acknowledged(cast)
    accepted = refer(cast, case)
    services.accept_referral(accepted, actor=cast.users["nadia"])
    declined = refer(cast, case, to="clinic", service="legal")
    services.decline_referral(
        declined,
        reason=DECLINE,
        actor=cast.users["leila"],
        identity=key_of(cast.users["leila"]),
    )
    asked = acknowledged(cast, consent_share=False)
    refer(cast, asked)

    rows = AuditEvent.objects.filter(action__startswith="referral.")
    assert sorted(rows.values_list("action", flat=True)) == sorted(
        [
            Action.REFERRAL_CREATED,
            Action.REFERRAL_ACCEPTED,
            Action.REFERRAL_CREATED,
            Action.REFERRAL_DECLINED,
            Action.REFERRAL_CREATED,
            Action.REFERRAL_CONSENT_ASKED,
        ]
    )
    created = rows.get(action=Action.REFERRAL_CREATED, detail__referral=accepted.pk)
    assert created.detail == {
        "referral": accepted.pk,
        "to": cast.orgs["centre"].pk,
        "service": "listening",
        "consent": "on_record",
    }
    assert created.actor == "alice"
    assert rows.get(action=Action.REFERRAL_DECLINED).organization_id == cast.orgs["clinic"].pk
    everything = json.dumps(list(AuditEvent.objects.values_list("detail", flat=True)))
    assert "complets" not in everything
    assert "écoute régulière" not in everything
    status = AuditEvent.objects.get(action=Action.CASE_STATUS, detail__to="referred")
    assert status.detail["referral"] == accepted.pk


def test_the_notifications_name_the_case_never_the_reason(cast, settings):
    case = acknowledged(cast)
    referral = refer(cast, case)
    offered = WorkflowStep.objects.get(kind=Kind.REFERRAL_OFFERED)

    assert workflow.run_step(offered.pk) == "done"
    services.accept_referral(referral, actor=cast.users["nadia"])
    answered = WorkflowStep.objects.get(kind=Kind.REFERRAL_ANSWERED)
    assert workflow.run_step(answered.pk) == "done"

    to_centre, to_alice = mail.outbox
    assert "nadia@example.org" in to_centre.bcc
    assert "/staff/referrals/" in to_centre.body
    assert to_alice.bcc == ["alice@example.org"]
    assert case.reference in to_alice.subject
    for message in mail.outbox:
        assert "sœur" not in message.body
        assert NARRATIVE not in message.body


def test_a_case_is_not_referred_twice_to_the_same_organisation_nor_to_its_own(cast):
    case = acknowledged(cast)
    refer(cast, case)

    with pytest.raises(services.ReferralRefused):
        refer(cast, case)
    with pytest.raises(services.ReferralRefused):
        refer(cast, case, to="association")
    with pytest.raises(services.ReferralRefused):
        refer(cast, case, to="coordination")  # it reads every report from intake
    with pytest.raises(services.ReferralRefused):
        refer(cast, case, to="clinic", reason="  ")
    assert Referral.objects.count() == 1


def test_the_refer_form_on_the_case_page_asks_for_a_reason(cast):
    case = acknowledged(cast)
    alice = cast.client("alice")

    page = text(alice.get(case_url(case)))
    assert "Clinique juridique L" in page
    assert "Centre d'écoute B" in page
    assert f'<option value="{cast.orgs["coordination"].pk}"' not in page

    refused = alice.post(
        f"/fr/staff/cases/{case.pk}/refer/",
        {"to": cast.orgs["clinic"].pk, "service": "legal", "reason": ""},
    )
    assert refused.status_code == 400
    assert "Ce champ est obligatoire" in text(refused)
    assert not Referral.objects.exists()

    sent = alice.post(
        f"/fr/staff/cases/{case.pk}/refer/",
        {"to": cast.orgs["clinic"].pk, "service": "legal", "reason": REASON},
    )
    assert sent.status_code == 302
    referral = Referral.objects.get()
    assert (referral.to_organization, referral.state) == (cast.orgs["clinic"], State.OFFERED)
    assert REASON in text(alice.get(case_url(case)))


def test_the_receiving_organisations_page_lists_the_offer_then_links_the_case(cast):
    case = acknowledged(cast)
    referral = refer(cast, case, to="clinic", service="legal")
    leila = cast.client("leila")

    page = text(leila.get("/fr/staff/referrals/"))
    assert case.reference in page
    assert REASON in page  # opened with the clinic's key
    assert f"/fr/staff/referrals/{referral.pk}/accept/" in page

    # The legal partner's lawyer takes it, and reads the case from then on.
    assert leila.post(f"/fr/staff/referrals/{referral.pk}/accept/").status_code == 302
    page = text(leila.get("/fr/staff/referrals/"))
    assert f'href="/fr/staff/cases/{case.pk}/"' in page
    assert NARRATIVE in text(leila.get(case_url(case)))


def test_the_coordination_reads_urgent_and_escalated_cases_read_only(cast):
    urgent, _ = file_report(narrative=NARRATIVE, urgency=("physical_danger",))
    escalated, _ = file_report(narrative="Un autre signalement.")
    Case.objects.filter(pk=escalated.case.pk).update(escalated_at=escalated.case.sla_due_at)
    quiet, _ = file_report(narrative="Rien d'urgent.")
    coralie = cast.client("coralie")

    page = coralie.get(case_url(urgent.case))
    assert page.status_code == 200
    assert NARRATIVE in text(page)
    assert 'data-testid="read-only"' in text(page)
    assert f"/fr/staff/cases/{urgent.case.pk}/status/" not in text(page)
    assert coralie.get(case_url(escalated.case)).status_code == 200
    assert coralie.get(case_url(quiet.case)).status_code == 404

    refused = coralie.post(f"/fr/staff/cases/{urgent.case.pk}/status/", {"to": "acknowledged"})
    assert refused.status_code == 403
    api = coralie.post(
        f"/api/staff/cases/{urgent.case.pk}/status/",
        {"to": "acknowledged"},
        content_type="application/json",
    )
    assert api.status_code == 403
    assert Case.objects.get(pk=urgent.case.pk).status == Case.Status.NEW
    # Her reading is in the log, under the coordination, saying why she could.
    viewed = AuditEvent.objects.get(action=Action.CASE_VIEWED, case_id=urgent.case.pk)
    assert viewed.organization_id == cast.orgs["coordination"].pk
    assert viewed.detail == {"via": "urgent"}
    # The queue stays her own organisation's; the escalations are a link away.
    queue = text(coralie.get("/fr/staff/"))
    assert urgent.case.reference not in queue
    assert 'href="/fr/staff/escalations/"' in queue
    assert 'href="/fr/staff/escalations/"' not in text(cast.client("nadia").get("/fr/staff/"))
