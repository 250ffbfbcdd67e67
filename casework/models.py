from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from evidence import keys


class User(AbstractUser):
    """A staff account: caseworker, legal partner, coordinator or platform operator.

    Reporters never have one; they come back with a receipt code.  Each account has an
    age identity sealed under its password (docs/CRYPTO.md): login opens it, and it
    opens the keys of the organisations that granted her access.
    """

    key_recipient = models.CharField(_("public key"), max_length=100, blank=True, editable=False)
    sealed_key = models.BinaryField(null=True, editable=False)

    def set_password(self, raw_password: str | None, *, identity: keys.Identity | None = None):
        """Seal the account's identity under the new password.

        ``identity`` keeps the current identity (a password change, where the old
        password opened it).  Every other path that sets a password without the old one
        (an administrator's reset, a new account) gets a new identity: the old one cannot
        be opened any more, so her organisations must grant her access again.
        """
        super().set_password(raw_password)
        if raw_password is None:
            return
        identity = identity or keys.new_identity()
        self.sealed_key = keys.seal_identity_with_passphrase(
            identity, raw_password, work_factor=settings.EVIDENCE_MEMBER_WORK_FACTOR
        )
        self.key_recipient = str(identity.recipient)


class Organization(models.Model):
    class Kind(models.TextChoices):
        PARTNER_ASSOCIATION = "partner_association", _("Partner association")
        LISTENING_CENTRE = "listening_centre", _("Listening centre")
        LEGAL_PARTNER = "legal_partner", _("Legal partner")
        NATIONAL_COORDINATOR = "national_coordinator", _("National coordinator")

    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(_("short name"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # The organisation's identity, sealed to its members who hold access and to the
    # operator's recovery key.  Empty until its first member joins.
    key_recipient = models.CharField(_("public key"), max_length=100, blank=True, editable=False)
    sealed_key = models.BinaryField(null=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        TRIAGE_LEAD = "triage_lead", _("Triage lead")
        CASEWORKER = "caseworker", _("Caseworker")
        LEGAL_PARTNER = "legal_partner", _("Legal partner")
        ORG_ADMIN = "org_admin", _("Organisation admin")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # The member's recipient the organisation's key was last sealed to.  When her own key
    # changes (an administrator reset her password) the two differ: she waits for access.
    key_granted_to = models.CharField(max_length=100, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} — {self.organization}"

    @property
    def has_key_access(self) -> bool:
        return bool(self.key_granted_to) and self.key_granted_to == self.user.key_recipient

    def clean(self) -> None:
        # A lawyer's access is shaped for bundles, a caseworker's for casework: mixing them
        # would give a legal clinic the triage queue or an association the bundle export.
        is_legal_org = self.organization.kind == Organization.Kind.LEGAL_PARTNER
        is_lawyer = self.role == self.Role.LEGAL_PARTNER
        if is_lawyer != is_legal_org and self.role != self.Role.ORG_ADMIN:
            raise ValidationError(
                {
                    "role": _(
                        "Legal partner is the role for members of a legal partner, and only them."
                    )
                }
            )
