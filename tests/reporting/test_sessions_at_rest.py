"""A copy of the database or of Redis neither reads nor dates a reporter's session.

Django's database sessions are signed, not encrypted: a copy showed an open return
visit's report id and her last click to the microsecond, and a filing session's exact
time.  These tests read what a copy would hold: the session table as stored, and every
key Redis keeps for her session with the moment it expires.
"""

from __future__ import annotations

import base64
import time

import pytest
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.cache import cache
from django.db import connection

from tests.support.cast import file_report, returning_reporter

pytestmark = pytest.mark.django_db


def stored_sessions() -> list[tuple[str, str, object]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_key, session_data, expire_date FROM django_session")
        return cursor.fetchall()


def redis_expiries() -> dict[str, float]:
    """Each key of the cache with the moment (epoch seconds) Redis will drop it."""
    client = cache._cache.get_client(write=False)
    now = time.time()
    return {
        key.decode(): now + client.pttl(key) / 1000
        for key in client.scan_iter("*")
        if client.pttl(key) > 0
    }


def on_the_hour(moment: float) -> bool:
    # Redis counts whole seconds from its own clock: a second's slack either side.
    return min(moment % 3600, 3600 - moment % 3600) <= 1.5


NARRATIVE = "Il a créé un faux compte à mon nom."


@pytest.fixture
def filed(cast):
    return file_report(narrative=NARRATIVE)


def test_a_copy_of_the_session_table_neither_names_her_report_nor_dates_her_visit(filed):
    report, pending = filed
    client = returning_reporter(pending)
    assert NARRATIVE in client.get("/fr/return/report/").content.decode()
    cookie = client.cookies["sessionid"].value

    [(name, data, expires)] = stored_sessions()
    # Filed under a name that is not her cookie, and sealed to it: signing alone (what
    # Django does) would let anyone with the table read it.
    assert name != cookie
    assert cookie not in data
    with pytest.raises(signing.BadSignature):
        signing.loads(data, salt="django.contrib.sessions.SessionStore")
    # Signed sessions are readable JSON once unpacked; this is ciphertext.
    assert b"report" not in base64.b64decode(data)
    assert Session.objects.get().get_decoded() == {}
    # The session still holds what her visit needs: her browser's cookie opens it.
    assert report.pk in client.session.values()
    assert (expires.minute, expires.second, expires.microsecond) == (0, 0, 0)


def test_a_filing_session_keeps_no_exact_time_in_the_table(client):
    client.get("/fr/report/step/urgency/")
    client.post("/fr/report/step/urgency/", {"urgency": [], "category": "threats"})

    [(_, data, expires)] = stored_sessions()
    assert (expires.minute, expires.second, expires.microsecond) == (0, 0, 0)
    # Django's signed sessions end in a base62 timestamp to the second; there is none.
    with pytest.raises(signing.BadSignature):
        signing.loads(data, salt="django.contrib.sessions.SessionStore")
    assert client.session.get("intake"), "her answers are kept for the next step"


def test_what_redis_keeps_for_her_session_expires_on_the_hour(client, filed):
    _, pending = filed
    client.post("/fr/return/", {"code": "0000 0000 0000 0000"})  # a wrong code: counted
    client.post("/fr/return/", {"code": pending.display})

    hers = {key: moment for key, moment in redis_expiries().items() if "session" in key}
    assert hers, "a wrong code is counted in Redis for her session"
    assert all(on_the_hour(moment) for moment in hers.values()), hers
    # Named by an HMAC: the window (which quarter of an hour she tried) is not in it.
    window = str(int(time.time() // 900))
    assert not any(window in key for key in hers)


def test_staff_sessions_are_sealed_the_same_way(cast):
    alice = cast.client("alice")
    [(name, _, expires)] = stored_sessions()
    assert name != alice.cookies["sessionid"].value
    assert Session.objects.get().get_decoded() == {}
    assert alice.session.get("_auth_user_id") == str(cast.users["alice"].pk)
    assert (expires.minute, expires.second) == (0, 0)
    assert alice.get("/fr/staff/").status_code == 200  # still signed in


def test_a_session_row_copied_under_another_cookie_opens_nothing(filed):
    from django.test import Client

    from web.sessions import stored_name

    client = returning_reporter(filed[1])
    thief = Client()
    thief.post("/fr/return/", {"code": "0000 0000 0000 0000"})  # a session of her own
    hers = Session.objects.get(pk=stored_name(client.cookies["sessionid"].value))
    theirs = stored_name(thief.cookies["sessionid"].value)
    Session.objects.filter(pk=theirs).update(session_data=hers.session_data)

    assert NARRATIVE not in thief.get("/fr/return/report/").content.decode()
