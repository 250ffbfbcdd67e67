"""The services' refusals, as the staff pages answer them: decided here, once, as
casework/api.py's ``_answering_refusals`` decides the API's answers.

A view decorated with ``answering_refusals`` names only what is its own: where ``back``
leads, and what to ``say`` for each refusal its act can meet.  The rest is the same on
every page:

* ``NotAllowed`` (her role, or her organisation, does not allow the act) is the
  forbidden page, 403, whatever the view says;
* a refusal named in ``say`` is its message, shown as an error on the page ``back``
  leads to (a redirect: the page shows where things stand now, and reloading it posts
  nothing again); ``None`` for a message says nothing, where that page says it itself;
* anything else is not a refusal: it goes up as it would.

Refusals that belong to a form (a field left out, a passphrase too short) are the
view's: it shows its form again with the error beside the field, status 400.

For example::

    @require_POST
    @staff_required
    @answering_refusals(back=back_to_case("notes"), say={CaseErased: CASE_ERASED})
    def case_note(request, case_id): ...

``say`` maps an exception class to a message (a string, lazy or not) or to a function
of the refusal that gives one (``lambda refused: REFUSALS[refused.args[0]]``).  A view
that refuses by itself, before any service (a page only the coordination sees), answers
with ``forbidden(request)``, the same page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise

from casework.exceptions import NotAllowed

# A URL name (no arguments), or a function of the view's request and URL arguments.
Back = str | Callable[..., HttpResponse]
# What to tell her: a message, a function of the refusal that gives one, or nothing.
Answer = str | Promise | Callable[[Exception], str] | None


def forbidden(request: HttpRequest) -> HttpResponse:
    """The page for an act her role does not allow: 403, and whom to ask."""
    return render(request, "casework/forbidden.html", status=403)


def back_to_case(anchor: str = "") -> Callable[..., HttpResponse]:
    """``back`` for a view whose URL names ``case_id``: its case page, at ``anchor``."""

    def back(request: HttpRequest, *args, case_id: int, **kwargs) -> HttpResponse:
        return redirect(reverse("casework:case", args=[case_id]) + (f"#{anchor}" if anchor else ""))

    return back


def answering_refusals(
    *, back: Back | None = None, say: Mapping[type[Exception], Answer] | None = None
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Answer the refusals the view's services raise (the module says how)."""
    answers = dict(say or {})
    if answers and back is None:
        raise TypeError("a refusal told in a message needs a page to go back to")
    refusals = tuple(answers)

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except NotAllowed:
                return forbidden(request)
            except refusals as refusal:
                message = _message(answers, refusal)
                if message:
                    messages.error(request, message)
                if isinstance(back, str):
                    return redirect(back)
                return back(request, *args, **kwargs)

        return wrapper

    return decorate


def _message(answers: dict[type[Exception], Answer], refusal: Exception) -> str | Promise | None:
    answer = next(a for kind, a in answers.items() if isinstance(refusal, kind))
    if answer is None or isinstance(answer, str | Promise):
        return answer
    return answer(refusal)
