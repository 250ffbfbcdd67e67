"""The workflow after a change: outbox rows, notifications without content, beat's jobs.

Steps are run here in the test process (``workflow.run_step``), on the real database;
tests/casework/test_workflow_worker.py runs them on a real worker through real Redis.
"""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from casework import audit, services, workflow
from casework.audit import Action
from casework.exceptions import TransitionRefused
from casework.models import AuditEvent, Case, WorkflowStep
from evidence.blobstore import blob_store
from evidence.models import SealedObject
from reporting import services as reporting
from reporting.exceptions import ReceiptNotFound
from tests.support.cast import PASSWORD, file_report
from tests.support.uploading import parse

Kind = WorkflowStep.Kind
State = WorkflowStep.State
NARRATIVE = "Karim posts my photos on the group and says he will send them to my father."


def steps(kind: str) -> list[WorkflowStep]:
    return list(WorkflowStep.objects.filter(kind=kind).order_by("pk"))


def run_all(kind: str) -> list[str]:
    return [workflow.run_step(step.pk) for step in steps(kind)]


def assert_no_content(message) -> None:
    """What she wrote, who she named, and what kind of harm it is never leave by email."""
    text = f"{message.subject}\n{message.body}"
    for secret in ("Karim", "photos", "@harasser", "sextortion", "Sextorsion", "Casablanca"):
        assert secret not in text


@pytest.fixture(autouse=True)
def _announce_at_once(settings):
    # These tests are about what is sent and to whom; holding her acts' emails until the
    # full hour (the default) has its own test below.
    settings.CASEWORK_NOTIFY_ON_THE_HOUR = False


@pytest.fixture
def reported(cast):
    cast.orgs["association"].notification_email = "permanence@association.example"
    cast.orgs["association"].save(update_fields=["notification_email"])
    report, pending = file_report(narrative=NARRATIVE)
    return report.case, pending


def test_filing_a_report_writes_its_notification_step_with_the_case(reported):
    case, _ = reported
    (step,) = steps(Kind.NEW_CASE)
    assert step.case == case
    assert step.state == State.PENDING
    # The step is dated like her report: to the hour, nothing finer.
    assert step.created_at == case.opened_at
    assert step.not_before is None
    assert step.lease_until is None


def test_her_new_case_is_announced_at_the_next_full_hour_not_the_minute_she_filed(cast, settings):
    settings.CASEWORK_NOTIFY_ON_THE_HOUR = True
    report, _ = file_report(narrative=NARRATIVE)
    (step,) = steps(Kind.NEW_CASE)
    assert step.not_before == report.created_at + timedelta(hours=1)
    assert workflow.run_step(step.pk) == "skipped"  # a message now would date her filing
    assert workflow.sweep() == 0
    assert mail.outbox == []
    # The hour comes: the next sweep sends it, whatever it counted before.
    WorkflowStep.objects.filter(pk=step.pk).update(not_before=timezone.now())
    assert workflow.sweep() == 1
    assert workflow.run_step(step.pk) == "done"
    assert len(mail.outbox) == 1
    # What staff do is not held: an escalation is told at once.
    services.escalate_overdue(now=report.case.sla_due_at + timedelta(minutes=1))
    assert steps(Kind.ESCALATION)[0].not_before is None


def test_a_failed_filing_leaves_no_case_and_no_step(cast):
    with pytest.raises(UnicodeEncodeError):
        file_report(narrative="\ud800 not encodable")
    assert not Case.objects.exists()
    assert not WorkflowStep.objects.exists()


def test_the_organisation_is_told_once_in_french_with_nothing_of_her_report(reported):
    case, _ = reported
    assert run_all(Kind.NEW_CASE) == ["done"]
    (message,) = mail.outbox
    assert f"Nouveau cas {case.reference} en attente" in message.subject
    assert "C-" in message.body
    assert "/fr/staff/cases/" in message.body
    assert "Merci d'en accuser réception avant le" in message.body
    # One message, everyone in Bcc: the association's address and its case workers.
    assert set(message.bcc) == {
        "permanence@association.example",
        "alice@example.org",
        "bianca@example.org",
        "amina@example.org",
    }
    assert "nadia@example.org" not in message.bcc
    assert "coralie@example.org" not in message.bcc
    assert_no_content(message)
    assert not WorkflowStep.objects.exists()


