"""Login opens the member's key; the session keeps it only as a split key.

After a successful password check the member's identity is sealed to a fresh identity
whose secret goes to her browser as an HttpOnly cookie and is kept nowhere on the
server; the session store keeps only the sealed copy.  A request that needs her key
brings the cookie and opens it in memory.  A copy of the database, Redis and the disk
holds no cookie, and so opens nothing.  Logout, or the browser closing, loses it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.auth.views import PasswordChangeView
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from casework import services
from casework.audit import Action
from evidence import keys
from evidence.exceptions import CannotOpen
from web.ratelimit import Window, add_to_count, cached_count, forget_count

logger = logging.getLogger(__name__)

COOKIE_NAME = "member_key"
_SESSION_FIELD = "member_key_sealed"


class KeyUnlockingBackend(ModelBackend):
    """The usual username and password check, which also opens the member's key."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and request is not None and password:
            request._unlocked_member_key = services.unlock_member_key(user, password)
        return user


@receiver(user_logged_in)
def _keep_split_key(sender, request: HttpRequest, user, **kwargs) -> None:
    identity = getattr(request, "_unlocked_member_key", None)
    if identity is None:
        return
    cookie_secret, sealed = keys.lock_for_session(identity)
    # login() has already cycled the session key, so this lands in the new session.
    request.session[_SESSION_FIELD] = base64.b64encode(sealed).decode("ascii")
    request._member_key_cookie = cookie_secret


@receiver(user_logged_out)
def _drop_split_key(sender, request: HttpRequest, **kwargs) -> None:
    if request is not None:
        request._drop_member_key_cookie = True


def member_key(request: HttpRequest) -> keys.Identity | None:
    """The signed-in member's identity for this request, or None if it is locked."""
    sealed = request.session.get(_SESSION_FIELD)
    cookie_secret = request.COOKIES.get(COOKIE_NAME)
    if not sealed or not cookie_secret:
        return None
    try:
        return keys.unlock_from_session(base64.b64decode(sealed), cookie_secret)
    except (CannotOpen, ValueError):
        logger.warning("a member key cookie did not open its session's key")
        return None


class MemberKeyCookieMiddleware:
    """Sets the browser's half of the split key at login and clears it at logout."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        secret = getattr(request, "_member_key_cookie", None)
        if secret:
            response.set_cookie(
                COOKIE_NAME,
                secret,
                httponly=True,
                secure=settings.SESSION_COOKIE_SECURE,
                samesite="Lax",
                # No max_age: a browser-session cookie, kept in memory rather than
                # written to the profile on disk.
            )
        elif getattr(request, "_drop_member_key_cookie", False):
            response.delete_cookie(COOKIE_NAME, samesite="Lax")
        return response


# --- the second factor, failed attempts and idle sessions --------------------------------

_SEEN_FIELD = "staff_seen"


def _failure_key(username: str) -> str:
    # Hashed: the cache (Redis) should not hold a list of who tried to sign in.
    digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    return f"staff-login-failures:{digest}"


def sign_in_locked(username: str) -> bool:
    """Too many failed passwords or codes for this account lately: refuse without
    checking, so guessing costs a wait whatever the guess."""
    return cached_count(_failure_key(username)) >= settings.STAFF_LOGIN_FAILURES


def _site_failures() -> Window:
    return Window("staff-login-failures", settings.STAFF_LOGIN_FAILURES_PER_MINUTE)


def sign_in_wait() -> int:
    """Seconds before anyone may try to sign in again, when too many sign-ins failed
    across the site this minute (passwords sprayed over many accounts); else 0."""
    window = _site_failures()
    return window.retry_after() if window.spent() else 0


def count_failure(username: str) -> None:
    add_to_count(_failure_key(username), timeout=settings.STAFF_LOGIN_LOCK_MINUTES * 60)
    _site_failures().count()


def clear_failures(username: str) -> None:
    forget_count(_failure_key(username))


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def staff_required(view: Callable) -> Callable:
    """Signed in, second factor passed, own password chosen; otherwise the step missing."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        here = request.get_full_path()
        if not user.is_authenticated:
            return redirect(f"{reverse('casework:login')}?next={_quote(here)}")
        if not user.is_verified():
            return redirect(f"{reverse('casework:verify')}?next={_quote(here)}")
        if user.must_change_password:
            return redirect(f"{reverse('casework:password')}?next={_quote(here)}")
        return view(request, *args, **kwargs)

    return wrapper


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


class StaffIdleTimeoutMiddleware:
    """Signs a member out after STAFF_IDLE_MINUTES without a request.

    A caseworker who walks away from a shared computer leaves an open key behind; this
    drops the session (and, through logout, the browser's half of the key).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            seen = request.session.get(_SEEN_FIELD)
            if seen is not None and now - seen > settings.STAFF_IDLE_MINUTES * 60:
                services.record_sign_out(user, idle=True)
                logout(request)
                messages.info(
                    request,
                    _("You were signed out after %(minutes)d minutes without activity.")
                    % {"minutes": settings.STAFF_IDLE_MINUTES},
                )
            elif seen is None or now - seen >= 60:
                # To the minute: saving the session on every request would cost a write
                # per page for a precision nobody needs.
                request.session[_SEEN_FIELD] = now
        return self.get_response(request)


def locked_message() -> str:
    return _(
        "Too many failed attempts for this account. Wait %(minutes)d minutes, then try "
        "again. If it was not you, tell your organisation's admin."
    ) % {"minutes": settings.STAFF_LOGIN_LOCK_MINUTES}


class LockingPasswordChangeView(PasswordChangeView):
    """The admin's own password form (casework/admin_site.py), with the sign-in's lock: a wrong
    current password counts as a failed sign-in of the account, and once the account is
    locked the form checks nothing, signs the session out and sends it to the sign-in
    page.  A session left open must not become a way to guess the password (Django's
    form allows any number of tries)."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if sign_in_locked(user.get_username()):
            services.record_refusal(user, Action.LOGIN_LOCKED)
            logout(request)
            messages.error(request, locked_message())
            return redirect("casework:login")
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        if form.has_error("old_password"):
            count_failure(self.request.user.get_username())
            services.record_refusal(self.request.user, Action.PASSWORD_WRONG)
        return super().form_invalid(form)
