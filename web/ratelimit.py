"""Rate limits that never look at who is asking.

A reporter's address is never read (web/privacy.py), so limits cannot be per address.
Two kinds are used instead: per browser session (the person at the keyboard, counted in
her session), and site-wide, counted in the cache: Redis in production, shared by every
web worker, so that two gunicorn workers do not each allow the full budget.

Both count in fixed windows of the clock (this minute, this quarter of an hour, this
hour): ``spent()`` asks, ``count()`` spends one.  Fixed windows let up to twice the
budget through across a boundary; that is accepted for limits meant to stop floods and
guessing, not to meter fair use.  In return her session holds a window's number and a
count, never the second at which she filed or mistyped her code.

When Redis cannot be reached the counters fail open: a report must still be taken while
Redis is down (the outbox keeps its workflow steps), and a limit nobody can read is not
worth refusing her for.  The per-session limits still hold meanwhile.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.crypto import salted_hmac
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def cached_count(key: str) -> int:
    try:
        return cache.get(key, 0)
    except (RedisError, OSError) as exc:
        logger.warning("rate limits: cache unreachable, not enforced (%s)", type(exc).__name__)
        return 0


def add_to_count(key: str, timeout: int) -> None:
    try:
        # add() then incr() is atomic on Redis: no two workers both read 4 and write 5.
        cache.add(key, 0, timeout=timeout)
        try:
            cache.incr(key)
        except ValueError:  # the key expired between add and incr
            cache.set(key, 1, timeout=timeout)
    except (RedisError, OSError) as exc:
        logger.warning("rate limits: cache unreachable, not counted (%s)", type(exc).__name__)


def forget_count(key: str) -> None:
    try:
        cache.delete(key)
    except (RedisError, OSError) as exc:
        logger.warning("rate limits: cache unreachable, not cleared (%s)", type(exc).__name__)


def _seconds_left(seconds: int) -> int:
    return max(1, math.ceil(seconds - time.time() % seconds))


@dataclass(frozen=True)
class Window:
    name: str
    limit: int
    seconds: int = 60

    def _key(self, now: float) -> str:
        return f"rate:{self.name}:{int(now // self.seconds)}"

    def spent(self) -> bool:
        return cached_count(self._key(time.time())) >= self.limit

    def count(self) -> None:
        add_to_count(self._key(time.time()), timeout=self.seconds * 2)

    def retry_after(self) -> int:
        """Seconds until this window's next bucket opens."""
        return _seconds_left(self.seconds)


def _session_counter(request: HttpRequest, name: str, window: int) -> str | None:
    """Her session's counter of ``name`` attempts in ``window``, as named in the cache: an
    HMAC of the session's key, the limit and the window, so that a copy of Redis neither
    opens the session nor tells which quarter of an hour she was busy.  Not a random id
    kept in the session: parallel requests of one session would each make their own
    before any saved it.  None for a request that has no session yet: no other request
    can share it."""
    key = request.session.session_key
    if key is None:
        return None
    # The salt keeps this module's first name: counters already in Redis stay hers.
    mac = salted_hmac("config.ratelimit.session", f"{key}:{name}:{window}").hexdigest()[:32]
    return f"rate:session:{mac}"


def until_an_hour_after(end: float) -> int:
    """Seconds from now to the first full hour after ``end``: the counter's expiry, which
    Redis keeps as a moment, then names an hour and not the second it was made."""
    return max(1, math.ceil((end // 3600 + 1) * 3600 - time.time()))


def take_session_attempt(request: HttpRequest, name: str, seconds: int, limit: int) -> int:
    """Spend one attempt of her session's budget before the attempt is made; 0 if it
    may go ahead, else the seconds until the window turns.

    Counting in her session alone is not atomic: parallel requests each read the count
    before any of them saves it, and three tabs got 15 codes checked instead of 5.  One
    atomic increment in the cache (Redis: shared by every worker) admits at most
    ``limit`` per window however many run at once.  With the cache unreachable this
    fails open, and the count kept in her session still holds for requests in turn."""
    if request.session.session_key is None and request.session.modified:
        request.session.save()  # a session her next requests will share (its cookie follows)
    window = int(time.time() // seconds)
    key = _session_counter(request, name, window)
    if key is None:
        return 0  # her first request: the count in the session it starts holds alone
    request._rate_attempt_taken = True
    timeout = until_an_hour_after((window + 1) * seconds)
    try:
        cache.add(key, 0, timeout=timeout)
        try:
            taken = cache.incr(key)
        except ValueError:  # the key expired between add and incr
            cache.set(key, 1, timeout=timeout)
            taken = 1
    except (RedisError, OSError) as exc:
        logger.warning("rate limits: cache unreachable, not counted (%s)", type(exc).__name__)
        return 0
    return _seconds_left(seconds) if taken > limit else 0


def attempt_taken(request: HttpRequest) -> bool:
    """Has take_session_attempt() counted this request in the cache already?"""
    return getattr(request, "_rate_attempt_taken", False)


def _session_count(request: HttpRequest, key: str, seconds: int) -> int:
    window, count = request.session.get(key, (None, 0))
    return count if window == int(time.time() // seconds) else 0


def note_in_session(request: HttpRequest, key: str, seconds: int) -> None:
    """One more event of this kind in her session's current window."""
    count = _session_count(request, key, seconds)
    request.session[key] = (int(time.time() // seconds), count + 1)


def session_retry_after(request: HttpRequest, key: str, seconds: int, limit: int) -> int:
    """0 if her session may do one more; else the seconds until its window turns."""
    if _session_count(request, key, seconds) < limit:
        return 0
    return _seconds_left(seconds)


def wait_minutes(seconds: int) -> int:
    """A wait as whole minutes, rounded up: "wait 1 min" rather than "wait 0 min"."""
    return max(1, math.ceil(seconds / 60))


def too_many(
    request: HttpRequest,
    template: str,
    context: dict[str, object],
    *,
    retry_after: int,
) -> HttpResponse:
    """The 429 page, in the visitor's language, telling her how long to wait."""
    context = {**context, "wait_minutes": wait_minutes(retry_after)}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(retry_after)
    return response
