"""Limits on receipt-code attempts and on filing, without ever looking at an IP address.

Receipt codes: failures per browser session (someone at her keyboard guessing), and
failures across the whole site per minute (someone guessing from many sessions).  The
slow KDF behind every attempt (about 0.3 s of scrypt) is the third.

Filing: reports per browser session per hour, and across the site per minute.  The
site-wide budget is what stops a flood of made-up reports from burying the real ones in
the caseworkers' queues and from spending the server on key stretching; its cost is that
a flood can make genuine reporters wait a minute (web/ratelimit.py, docs/SECURITY.md).

Each ``*_wait`` answers 0 when the attempt may go ahead, else the seconds to wait.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from web.ratelimit import (
    Window,
    attempt_taken,
    note_in_session,
    session_retry_after,
    take_session_attempt,
)

_RECEIPT_FAILURES = "receipt_failures"
_RECEIPT_WINDOW = 15 * 60
_FILINGS = "filings"
_FILING_WINDOW = 60 * 60


def _receipt_site() -> Window:
    return Window("receipt-failures", settings.RECEIPT_FAILURES_PER_MINUTE)


def _filing_site() -> Window:
    return Window("filings", settings.RATE_LIMIT_INTAKE_PER_MINUTE)


def _wait(
    request: HttpRequest, site: Window, session_key: str, seconds: int, limit: int, per_session
) -> int:
    mine = session_retry_after(request, session_key, seconds, limit) if per_session else 0
    everyone = site.retry_after() if site.spent() else 0
    return max(mine, everyone)


def receipt_wait(request: HttpRequest, *, per_session: bool = True) -> int:
    """Called before a code is checked.  With a session, it also spends one of the
    session's attempts (atomically, in the cache), so that parallel requests cannot each
    see the budget unspent: every code checked counts, the right one included (she is
    then signed in, under a new session).  ``per_session=False`` for the API, which
    keeps no session (and sets no cookie)."""
    wait = _wait(
        request,
        _receipt_site(),
        _RECEIPT_FAILURES,
        _RECEIPT_WINDOW,
        settings.RECEIPT_FAILURES_PER_SESSION,
        per_session,
    )
    if wait or not per_session:
        return wait
    return take_session_attempt(
        request, "receipt-session", _RECEIPT_WINDOW, settings.RECEIPT_FAILURES_PER_SESSION
    )


def record_receipt_failure(request: HttpRequest, *, per_session: bool = True) -> None:
    if per_session:
        note_in_session(request, _RECEIPT_FAILURES, _RECEIPT_WINDOW)
        if not attempt_taken(request):
            # Her first request had no session to count in: it has one now.
            take_session_attempt(
                request, "receipt-session", _RECEIPT_WINDOW, settings.RECEIPT_FAILURES_PER_SESSION
            )
    _receipt_site().count()


def filing_wait(request: HttpRequest, *, per_session: bool = True) -> int:
    return _wait(
        request,
        _filing_site(),
        _FILINGS,
        _FILING_WINDOW,
        settings.RATE_LIMIT_INTAKE_PER_SESSION,
        per_session,
    )


def record_filing(request: HttpRequest, *, per_session: bool = True) -> None:
    """Counted when a filing is attempted, kept or not: refusing one costs work too."""
    if per_session:
        note_in_session(request, _FILINGS, _FILING_WINDOW)
    _filing_site().count()
