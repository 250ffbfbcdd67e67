"""Django's CSRF check, taught that a reporter's browser sends no referrer.

Every page says ``Referrer-Policy: no-referrer``, so that nothing she opens from here
learns where she came from.  Browsers then send ``Origin: null`` and no ``Referer`` on
this site's own form posts, which Django's check refuses as cross-origin.  Modern
browsers also send ``Sec-Fetch-Site``, a header no page can forge: a post whose origin
is hidden is accepted when that header says it came from this very origin, and refused
when it says anything else.

A browser too old to send ``Sec-Fetch-Site`` is not turned away: its post is judged by
the CSRF token alone, which a cross-site page cannot read, and it cannot carry her
cookies anyway (they are ``SameSite=Lax``).  The origin check's extra protection is
against a network attacker who plants a CSRF cookie over plain HTTP; HSTS (with
subdomains, and preload) keeps such browsers off plain HTTP here.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware


def _hidden_origin_allowed(request: HttpRequest) -> bool:
    fetch_site = request.META.get("HTTP_SEC_FETCH_SITE")
    return fetch_site is None or fetch_site == "same-origin"


class HiddenOriginCsrfViewMiddleware(CsrfViewMiddleware):
    def _origin_verified(self, request: HttpRequest) -> bool:
        if request.META.get("HTTP_ORIGIN") == "null":
            return _hidden_origin_allowed(request)
        return super()._origin_verified(request)

    def _check_referer(self, request: HttpRequest) -> None:
        # Reached only over HTTPS when no Origin came at all.  A Referer that is there
        # is still checked (the admin keeps its own); none is what no-referrer means.
        if "HTTP_REFERER" not in request.META and _hidden_origin_allowed(request):
            return
        super()._check_referer(request)


def refusal(request: HttpRequest) -> HttpResponse | None:
    """The same check, run by a view itself: one that must put its own upload handler
    in place before anything reads the body (the evidence views, which are csrf_exempt
    for that reason).  None when the post may go on."""
    return HiddenOriginCsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
