"""Limits on filing and on receipt codes: never by address, shared by every web worker
(Redis), answered with a 429 in her language that tells her how long to wait, and with
nothing half-kept."""

from __future__ import annotations

import html
import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from reporting.models import Report
from tests.reporting.test_api import ANSWERS, file_report
from tests.reporting.test_intake_pages import NARRATIVE, answer_steps, blobs, send
from tests.support.processes import Browser, child_env, gunicorn
from tests.support.uploading import jpeg

pytestmark = pytest.mark.django_db


def test_a_second_report_from_the_same_browser_waits_and_gets_her_words_back(
    settings, coordinator_key, blob_root, same_minute
):
    settings.RATE_LIMIT_INTAKE_PER_SESSION = 1
    client = Client()
    answer_steps(client, lang="ar")
    assert send(client, lang="ar").status_code == 302
    first_reports_blobs = blobs(blob_root)
    answer_steps(client, lang="ar")

    response = send(client, lang="ar", evidence=SimpleUploadedFile("capture.jpg", jpeg()))

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    page = response.content.decode()
    assert 'dir="rtl"' in page
    assert "لم يُرسَل بلاغك بعد" in page
    assert NARRATIVE in html.unescape(page)  # her words are given back, not lost
    assert Report.objects.count() == 1
    assert blobs(blob_root) == first_reports_blobs  # the refused file left nothing


def test_a_flood_from_many_browsers_is_held_to_the_site_wide_budget(
    settings, coordinator_key, same_minute
):
    settings.RATE_LIMIT_INTAKE_PER_MINUTE = 2
    for _ in range(2):
        browser = Client()
        answer_steps(browser)
        assert send(browser).status_code == 302

    late = Client()
    answer_steps(late)
    response = send(late)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "Trop de signalements arrivent en ce moment" in response.content.decode()
    assert Report.objects.count() == 2


def test_the_api_answers_429_with_the_wait_when_the_budget_is_spent(
    client, settings, coordinator_key, same_minute
):
    settings.RATE_LIMIT_INTAKE_PER_MINUTE = 1
    assert file_report(client).status_code == 201

    response = file_report(client, HTTP_ACCEPT_LANGUAGE="ar")

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["detail"]
    assert Report.objects.count() == 1
    assert not response.cookies


def test_with_redis_down_reports_are_still_taken(settings, coordinator_key, client):
    settings.RATE_LIMIT_INTAKE_PER_MINUTE = 1
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    for _ in range(2):  # over the budget, which nobody can count while Redis is away
        assert file_report(client).status_code == 201
    assert Report.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_web_workers_share_one_budget(coordinator_key, tmp_path, same_minute):
    env = child_env(RATE_LIMIT_INTAKE_PER_MINUTE="3")

    def post() -> int:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{base}/api/reports/",
            data=json.dumps(ANSWERS).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    with gunicorn(env, tmp_path, workers=2) as base:
        statuses = [post() for _ in range(8)]

    # Eight posts spread over two processes: had each kept its own count, up to six
    # would have gone through.
    assert statuses == [201] * 3 + [429] * 5
    assert Report.objects.count() == 3


# The server's sessions are committed: the test database is emptied afterwards.
@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_from_one_browser_session_check_at_most_five_codes(tmp_path, same_minute):
    # Three tabs (or a script) posting wrong codes at once with the same session cookie,
    # through three gunicorn workers.  The session's count used to be read by each
    # request before any of them saved it: 15 codes were checked instead of 5.
    env = child_env(RECEIPT_FAILURES_PER_SESSION="5")
    with gunicorn(env, tmp_path, workers=3) as base:
        browser = Browser(base, "fr")
        page = browser.get("/fr/return/").text
        first = browser.post_form("/fr/return/", page, {"code": "0000 0000 0000 0001"})
        assert first.status == 400  # checked, and her session now exists
        page = first.text

        def guess(tab: int) -> list[int]:
            mine = Browser(base, "fr")
            mine.cookies = dict(browser.cookies)
            return [
                mine.post_form("/fr/return/", page, {"code": f"0000 0000 {tab:04d} {n:04d}"}).status
                for n in range(6)
            ]

        with ThreadPoolExecutor(max_workers=3) as pool:
            statuses = [s for tab in pool.map(guess, range(3)) for s in tab]

    checked = 1 + statuses.count(400)
    assert checked <= 5, statuses
    assert statuses.count(429) == len(statuses) - (checked - 1)
