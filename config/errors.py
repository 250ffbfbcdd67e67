"""The 500 page, in the visitor's language and with the quick exit.

Django's own handler renders 500.html without the request, so the context processors
that give the quick-exit address and language links would not run.  If even this page
fails to render, answer in plain text rather than raise again.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render

logger = logging.getLogger(__name__)


def server_error(request: HttpRequest) -> HttpResponse:
    try:
        return render(request, "500.html", status=500)
    except Exception:
        logger.exception("the 500 page itself failed to render")
        return HttpResponseServerError("Server error", content_type="text/plain")
