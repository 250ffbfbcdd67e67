"""Demo organisations and accounts for a local run (``make run``).

Invented names only.  Passwords are drawn on the first run and kept in
``var/demo-accounts.json`` (readable by its owner only), so that each account keeps its
key, and each demo organisation its key, from one run to the next.  Every account has a
confirmed authenticator (the second factor is mandatory); ``manage.py demo_code NAME``
prints its current code, so a demo needs no phone.  A few invented reports fill the
queues, and one receipt code is printed to try the reporter's return visit.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework import services
from casework.models import Membership, Organization, User
from reporting import services as reporting

OrganizationKind = Organization.Kind
Role = Membership.Role

DEMO_ORGANIZATIONS = [
    (
        "demo-association",
        "Association Démo Casablanca",
        OrganizationKind.PARTNER_ASSOCIATION,
        ["casablanca_settat", "rabat_sale_kenitra", "marrakech_safi"],
    ),
    (
        "demo-ecoute",
        "Centre d'écoute Démo Fès",
        OrganizationKind.LISTENING_CENTRE,
        ["fes_meknes", "oriental"],
    ),
    ("demo-juridique", "Clinique juridique Démo Rabat", OrganizationKind.LEGAL_PARTNER, []),
    ("demo-coordination", "Coordination nationale Démo", OrganizationKind.NATIONAL_COORDINATOR, []),
]

# (region, urgency signals, category, narrative): invented, for the queues to show.
DEMO_REPORTS = [
    (
        "casablanca_settat",
        ["images_spreading"],
        "intimate_images",
        "Démo : mon ancien compagnon a publié des photos intimes dans un groupe Facebook.",
    ),
    (
        "casablanca_settat",
        [],
        "cyberharassment",
        "ديمو: حساب مجهول يرسل لي رسائل مسيئة كل يوم على إنستغرام.",
    ),
    (
        "rabat_sale_kenitra",
        ["extortion_deadline"],
        "sextortion",
        "Démo : quelqu'un exige 5000 dirhams avant vendredi, sinon il envoie la vidéo.",
    ),
    (
        "fes_meknes",
        [],
        "impersonation",
        "Démo : un faux compte à mon nom demande de l'argent à mes amies.",
    ),
    (
        "souss_massa",
        ["location_tracking"],
        "doxxing",
        "Démo : mon adresse a été publiée et je pense que mon téléphone est suivi.",
    ),
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
    for slug, name, kind, regions in DEMO_ORGANIZATIONS:
        organizations[slug], _ = Organization.objects.update_or_create(
            slug=slug, defaults={"name": name, "kind": kind, "regions": regions}
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
        _authenticator(user, passwords)
        org_name = ""
        if org_slug is not None:
            _join(organizations[org_slug], user, role, passwords)
            org_name = organizations[org_slug].name
        accounts.append(DemoAccount(username, password, does, org_name))
    if not passwords.get("_receipt"):
        passwords["_receipt"] = _demo_reports()
    _write_private(path, json.dumps(passwords, indent=2))
    return accounts


def demo_receipt() -> str:
    """The receipt code of one demo report, to try her return visit."""
    path = credentials_file()
    return json.loads(path.read_text()).get("_receipt", "") if path.exists() else ""


def _authenticator(user: User, secrets_kept: dict) -> TOTPDevice:
    """A confirmed TOTP device whose key is kept beside the demo passwords."""
    key = secrets_kept.setdefault("_totp", {}).get(user.username)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None or device.key != key:
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="demo", confirmed=True)
        secrets_kept["_totp"][user.username] = device.key
    return device


def current_code(username: str) -> str:
    """The code a demo account's authenticator would show now (manage.py demo_code)."""
    if settings.PRODUCTION:
        raise DemoRefused("demo codes are refused when DJANGO_ENV=production")
    device = TOTPDevice.objects.get(user__username=username, name="demo", confirmed=True)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _demo_reports() -> str:
    """File the demo reports through the real intake service; return one receipt."""
    receipt = ""
    for region, urgency, category, narrative in DEMO_REPORTS:
        report_facts = reporting.report_facts(
            urgency=urgency,
            category=category,
            region=region,
            language="fr",
            age_band="25_34",
            services=["listening", "legal"],
            consent_share=True,
            consent_statistics=True,
        )
        pending = reporting.new_receipt()
        reporting.file_report(
            report_facts,
            reporting.ReportContent(narrative=narrative),
            [],
            pending=pending,
            recipients=reporting.recipients_for(report_facts, pending),
        )
        receipt = receipt or pending.display
    return receipt


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
