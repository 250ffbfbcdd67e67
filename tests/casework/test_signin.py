"""Staff sign-in: password, then a TOTP code (enrolled on first sign-in, with recovery
codes), failed attempts limited, idle sessions ended, the key dropped at sign-out."""

from __future__ import annotations

import html
import time

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework.auth import COOKIE_NAME
from casework.models import AuditEvent, Membership, Organization
from tests.support.cast import PASSWORD, confirmed_device, new_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db):
    from casework import services

    org = Organization.objects.create(
        name="Association", slug="association", kind=Organization.Kind.PARTNER_ASSOCIATION
    )
    user = new_user("alice")
    services.add_member(org, user, role=Membership.Role.CASEWORKER, unlocked_by=None)
    return user


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    value = totp(
        device.bin_key, step=device.step, t0=device.t0 - steps_ahead * device.step, digits=6
    )
    return f"{value:06d}"


def password_step(client: Client, username="alice", password=PASSWORD):
    return client.post(
        "/fr/staff/login/", {"username": username, "password": password, "next": "/fr/staff/"}
    )


def test_first_sign_in_enrols_an_authenticator_and_shows_recovery_codes_once(alice):
    client = Client()
    response = password_step(client)
    assert response["Location"].startswith("/fr/staff/login/authenticator/")

    page = client.get(response["Location"])
    assert "<svg" in page.content.decode()  # the QR code, drawn on the server
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    assert device.config_url.startswith("otpauth://totp/")

    done = client.post(response["Location"], {"code": code_for(device)})

    assert done.status_code == 200
    codes = [t.token for t in StaticToken.objects.filter(device__user=alice)]
    assert len(codes) == 10
    assert all(code in done.content.decode() for code in codes)
    assert client.get("/fr/staff/").status_code == 200  # verified: the queue opens
    assert AuditEvent.objects.filter(action="otp.enrolled", actor="alice").exists()
    assert AuditEvent.objects.filter(action="login", actor="alice").exists()


def test_a_password_alone_opens_no_staff_page(alice):
    confirmed_device(alice)
    client = Client()
    response = password_step(client)
    assert response["Location"].startswith("/fr/staff/login/code/")

    queue = client.get("/fr/staff/")

    assert queue.status_code == 302
    assert queue["Location"].startswith("/fr/staff/login/code/")


def test_the_right_code_signs_her_in_and_is_audited(alice):
    device = confirmed_device(alice)
    client = Client()
    password_step(client)

    response = client.post("/fr/staff/login/code/?next=/fr/staff/", {"code": code_for(device)})

    assert response.status_code == 302
    assert response["Location"] == "/fr/staff/"
    assert client.get("/fr/staff/").status_code == 200
    assert AuditEvent.objects.filter(action="login", actor="alice").count() == 1


def test_a_recovery_code_works_once(alice):
    confirmed_device(alice)
    from django_otp.plugins.otp_static.models import StaticDevice

    static = StaticDevice.objects.create(user=alice, name="recovery codes")
    static.token_set.create(token="abcd2345")

    first = Client()
    password_step(first)
    assert first.post("/fr/staff/login/code/", {"code": "abcd2345"}).status_code == 302
    second = Client()
    password_step(second)
    refused = second.post("/fr/staff/login/code/", {"code": "abcd2345"})

    assert refused.status_code == 400
    assert AuditEvent.objects.filter(action="otp.recovery_code_used").count() == 1


def test_wrong_passwords_lock_the_account_for_a_while_with_a_clear_message(alice, settings):
    settings.STAFF_LOGIN_FAILURES = 3
    client = Client()
    for _ in range(3):
        assert password_step(client, password="wrong").status_code == 400

    response = password_step(client)  # now even the right password is refused

    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    assert "Trop de tentatives" in response.content.decode()
    assert "_auth_user_id" not in client.session
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("login.failed") == 3
    assert actions.count("login.locked") == 1


def test_passwords_sprayed_over_many_accounts_pause_every_sign_in(alice, settings, same_minute):
    settings.STAFF_LOGIN_FAILURES_PER_MINUTE = 3
    for name in ("bob", "carla", "driss"):  # one guess each: no account locks on its own
        assert password_step(Client(), username=name, password="Summer2026!").status_code == 400

    client = Client()
    response = password_step(client)  # alice, with her right password

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "Trop de connexions ont échoué sur ce site" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_wrong_codes_count_towards_the_same_limit(alice, settings):
    settings.STAFF_LOGIN_FAILURES = 2
    device = confirmed_device(alice)
    client = Client()
    password_step(client)
    for _ in range(2):
        assert client.post("/fr/staff/login/code/", {"code": "000000"}).status_code == 400

    response = client.post("/fr/staff/login/code/", {"code": code_for(device)})

    assert response["Location"] == "/fr/staff/login/"  # back to the start, signed out
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="login.otp_failed").count() == 2


