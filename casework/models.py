from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A staff account: caseworker, legal partner, coordinator or platform operator.

    Reporters never have one; they come back with a receipt code.  A custom model from the
    first migration keeps room for the key fields the sealed-storage kernel will add.
    """


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

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} — {self.organization}"

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
