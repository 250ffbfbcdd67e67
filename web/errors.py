"""The 500 page, and the 503 page when the database is out of reach.

Django's own handler renders 500.html without the request, so the context processors
that give the quick-exit address and language links would not run.  If even this page
fails to render, answer in plain text rather than raise again.

A database that is restarting or unreachable, or a disk that is full, is not a bug in
the page she was using: it answers 503 with ``Retry-After``, and says plainly that what
she just sent was not kept.  Every write is one transaction, and the blob store removes
a partial file on any error (evidence/blobstore.py), so a failed request leaves nothing
half-written.
"""

from __future__ import annotations

import errno
import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait: a PostgreSQL restart takes a few seconds.
RETRY_AFTER_SECONDS = 30


_FULL = {errno.ENOSPC, errno.EDQUOT}


def _unavailable(exc: BaseException | None) -> bool:
    """Is this a lost or refused database connection, or a full disk (the blob store's,
    while sealing an upload), or was it caused by one?  Django wraps some: a session
    that could not be saved becomes a "bad request" whose cause is the database."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OperationalError | InterfaceError):
            return True
        if isinstance(exc, OSError) and exc.errno in _FULL:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _unavailable_page(request: HttpRequest) -> HttpResponse:
    # A page that only reads says so; a post says that what she sent was not kept.
    context = {"sent": request.method not in ("GET", "HEAD")}
    try:
        response = render(request, "503.html", context, status=503)
    except Exception:
        logger.exception("the 503 page itself failed to render")
        response = HttpResponse("Service unavailable", status=503, content_type="text/plain")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    if _unavailable(sys.exception()):
        return _unavailable_page(request)
    try:
        return render(request, "500.html", status=500)
    except Exception:
        logger.exception("the 500 page itself failed to render")
        return HttpResponse("Server error", status=500, content_type="text/plain")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400, except when the database was lost while her session was being
    saved (SessionInterrupted, caused by it): that is the 503 of an outage."""
    if _unavailable(exception):
        return _unavailable_page(request)
    return defaults.bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An API address that names nothing answers like the API's own 404s (JSON, as its
    schema says), not with the visitor's HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)