def test_a_failed_sign_in_for_an_unknown_name_does_not_store_what_was_typed(db):
    Client().post("/fr/staff/login/", {"username": "MySecretPassw0rd!", "password": "x"})

    row = AuditEvent.objects.get(action="login.failed")
    assert row.actor == "unknown account"
    assert "MySecretPassw0rd" not in str(row.detail)


def test_an_idle_session_is_signed_out_and_its_key_dropped(alice, settings):
    from tests.support.cast import signed_in_client

    settings.STAFF_IDLE_MINUTES = 1
    client = signed_in_client(alice)
    assert client.get("/fr/staff/").status_code == 200
    session = client.session
    session["staff_seen"] = int(time.time()) - 120
    session.save()

    response = client.get("/fr/staff/", follow=True)

    assert response.redirect_chain[0][1] == 302
    assert response.request["PATH_INFO"] == "/fr/staff/login/"
    assert client.cookies[COOKIE_NAME]["max-age"] == 0  # the browser's half of the key: gone
    assert "sans activité" in html.unescape(response.content.decode())  # she is told why
    assert AuditEvent.objects.filter(action="logout.idle", actor="alice").exists()


def test_sign_out_drops_the_key_cookie_and_is_audited(alice):
    from tests.support.cast import signed_in_client

    client = signed_in_client(alice)

    response = client.post("/fr/staff/logout/")

    assert response.cookies[COOKIE_NAME]["max-age"] == 0
    assert client.get("/fr/staff/").status_code == 302
    assert AuditEvent.objects.filter(action="logout", actor="alice").exists()


def test_someone_given_a_password_must_choose_her_own_and_keeps_her_access(alice):
    from casework import services
    from tests.support.cast import signed_in_client

    alice.must_change_password = True
    alice.save(update_fields=["must_change_password"])
    client = signed_in_client(alice)
    assert client.get("/fr/staff/")["Location"].startswith("/fr/staff/password/")

    response = client.post(
        "/fr/staff/password/",
        {
            "old_password": PASSWORD,
            "new_password": "my own long passphrase 2026",
            "new_password_again": "my own long passphrase 2026",
        },
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert not alice.must_change_password
    assert Membership.objects.get(user=alice).has_key_access
    key = services.unlock_member_key(alice, "my own long passphrase 2026")
    assert services.organization_identity(alice.memberships.get().organization, key)


def test_a_weak_new_password_is_refused_in_her_language(alice):
    from tests.support.cast import signed_in_client

    client = signed_in_client(alice, language="ar")

    response = client.post(
        "/ar/staff/password/",
        {"old_password": PASSWORD, "new_password": "short", "new_password_again": "short"},
    )

    assert response.status_code == 400
    assert 'dir="rtl"' in response.content.decode()


def test_a_session_left_open_cannot_guess_her_password_on_the_password_page(alice, settings):
    from tests.support.cast import signed_in_client

    settings.STAFF_LOGIN_FAILURES = 2
    client = signed_in_client(alice)
    wrong = {"old_password": "guess", "new_password": "x" * 20, "new_password_again": "x" * 20}
    for _ in range(2):
        assert client.post("/fr/staff/password/", wrong).status_code == 400

    response = client.post("/fr/staff/password/", {**wrong, "old_password": PASSWORD})

    assert response["Location"] == "/fr/staff/login/"
    assert AuditEvent.objects.filter(action="password.wrong_current").count() == 2
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_finishing_the_second_factor_gives_the_session_a_new_id(alice):
    from django.conf import settings as django_settings

    device = confirmed_device(alice)
    client = Client()
    password_step(client)
    before = client.cookies[django_settings.SESSION_COOKIE_NAME].value

    client.post("/fr/staff/login/code/", {"code": code_for(device)})

    assert client.cookies[django_settings.SESSION_COOKIE_NAME].value != before
    assert client.get("/fr/staff/").status_code == 200


def test_the_admins_password_form_locks_after_the_same_failures_as_sign_in(
    admin_user, admin_client, settings
):
    # A session left open on the admin must not become a way to guess the operator's
    # password either: it used to take 8 wrong tries (and any number) without a lock.
    settings.STAFF_LOGIN_FAILURES = 3
    wrong = {"old_password": "guess", "new_password1": "x" * 20, "new_password2": "x" * 20}
    for _ in range(3):
        assert admin_client.post("/admin/password_change/", wrong).status_code == 200

    response = admin_client.post("/admin/password_change/", {**wrong, "old_password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/fr/staff/login/"
    assert "_auth_user_id" not in admin_client.session
    admin_user.refresh_from_db()
    assert admin_user.check_password(PASSWORD)  # the right password changed nothing
    assert AuditEvent.objects.filter(action="password.wrong_current").count() == 3
    assert AuditEvent.objects.filter(action="login.locked").count() == 1
    # ...and the account is locked on the sign-in page too.
    assert password_step(Client(), username=admin_user.username).status_code == 429
