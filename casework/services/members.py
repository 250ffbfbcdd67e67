"""Members, the keys they hold, and what their signing in records."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp import match_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from casework import audit
from casework.audit import Action
from casework.exceptions import KeyAccessDenied, LastKeyHolder, NotAllowed, WrongPassword
from casework.models import Membership, Organization, User
from evidence import keys
from evidence.exceptions import CannotOpen

# Who acts when no account does: the operator's offline recovery key, in a command.
RECOVERY = "operator (recovery key)"


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
def grant_key_access(
    membership: Membership, *, unlocked_by: keys.Identity, actor: User | str = RECOVERY
) -> None:
    """Seal the organisation's key to this member (again, after a password reset)."""
    organization = Organization.objects.select_for_update().get(pk=membership.organization_id)
    _grant(organization, membership, unlocked_by)
    audit.record(
        actor,
        Action.MEMBER_ACCESS_GRANTED,
        organization=organization,
        detail={"user": membership.user_id},
    )


@transaction.atomic
def remove_member(
    membership: Membership, *, unlocked_by: keys.Identity, actor: User | str = RECOVERY
) -> None:
    """Remove a member and re-seal the organisation's key without her."""
    organization = Organization.objects.select_for_update().get(pk=membership.organization_id)
    identity = organization_identity(organization, unlocked_by)
    others = organization.memberships.exclude(pk=membership.pk).select_related("user")
    if not any(m.has_key_access for m in others) and not keys.recovery_recipients():
        raise LastKeyHolder(organization.pk)
    user_id = membership.user_id
    membership.delete()
    _reseal(organization, identity)
    audit.record(actor, Action.MEMBER_REMOVED, organization=organization, detail={"user": user_id})


def organization_identity(organization: Organization, unlocked_by: keys.Identity) -> keys.Identity:
    """The organisation's identity, opened in memory with a key that holds access."""
    if organization.sealed_key is None:
        raise KeyAccessDenied(organization.pk)
    try:
        return keys.open_identity(organization.sealed_key, [unlocked_by])
    except CannotOpen:
        raise KeyAccessDenied(organization.pk) from None


def one_time_password_deadline() -> datetime:
    """Until when a password someone else chose for her opens her account."""
    return timezone.now() + timedelta(hours=settings.STAFF_ONE_TIME_PASSWORD_HOURS)


@transaction.atomic
def change_password(user: User, *, old_password: str, new_password: str) -> None:
    """Re-seal the account's identity under the new password: access is kept."""
    try:
        identity = keys.open_identity_with_passphrase(user.sealed_key or b"", old_password)
    except CannotOpen:
        raise WrongPassword(user.pk) from None
    user.set_password(new_password, identity=identity)
    user.must_change_password = False
    user.one_time_password_until = None
    user.save(
        update_fields=[
            "password",
            "sealed_key",
            "key_recipient",
            "must_change_password",
            "one_time_password_until",
        ]
    )
    audit.record(user, Action.PASSWORD_CHANGED)


@transaction.atomic
def invite_member(
    organization: Organization,
    *,
    username: str,
    email: str,
    role: str,
    actor: User,
    unlocked_by: keys.Identity,
) -> tuple[User, str]:
    """A new account in ``organization``, holding access from the start.

    Returns the account and a one-time password for the admin to hand over in person
    (no email: an invitation in a mailbox is one more thing an abuser could find).  Her
    key is born under that password and the organisation's key is sealed to it at once
    by ``unlocked_by``, the inviting admin's open key; at her first sign-in she chooses
    her own password (which keeps the key) and enrols her authenticator.
    """
    inviter = Membership.objects.filter(user=actor, organization=organization).first()
    if inviter is None or inviter.role != Membership.Role.ORG_ADMIN:
        raise NotAllowed("invite", organization.pk)
    temporary = _one_time_password()
    user = User(
        username=username,
        email=email,
        must_change_password=True,
        one_time_password_until=one_time_password_deadline(),
    )
    user.set_password(temporary)
    user.save()
    membership = add_member(organization, user, role=role, unlocked_by=unlocked_by)
    if not membership.has_key_access:
        raise KeyAccessDenied(organization.pk)
    audit.record(
        actor,
        Action.MEMBER_INVITED,
        organization=organization,
        detail={"user": user.pk, "role": role},
    )
    return user, temporary


