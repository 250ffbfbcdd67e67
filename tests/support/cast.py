"""The shared cast (CONVENTIONS.md): every case page and endpoint gets its negative test
cheaply.  Organisations hold real keys; members sign in through the real password form
(which opens their key), and their second factor is a real, confirmed TOTP device.

Association A (Casablanca-Settat): alice (caseworker), bianca (triage lead, her
colleague), amina (organisation admin).  Listening centre B (Fès-Meknès): nadia
(caseworker of another organisation).  Legal clinic L: leila (legal partner).  National
coordination N: coralie (coordinator).  And a reporter, who has only a receipt code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework import services
from casework.models import Membership, Organization, User
from reporting import services as reporting
from reporting.models import Report
from tests.support.uploading import parse

PASSWORD = "correct horse battery staple"
Kind = Organization.Kind
Role = Membership.Role

ORGS = {
    "association": ("Association A", Kind.PARTNER_ASSOCIATION, ["casablanca_settat"]),
    "centre": ("Centre d'écoute B", Kind.LISTENING_CENTRE, ["fes_meknes"]),
    "clinic": ("Clinique juridique L", Kind.LEGAL_PARTNER, []),
    "coordination": ("Coordination N", Kind.NATIONAL_COORDINATOR, []),
}
MEMBERS = {
    "alice": ("association", Role.CASEWORKER),
    "bianca": ("association", Role.TRIAGE_LEAD),
    "amina": ("association", Role.ORG_ADMIN),
    "nadia": ("centre", Role.CASEWORKER),
    "leila": ("clinic", Role.LEGAL_PARTNER),
    "coralie": ("coordination", Role.TRIAGE_LEAD),
}


@dataclass
class Cast:
    orgs: dict[str, Organization] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def client(self, name: str, *, language: str = "fr") -> Client:
        return signed_in_client(self.users[name], language=language)


def new_user(username: str, password: str = PASSWORD) -> User:
    user = User(username=username, email=f"{username}@example.org")
    user.set_password(password)
    user.save()
    return user


def confirmed_device(user: User) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def signed_in_client(user: User, *, language: str = "fr", password: str = PASSWORD) -> Client:
    """A browser session that signed in with her password (so her key is open in the
    split-key session) and passed the second factor on her device."""
    client = Client()
    response = client.post(
        f"/{language}/staff/login/", {"username": user.username, "password": password}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = confirmed_device(user).persistent_id
    session.save()
    return client


def make_cast() -> Cast:
    cast = Cast()
    for slug, (name, kind, regions) in ORGS.items():
        cast.orgs[slug] = Organization.objects.create(
            name=name, slug=slug, kind=kind, regions=regions
        )
    first_key = {}
    for username, (slug, role) in MEMBERS.items():
        user = new_user(username)
        org = cast.orgs[slug]
        org.refresh_from_db()
        services.add_member(org, user, role=role, unlocked_by=first_key.get(slug))
        first_key.setdefault(slug, services.unlock_member_key(user, PASSWORD))
        cast.users[username] = user
    for org in cast.orgs.values():
        org.refresh_from_db()
    return cast


def file_report(
    *,
    narrative: str = "He posts my photos and says he will send them to my family.",
    region: str = "casablanca_settat",
    urgency: tuple[str, ...] = (),
    category: str = "sextortion",
    files: tuple[tuple[str, bytes], ...] = (),
    consent_share: bool = True,
) -> tuple[Report, reporting.PendingReceipt]:
    """A report filed through the reporting service, as the intake pages do: routing
    seals it to the organisation serving her region and to the coordination, and each
    of ``files`` (name, bytes) goes through the sealing upload handler on arrival."""
    facts = reporting.report_facts(
        urgency=urgency,
        category=category,
        region=region,
        language="ar",
        age_band="18_24",
        services=["listening", "legal"],
        consent_share=consent_share,
        consent_statistics=True,
    )
    pending = reporting.new_receipt()
    recipients = reporting.recipients_for(facts, pending)
    uploads = []
    if files:
        _, received, _ = parse(recipients, {"evidence": list(files)})
        uploads = received.getlist("evidence")
    report = reporting.file_report(
        facts,
        reporting.ReportContent(narrative=narrative, identifiers="@harasser", contact=""),
        uploads,
        pending=pending,
        recipients=recipients,
    )
    return report, pending


def returning_reporter(pending: reporting.PendingReceipt, *, language: str = "fr") -> Client:
    """Her browser on a return visit: the receipt code typed on the page, her key open
    in the split-key session for what she does next."""
    client = Client()
    response = client.post(f"/{language}/return/", {"code": pending.display})
    assert response.status_code == 302, response.content.decode()[:500]
    return client
