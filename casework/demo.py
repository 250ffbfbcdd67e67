"""Demo organisations and accounts for a local run (``make run``).

Invented names only.  Passwords are drawn on the first run and kept in
``var/demo-accounts.json`` (readable by its owner only), so that each account keeps its
key, and each demo organisation its key, from one run to the next.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from casework import services
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


def credentials_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-accounts.json"


@transaction.atomic
def seed_demo() -> list[DemoAccount]:
    """Create what is missing; repair what a lost password broke. Idempotent."""
    if settings.PRODUCTION:
        raise DemoRefused("demo data is refused when DJANGO_ENV=production")
    path = credentials_file()
    passwords = json.loads(path.read_text()) if path.exists() else {}
    organizations = {}
    for slug, name, kind in DEMO_ORGANIZATIONS:
        organizations[slug], _ = Organization.objects.update_or_create(
            slug=slug, defaults={"name": name, "kind": kind}
        )
    accounts = []
    for username, does, org_slug, role in DEMO_ACCOUNTS:
        password = passwords.get(username) or secrets.token_urlsafe(12)
        passwords[username] = password
        user, _ = User.objects.get_or_create(username=username)
        if not user.check_password(password) or not user.sealed_key:
            user.set_password(password)
        user.is_staff = user.is_superuser = org_slug is None
        user.save()
        org_name = ""
        if org_slug is not None:
            _join(organizations[org_slug], user, role, passwords)
            org_name = organizations[org_slug].name
        accounts.append(DemoAccount(username, password, does, org_name))
    _write_private(path, json.dumps(passwords, indent=2))
    return accounts


def _join(organization: Organization, user: User, role: str, passwords: dict[str, str]) -> None:
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is not None and membership.has_key_access:
        return
    holder_key = _a_key_holder(organization, passwords)
    if holder_key is None and organization.sealed_key is not None:
        # Nobody whose password we know holds the key any more (the credentials file was
        # deleted): demo data only, so the organisation starts over with a new key.
        organization.memberships.all().delete()
        organization.sealed_key = None
        organization.save(update_fields=["sealed_key"])
        membership = None
    if membership is None:
        services.add_member(organization, user, role=role, unlocked_by=holder_key)
    else:
        services.grant_key_access(membership, unlocked_by=holder_key)


def _a_key_holder(organization: Organization, passwords: dict[str, str]):
    for membership in organization.memberships.select_related("user"):
        password = passwords.get(membership.user.username)
        if membership.has_key_access and password:
            return services.unlock_member_key(membership.user, password)
    return None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
