"""What other apps add to casework's staff pages, without casework importing them.

casework sits below the apps built on it (DESIGN.md, "Layers and apps": bundles imports
casework, never the reverse), yet the case page shows the case's evidence bundles and
the staff menu leads a lawyer to her bundle keys.  So casework asks: an app registers a
function here from its AppConfig.ready(), and casework's page puts what the function
returns where it belongs.

The seam is a rendered fragment of HTML, not a context merged into casework's: the app
renders its own template with the request (so its forms carry their CSRF token and its
links their language), casework's templates name none of its URLs or variables, and an
app that is not installed simply adds nothing.  A provider returns "" when it has
nothing to show to this person.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from casework.models import Case
from casework.selectors import Access

CaseSection = Callable[[HttpRequest, Case, Access], str]
StaffLink = Callable[[HttpRequest], str]

_case_sections: list[CaseSection] = []
_staff_links: list[StaffLink] = []


def add_case_section(provider: CaseSection) -> None:
    """A section of the case page, after the tags (before the timeline)."""
    if provider not in _case_sections:  # an app's ready() may run twice
        _case_sections.append(provider)


def add_staff_link(provider: StaffLink) -> None:
    """A link of the staff menu, before "Password"."""
    if provider not in _staff_links:
        _staff_links.append(provider)


def case_sections(request: HttpRequest, case: Case, access: Access) -> list[str]:
    """The case page's sections from other apps, for this reader (casework/case.html)."""
    return [html for provider in _case_sections if (html := provider(request, case, access))]


def staff_links(request: HttpRequest) -> list[str]:
    """The staff menu's links from other apps, for this member (staff_base.html)."""
    return [html for provider in _staff_links if (html := provider(request))]
