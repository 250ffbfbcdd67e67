"""An organisation admin invites her own members and gives access to those waiting."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from casework import services
from casework.models import AuditEvent, Membership, User
from tests.support.cast import confirmed_device, file_report, new_user, signed_in_client

pytestmark = pytest.mark.django_db


def test_an_invited_member_signs_in_with_the_one_time_password_and_reads_cases(cast):
    report, _ = file_report(narrative="Elle lit ceci après son invitation")
    admin = cast.client("amina")

    response = admin.post(
        "/fr/staff/organisation/association/members/",
        {"username": "salma", "email": "", "role": Membership.Role.CASEWORKER},
    )

    assert response.status_code == 200
    password = re.search(
        r'data-testid="one-time-password">([^<]+)<', response.content.decode()
    ).group(1)
    salma = User.objects.get(username="salma")
    assert salma.must_change_password
    assert Membership.objects.get(user=salma).has_key_access
    assert AuditEvent.objects.filter(action="member.invited", actor="amina").exists()

    confirmed_device(salma)
    client = signed_in_client(salma, password=password)
    assert client.get("/fr/staff/")["Location"].startswith("/fr/staff/password/")
    client.post(
        "/fr/staff/password/",
        {
            "old_password": password,
            "new_password": "salma's own passphrase",
            "new_password_again": "salma's own passphrase",
        },
    )
    page = html.unescape(client.get(f"/fr/staff/cases/{report.case.pk}/").content.decode())
    assert "Elle lit ceci après son invitation" in page
    salma.refresh_from_db()
    assert salma.one_time_password_until is None  # her own password does not expire


def test_a_caseworker_cannot_open_the_members_page(cast):
    assert (
        cast.client("alice").get("/fr/staff/organisation/association/members/").status_code == 404
    )
    assert cast.client("amina").get("/fr/staff/organisation/centre/members/").status_code == 404


def test_a_taken_username_is_refused_and_nothing_is_created(cast):
    response = cast.client("amina").post(
        "/fr/staff/organisation/association/members/",
        {"username": "ALICE", "email": "", "role": Membership.Role.CASEWORKER},
    )

    assert response.status_code == 400
    assert User.objects.filter(username__iexact="alice").count() == 1


def test_the_admin_gives_access_to_a_member_waiting_for_it(cast):
    report, _ = file_report(narrative="Lisible après l'accès")
    waiting = new_user("yasmine")
    services.add_member(
        cast.orgs["association"], waiting, role=Membership.Role.CASEWORKER, unlocked_by=None
    )
    membership = Membership.objects.get(user=waiting)
    admin = cast.client("amina")
    assert "yasmine" in admin.get("/fr/staff/organisation/association/members/").content.decode()

    admin.post(f"/fr/staff/organisation/association/members/{membership.pk}/grant/")

    membership.refresh_from_db()
    assert membership.has_key_access
    page = signed_in_client(waiting).get(f"/fr/staff/cases/{report.case.pk}/").content.decode()
    assert "Lisible après l" in html.unescape(page)
    assert AuditEvent.objects.filter(action="member.access_granted").count() == 1


def test_a_one_time_password_left_unused_expires_with_a_clear_message(cast, settings):
    admin = cast.client("amina")
    response = admin.post(
        "/fr/staff/organisation/association/members/",
        {"username": "salma", "email": "", "role": Membership.Role.CASEWORKER},
    )
    password = re.search(
        r'data-testid="one-time-password">([^<]+)<', response.content.decode()
    ).group(1)
    salma = User.objects.get(username="salma")
    hours = (salma.one_time_password_until - timezone.now()).total_seconds() / 3600
    assert settings.STAFF_ONE_TIME_PASSWORD_HOURS - 1 < hours <= 72
    User.objects.filter(pk=salma.pk).update(
        one_time_password_until=timezone.now() - timedelta(minutes=1)
    )

    browser = Client()
    late = browser.post("/fr/staff/login/", {"username": "salma", "password": password})

    assert late.status_code == 400
    assert "Ce mot de passe à usage unique a expiré" in html.unescape(late.content.decode())
    assert "_auth_user_id" not in browser.session
    assert browser.get("/fr/staff/")["Location"].startswith("/fr/staff/login/")
    assert AuditEvent.objects.filter(action="login.one_time_expired").count() == 1


def test_a_locked_key_cannot_invite(cast):
    # Signed in and verified, but the browser's half of the key is gone.
    client = cast.client("amina")
    client.cookies.pop("member_key")

    response = client.post(
        "/fr/staff/organisation/association/members/",
        {"username": "salma", "email": "", "role": Membership.Role.CASEWORKER},
        follow=True,
    )

    assert not User.objects.filter(username="salma").exists()
    assert len(list(response.context["messages"])) == 1
