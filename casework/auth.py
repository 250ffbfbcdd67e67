"""Login opens the member's key; the session keeps it only as a split key.

After a successful password check the member's identity is sealed to a fresh identity
whose secret goes to her browser as an HttpOnly cookie and is kept nowhere on the
server; the session store keeps only the sealed copy.  A request that needs her key
brings the cookie and opens it in memory.  A copy of the database, Redis and the disk
holds no cookie, and so opens nothing.  Logout, or the browser closing, loses it.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from casework import services
from evidence import keys
from evidence.exceptions import CannotOpen

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
