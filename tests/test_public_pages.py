"""What every visitor's browser receives: her language, strict headers, no cookie."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_the_root_opens_in_french_when_the_browser_states_no_preference(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/fr/"


def test_the_root_follows_a_browser_set_to_arabic(client):
    response = client.get("/", headers={"accept-language": "ar-MA,ar;q=0.9,fr;q=0.6"})
    assert response["Location"] == "/ar/"


@pytest.mark.parametrize(
    ("path", "lang", "direction", "heading"),
    [
        ("/fr/", "fr", "ltr", "Un lieu sûr pour signaler la violence en ligne"),
        ("/ar/", "ar", "rtl", "مكان آمن للتبليغ عن العنف الرقمي"),
        ("/en/", "en", "ltr", "A safe place to report online violence"),
    ],
)
def test_the_home_page_speaks_the_language_of_its_address(client, path, lang, direction, heading):
    page = client.get(path).content.decode()
    assert f'<html lang="{lang}" dir="{direction}">' in page
    assert heading in page


def test_public_pages_forbid_inline_scripts_framing_and_referrers(client):
    response = client.get("/fr/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "worker-src 'self'" in csp  # the sealing Workers come from this site only
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert "geolocation=()" in response["Permissions-Policy"]


def test_visiting_a_public_page_leaves_no_cookie(client):
    response = client.get("/ar/")
    assert response.status_code == 200
    assert dict(response.cookies) == {}


def test_the_quick_exit_link_goes_through_our_exit_page_and_sends_no_referrer(client):
    page = client.get("/fr/").content.decode()
    assert (
        f'href="/fr/exit/" data-neutral="{settings.QUICK_EXIT_URL}" '
        'rel="noreferrer noopener" data-quick-exit'
    ) in page


@pytest.mark.django_db
def test_the_exit_page_ends_her_session_and_sends_her_to_the_neutral_site(client):
    session = client.session
    session["reporter_report"] = 1
    session.save()
    client.cookies["reporter_key"] = "AGE-SECRET-KEY-1X"

    response = client.get("/ar/exit/")

    assert response.status_code == 302
    assert response["Location"] == settings.QUICK_EXIT_URL
    assert "cache" in response["Clear-Site-Data"]
    assert response.cookies["reporter_key"].value == ""
    assert response.cookies[settings.SESSION_COOKIE_NAME].value == ""
    from django.contrib.sessions.models import Session

    assert not Session.objects.exists()
    # The beacon that scripts send is answered at once, and ends the session too.
    assert client.post("/ar/exit/").status_code == 204


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["fr", "ar", "en"])
def test_no_page_she_sees_says_in_its_title_what_this_site_is(client, language, settings):
    neutral = {"fr": "Informations", "ar": "معلومات", "en": "Information"}[language]
    for path in ["", "report/", "return/", "report/receipt/", "guide/", "nowhere/"]:
        page = client.get(f"/{language}/{path}", follow=True).content.decode()
        assert re.search(r"<title>([^<]*)</title>", page).group(1) == neutral, path
    settings.PAGE_TITLE = "Recettes"
    page = client.get(f"/{language}/report/", follow=True).content.decode()
    assert "<title>Recettes</title>" in page


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_every_string_is_translated(language):
    catalogue = polib.pofile(Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES/django.po")
    missing = [entry.msgid for entry in catalogue if not entry.translated()]
    assert missing == [], f"untranslated or fuzzy in {language}: {missing}"
    assert catalogue.percent_translated() == 100


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/fr/nulle-part/", "Cette page n'existe pas"),
        ("/ar/nulle-part/", "هذه الصفحة غير موجودة"),
    ],
)
def test_a_missing_page_answers_in_the_visitors_language_with_the_quick_exit(client, path, text):
    response = client.get(path)
    assert response.status_code == 404
    page = response.content.decode()
    assert text in page
    assert "data-quick-exit" in page


def test_a_server_error_page_keeps_the_quick_exit(rf):
    from django.utils import translation

    from web.errors import server_error

    with translation.override("ar"):
        response = server_error(rf.get("/ar/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "data-quick-exit" in page
    assert 'dir="rtl"' in page


@pytest.mark.parametrize(
    ("language", "text"),
    [("fr", "n'a pas été enregistré"), ("ar", "لم يُحفظ")],
)
def test_a_lost_database_answers_503_saying_nothing_was_kept(rf, language, text):
    from django.db import OperationalError
    from django.utils import translation

    from web.errors import server_error

    # Django calls the handler inside its except block; the outage is the exception.
    with translation.override(language):
        try:
            raise OperationalError("server closed the connection unexpectedly")
        except OperationalError:
            response = server_error(rf.post(f"/{language}/"))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert text in page
    assert "data-quick-exit" in page


def test_an_api_address_that_names_nothing_answers_in_json(client):
    response = client.get("/api/staff/cases/not-a-number/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Introuvable."}


def test_a_page_that_only_reads_does_not_claim_something_was_lost(rf):
    from django.db import OperationalError
    from django.utils import translation

    from web.errors import server_error

    with translation.override("fr"):
        try:
            raise OperationalError("the database system is shutting down")
        except OperationalError:
            response = server_error(rf.get("/fr/report/done/"))
    page = response.content.decode()
    assert response.status_code == 503
    assert "Attendez une minute, puis réessayez." in page
    assert "enregistré" not in page


def test_a_session_lost_with_the_database_is_an_outage_not_a_bad_request(rf):
    from django.contrib.sessions.exceptions import SessionInterrupted
    from django.db import OperationalError
    from django.utils import translation

    from web.errors import bad_request

    with translation.override("ar"):
        try:
            try:
                raise OperationalError("server closed the connection unexpectedly")
            except OperationalError as lost:
                raise SessionInterrupted("the session was lost") from lost
        except SessionInterrupted as interrupted:
            response = bad_request(rf.post("/ar/report/step/what/"), interrupted)
            refused = bad_request(rf.post("/ar/"), SessionInterrupted("deleted elsewhere"))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "لم يُحفظ" in response.content.decode()
    assert refused.status_code == 400
