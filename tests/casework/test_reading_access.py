"""Who may read a case besides its organisation, in one place (casework/selectors.py):
an organisation that accepted its referral, and the coordination for urgent or
escalated cases.  Reading only; and through which membership she reads it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from casework import selectors, services
from casework.models import Case, Membership, Referral
from tests.support.cast import PASSWORD, file_report

pytestmark = pytest.mark.django_db

Access = selectors.Access


def refer(cast, case, *, to: str = "centre") -> Referral:
    alice = cast.users["alice"]
    return services.refer_case(
        case,
        to=cast.orgs[to],
        service="listening",
        reason="Elle habite à Fès maintenant.",
        actor=alice,
        identity=services.unlock_member_key(alice, PASSWORD),
    )


def readable(cast, who: str) -> list[int]:
    return list(selectors.readable_cases(cast.users[who]).values_list("pk", flat=True))


def test_an_offered_or_declined_referral_gives_no_reading(cast):
    report, _ = file_report()
    case = report.case
    nadia = cast.users["nadia"]
    referral = refer(cast, case)

    assert case.pk not in readable(cast, "nadia")
    assert selectors.reading_access(nadia, case) is None

    services.decline_referral(
        referral,
        reason="Pas de place.",
        actor=nadia,
        identity=services.unlock_member_key(nadia, PASSWORD),
    )

    assert case.pk not in readable(cast, "nadia")
    assert selectors.reading_access(nadia, case) is None


def test_an_accepted_referral_gives_reading_through_the_receiving_membership(cast):
    report, _ = file_report()
    case = report.case
    referral = refer(cast, case)
    services.accept_referral(referral, actor=cast.users["nadia"])

    access = selectors.reading_access(cast.users["nadia"], case)

    assert access.via == Access.REFERRAL
    assert access.referral == referral
    assert access.organization == cast.orgs["centre"]
    assert not access.is_owner
    assert not access.works_case
    # The queue stays her organisation's own cases.
    assert case.pk not in selectors.cases_for(cast.users["nadia"]).values_list("pk", flat=True)


def test_the_coordination_reads_urgent_and_escalated_cases_and_no_others(cast):
    urgent, _ = file_report(urgency=("self_harm",))
    escalated, _ = file_report()
    quiet, _ = file_report()
    Case.objects.filter(pk=escalated.case.pk).update(escalated_at=timezone.now())
    coralie = cast.users["coralie"]

    assert set(readable(cast, "coralie")) == {urgent.case.pk, escalated.case.pk}
    assert selectors.reading_access(coralie, urgent.case).via == Access.URGENT
    escalated.case.refresh_from_db()
    assert selectors.reading_access(coralie, escalated.case).via == Access.ESCALATION
    assert selectors.reading_access(coralie, quiet.case) is None
    # Only the coordination: an urgent case of the association is not the centre's.
    assert urgent.case.pk not in readable(cast, "nadia")


def test_a_case_reached_several_ways_is_one_row_and_read_as_its_owner(cast):
    alice = cast.users["alice"]
    services.add_member(
        cast.orgs["coordination"], alice, role=Membership.Role.TRIAGE_LEAD, unlocked_by=None
    )
    services.add_member(
        cast.orgs["centre"], alice, role=Membership.Role.CASEWORKER, unlocked_by=None
    )
    report, _ = file_report(urgency=("physical_danger",))
    case = report.case
    Case.objects.filter(pk=case.pk).update(escalated_at=timezone.now())
    services.accept_referral(refer(cast, case), actor=cast.users["nadia"])

    assert readable(cast, "alice").count(case.pk) == 1
    access = selectors.reading_access(alice, case)
    assert access.via == Access.OWNER
    assert access.works_case


def test_the_legal_partner_reads_what_her_clinic_accepted_without_the_notes(cast):
    report, _ = file_report(narrative="Il a diffusé une vidéo de moi.")
    case = report.case
    services.add_note(case, "Elle préfère être appelée le soir.", actor=cast.users["alice"])
    leila = cast.users["leila"]
    services.accept_referral(refer(cast, case, to="clinic"), actor=leila)

    case_file = services.read_case_file(
        Case.objects.get(pk=case.pk),  # as the page finds it, with the headers as now
        actor=leila,
        identity=services.unlock_member_key(leila, PASSWORD),
    )

    assert case_file.narrative == "Il a diffusé une vidéo de moi."
    assert case_file.notes == []  # sealed to the association only
