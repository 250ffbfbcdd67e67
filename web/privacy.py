"""A reporter's request must not leave her address, browser or origin anywhere.

``ForgetClientMiddleware`` runs first and removes from the request what could identify
the person behind it: the client address, the user agent, the referrer and the headers a
proxy adds to carry the address.  Nothing later (views, error reports, loggers) can
store what is no longer there.  Only the operator's admin (/admin/) keeps them; every
other page, staff pages included, loses them, and no rate limit needs them
(web/ratelimit.py).

``ScrubLogFilter`` is the second line: it drops the request that Django attaches to some
log records, and masks anything shaped like an IP address in a log message.

The third line is the web server's access log, configured in ``config/gunicorn.conf.py``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

IDENTIFYING_HEADERS = (
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "HTTP_USER_AGENT",
    "HTTP_REFERER",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_CLIENT_IP",
    "HTTP_TRUE_CLIENT_IP",
    "HTTP_CF_CONNECTING_IP",
    "HTTP_VIA",
)
STAFF_PREFIXES = ("/admin/",)

_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])")


# The address of an upload her browser is sending (reporting/uploads.py) holds its
# token: a log line naming the path (Django's "Internal Server Error: <path>") keeps
# the upload's name instead.
_UPLOAD_TOKEN = re.compile(r"(/report/uploads/)[^/\s?\"']+")


def _mask(text: str) -> str:
    def ipv6(match: re.Match) -> str:
        found = match.group(0)
        # A clock time (16:07:23) is digits and two colons: leave it.  An address has a
        # "::", a hex letter, or more groups than a time.
        looks_like_address = "::" in found or re.search("[a-fA-F]", found) or found.count(":") > 3
        return "[address]" if looks_like_address else found

    text = _UPLOAD_TOKEN.sub(r"\1[upload]", text)
    return _IPV6_CANDIDATE.sub(ipv6, _IPV4.sub("[address]", text))


class ForgetClientMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(STAFF_PREFIXES):
            for name in IDENTIFYING_HEADERS:
                request.META.pop(name, None)
            # Some code reads REMOTE_ADDR without checking: give it nothing to keep.
            request.META["REMOTE_ADDR"] = ""
        return self.get_response(request)


class ScrubLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, "request"):
            record.request = None
        if isinstance(record.msg, str):
            record.msg = _mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_mask(a) if isinstance(a, str) else a for a in record.args)
        return True
