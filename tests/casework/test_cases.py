"""A case from the moment her report is filed: who holds it, how it moves, what she sees."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError

from casework import services, states, triage
from casework.exceptions import KeyLocked, NotAllowed, TransitionRefused
from casework.models import AuditEvent, Case, CaseNote
from evidence import services as evidence
from evidence.exceptions import CannotOpen
from reporting import services as reporting
from reporting.facts import UrgencySignal
from reporting.models import Report
from tests.support.cast import PASSWORD, file_report

pytestmark = pytest.mark.django_db

Status = Case.Status


def key_of(user):
    return services.unlock_member_key(user, PASSWORD)


def test_filing_a_report_opens_one_case_for_the_organisation_serving_her_region(cast):
    report, _ = file_report(region="casablanca_settat")

    case = Case.objects.get(report=report)
    assert case.organization == cast.orgs["association"]
    assert case.status == Status.NEW
    # Nothing dates her filing to the minute: the case keeps the hour, the audit log
    # records nothing until staff act.
    assert case.opened_at.minute == case.opened_at.second == 0
    assert not AuditEvent.objects.filter(case_id=case.pk).exists()
    # Opening twice (a retried hook) finds the same case.
    assert services.open_case(report.pk).pk == case.pk


def test_a_report_from_a_region_no_partner_serves_goes_to_the_coordination(cast):
    report, _ = file_report(region="souss_massa")

    assert Case.objects.get(report=report).organization == cast.orgs["coordination"]


def test_a_full_partner_is_passed_over_for_the_next(cast):
    association = cast.orgs["association"]
    association.capacity = 1
    association.save(update_fields=["capacity"])
    file_report()

    report, _ = file_report()

    assert Case.objects.get(report=report).organization == cast.orgs["coordination"]


def test_the_rubric_sets_how_soon_each_case_must_be_acknowledged_and_says_why(cast):
    urgent, _ = file_report(urgency=("self_harm", "physical_danger"), category="cyberharassment")
    high, _ = file_report(category="sextortion")
    normal, _ = file_report(category="cyberharassment")

    def hours(report) -> float:
        return (report.case.sla_due_at - report.created_at).total_seconds() / 3600

    assert (urgent.case.priority, hours(urgent)) == (triage.Priority.IMMEDIATE, 4)
    assert urgent.case.priority_reasons == ["physical_danger", "self_harm"]
    assert (high.case.priority, hours(high)) == (triage.Priority.HIGH, 24)
    assert high.case.priority_reasons == ["sextortion"]
    assert (normal.case.priority, hours(normal)) == (triage.Priority.NORMAL, 48)
    assert urgent.case.urgent
    assert not high.case.urgent


@pytest.mark.parametrize("signal", [s.value for s in UrgencySignal])
def test_every_danger_sign_makes_a_case_immediate_with_its_reason(signal):
    assessment = triage.assess([signal], "other")

    assert assessment.priority == triage.Priority.IMMEDIATE
    assert triage.reason_labels(assessment.reasons) == [str(triage.REASONS[signal])]


def test_the_queue_puts_immediate_then_high_then_normal(cast):
    normal, _ = file_report(category="cyberharassment")
    high, _ = file_report(category="doxxing")
    immediate, _ = file_report(category="cyberharassment", urgency=("location_tracking",))

    from casework import selectors

    queue = selectors.triage_queue(
        cast.users["alice"], cast.orgs["association"], selectors.QueueFilters()
    )
    assert [c.report_id for c in queue] == [immediate.pk, high.pk, normal.pk]


def test_every_allowed_move_is_in_one_table_and_others_are_refused(cast):
    alice = cast.users["alice"]
    report, _ = file_report()
    case = report.case

    with pytest.raises(TransitionRefused):
        services.change_status(case, Status.IN_PROGRESS, actor=alice)  # not acknowledged yet
    with pytest.raises(TransitionRefused):
        services.change_status(case, Status.CLOSED, actor=alice, outcome="duplicate")  # unread
    for target in (Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.REFERRED, Status.CLOSED):
        case = services.change_status(case, target, actor=alice, outcome="referred")
    case = services.change_status(case, Status.IN_PROGRESS, actor=alice)  # reopen

    assert case.status == Status.IN_PROGRESS
    assert case.closed_at is None
    moves = [
        (e.detail["from"], e.detail["to"])
        for e in AuditEvent.objects.filter(case_id=case.pk, action="case.status_changed")
    ]
    assert moves == [
        ("new", "acknowledged"),
        ("acknowledged", "in_progress"),
        ("in_progress", "referred"),
        ("referred", "closed"),
        ("closed", "in_progress"),
    ]
    assert all(states.allowed(a, b, consent_share=True) for a, b in moves)


def test_a_case_is_never_marked_referred_without_her_consent_to_share(cast):
    alice = cast.users["alice"]
    report, _ = file_report()
    Report.objects.filter(pk=report.pk).update(consent_share=False)
    case = services.change_status(
        Case.objects.get(pk=report.case.pk), Status.ACKNOWLEDGED, actor=alice
    )

    assert Status.REFERRED not in [
        to for to, _ in states.moves_from(case.status, consent_share=False)
    ]
    with pytest.raises(TransitionRefused):
        services.change_status(case, Status.REFERRED, actor=alice)
    assert Report.objects.get(pk=report.pk).status != Report.Status.REFERRED


def test_a_caseworker_takes_a_free_case_but_not_a_colleagues(cast):
    report, _ = file_report()
    alice, bianca = cast.users["alice"], cast.users["bianca"]
    services.assign_case(report.case, bianca, actor=bianca)

    with pytest.raises(NotAllowed):
        services.assign_case(report.case, alice, actor=alice)
    assert Case.objects.get(pk=report.case.pk).assignee == bianca


def test_she_reads_where_her_report_stands_in_plain_words(cast):
    report, _ = file_report()
    alice = cast.users["alice"]

    services.change_status(report.case, Status.ACKNOWLEDGED, actor=alice)

    report.refresh_from_db()
    assert report.status == Report.Status.IN_PROGRESS
    assert "intervenante" in report.get_status_display()  # French by default


def test_acknowledging_an_unassigned_case_gives_it_to_whoever_acknowledged(cast):
    report, _ = file_report()
    alice = cast.users["alice"]

    case = services.change_status(report.case, Status.ACKNOWLEDGED, actor=alice)

    assert case.assignee == alice
    assert case.acknowledged_at is not None


def test_a_caseworker_takes_a_case_but_only_a_lead_gives_it_to_someone_else(cast):
    report, _ = file_report()
    alice, bianca = cast.users["alice"], cast.users["bianca"]

    with pytest.raises(NotAllowed):
        services.assign_case(report.case, bianca, actor=alice)
    services.assign_case(report.case, alice, actor=alice)
    case = services.assign_case(report.case, bianca, actor=bianca)

    assert case.assignee == bianca


def test_a_case_cannot_be_given_to_someone_outside_its_organisation(cast):
    report, _ = file_report()

    with pytest.raises(NotAllowed):
        services.assign_case(report.case, cast.users["nadia"], actor=cast.users["bianca"])
    with pytest.raises(NotAllowed):
        services.assign_case(report.case, cast.users["leila"], actor=cast.users["bianca"])


def test_notes_are_sealed_to_the_organisation_and_never_to_her(cast):
    report, pending = file_report()
    alice = cast.users["alice"]

    note = services.add_note(report.case, "Called the platform, ticket 4411", actor=alice)

    case_file = services.read_case_file(report.case, actor=alice, identity=key_of(alice))
    assert case_file.notes[0]["text"] == "Called the platform, ticket 4411"
    assert CaseNote.objects.get(pk=note.pk).body.header  # sealed, header in the database
    _, her_key = reporting.open_receipt(pending.code)
    with pytest.raises(CannotOpen):
        evidence.read_object(note.body, [her_key])


def test_a_reply_reaches_her_with_her_receipt_code(cast):
    report, pending = file_report()
    alice = cast.users["alice"]

    services.reply_to_reporter(report.case, "We are here. Do not delete the messages.", actor=alice)

    _, her_key = reporting.open_receipt(pending.code)
    thread = reporting.read_messages(Report.objects.get(pk=report.pk), her_key)
    assert [m["text"] for m in thread] == ["We are here. Do not delete the messages."]
    assert thread[0]["author"] == "helper"


def test_her_messages_and_evidence_appear_on_the_case_opened_by_the_organisation(cast):
    report, _ = file_report(narrative="Il a publié mon adresse à Casablanca")
    reporting.post_message(report, "Il recommence ce soir", author="reporter")
    alice = cast.users["alice"]

    case_file = services.read_case_file(report.case, actor=alice, identity=key_of(alice))

    assert case_file.narrative == "Il a publié mon adresse à Casablanca"
    assert case_file.identifiers == "@harasser"
    assert [m["text"] for m in case_file.messages] == ["Il recommence ce soir"]


def test_opening_the_case_is_audited_and_needs_an_open_key(cast):
    report, _ = file_report()
    alice = cast.users["alice"]

    with pytest.raises(KeyLocked):
        services.read_case_file(report.case, actor=alice, identity=None)
    services.read_case_file(report.case, actor=alice, identity=key_of(alice))

    viewed = AuditEvent.objects.filter(case_id=report.case.pk, action="case.viewed")
    assert [e.actor for e in viewed] == ["alice"]


def test_tags_are_the_organisations_own_and_set_exactly(cast):
    report, _ = file_report()
    alice = cast.users["alice"]

    services.set_tags(report.case, ["court", " platform ", "court"], actor=alice)
    services.set_tags(report.case, ["court"], actor=alice)

    assert [t.name for t in report.case.tags.all()] == ["court"]
    assert set(cast.orgs["association"].tags.values_list("name", flat=True)) == {
        "court",
        "platform",
    }


def test_a_legal_partner_does_not_run_cases(cast):
    # Leila's clinic owns no case here; even handed one, her role may not move it.
    report, _ = file_report()
    report.case.organization = cast.orgs["clinic"]
    with pytest.raises(NotAllowed):
        services.change_status(report.case, Status.ACKNOWLEDGED, actor=cast.users["leila"])


def test_a_report_and_its_case_are_written_together_or_not_at_all(cast, monkeypatch):
    def broken(report_id):
        raise IntegrityError("the case could not be written")

    monkeypatch.setattr(services, "open_case", broken)
    before = Report.objects.count()

    with pytest.raises(IntegrityError):
        file_report()

    assert Report.objects.count() == before
    assert not Case.objects.exists()


def test_audit_rows_hold_no_report_content(cast):
    report, _ = file_report(narrative="Mon ex menace de publier les photos")
    alice = cast.users["alice"]
    services.add_note(report.case, "secret note text", actor=alice)
    services.reply_to_reporter(report.case, "secret reply text", actor=alice)
    services.read_case_file(report.case, actor=alice, identity=key_of(alice))

    rows = json.dumps(list(AuditEvent.objects.values()), default=str)
    for text in ("Mon ex menace", "secret note text", "secret reply text", "@harasser"):
        assert text not in rows
