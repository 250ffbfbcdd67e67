"""The audit log: every act leaves a row in its own transaction, rows chain by hash,
the database refuses to rewrite them, and verify_audit names the first broken link."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from casework import audit, services
from casework.models import AuditEvent, Case
from tests.support.cast import file_report

pytestmark = pytest.mark.django_db


def _bypassing_the_trigger(sql: str, params=()) -> None:
    # What an attacker with the database superuser (not the web role) could do: the
    # chain must still tell.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def test_rows_chain_each_to_the_one_before(cast):
    report, _ = file_report()
    services.change_status(report.case, Case.Status.ACKNOWLEDGED, actor=cast.users["alice"])
    services.set_tags(report.case, ["court"], actor=cast.users["bianca"])
    services.add_note(report.case, "note", actor=cast.users["alice"])

    rows = list(AuditEvent.objects.order_by("seq"))
    assert len(rows) == 3
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert audit.verify() == (len(rows), None)


def test_the_database_refuses_to_update_or_delete_an_audit_row(cast):
    row = audit.record("system", "test.row")

    for statement in (
        "UPDATE casework_auditevent SET actor = 'nobody' WHERE id = %s",
        "DELETE FROM casework_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [row.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=row.pk).delete()

    row.refresh_from_db()
    assert row.actor == "system"


def test_verify_audit_names_the_row_that_was_altered(cast):
    report, _ = file_report()
    for target in (Case.Status.ACKNOWLEDGED, Case.Status.IN_PROGRESS, Case.Status.CLOSED):
        services.change_status(report.case, target, actor=cast.users["alice"], outcome="helped")
    altered = AuditEvent.objects.get(action="case.status_changed", detail__to="closed")
    _bypassing_the_trigger(
        "UPDATE casework_auditevent SET detail = %s WHERE id = %s",
        ['{"from": "in_progress", "to": "referred"}', altered.pk],
    )

    with pytest.raises(CommandError, match=rf"BROKEN at row {altered.seq}: was altered"):
        call_command("verify_audit")


def test_verify_audit_names_a_removed_row(cast):
    report, _ = file_report()
    services.change_status(report.case, Case.Status.ACKNOWLEDGED, actor=cast.users["alice"])
    services.add_note(report.case, "note", actor=cast.users["alice"])
    removed = AuditEvent.objects.get(action="case.status_changed")
    _bypassing_the_trigger("DELETE FROM casework_auditevent WHERE id = %s", [removed.pk])

    with pytest.raises(CommandError, match=rf"BROKEN at row {removed.seq}: missing"):
        call_command("verify_audit")


def test_verify_audit_says_intact_and_prints_the_head(cast, capsys):
    report, _ = file_report()
    services.change_status(report.case, Case.Status.ACKNOWLEDGED, actor=cast.users["alice"])
    services.add_note(report.case, "note", actor=cast.users["alice"])

    call_command("verify_audit")

    out = capsys.readouterr().out
    last = AuditEvent.objects.order_by("-seq").first()
    assert f"intact: {last.seq} rows" in out
    assert last.hash in out


def test_details_that_jsonb_would_rewrite_are_refused_before_they_break_the_chain(db):
    for detail in ({"ratio": 1e20}, {1: "integer key"}, {"nested": [{"x": 0.5}]}):
        with pytest.raises(TypeError):
            audit.record("system", "test.detail", detail=detail)
    audit.record("system", "test.detail", detail={"texte": "é ع", "n": None, "l": [1, {"a": True}]})

    assert audit.verify() == (1, None)


def test_an_act_that_rolls_back_leaves_no_row(cast):
    report, _ = file_report()
    before = AuditEvent.objects.count()

    def a_request_that_fails_after_the_service():
        with transaction.atomic():
            services.change_status(report.case, Case.Status.ACKNOWLEDGED, actor=cast.users["alice"])
            raise RuntimeError("the request failed after the service")

    with pytest.raises(RuntimeError):
        a_request_that_fails_after_the_service()

    assert AuditEvent.objects.count() == before
    assert Case.objects.get(pk=report.case.pk).status == Case.Status.NEW


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_still_form_one_unbroken_chain():
    from concurrent.futures import ThreadPoolExecutor

    def worker(n: int) -> None:
        try:
            for i in range(15):
                with transaction.atomic():
                    audit.record("system", "test.concurrent", detail={"worker": n, "i": i})
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(worker, range(4)))

    assert audit.verify() == (60, None)
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 61))


def test_the_operators_retry_of_failed_steps_is_audited(admin_user, admin_client, cast):
    from casework.models import WorkflowStep

    report, _ = file_report()
    step = WorkflowStep.objects.get(case=report.case)
    WorkflowStep.objects.filter(pk=step.pk).update(state=WorkflowStep.State.FAILED)

    response = admin_client.post(
        "/admin/casework/workflowstep/",
        {"action": "retry", "_selected_action": [step.pk]},
    )

    assert response.status_code == 302
    assert WorkflowStep.objects.get(pk=step.pk).state == WorkflowStep.State.PENDING
    row = AuditEvent.objects.get(action=audit.Action.WORKFLOW_RETRIED)
    assert row.actor_id == admin_user.pk
    assert row.detail == {"steps": [step.pk]}
    assert audit.verify()[1] is None


def test_granting_a_waiting_member_is_refused_to_anyone_but_her_organisations_admin(cast):
    from casework.exceptions import NotAllowed
    from casework.models import Membership
    from tests.support.cast import PASSWORD, new_user

    waiting = services.add_member(
        cast.orgs["association"], new_user("yasmine"), role="caseworker", unlocked_by=None
    )
    for name in ("alice", "bianca", "nadia"):  # a caseworker, a triage lead, an outsider
        key = services.unlock_member_key(cast.users[name], PASSWORD)
        with pytest.raises(NotAllowed):
            services.grant_waiting_member(waiting, actor=cast.users[name], unlocked_by=key)
    assert not Membership.objects.get(pk=waiting.pk).has_key_access
    assert not AuditEvent.objects.filter(action=audit.Action.MEMBER_ACCESS_GRANTED).exists()

    amina = cast.users["amina"]
    key = services.unlock_member_key(amina, PASSWORD)
    services.grant_waiting_member(waiting, actor=amina, unlocked_by=key)

    assert Membership.objects.get(pk=waiting.pk).has_key_access
    row = AuditEvent.objects.get(action=audit.Action.MEMBER_ACCESS_GRANTED)
    assert row.actor_id == amina.pk


def test_verify_audit_with_the_head_noted_earlier_passes_as_the_log_grows(cast, capsys):
    report, _ = file_report()
    services.change_status(report.case, Case.Status.ACKNOWLEDGED, actor=cast.users["alice"])
    noted = AuditEvent.objects.order_by("-seq").first()

    call_command("verify_audit", expect_head=noted.hash)
    assert f"row {noted.seq} is still the last row" in capsys.readouterr().out

    services.add_note(report.case, "note", actor=cast.users["alice"])
    services.add_note(report.case, "another", actor=cast.users["alice"])
    call_command("verify_audit", "--expect-head", noted.hash.upper())
    out = capsys.readouterr().out
    assert f"row {noted.seq} is in the chain, and 2 rows were added after it" in out


def test_verify_audit_with_the_head_noted_earlier_tells_a_log_cut_from_the_end(cast):
    report, _ = file_report()
    services.change_status(report.case, Case.Status.ACKNOWLEDGED, actor=cast.users["alice"])
    services.add_note(report.case, "note", actor=cast.users["alice"])
    noted = AuditEvent.objects.order_by("-seq").first()
    # The newest row removed: what is left is a shorter chain that verifies on its own.
    _bypassing_the_trigger("DELETE FROM casework_auditevent WHERE id = %s", [noted.pk])
    call_command("verify_audit")

    with pytest.raises(CommandError, match=r"TRUNCATED OR REWRITTEN: no row has the head") as cut:
        call_command("verify_audit", expect_head=noted.hash)
    assert f"now ends at row {noted.seq - 1}" in str(cut.value)
    assert "manifest.txt" in str(cut.value)

    # Cut, then written anew with recomputed hashes: the chain verifies, the head is gone.
    audit.record("system", "test.forged")
    call_command("verify_audit")
    with pytest.raises(CommandError, match="TRUNCATED OR REWRITTEN"):
        call_command("verify_audit", expect_head=noted.hash)

    # Emptied altogether.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE casework_auditevent")
    with pytest.raises(CommandError, match="is now empty"):
        call_command("verify_audit", expect_head=noted.hash)


def test_verify_audit_refuses_an_expected_head_that_is_not_a_hash(db):
    with pytest.raises(CommandError, match="64 hexadecimal characters"):
        call_command("verify_audit", expect_head="12 abc")
