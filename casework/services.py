"""State changes on the NGO side.  This first part: members and the keys they hold."""

from __future__ import annotations

from django.db import transaction

from casework.exceptions import KeyAccessDenied, LastKeyHolder, WrongPassword
from casework.models import Membership, Organization, User
from evidence import keys
from evidence.exceptions import CannotOpen


@transaction.atomic
def add_member(
    organization: Organization, user: User, *, role: str, unlocked_by: keys.Identity | None
) -> Membership:
    """Make ``user`` a member.  ``unlocked_by`` opens the organisation's key (an unlocked
    member's identity, or the operator's recovery identity) so it can be sealed to her.

    The first member of an organisation needs no one: its key is born sealed to her.
    Without ``unlocked_by`` a later member joins waiting for access.
    """
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    membership = Membership.objects.create(organization=organization, user=user, role=role)
    if organization.sealed_key is None:
        identity = keys.new_identity()
        organization.key_recipient = str(identity.recipient)
        membership.key_granted_to = user.key_recipient
        membership.save(update_fields=["key_granted_to"])
        _reseal(organization, identity)
    elif unlocked_by is not None:
        _grant(organization, membership, unlocked_by)
    return membership


@transaction.atomic
def grant_key_access(membership: Membership, *, unlocked_by: keys.Identity) -> None:
    """Seal the organisation's key to this member (again, after a password reset)."""
    organization = Organization.objects.select_for_update().get(pk=membership.organization_id)
    _grant(organization, membership, unlocked_by)


@transaction.atomic
def remove_member(membership: Membership, *, unlocked_by: keys.Identity) -> None:
    """Remove a member and re-seal the organisation's key without her."""
    organization = Organization.objects.select_for_update().get(pk=membership.organization_id)
    identity = organization_identity(organization, unlocked_by)
    others = organization.memberships.exclude(pk=membership.pk).select_related("user")
    if not any(m.has_key_access for m in others) and not keys.recovery_recipients():
        raise LastKeyHolder(organization.pk)
    membership.delete()
    _reseal(organization, identity)


def organization_identity(organization: Organization, unlocked_by: keys.Identity) -> keys.Identity:
    """The organisation's identity, opened in memory with a key that holds access."""
    if organization.sealed_key is None:
        raise KeyAccessDenied(organization.pk)
    try:
        return keys.open_identity(organization.sealed_key, [unlocked_by])
    except CannotOpen:
        raise KeyAccessDenied(organization.pk) from None


@transaction.atomic
def change_password(user: User, *, old_password: str, new_password: str) -> None:
    """Re-seal the account's identity under the new password: access is kept."""
    try:
        identity = keys.open_identity_with_passphrase(user.sealed_key or b"", old_password)
    except CannotOpen:
        raise WrongPassword(user.pk) from None
    user.set_password(new_password, identity=identity)
    user.save(update_fields=["password", "sealed_key", "key_recipient"])


def unlock_member_key(user: User, password: str) -> keys.Identity | None:
    """The account's identity, opened with the password that just authenticated her."""
    if not user.sealed_key:
        return None
    try:
        return keys.open_identity_with_passphrase(user.sealed_key, password)
    except CannotOpen:
        return None


def _grant(organization: Organization, membership: Membership, unlocked_by: keys.Identity) -> None:
    identity = organization_identity(organization, unlocked_by)
    membership.key_granted_to = membership.user.key_recipient
    membership.save(update_fields=["key_granted_to"])
    _reseal(organization, identity)


def _reseal(organization: Organization, identity: keys.Identity) -> None:
    """Seal the organisation's key to every member holding access, and to recovery.

    Only this small file is rewritten; the cases' sealed objects are sealed to the
    organisation's recipient, which does not change.
    """
    holders = [
        keys.parse_recipient(m.user.key_recipient)
        for m in organization.memberships.select_related("user")
        if m.has_key_access
    ]
    organization.sealed_key = keys.seal_identity(identity, holders + keys.recovery_recipients())
    organization.save(update_fields=["key_recipient", "sealed_key"])
