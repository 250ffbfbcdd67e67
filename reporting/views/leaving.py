"""Leaving: "Close my report on this device", and the quick exit on every page she sees.
Either ends her session on the server and drops the browser's halves of its secrets."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from reporting.views._common import RECEIPT_COOKIE, REPORTER_COOKIE


def _forget_her(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """End her session and drop the browser's halves of its secrets.

    The session row goes (her open report, her receipt on screen, her answers so far); the
    cookies go; ``Clear-Site-Data`` also asks the browser to drop its cache of our pages,
    including the back-forward cache that would show her last page again on Back.
    """
    request.session.flush()
    for name in (RECEIPT_COOKIE, REPORTER_COOKIE, settings.CSRF_COOKIE_NAME):
        response.delete_cookie(name, samesite="Lax")
    response["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@require_http_methods(["POST"])
def leave(request: HttpRequest) -> HttpResponse:
    return _forget_her(request, redirect("reporting:home"))


# A beacon cannot carry a CSRF token, and the link must work with scripts off.  Another
# site can at worst end her session, which is what this page is for.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def quick_exit(request: HttpRequest) -> HttpResponse:
    """The quick exit: her session ends here, then she is sent to the neutral site (a
    link without scripts), or answered at once (the beacon sent by scripts)."""
    if request.method == "POST":
        return _forget_her(request, HttpResponse(status=204))
    return _forget_her(request, HttpResponseRedirect(settings.QUICK_EXIT_URL))
