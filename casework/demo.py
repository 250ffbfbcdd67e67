"""Demo organisations and accounts for a local run (``make run``).

Invented names only.  Passwords are drawn anew on every run and printed once, so a demo
database copied elsewhere carries no password anyone wrote down.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from casework.models import Membership, Organization, User

Kind = Organization.Kind
Role = Membership.Role

DEMO_ORGANIZATIONS = [
    ("demo-association", "Association Démo Casablanca", Kind.PARTNER_ASSOCIATION),
    ("demo-ecoute", "Centre d'écoute Démo Fès", Kind.LISTENING_CENTRE),
    ("demo-juridique", "Clinique juridique Démo Rabat", Kind.LEGAL_PARTNER),
    ("demo-coordination", "Coordination nationale Démo", Kind.NATIONAL_COORDINATOR),
]

# (username, what the person does, organisation slug or None, role or None)
DEMO_ACCOUNTS = [
    ("demo-operator", "platform operator (Django admin)", None, None),
    ("demo-coordinator", "national coordinator", "demo-coordination", Role.TRIAGE_LEAD),
    ("demo-triage", "triage lead", "demo-association", Role.TRIAGE_LEAD),
    ("demo-caseworker", "caseworker", "demo-association", Role.CASEWORKER),
    ("demo-listener", "caseworker, other organisation", "demo-ecoute", Role.CASEWORKER),
    ("demo-orgadmin", "organisation admin", "demo-association", Role.ORG_ADMIN),
    ("demo-lawyer", "legal partner", "demo-juridique", Role.LEGAL_PARTNER),
]


class DemoRefused(Exception):
    """Demo accounts with printed passwords must never exist on a production site."""


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    does: str
    organization: str


@transaction.atomic
def seed_demo() -> list[DemoAccount]:
    """Create the demo organisations and accounts, or reset their passwords. Idempotent."""
    if settings.PRODUCTION:
        raise DemoRefused("demo data is refused when DJANGO_ENV=production")
    organizations = {}
    for slug, name, kind in DEMO_ORGANIZATIONS:
        organizations[slug], _ = Organization.objects.update_or_create(
            slug=slug, defaults={"name": name, "kind": kind}
        )
    accounts = []
    for username, does, org_slug, role in DEMO_ACCOUNTS:
        user, _ = User.objects.get_or_create(username=username)
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_staff = user.is_superuser = org_slug is None
        user.save(update_fields=["password", "is_staff", "is_superuser"])
        org_name = ""
        if org_slug is not None:
            organization = organizations[org_slug]
            Membership.objects.update_or_create(
                user=user, organization=organization, defaults={"role": role}
            )
            org_name = organization.name
        accounts.append(DemoAccount(username, password, does, org_name))
    return accounts
