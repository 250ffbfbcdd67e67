"""After login the member's key is split: the server's half opens nothing without the
browser's cookie, and a copy of the database, the broker and the disk holds no key."""

from __future__ import annotations

import base64

import pytest
import redis
from django.conf import settings
from django.http import HttpRequest
from django.test import RequestFactory

from casework import services
from casework.auth import COOKIE_NAME, member_key
from casework.models import Membership, Organization, User
from evidence import age, keys
from evidence import services as evidence
from evidence.exceptions import CannotOpen
from tests.support.processes import database_dump
from web.sessions import SessionStore

PASSWORD = "a long staff password"
NARRATIVE = b"He sends the photos to my brother every night"


@pytest.fixture
def alice(db) -> User:
    org = Organization.objects.create(
        name="Association", slug="association", kind=Organization.Kind.PARTNER_ASSOCIATION
    )
    alice = User(username="alice", is_staff=True)
    alice.set_password(PASSWORD)
    alice.save()
    services.add_member(org, alice, role=Membership.Role.CASEWORKER, unlocked_by=None)
    return alice


def sign_in(client) -> None:
    response = client.post("/fr/staff/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]


def server_half(client) -> bytes:
    session = SessionStore(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    return base64.b64decode(session["member_key_sealed"])


def test_login_gives_the_browser_an_httponly_half_and_the_server_a_sealed_half(client, alice):
    sign_in(client)

    cookie = client.cookies[COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["max-age"]  # a browser-session cookie, never written to disk
    opened = keys.unlock_from_session(server_half(client), cookie.value)
    assert opened == services.unlock_member_key(alice, PASSWORD)


def a_later_request(client, cookie: str | None) -> HttpRequest:
    request = RequestFactory().get("/")
    request.session = SessionStore(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    if cookie is not None:
        request.COOKIES[COOKIE_NAME] = cookie
    return request


def test_a_later_request_with_the_cookie_has_her_key(client, alice):
    sign_in(client)
    request = a_later_request(client, client.cookies[COOKIE_NAME].value)
    assert member_key(request) == services.unlock_member_key(alice, PASSWORD)


@pytest.mark.parametrize("cookie", [None, "garbage", "someone else's"])
def test_a_request_without_her_cookie_has_no_key(client, alice, cookie):
    sign_in(client)
    if cookie == "someone else's":
        cookie = str(age.X25519Identity.generate())
    assert member_key(a_later_request(client, cookie)) is None


def test_the_server_half_does_not_open_without_the_browsers_cookie(client, alice):
    sign_in(client)
    someone_elses_cookie = str(age.X25519Identity.generate())
    with pytest.raises(CannotOpen):
        keys.unlock_from_session(server_half(client), someone_elses_cookie)


def test_logout_forgets_both_halves(client, alice):
    sign_in(client)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value

    response = client.post("/fr/staff/logout/")

    assert response.cookies[COOKIE_NAME]["max-age"] == 0
    assert not SessionStore(session_key=session_key).exists(session_key)


def test_a_copy_of_database_broker_and_disk_holds_no_key_and_no_content(
    client, transactional_db, alice, blob_root
):
    sign_in(client)
    member_key = services.unlock_member_key(alice, PASSWORD)
    org = Organization.objects.get(slug="association")
    org_key = services.organization_identity(org, member_key)
    evidence.seal_bytes(NARRATIVE, [keys.parse_recipient(org.key_recipient)])

    dump = database_dump().encode()
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker_copy = b"".join(broker.dump(key) or b"" for key in broker.scan_iter())
    disk = b"".join(path.read_bytes() for path in blob_root.rglob("*") if path.is_file())
    everything = dump + broker_copy + disk

    for secret in (str(member_key), str(org_key), client.cookies[COOKIE_NAME].value):
        assert secret.encode() not in everything
        assert secret.lower().encode() not in everything
    assert NARRATIVE not in everything
    assert PASSWORD.encode() not in everything
