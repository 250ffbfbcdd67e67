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
from django.views.defaults import page_not_found

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait: a PostgreSQL restart takes a few seconds.
RETRY_AFTER_SECONDS = 30


_FULL = {errno.ENOSPC, errno.EDQUOT}


def service_unavailable() -> bool:
    """Is the exception being handled a lost or refused database connection, or a full
    disk (the blob store's, while sealing an upload)?"""
    exc = sys.exception()
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, OSError) and exc.errno in _FULL


def server_error(request: HttpRequest) -> HttpResponse:
    status, template = (503, "503.html") if service_unavailable() else (500, "500.html")
    try:
        response = render(request, template, status=status)
    except Exception:
        logger.exception("the %s page itself failed to render", status)
        response = HttpResponse(
            "Service unavailable" if status == 503 else "Server error",
            status=status,
            content_type="text/plain",
        )
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An API address that names nothing answers like the API's own 404s (JSON, as its
    schema says), not with the visitor's HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return page_not_found(request, exception)
