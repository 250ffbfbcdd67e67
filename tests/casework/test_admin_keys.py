"""What the operator sees and can do about keys in the Django admin."""

from __future__ import annotations

import pytest

from casework import services
from casework.models import Membership, Organization, User
from tests.support.cast import signed_in_client

pytestmark = pytest.mark.django_db


def member(org: Organization, username: str) -> User:
    user = User(username=username)
    user.set_password("long enough password")
    user.save()
    services.add_member(org, user, role=Membership.Role.CASEWORKER, unlocked_by=None)
    return user


@pytest.fixture
def org() -> Organization:
    return Organization.objects.create(
        name="Association", slug="association", kind=Organization.Kind.PARTNER_ASSOCIATION
    )


def test_a_member_whose_password_was_reset_shows_as_waiting(admin_client, org):
    alice = member(org, "alice")
    alice.set_password("reset by the operator")
    alice.save()

    page = admin_client.get(f"/admin/casework/organization/{org.pk}/change/").content.decode()

    assert "En attente d" in page  # the admin speaks French unless asked otherwise
    assert "manage.py grant_access" in page


def test_an_organisation_with_members_cannot_be_deleted_from_the_admin(admin_client, org):
    member(org, "alice")
    response = admin_client.post(f"/admin/casework/organization/{org.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Organization.objects.filter(pk=org.pk).exists()


def test_the_first_member_added_in_the_admin_gets_the_new_organisations_key(admin_client):
    alice = User(username="alice")
    alice.set_password("long enough password")
    alice.save()

    response = admin_client.post(
        "/admin/casework/organization/add/",
        {
            "name": "Centre d'écoute",
            "slug": "centre",
            "kind": Organization.Kind.LISTENING_CENTRE,
            "capacity": "40",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": str(alice.pk),
            "memberships-0-role": Membership.Role.CASEWORKER,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    org = Organization.objects.get(slug="centre")
    membership = Membership.objects.get(organization=org, user=alice)
    assert membership.has_key_access
    opened = services.organization_identity(
        org, services.unlock_member_key(alice, "long enough password")
    )
    assert str(opened.recipient) == org.key_recipient


def test_changing_ones_own_password_in_the_admin_keeps_case_access(org):
    alice = member(org, "alice")
    alice.is_staff = True
    alice.save()
    client = signed_in_client(alice, password="long enough password")

    response = client.post(
        "/admin/password_change/",
        {
            "old_password": "long enough password",
            "new_password1": "a brand new passphrase",
            "new_password2": "a brand new passphrase",
        },
    )

    assert response.status_code == 302
    assert Membership.objects.get(user=alice).has_key_access
    new_key = services.unlock_member_key(User.objects.get(pk=alice.pk), "a brand new passphrase")
    org.refresh_from_db()
    assert str(services.organization_identity(org, new_key).recipient) == org.key_recipient


def test_the_admin_sends_a_password_only_session_to_the_second_factor(client, org):
    operator = User(username="operator", is_staff=True, is_superuser=True)
    operator.set_password("long enough password")
    operator.save()
    client.post("/fr/staff/login/", {"username": "operator", "password": "long enough password"})

    response = client.get("/admin/casework/organization/", follow=True)

    # No authenticator yet: she is sent to set one up before anything else.
    assert response.request["PATH_INFO"] == "/fr/staff/login/authenticator/"
    assert "Organisation" not in response.content.decode()


def test_the_operator_ticks_what_an_organisation_covers_and_reads_the_audit_log(admin_client):
    response = admin_client.post(
        "/admin/casework/organization/add/",
        {
            "name": "Association Oujda",
            "slug": "oujda",
            "kind": Organization.Kind.PARTNER_ASSOCIATION,
            "regions": ["oriental"],
            "languages": ["ar", "zgh"],
            "services": [],
            "capacity": "25",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    org = Organization.objects.get(slug="oujda")
    assert (org.regions, org.languages, org.services, org.capacity) == (
        ["oriental"],
        ["ar", "zgh"],
        [],
        25,
    )
    log = admin_client.get("/admin/casework/auditevent/")
    assert log.status_code == 200
    assert admin_client.get("/admin/casework/auditevent/add/").status_code == 403


def test_the_operator_never_sees_or_plants_a_members_authenticator(admin_client, org):
    alice = member(org, "alice")
    from tests.support.cast import confirmed_device

    confirmed_device(alice)

    assert admin_client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert admin_client.get("/admin/otp_static/staticdevice/").status_code == 404


def test_an_operators_password_reset_is_audited_and_she_chooses_her_own_next(admin_client, org):
    from casework.models import AuditEvent

    alice = member(org, "alice")

    response = admin_client.post(
        f"/admin/casework/user/{alice.pk}/password/",
        {
            "usable_password": "true",
            "password1": "a temporary passphrase",
            "password2": "a temporary passphrase",
        },
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.must_change_password
    assert not Membership.objects.get(user=alice).has_key_access  # her key is new: she waits
    row = AuditEvent.objects.get(action="password.reset_by_operator")
    assert (row.actor, row.detail) == ("operator", {"user": alice.pk})


def test_a_member_who_is_not_an_operator_is_refused_the_admin_without_a_loop(org):
    alice = member(org, "alice")
    from tests.support.cast import confirmed_device

    confirmed_device(alice)
    client = signed_in_client(alice, password="long enough password")

    assert client.get("/admin/", follow=True).status_code == 403