@transaction.atomic
def grant_waiting_member(
    membership: Membership, *, actor: User, unlocked_by: keys.Identity
) -> None:
    """Give access to a member who waits for it (added by the operator, or after a
    password reset), with the open key of a member who holds it.  Only an admin of the
    member's own organisation may: the key she hands over opens all its cases."""
    admin = Membership.objects.filter(user=actor, organization_id=membership.organization_id)
    if not any(m.can_manage_members for m in admin):
        raise NotAllowed("grant", membership.organization_id)
    grant_key_access(membership, unlocked_by=unlocked_by, actor=actor)


# --- signing in: what the sign-in pages and the idle time-out record ---------------------
#
# Nothing but the audit row changes in most of these (the session is the web layer's),
# but the row is the act here, written like every other: by a service, in a transaction.

_REFUSALS = frozenset(
    {
        Action.LOGIN_FAILED,
        Action.LOGIN_LOCKED,
        Action.LOGIN_OTP_FAILED,
        Action.LOGIN_ONE_TIME_EXPIRED,
        Action.PASSWORD_WRONG,
    }
)


@transaction.atomic
def spend_second_factor(user: User, code: str) -> Device | None:
    """The device that accepts ``code`` (her authenticator's code or a recovery code),
    which is then spent; None if none does.

    A device remembers its last used time step, and a recovery code is deleted once
    used, but both are read before they are written: two requests carrying one code at
    the same moment would both read it unspent and both pass.  django-otp's match_token
    reads her devices FOR UPDATE, so the second waits for the first and reads what it
    wrote (tests/casework/test_second_factor_race.py); calling a device's verify_token
    directly would lose that."""
    return match_token(user, code)


@transaction.atomic
def record_sign_in(user: User, *, device: Device) -> int | None:
    """She passed both factors.  With a recovery code (which django-otp has spent),
    returns how many she has left, for the page to say."""
    audit.record(user, Action.LOGIN, detail={"second_factor": device.__class__.__name__})
    if not isinstance(device, StaticDevice):
        return None
    audit.record(user, Action.RECOVERY_CODE_USED)
    return StaticToken.objects.filter(device=device).count()


@transaction.atomic
def record_refusal(account: User | str, action: str) -> None:
    """A wrong password or code, or a locked account.  ``account`` is the account, or
    the name typed: kept as the account's id when it names one, never as the typed text
    (it may be a password typed into the wrong box)."""
    if action not in _REFUSALS:
        raise ValueError(f"not a sign-in refusal: {action}")
    if isinstance(account, str):
        account = User.objects.filter(username=account).first() or "unknown account"
    audit.record(account, action)


@transaction.atomic
def record_sign_out(user: User, *, idle: bool = False) -> None:
    audit.record(user, Action.LOGOUT_IDLE if idle else Action.LOGOUT)


@transaction.atomic
def confirm_authenticator(user: User, device: Device, *, recovery_codes: int) -> list[str]:
    """Her authenticator, confirmed by a first right code, becomes her second factor;
    she gets new single-use recovery codes (returned for the page to show once) and is
    signed in."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    static, _created = StaticDevice.objects.get_or_create(user=user, name="recovery codes")
    static.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(recovery_codes)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=c) for c in codes)
    audit.record(user, Action.OTP_ENROLLED)
    audit.record(user, Action.LOGIN, detail={"second_factor": device.__class__.__name__})
    return codes


def unlock_member_key(user: User, password: str) -> keys.Identity | None:
    """The account's identity, opened with the password that just authenticated her."""
    if not user.sealed_key:
        return None
    try:
        return keys.open_identity_with_passphrase(user.sealed_key, password)
    except CannotOpen:
        return None


def _one_time_password() -> str:
    # Five groups of four from an alphabet without look-alikes: read aloud or copied by
    # hand once, then replaced by her own.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(5))


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
