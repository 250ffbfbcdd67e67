from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import translate_url
from django.utils.translation import get_language
from django.utils.translation import gettext as _


def site(request: HttpRequest) -> dict[str, object]:
    """The quick-exit address, the neutral page title, and plain links to this page in
    each language.

    The language switcher is made of links, not a form: it works without scripts and
    leaves no language cookie on the victim's device.
    """
    current = get_language()
    return {
        "QUICK_EXIT_URL": settings.QUICK_EXIT_URL,
        # What her browser's history and tabs show for every page she visits here.
        "PAGE_TITLE": settings.PAGE_TITLE or _("Information"),
        "language_links": [
            {
                "code": code,
                "name": name,
                "url": translate_url(request.path, code),
                "current": code == current,
            }
            for code, name in settings.LANGUAGES
        ],
    }
