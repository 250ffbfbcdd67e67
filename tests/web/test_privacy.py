"""Each layer that keeps a reporter's address, browser and origin out of storage and logs."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from django.http import HttpResponse
from django.test import RequestFactory

from tests.support.processes import REPO
from web.privacy import IDENTIFYING_HEADERS, ForgetClientMiddleware, ScrubLogFilter

HEADERS = {
    "REMOTE_ADDR": "203.0.113.9",
    "HTTP_USER_AGENT": "Mozilla/5.0 (Linux; Android 10)",
    "HTTP_REFERER": "https://example.org/she-came-from-here",
    "HTTP_X_FORWARDED_FOR": "198.51.100.4",
    "HTTP_X_REAL_IP": "198.51.100.5",
    "HTTP_FORWARDED": "for=192.0.2.7",
}


def seen_by_the_view(path: str) -> dict:
    seen = {}

    def view(request):
        seen.update(request.META)
        return HttpResponse()

    ForgetClientMiddleware(view)(RequestFactory().get(path, **HEADERS))
    return seen


def test_a_reporter_request_reaches_the_site_without_address_browser_or_referrer():
    meta = seen_by_the_view("/ar/report/")
    assert meta["REMOTE_ADDR"] == ""
    for name in IDENTIFYING_HEADERS:
        assert not meta.get(name), name


def test_staff_requests_keep_their_address_for_the_sign_in_limits():
    assert seen_by_the_view("/admin/login/")["REMOTE_ADDR"] == "203.0.113.9"


def test_the_log_filter_masks_addresses_and_drops_the_request():
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Forbidden from %s via %s",
        ("203.0.113.9", "2001:db8::1:2"),
        None,
    )
    record.request = object()
    ScrubLogFilter().filter(record)
    assert record.getMessage() == "Forbidden from [address] via [address]"
    assert record.request is None


def test_the_log_filter_leaves_clock_times_alone():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "sweep at 16:07:23 removed %d", (3,), None
    )
    ScrubLogFilter().filter(record)
    assert record.getMessage() == "sweep at 16:07:23 removed 3"


def test_the_web_servers_access_log_names_no_client():
    config = (Path(REPO) / "config" / "gunicorn.conf.py").read_text()
    log_format = re.search(r"access_log_format = '([^']*)'", config).group(1)
    for field in ("%(h)s", "%(a)s", "%(f)s", "%(q)s", "%(r)s", "%({x-forwarded-for}i)s"):
        assert field not in log_format


def test_the_log_filter_keeps_the_token_of_an_upload_out_of_a_logged_path():
    record = logging.LogRecord(
        "django.request",
        logging.ERROR,
        __file__,
        1,
        "Internal Server Error: %s",
        ("/ar/report/uploads/Zq3-secret_token/",),
        None,
    )
    ScrubLogFilter().filter(record)
    assert record.getMessage() == "Internal Server Error: /ar/report/uploads/[upload]/"
