"""The production server, behind its TLS proxy, as a browser meets it: the security
headers on every page, and cookies that are Secure, HttpOnly and SameSite."""

from __future__ import annotations

import http.client
import re
import secrets
from urllib.parse import urlencode, urlsplit

import pytest

from tests.support.cast import PASSWORD, confirmed_device, new_user
from tests.support.processes import child_env, gunicorn

pytestmark = pytest.mark.django_db(transaction=True)

# What nginx adds in front of gunicorn (docs/DEPLOY.md); a browser under no-referrer
# posts with a hidden origin and says, unforgeably, that the form was this site's own.
PROXIED = {"Host": "report.example.org", "X-Forwarded-Proto": "https"}
OWN_FORM = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}


def request(base: str, method: str, path: str, *, headers=None, body=None):
    connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
    connection.request(method, path, body=body, headers={**PROXIED, **(headers or {})})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def cookies(response) -> dict[str, str]:
    """Each Set-Cookie header, by cookie name."""
    return {
        value.split("=", 1)[0]: value
        for name, value in response.getheaders()
        if name.lower() == "set-cookie"
    }


@pytest.fixture
def production(tmp_path):
    env = child_env(
        DJANGO_ENV="production",
        DJANGO_DEBUG=None,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="report.example.org",
        DJANGO_BEHIND_TLS_PROXY="true",
        VAR_DIR=str(tmp_path / "var"),
    )
    with gunicorn(env, tmp_path) as base:
        yield base


def test_every_page_carries_the_security_headers(production):
    for path in ("/fr/", "/ar/report/step/urgency/", "/fr/staff/login/", "/api/guide/fr/"):
        headers = dict(request(production, "GET", path).getheaders())
        assert headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains; preload"
        ), path
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp, path
        assert headers["Referrer-Policy"] == "no-referrer", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert "camera=()" in headers["Permissions-Policy"], path
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin", path


def test_plain_http_is_sent_to_https(production):
    response = request(production, "GET", "/fr/", headers={"X-Forwarded-Proto": "http"})
    assert response.status == 301
    assert response.getheader("Location") == "https://report.example.org/fr/"


def test_staff_sign_in_cookies_are_secure_httponly_and_samesite(production):
    user = new_user("nadia")
    confirmed_device(user)

    page = request(production, "GET", "/fr/staff/login/")
    csrf_cookie = cookies(page)["csrftoken"]
    token = csrf_cookie.split("=", 1)[1].split(";", 1)[0]
    signed_in = request(
        production,
        "POST",
        "/fr/staff/login/",
        headers={
            **OWN_FORM,
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={token}",
        },
        body=urlencode({"username": "nadia", "password": PASSWORD, "csrfmiddlewaretoken": token}),
    )

    assert signed_in.status == 302  # on to the second factor: her own form was accepted
    set_cookies = cookies(signed_in)
    for name, value in [("csrftoken", csrf_cookie), *set_cookies.items()]:
        flags = {flag.strip().lower() for flag in value.split(";")[1:]}
        assert "secure" in flags, name
        assert "httponly" in flags, name
        assert "samesite=lax" in flags, name
    assert {"sessionid", "member_key"} <= set(set_cookies)
    # None outlives the browser: nothing on her phone says weeks later that it came here.
    for name, value in {**set_cookies, "csrftoken": csrf_cookie}.items():
        assert not re.search("(?i)max-age|expires", value), name
