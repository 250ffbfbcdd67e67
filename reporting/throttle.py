"""Limits on receipt-code attempts, without ever looking at an IP address.

Two limits: failures per browser session (someone at her keyboard guessing), and
failures across the whole site per minute (someone guessing from many sessions).  The
slow KDF behind every attempt (about 0.3 s of scrypt) is the third.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_SESSION_KEY = "receipt_failures"
_WINDOW = 15 * 60


def _site_key() -> str:
    return f"receipt-failures:{int(time.time() // 60)}"


def allowed(request: HttpRequest, *, per_session: bool = True) -> bool:
    """``per_session=False`` for the API, which keeps no session (and sets no cookie)."""
    if per_session:
        now = time.time()
        recent = [t for t in request.session.get(_SESSION_KEY, []) if t > now - _WINDOW]
        if len(recent) >= settings.RECEIPT_FAILURES_PER_SESSION:
            return False
    return cache.get(_site_key(), 0) < settings.RECEIPT_FAILURES_PER_MINUTE


def record_failure(request: HttpRequest, *, per_session: bool = True) -> None:
    if per_session:
        now = time.time()
        recent = [t for t in request.session.get(_SESSION_KEY, []) if t > now - _WINDOW]
        request.session[_SESSION_KEY] = [*recent, now]
    key = _site_key()
    cache.add(key, 0, timeout=120)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