def test_the_same_step_run_twice_sends_one_email(reported):
    (step,) = steps(Kind.NEW_CASE)
    assert workflow.run_step(step.pk) == "done"
    assert workflow.run_step(step.pk) == "skipped"
    assert len(mail.outbox) == 1


def test_an_email_names_its_step_so_a_repeat_after_a_crash_can_be_dropped(reported):
    (step,) = steps(Kind.NEW_CASE)
    workflow.run_step(step.pk)
    (message,) = mail.outbox
    # The same id however often the step runs: mail clients drop a message they have.
    assert message.extra_headers["Message-ID"] == f"<workflow-step-{step.pk}@localhost>"
    # The step was forgotten as soon as the mail server accepted the message.
    assert not WorkflowStep.objects.filter(pk=step.pk).exists()


def test_a_case_already_taken_is_not_announced(cast, reported):
    case, _ = reported
    services.change_status(case, Case.Status.ACKNOWLEDGED, actor=cast.users["alice"])
    assert run_all(Kind.NEW_CASE) == ["done"]
    assert mail.outbox == []


def test_her_message_tells_the_assigned_caseworker_and_nobody_else(cast, reported):
    case, _ = reported
    services.change_status(case, Case.Status.ACKNOWLEDGED, actor=cast.users["alice"])
    reporting.post_message(case.report, "Il a recommencé hier soir.", author="reporter")
    assert run_all(Kind.ACTIVITY) == ["done"]
    (message,) = mail.outbox
    assert message.bcc == ["alice@example.org"]
    assert f"Du nouveau sur le cas {case.reference}" in message.subject
    assert "recommencé" not in message.body


def test_her_new_evidence_on_an_unassigned_case_tells_the_organisation(reported):
    case, _ = reported
    _, received, _ = parse(
        reporting.report_recipients(case.report), {"evidence": [("a.txt", b"x")]}
    )
    reporting.add_evidence(case.report, received.getlist("evidence"))
    assert run_all(Kind.ACTIVITY) == ["done"]
    assert "permanence@association.example" in mail.outbox[0].bcc


def test_a_helper_reply_or_a_closed_case_sends_nothing(cast, reported):
    case, _ = reported
    alice = cast.users["alice"]
    services.reply_to_reporter(case, "Nous avons bien reçu votre signalement.", actor=alice)
    assert steps(Kind.ACTIVITY) == []
    services.change_status(case, Case.Status.ACKNOWLEDGED, actor=alice)
    services.change_status(case, Case.Status.CLOSED, actor=alice, outcome="helped")
    reporting.post_message(case.report, "Merci.", author="reporter")
    assert steps(Kind.ACTIVITY) == []


