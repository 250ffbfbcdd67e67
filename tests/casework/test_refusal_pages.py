"""A service's refusal, as the staff pages tell it (casework/views/refusals.py): the
forbidden page for a role that does not allow the act, otherwise a message on the page
she goes back to, with nothing changed."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest

from casework import services
from casework.exceptions import KeyLocked
from casework.models import Case, Referral
from casework.views.refusals import answering_refusals
from tests.support.cast import PASSWORD, file_report

pytestmark = pytest.mark.django_db

REASON = "Elle a besoin d'une écoute régulière, près de chez sa sœur à Fès."
NOT_A_COLLEAGUE = "Cette personne ne peut pas prendre en charge les dossiers de cette organisation."


def text(response) -> str:
    return html.unescape(response.content.decode())


def acknowledged(cast) -> Case:
    report, _ = file_report()
    return services.change_status(report.case, "acknowledged", actor=cast.users["alice"])


def assign(cast, who: str, case: Case, assignee) -> object:
    return cast.client(who).post(f"/fr/staff/cases/{case.pk}/assign/", {"assignee": assignee})


def test_a_lead_gives_the_case_to_a_colleague_then_to_nobody_from_its_page(cast):
    case = acknowledged(cast)

    given = assign(cast, "bianca", case, cast.users["alice"].pk)
    assert given.status_code == 302
    assert Case.objects.get(pk=case.pk).assignee == cast.users["alice"]

    assign(cast, "bianca", case, "")
    assert Case.objects.get(pk=case.pk).assignee is None


@pytest.mark.parametrize("who", ["nadia", "somebody"])
def test_a_case_given_to_someone_who_cannot_take_it_says_so_and_stays_where_it_was(cast, who):
    case = acknowledged(cast)
    bianca = cast.client("bianca")
    assignee = cast.users[who].pk if who in cast.users else who

    response = bianca.post(f"/fr/staff/cases/{case.pk}/assign/", {"assignee": assignee})

    assert response["Location"] == f"/fr/staff/cases/{case.pk}/"
    assert NOT_A_COLLEAGUE in text(bianca.get(response["Location"]))
    assert Case.objects.get(pk=case.pk).assignee == cast.users["alice"]  # acknowledged it


def test_a_caseworker_who_gives_her_case_to_a_colleague_is_told_her_role_does_not_allow_it(
    cast,
):
    case = acknowledged(cast)

    response = assign(cast, "alice", case, cast.users["bianca"].pk)

    assert response.status_code == 403
    assert "Votre rôle ne le permet pas" in text(response)
    assert Case.objects.get(pk=case.pk).assignee == cast.users["alice"]


def test_referring_with_a_locked_key_says_so_and_offers_the_case_to_nobody(cast):
    case = acknowledged(cast)
    alice = cast.client("alice")
    alice.cookies.pop("member_key")  # the browser's half of her key is gone

    response = alice.post(
        f"/fr/staff/cases/{case.pk}/refer/",
        {"to": cast.orgs["clinic"].pk, "service": "legal", "reason": REASON},
    )

    assert response["Location"] == f"/fr/staff/cases/{case.pk}/#referrals"
    page = text(alice.get(response["Location"]))
    assert "Votre clé est verrouillée : reconnectez-vous pour orienter le dossier." in page
    assert not Referral.objects.exists()


def test_accepting_a_referral_someone_answered_meanwhile_says_where_it_stands(cast):
    case = acknowledged(cast)
    referral = services.refer_case(
        case,
        to=cast.orgs["clinic"],
        service="legal",
        reason=REASON,
        actor=cast.users["alice"],
        identity=services.unlock_member_key(cast.users["alice"], PASSWORD),
    )
    leila = cast.client("leila")
    services.accept_referral(referral, actor=cast.users["leila"])

    response = leila.post(f"/fr/staff/referrals/{referral.pk}/accept/")

    assert response["Location"] == "/fr/staff/referrals/"
    assert "Quelqu'un a répondu à cette orientation entre-temps" in text(
        leila.get("/fr/staff/referrals/")
    )


def test_an_erased_case_takes_no_legal_hold_and_says_why(cast, settings):
    case = acknowledged(cast)
    case = services.change_status(case, "closed", actor=cast.users["alice"], outcome="helped")
    assert services.erase_case(
        case.pk, now=case.closed_at + timedelta(days=settings.CASEWORK_RETENTION_DAYS + 1)
    )
    alice = cast.client("alice")

    response = alice.post(f"/fr/staff/cases/{case.pk}/legal-hold/", {"on": "yes"})

    assert response["Location"] == f"/fr/staff/cases/{case.pk}/"
    assert "Ce dossier a été effacé" in text(alice.get(response["Location"]))
    assert not Case.objects.get(pk=case.pk).legal_hold


def test_a_refusal_told_in_a_message_needs_a_page_to_go_back_to():
    with pytest.raises(TypeError):
        answering_refusals(say={KeyLocked: "Your key is locked."})
