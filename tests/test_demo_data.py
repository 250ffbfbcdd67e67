"""`make run` seeds demo organisations of each kind and an account per role."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import override_settings

from casework import services
from casework.models import Membership, Organization, User

pytestmark = pytest.mark.django_db


def seed() -> dict[str, str]:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return dict(re.findall(r"^\s+(demo-\S+)\s+(\S+)", out.getvalue(), re.MULTILINE))


def test_demo_has_every_kind_of_organisation_and_every_role():
    seed()
    assert set(Organization.objects.values_list("kind", flat=True)) == set(Organization.Kind.values)
    assert set(Membership.objects.values_list("role", flat=True)) == set(Membership.Role.values)
    assert User.objects.filter(is_superuser=True).count() == 1


def test_every_printed_demo_password_signs_in():
    credentials = seed()
    assert len(credentials) == 7
    for username, password in credentials.items():
        assert authenticate(username=username, password=password) is not None, username
        assert User.objects.get(username=username).password.startswith("argon2$")


def test_seeding_twice_duplicates_nothing_and_keeps_passwords():
    first = seed()
    second = seed()
    assert first == second
    assert User.objects.count() == 7
    assert Organization.objects.count() == 4
    assert Membership.objects.count() == 6


def test_every_demo_member_holds_her_organisations_key_across_runs():
    seed()
    keys_before = dict(Organization.objects.values_list("slug", "key_recipient"))
    credentials = seed()

    assert dict(Organization.objects.values_list("slug", "key_recipient")) == keys_before
    for membership in Membership.objects.select_related("user", "organization"):
        member_key = services.unlock_member_key(
            membership.user, credentials[membership.user.username]
        )
        opened = services.organization_identity(membership.organization, member_key)
        assert str(opened.recipient) == membership.organization.key_recipient


def test_demo_passwords_are_kept_readable_by_their_owner_only(settings):
    seed()
    path = settings.VAR_DIR / "demo-accounts.json"
    assert path.stat().st_mode & 0o077 == 0


@override_settings(PRODUCTION=True)
def test_demo_data_is_refused_in_production():
    with pytest.raises(CommandError, match="refused"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.exists()


def test_a_demo_caseworker_signs_in_with_the_printed_code_and_finds_demo_cases():
    from django.test import Client

    credentials = seed()
    code = io.StringIO()
    call_command("demo_code", "demo-caseworker", stdout=code)
    client = Client()
    client.post(
        "/fr/staff/login/",
        {"username": "demo-caseworker", "password": credentials["demo-caseworker"]},
    )

    response = client.post("/fr/staff/login/code/", {"code": code.getvalue().strip()}, follow=True)

    page = response.content.decode()
    assert response.request["PATH_INFO"] == "/fr/staff/"
    assert "Association Démo Casablanca" in page
    assert page.count('href="/fr/staff/cases/') == 3  # the demo reports of its regions


def test_the_printed_demo_receipt_opens_a_demo_report():
    from reporting import services as reporting

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    receipt = re.search(r"receipt code, for the return visit: ([\d ]+)", out.getvalue()).group(1)

    report, _ = reporting.open_receipt(receipt)
    assert report.report.case.organization.slug in {"demo-association", "demo-ecoute"}
