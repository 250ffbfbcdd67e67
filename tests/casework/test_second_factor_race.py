"""One code, one sign-in: two requests carrying the same TOTP or recovery code at the
same moment must not both pass (someone who saw the code over her shoulder races her)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django_otp.plugins.otp_static.models import StaticDevice

from casework import services
from tests.casework.test_signin import code_for
from tests.support.cast import confirmed_device

pytestmark = pytest.mark.django_db(transaction=True)
RACERS = 8


def race(user, code: str) -> list[bool]:
    """``RACERS`` requests, each on its own database connection, released together."""
    start = threading.Barrier(RACERS)
    accepted: list[bool] = []

    def one() -> None:
        try:
            connection.ensure_connection()  # all connected before any of them asks
            start.wait()
            accepted.append(services.spend_second_factor(user, code) is not None)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted


def test_one_authenticator_code_sent_twice_at_once_signs_in_once(cast):
    alice = cast.users["alice"]
    device = confirmed_device(alice)
    assert sorted(race(alice, code_for(device))) == [False] * (RACERS - 1) + [True]


def test_one_recovery_code_sent_twice_at_once_signs_in_once(cast):
    alice = cast.users["alice"]
    static = StaticDevice.objects.create(user=alice, name="recovery codes")
    static.token_set.create(token="abcd2345")
    assert sorted(race(alice, "abcd2345")) == [False] * (RACERS - 1) + [True]
