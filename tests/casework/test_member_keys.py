"""The key hierarchy: organisation keys sealed to the members who hold access."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from casework import services
from casework.exceptions import KeyAccessDenied, LastKeyHolder, WrongPassword
from casework.models import Membership, Organization, User
from evidence import age, keys
from evidence import services as evidence
from evidence.exceptions import CannotOpen

pytestmark = pytest.mark.django_db

CASEWORKER = Membership.Role.CASEWORKER


def person(username: str, password: str = "long enough password") -> User:
    user = User(username=username)
    user.set_password(password)
    user.save()
    return user


def key_of(user: User, password: str = "long enough password") -> age.X25519Identity:
    return services.unlock_member_key(User.objects.get(pk=user.pk), password)


def org_identity(org: Organization, key: age.X25519Identity) -> age.X25519Identity:
    return services.organization_identity(Organization.objects.get(pk=org.pk), key)


@pytest.fixture
def org() -> Organization:
    return Organization.objects.create(
        name="Association", slug="association", kind=Organization.Kind.PARTNER_ASSOCIATION
    )


@pytest.fixture
def alice(org) -> User:
    alice = person("alice")
    services.add_member(org, alice, role=CASEWORKER, unlocked_by=None)
    return alice


def test_the_first_member_creates_the_organisations_key_sealed_to_her(org, alice):
    org.refresh_from_db()
    identity = org_identity(org, key_of(alice))
    assert str(identity.recipient) == org.key_recipient


def test_a_case_sealed_to_the_organisation_opens_for_its_member(org, alice):
    org.refresh_from_db()
    sealed = evidence.seal_bytes(b"narrative", [age.X25519Recipient.parse(org.key_recipient)])
    assert evidence.read_object(sealed, [org_identity(org, key_of(alice))]) == b"narrative"


def test_a_colleague_granted_by_a_key_holder_opens_the_key(org, alice):
    bob = person("bob")
    services.add_member(org, bob, role=CASEWORKER, unlocked_by=key_of(alice))
    assert org_identity(org, key_of(bob)) == org_identity(org, key_of(alice))


def test_a_member_added_without_a_key_holder_waits_for_access(org, alice):
    bob = person("bob")
    membership = services.add_member(org, bob, role=CASEWORKER, unlocked_by=None)
    assert not membership.has_key_access
    with pytest.raises(KeyAccessDenied):
        org_identity(org, key_of(bob))


def test_a_password_change_keeps_her_access(org, alice):
    services.change_password(
        alice, old_password="long enough password", new_password="a new long password"
    )
    assert org_identity(org, key_of(alice, "a new long password"))
    assert key_of(alice, "long enough password") is None


def test_a_password_change_needs_the_current_password(alice):
    with pytest.raises(WrongPassword):
        services.change_password(alice, old_password="guess", new_password="a new long password")


def test_an_administrators_password_reset_loses_access_until_a_colleague_grants_it(org, alice):
    bob = person("bob")
    services.add_member(org, bob, role=CASEWORKER, unlocked_by=key_of(alice))

    alice.set_password("reset by the operator")  # the admin's reset form does this
    alice.save()
    membership = Membership.objects.get(user=alice)
    assert not membership.has_key_access
    with pytest.raises(KeyAccessDenied):
        org_identity(org, key_of(alice, "reset by the operator"))

    services.grant_key_access(membership, unlocked_by=key_of(bob))
    assert Membership.objects.get(user=alice).has_key_access
    assert org_identity(org, key_of(alice, "reset by the operator"))


def test_a_removed_member_cannot_open_the_resealed_key(org, alice):
    bob = person("bob")
    bob_membership = services.add_member(org, bob, role=CASEWORKER, unlocked_by=key_of(alice))
    bob_key = key_of(bob)

    services.remove_member(bob_membership, unlocked_by=key_of(alice))

    with pytest.raises(KeyAccessDenied):
        org_identity(org, bob_key)


def test_the_last_key_holder_cannot_be_removed_without_a_recovery_key(org, alice):
    with pytest.raises(LastKeyHolder):
        services.remove_member(Membership.objects.get(user=alice), unlocked_by=key_of(alice))
    assert Membership.objects.filter(user=alice).exists()


def test_the_recovery_key_grants_access_when_nobody_holds_it(settings, tmp_path):
    recovery = age.X25519Identity.generate()
    settings.EVIDENCE_RECOVERY_RECIPIENT = str(recovery.recipient)
    (tmp_path / "recovery.txt").write_text(f"{recovery}\n")
    org = Organization.objects.create(
        name="Centre", slug="centre", kind=Organization.Kind.LISTENING_CENTRE
    )
    alice = person("alice")
    services.add_member(org, alice, role=CASEWORKER, unlocked_by=None)
    alice.set_password("forgotten, then reset")
    alice.save()

    out = io.StringIO()
    call_command(
        "grant_access",
        "centre",
        "alice",
        recovery_identity=str(tmp_path / "recovery.txt"),
        stdout=out,
    )

    assert "now holds access" in out.getvalue()
    assert org_identity(org, key_of(alice, "forgotten, then reset"))


def test_a_member_key_does_not_open_with_a_wrong_password(alice):
    assert key_of(alice, "wrong password") is None
    sealed = User.objects.get(pk=alice.pk).sealed_key
    with pytest.raises(CannotOpen):
        keys.open_identity_with_passphrase(sealed, "wrong")


def test_the_operator_removes_a_member_with_the_recovery_key(settings, tmp_path):
    recovery = age.X25519Identity.generate()
    settings.EVIDENCE_RECOVERY_RECIPIENT = str(recovery.recipient)
    (tmp_path / "recovery.txt").write_text(f"{recovery}\n")
    org = Organization.objects.create(
        name="Centre", slug="centre", kind=Organization.Kind.LISTENING_CENTRE
    )
    alice, bob = person("alice"), person("bob")
    services.add_member(org, alice, role=CASEWORKER, unlocked_by=None)
    services.add_member(org, bob, role=CASEWORKER, unlocked_by=key_of(alice))
    bob_key = key_of(bob)

    call_command(
        "remove_member",
        "centre",
        "bob",
        recovery_identity=str(tmp_path / "recovery.txt"),
        stdout=io.StringIO(),
    )

    assert not Membership.objects.filter(user=bob).exists()
    with pytest.raises(KeyAccessDenied):
        org_identity(org, bob_key)
    assert org_identity(org, key_of(alice))