def test_a_mail_server_failure_is_kept_on_the_step_and_retried_then_marked_failed(
    reported, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    settings.CASEWORK_STEP_MAX_ATTEMPTS = 2
    (step,) = steps(Kind.NEW_CASE)
    assert workflow.run_step(step.pk) == "retry"
    step.refresh_from_db()
    assert step.state == State.PENDING
    assert step.attempts == 1
    assert "ConnectionRefusedError" in step.last_error
    assert step.not_before > timezone.now()
    assert workflow.run_step(step.pk) == "skipped"  # not before its back-off
    WorkflowStep.objects.filter(pk=step.pk).update(not_before=timezone.now())
    assert workflow.run_step(step.pk) == "failed"
    step.refresh_from_db()
    assert step.state == State.FAILED
    # The operator's "try again" puts it back, counting from zero.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert workflow.retry_failed([step.pk]) == [step.pk]
    assert workflow.run_step(step.pk) == "done"
    assert len(mail.outbox) == 1


def test_a_step_no_installed_app_performs_is_retried_then_failed_not_claimed_for_ever(
    reported, monkeypatch, settings
):
    # An app above casework that registered a kind (bundles/) and was then removed.
    settings.CASEWORK_STEP_MAX_ATTEMPTS = 2
    (step,) = steps(Kind.NEW_CASE)
    monkeypatch.delitem(workflow.PERFORMERS, Kind.NEW_CASE)
    assert workflow.run_step(step.pk) == "retry"
    step.refresh_from_db()
    assert step.state == State.PENDING
    assert "no app performs 'new_case' steps" in step.last_error
    WorkflowStep.objects.filter(pk=step.pk).update(not_before=timezone.now())
    assert workflow.run_step(step.pk) == "failed"
    step.refresh_from_db()
    assert step.state == State.FAILED


def test_the_sweep_resends_a_step_the_second_time_it_finds_it_waiting(reported):
    (step,) = steps(Kind.NEW_CASE)
    assert workflow.sweep() == 0  # just written: maybe still on its way
    step.refresh_from_db()
    assert step.sweeps == 1
    assert workflow.sweep() == 1  # still here a sweep later: sent again
    step.refresh_from_db()
    assert step.sweeps == 0


def test_the_sweep_takes_back_a_step_whose_worker_died(reported):
    (step,) = steps(Kind.NEW_CASE)
    WorkflowStep.objects.filter(pk=step.pk).update(
        state=State.RUNNING, lease_until=timezone.now() + timedelta(minutes=5)
    )
    assert workflow.run_step(step.pk) == "skipped"  # someone holds it
    assert workflow.sweep() == 0
    WorkflowStep.objects.filter(pk=step.pk).update(lease_until=timezone.now() - timedelta(1))
    assert workflow.sweep() == 1
    assert workflow.run_step(step.pk) == "done"
    assert len(mail.outbox) == 1


def test_an_unacknowledged_case_is_escalated_once_and_the_coordination_told(cast, reported):
    case, _ = reported
    later = case.sla_due_at + timedelta(minutes=1)
    assert services.escalate_overdue(now=case.sla_due_at - timedelta(minutes=1)) == 0
    assert services.escalate_overdue(now=later) == 1
    assert services.escalate_overdue(now=later) == 0
    case.refresh_from_db()
    assert case.escalated_at == later
    event = AuditEvent.objects.get(action=Action.CASE_ESCALATED)
    assert event.actor == "system"
    assert event.case_id == case.pk
    assert run_all(Kind.ESCALATION) == ["done"]
    (message,) = mail.outbox
    assert message.bcc == ["coralie@example.org"]
    assert "Association A" in message.body
    assert "/fr/staff/escalations/" in message.body
    assert_no_content(message)
    assert audit.verify()[1] is None


def test_an_escalated_case_acknowledged_before_the_email_goes_is_not_announced(cast, reported):
    case, _ = reported
    services.escalate_overdue(now=case.sla_due_at + timedelta(minutes=1))
    services.change_status(case, Case.Status.ACKNOWLEDGED, actor=cast.users["alice"])
    assert run_all(Kind.ESCALATION) == ["done"]
    assert mail.outbox == []


def test_the_coordination_sees_escalated_cases_and_nobody_else_sees_the_page(cast, reported):
    case, _ = reported
    services.escalate_overdue(now=case.sla_due_at + timedelta(minutes=1))
    page = cast.client("coralie").get("/fr/staff/escalations/")
    assert page.status_code == 200
    assert case.reference in page.content.decode()
    assert "Association A" in page.content.decode()
    assert cast.client("alice").get("/fr/staff/escalations/").status_code == 403


def test_an_assignee_is_reminded_once_of_cases_nobody_touched(cast, reported):
    case, _ = reported
    services.change_status(case, Case.Status.ACKNOWLEDGED, actor=cast.users["alice"])
    now = timezone.now()
    assert services.remind_assignees(now=now + timedelta(days=1)) == 0
    assert services.remind_assignees(now=now + timedelta(days=4)) == 1
    assert services.remind_assignees(now=now + timedelta(days=5)) == 0  # reminded already
    assert run_all(Kind.REMINDER) == ["done"]
    (message,) = mail.outbox
    assert message.bcc == ["alice@example.org"]
    assert case.reference in message.body
    # Working on it starts the count again.
    services.add_note(case, "Appelée ce matin.", actor=cast.users["alice"])
    assert services.remind_assignees(now=now + timedelta(days=6)) == 0


def test_retention_erases_a_closed_case_and_keeps_a_tombstone(
    cast, settings, django_capture_on_commit_callbacks
):
    report, pending = file_report(narrative=NARRATIVE, files=(("capture.png", b"x" * 10),))
    case = report.case
    alice = cast.users["alice"]
    services.add_note(case, "Elle a peur de son frère.", actor=alice)
    _, original = services.open_evidence(
        case,
        report.evidence.get().pk,
        actor=alice,
        identity=services.unlock_member_key(alice, PASSWORD),
        original=True,
        reason="other",
        note="Pour l'expertise demandée par son avocate.",
    )
    original.close()
    services.change_status(case, Case.Status.ACKNOWLEDGED, actor=alice)
    services.change_status(case, Case.Status.CLOSED, actor=alice, outcome="helped")
    case.refresh_from_db()
    blobs_before = {key for key, _ in blob_store().listing()}
    assert blobs_before

    early = case.closed_at + timedelta(days=settings.CASEWORK_RETENTION_DAYS - 1)
    assert services.apply_retention(now=early) == 0
    due = case.closed_at + timedelta(days=settings.CASEWORK_RETENTION_DAYS + 1)
    with django_capture_on_commit_callbacks(execute=True):  # payloads go after commit
        assert services.apply_retention(now=due) == 1
    assert services.apply_retention(now=due) == 0

    case.refresh_from_db()
    assert case.erased_at == due
    # Her receipt opens nothing any more, and no payload is left on disk.
    with pytest.raises(ReceiptNotFound):
        reporting.open_receipt(pending.code)
    assert {key for key, _ in blob_store().listing()} == set()
    case.report.content.refresh_from_db()
    assert case.report.content.is_erased
    assert bytes(case.report.content.header) == b""
    tombstone = AuditEvent.objects.get(action=Action.CASE_ERASED)
    assert tombstone.case_id == case.pk
    # Her words, the file and its note, the caseworker's note, the note given with the
    # download of the original: every sealed object.
    assert tombstone.detail["sealed_objects"] == 5
    assert not SealedObject.objects.filter(erased_at__isnull=True).exists()
    # The facts stay for statistics.
    assert case.report.category == "sextortion"
    assert audit.verify()[1] is None
    # Her caseworker sees what happened to it, in French, and cannot reopen it.
    alice_client = cast.client("alice")
    page = alice_client.get(f"/fr/staff/cases/{case.pk}/")
    assert page.status_code == 200
    assert "Effacé le" in page.content.decode()
    assert "Karim" not in page.content.decode()
    api = alice_client.get(f"/api/staff/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="fr")
    assert api.status_code == 410
    with pytest.raises(TransitionRefused):
        services.change_status(case, Case.Status.IN_PROGRESS, actor=alice)


def test_a_case_under_legal_hold_outlives_retention_until_the_hold_is_lifted(cast, settings):
    report, pending = file_report(narrative=NARRATIVE)
    case, alice = report.case, cast.users["alice"]
    services.change_status(case, Case.Status.ACKNOWLEDGED, actor=alice)
    services.change_status(case, Case.Status.CLOSED, actor=alice, outcome="helped")
    page = cast.client("alice")
    held = page.post(f"/fr/staff/cases/{case.pk}/legal-hold/", {"on": "yes"})
    outsider = cast.client("nadia").post(f"/fr/staff/cases/{case.pk}/legal-hold/", {"on": "no"})
    case.refresh_from_db()
    due = case.closed_at + timedelta(days=settings.CASEWORK_RETENTION_DAYS + 30)

    assert held.status_code == 302
    assert outsider.status_code == 404  # another organisation's case does not exist for her
    assert case.legal_hold
    shown = html.unescape(page.get(f"/fr/staff/cases/{case.pk}/").content.decode())
    assert "La durée de conservation n'effacera pas ce dossier" in shown
    assert "Placé en conservation judiciaire" in shown  # on the timeline, with who did it
    assert services.apply_retention(now=due) == 0
    _, identity = reporting.open_receipt(pending.code)
    assert reporting.read_content(report, identity)["narrative"] == NARRATIVE

    page.post(f"/fr/staff/cases/{case.pk}/legal-hold/", {"on": "no"})
    assert services.apply_retention(now=due) == 1
    holds = AuditEvent.objects.filter(case_id=case.pk, action=Action.CASE_LEGAL_HOLD)
    assert [(row.actor, row.detail["on"]) for row in holds] == [("alice", True), ("alice", False)]


def test_a_reopened_case_is_not_erased(cast, settings):
    report, pending = file_report(narrative=NARRATIVE)
    case, alice = report.case, cast.users["alice"]
    services.change_status(case, Case.Status.ACKNOWLEDGED, actor=alice)
    services.change_status(case, Case.Status.CLOSED, actor=alice, outcome="helped")
    case.refresh_from_db()
    closed_at = case.closed_at
    services.change_status(case, Case.Status.IN_PROGRESS, actor=alice)
    due = closed_at + timedelta(days=settings.CASEWORK_RETENTION_DAYS + 1)
    assert services.apply_retention(now=due) == 0
    _, identity = reporting.open_receipt(pending.code)
    assert reporting.read_content(report, identity)["narrative"] == NARRATIVE


def test_nothing_new_is_sealed_about_her_once_her_case_is_erased(
    cast, settings, django_capture_on_commit_callbacks
):
    report, _pending = file_report(narrative=NARRATIVE)
    case = report.case
    alice = cast.users["alice"]
    services.change_status(case, Case.Status.ACKNOWLEDGED, actor=alice)
    services.change_status(case, Case.Status.CLOSED, actor=alice, outcome="helped")
    case.refresh_from_db()
    due = case.closed_at + timedelta(days=settings.CASEWORK_RETENTION_DAYS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        services.apply_retention(now=due)
    sealed_before = SealedObject.objects.count()

    client = cast.client("alice")
    reply = client.post(f"/fr/staff/cases/{case.pk}/reply/", {"reply-text": "Bonjour"}, follow=True)
    note = client.post(f"/fr/staff/cases/{case.pk}/notes/", {"note-text": "Rappel"}, follow=True)
    api = client.post(
        f"/api/staff/cases/{case.pk}/messages/",
        {"text": "Bonjour"},
        content_type="application/json",
    )

    assert "Ce dossier a été effacé" in reply.content.decode()
    assert "Ce dossier a été effacé" in note.content.decode()
    assert api.status_code == 410
    assert SealedObject.objects.count() == sealed_before


def test_a_step_with_nobody_to_tell_is_done_and_never_runs_again(cast):
    # An organisation with no notification address and no member with an email: the
    # case waits in its queue all the same, and the step must end, not come back each
    # time its lease runs out (every 7 minutes, for ever).
    organization = cast.orgs["association"]
    for member in organization.memberships.select_related("user"):
        member.user.email = ""
        member.user.save(update_fields=["email"])
    file_report(narrative=NARRATIVE)
    (step,) = steps(Kind.NEW_CASE)

    assert workflow.run_step(step.pk) == "done"

    assert mail.outbox == []
    assert not WorkflowStep.objects.filter(pk=step.pk).exists()
    # Long after its lease would have run out, nothing is left for the sweep to re-send.
    WorkflowStep.objects.filter(pk=step.pk).update(lease_until=timezone.now() - timedelta(hours=1))
    assert workflow.sweep() == 0
    assert not WorkflowStep.objects.exists()


def test_a_step_that_finds_nothing_left_to_do_is_forgotten(cast, reported):
    case, _ = reported
    services.change_status(case, Case.Status.ACKNOWLEDGED, actor=cast.users["alice"])
    (step,) = steps(Kind.NEW_CASE)

    assert workflow.run_step(step.pk) == "done"

    assert not WorkflowStep.objects.filter(pk=step.pk).exists()
