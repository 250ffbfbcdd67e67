"""A lawyer's own keys for the bundles she asks for (docs/BUNDLES.md, "Opening it").

A bundle is sealed to the legal partner organisation's key, but that key lives on the
platform, sealed to its members' passwords: no standard tool opens it.  So a member who
may download bundles registers the public half of a key she made herself with
``age-keygen`` (an ``age1…`` X25519 recipient); every bundle she asks for is sealed to it
as well, and ``age -d -i key.txt`` opens it on her own computer.  Only the public half
ever reaches us: it opens nothing here.

For a bundle sealed to the organisation's key only (asked before she registered a key),
she may also take that key home as an age identity file under a passphrase of hers
(``export_organization_key``): ``age -d -i`` asks for the passphrase and opens it.  It is
the second way, not the first: that key opens every bundle of her organisation, so the
passphrase must be long and not her sign-in password (which the platform sees), and each
export is audited.

Hardware-key (plugin) recipients such as ``age1yubikey1…`` are refused with a reason: an
age header could carry their stanzas, but writing one means running that plugin's
program, and the platform's age (evidence/age) seals to X25519 recipients only.  SSH keys
likewise.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from casework import audit
from casework.audit import Action
from casework.exceptions import KeyLocked, NotAllowed
from casework.models import BundleRecipient, Membership, Organization, User
from casework.services.members import organization_identity
from evidence import age, keys

# Enough for a laptop, a spare and a colleague's machine; more is a mistake or abuse.
MOST = 10
LABEL_LENGTH = 80
# The organisation's key under her passphrase: scrypt makes each guess slow, length
# makes them many.
PASSPHRASE_LENGTH = 12

# What age-keygen prints around the recipient: "Public key: age1…" on the terminal,
# "# public key: age1…" in the key file.  She may paste either line whole.
_PREFIX = re.compile(r"^\s*#?\s*public key:\s*", re.IGNORECASE)


class PassphraseRefused(Exception):
    """The passphrase for an exported key is refused: ``args[0]`` says why (``short``,
    ``sign_in``, ``mismatch``)."""


class RecipientRefused(Exception):
    """The recipient cannot be registered: ``args[0]`` says why (``secret``, ``plugin``,
    ``ssh``, ``invalid``, ``duplicate``, ``too_many``, ``label``)."""


def bundle_membership(user: User) -> Membership | None:
    """Her membership that downloads bundles (a legal partner's lawyer or admin), or
    None: only such members have keys to register."""
    return (
        Membership.objects.filter(
            user=user,
            organization__kind=Organization.Kind.LEGAL_PARTNER,
            role__in=[Membership.Role.LEGAL_PARTNER, Membership.Role.ORG_ADMIN],
        )
        .select_related("organization")
        .order_by("pk")
        .first()
    )


def holds_secret(text: str) -> bool:
    """Whether what she pasted holds a secret key (the whole key file, say)."""
    return "AGE-SECRET-KEY-" in (text or "").upper()


def parse(text: str) -> str:
    """The recipient in what she pasted, in its canonical form, or RecipientRefused."""
    if holds_secret(text):
        # Her secret: refused, and kept nowhere (not in the form shown again, not in logs).
        raise RecipientRefused("secret")
    value = _PREFIX.sub("", text or "").strip()
    if value.upper().startswith("AGE-PLUGIN-"):
        raise RecipientRefused("plugin")
    if value.startswith(("ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-")):
        raise RecipientRefused("ssh")
    if value.isupper():  # Bech32 may be written in capitals; age writes it in small letters
        value = value.lower()
    # Bech32: the name, "1", then data that never holds a "1".  An X25519 recipient is
    # named "age"; "age1yubikey1…", "age1tpm1…" name a plugin.
    if value.startswith("age1") and value.rsplit("1", 1)[0] != "age":
        raise RecipientRefused("plugin")
    try:
        return str(age.X25519Recipient.parse(value))
    except (age.AgeError, ValueError):
        raise RecipientRefused("invalid") from None


def recipients_of(user: User) -> list[BundleRecipient]:
    return list(BundleRecipient.objects.filter(user=user))


@transaction.atomic
def add_recipient(*, actor: User, text: str, label: str = "") -> BundleRecipient:
    """Register one of her own age recipients; audited."""
    membership = bundle_membership(actor)
    if membership is None:
        raise NotAllowed("bundle_recipient", None)
    recipient = parse(text)
    label = label.strip()
    if len(label) > LABEL_LENGTH:
        raise RecipientRefused("label")
    # Her rows, locked: two tabs adding at once count each other.
    existing = list(BundleRecipient.objects.select_for_update().filter(user=actor))
    if any(row.recipient == recipient for row in existing):
        raise RecipientRefused("duplicate")
    if len(existing) >= MOST:
        raise RecipientRefused("too_many")
    try:
        with transaction.atomic():
            row = BundleRecipient.objects.create(
                user=actor, recipient=recipient, label=label, added_at=timezone.now()
            )
    except IntegrityError:  # the same key added in another tab meanwhile
        raise RecipientRefused("duplicate") from None
    audit.record(
        actor,
        Action.BUNDLE_RECIPIENT_ADDED,
        organization=membership.organization,
        detail={"recipient": recipient, "label": label},
    )
    return row


@transaction.atomic
def remove_recipient(recipient_id: int, *, actor: User) -> None:
    """Forget one of her recipients (bundles already built stay sealed to it); audited.
    Another member's row is not found, as if it did not exist."""
    row = BundleRecipient.objects.select_for_update().filter(pk=recipient_id, user=actor).first()
    if row is None:
        raise BundleRecipient.DoesNotExist(recipient_id)
    membership = bundle_membership(actor)
    row.delete()
    audit.record(
        actor,
        Action.BUNDLE_RECIPIENT_REMOVED,
        organization=membership.organization if membership else None,
        detail={"recipient": row.recipient, "label": row.label},
    )


def sealing_recipients(user: User, organization: Organization) -> list[BundleRecipient]:
    """Whose keys a bundle asked for by ``user`` for ``organization`` is sealed to, besides
    the organisation's: hers, while she is still one of its members who download bundles."""
    still_there = Membership.objects.filter(
        user=user,
        organization=organization,
        role__in=[Membership.Role.LEGAL_PARTNER, Membership.Role.ORG_ADMIN],
    ).exists()
    return recipients_of(user) if still_there else []


@transaction.atomic
def export_organization_key(
    *, actor: User, identity: keys.Identity | None, passphrase: str, again: str
) -> tuple[str, bytes]:
    """Her organisation's key as an age identity file sealed under her passphrase (a file
    name and its bytes), for ``age -d -i``; audited.  Only a member who downloads
    bundles and holds access to the key, with her key open in this session."""
    membership = bundle_membership(actor)
    if membership is None:
        raise NotAllowed("organization_key", None)
    if identity is None:
        raise KeyLocked()
    if passphrase != again:
        raise PassphraseRefused("mismatch")
    if len(passphrase) < PASSPHRASE_LENGTH:
        raise PassphraseRefused("short")
    if actor.check_password(passphrase):
        # The platform sees her sign-in password at every sign-in: the file must not open
        # with anything the platform has seen.
        raise PassphraseRefused("sign_in")
    organization = membership.organization
    org_key = organization_identity(organization, identity)  # KeyAccessDenied: waiting
    sealed = keys.seal_identity_with_passphrase(
        org_key, passphrase, work_factor=max(18, settings.EVIDENCE_MEMBER_WORK_FACTOR)
    )
    audit.record(actor, Action.ORGANIZATION_KEY_EXPORTED, organization=organization)
    return f"{organization.slug}-key.age", sealed
