"""After a reporter files and comes back, neither the database nor any log holds her
address, her browser or where she came from."""

from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.parse
import urllib.request

import pytest
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from tests.support.processes import child_env, database_dump, gunicorn
from tests.support.uploading import jpeg
from web.sessions import SessionStore

pytestmark = pytest.mark.django_db(transaction=True)

USER_AGENT = "UA-MARKER/1.0 (Linux; Android 9; Tecno-Spark-2)"
IDENTIFYING = {
    "User-Agent": USER_AGENT,
    "X-Forwarded-For": "203.0.113.77",
    "X-Real-IP": "198.51.100.23",
    "Forwarded": "for=192.0.2.60",
    "Referer": "https://referrer-marker.example/post/123",
}
TRACES = (
    "UA-MARKER",
    "Tecno-Spark",
    "203.0.113.77",
    "198.51.100.23",
    "192.0.2.60",
    "referrer-marker",
)


class Visitor:
    """A browser as the server sees it: cookies, CSRF tokens, and identifying headers."""

    def __init__(self, site: str) -> None:
        self.site = site
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.page = ""

    def _send(self, path: str, body: bytes | None = None, content_type: str | None = None) -> str:
        request = urllib.request.Request(  # noqa: S310 - the test's own server on loopback
            self.site + path, data=body, headers=dict(IDENTIFYING)
        )
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with self.opener.open(request, timeout=60) as response:
                self.page = response.read().decode()
        except urllib.error.HTTPError as error:
            self.page = error.read().decode()
        return self.page

    def get(self, path: str) -> str:
        return self._send(path)

    def post(self, path: str, fields: dict, files: bool = False) -> str:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.page).group(1)
        data = {"csrfmiddlewaretoken": token, **fields}
        if files:
            return self._send(path, encode_multipart(BOUNDARY, data), MULTIPART_CONTENT)
        return self._send(
            path,
            urllib.parse.urlencode(data, doseq=True).encode(),
            "application/x-www-form-urlencoded",
        )


def test_by_default_the_web_server_keeps_no_dated_line_of_her_visit(coordinator_key, tmp_path):
    with gunicorn(child_env(GUNICORN_ACCESS_LOG=None), tmp_path) as site:
        Visitor(site).get("/fr/report/")
    log = (tmp_path / "gunicorn.log").read_text()
    assert "/fr/report/" not in log


def test_reporter_traffic_leaves_no_address_browser_or_referrer(coordinator_key, tmp_path):
    # The operator may turn the access log on (docs/CONFIGURATION.md): it still names
    # nobody.
    with gunicorn(child_env(GUNICORN_ACCESS_LOG="-"), tmp_path) as site:
        her = Visitor(site)
        her.get("/fr/report/")
        her.post("/fr/report/step/urgency/", {"urgency": [], "category": "threats"})
        her.post(
            "/fr/report/step/about/",
            {
                "region": "marrakech_safi",
                "language": "fr",
                "age_band": "not_said",
                "services": ["listening"],
                "consent_share": "no",
                "consent_statistics": "no",
            },
        )
        page = her.post(
            "/fr/report/your-words/",
            {
                "narrative": "Il me menace sur Instagram.",
                "evidence": SimpleUploadedFile("menace.jpg", jpeg()),
            },
            files=True,
        )
        code = re.search(r'class="receipt-code"[^>]*>([\d ]+)<', page).group(1)
        her.get("/fr/return/")
        assert "Il me menace" in her.post("/fr/return/", {"code": code})
        her.get("/fr/nowhere/")  # a 404, which Django would log
    log = (tmp_path / "gunicorn.log").read_text()
    dump = database_dump()

    # Her code is still on screen (she never said she kept it): the sessions hold it
    # only sealed to her browser's cookie.  A copy of the table reads nothing of them
    # (web/sessions.py); opened with her cookie, they hold nothing dated to the second.
    assert [session.get_decoded() for session in Session.objects.all()] == [{}]
    [cookie] = [cookie.value for cookie in her.cookies if cookie.name == "sessionid"]
    sessions = str(SessionStore(cookie).load())
    assert "intake" in sessions or "receipt" in sessions
    # Nor does any session date what she did to the second (the rate limits count in
    # windows of the clock): no number in it is a time of today in seconds.
    now = time.time()
    numbers = re.findall(r"\d+(?:\.\d+)?", sessions)
    assert [n for n in numbers if now - 86_400 < float(n) <= now + 60] == []
    for form in (code, code.replace(" ", "")):
        assert form not in sessions
        assert form not in dump
    for trace in TRACES:
        assert trace not in dump, f"the database holds {trace!r}"
        assert trace not in log, f"the server log holds {trace!r}"
    # Beyond the access log the operator turned on, no dated line names a page she asked
    # for: Django's warnings for 4xx answers are not written.
    assert "Not Found: /fr/nowhere/" not in log
    assert "django.request" not in log
    access_lines = [line for line in log.splitlines() if re.search(r'"(GET|POST) /', line)]
    assert any('"POST /fr/report/your-words/" 302' in line for line in access_lines)
    assert [line for line in access_lines if "127.0.0.1" in line] == []


@pytest.mark.django_db(transaction=False)
def test_no_time_about_her_is_kept_finer_than_the_hour(client, coordinator_key):
    from django.apps import apps
    from django.db import models

    from tests.reporting.test_intake_pages import answer_steps, send

    answer_steps(client)
    assert send(client, evidence=SimpleUploadedFile("capture.jpg", jpeg())).status_code == 302

    finer = []
    for label in ("reporting", "evidence"):
        for model in apps.get_app_config(label).get_models():
            fields = [f.name for f in model._meta.fields if isinstance(f, models.DateTimeField)]
            for row in model.objects.values("pk", *fields):
                for name in fields:
                    value = row[name]
                    if value is not None and (value.minute, value.second, value.microsecond) != (
                        0,
                        0,
                        0,
                    ):
                        finer.append(f"{model.__name__}.{name}")
    assert finer == []
