"""Her report, from the first question to her receipt: the steps, the last step with
her words and files (sealed by the server as they arrive, scripts off), the filing of a
report her browser sealed (scripts on), and the receipt page.

The intake keeps only routing facts (coarse, plaintext anyway) in the session between
steps; her words and files arrive with the last step and are sealed as they arrive.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from evidence import keys
from evidence.exceptions import CannotOpen, NotAcceptable, UploadNotFound, UploadRefused
from evidence.uploads import DiscardingUploadHandler, Refusal
from reporting import forms, services, throttle, uploads
from reporting.exceptions import IntakeUnavailable
from reporting.facts import Language
from reporting.views._common import (
    RECEIPT_COOKIE,
    UPLOAD_PART_BYTES,
    cut_off,
    limits,
    receive_sealed,
    set_browser_half,
    too_big,
)
from web import csrf
from web.ratelimit import too_many, until_an_hour_after

_INTAKE = "intake"
_RECEIPT = "receipt_to_show"
_ONCE = "once"  # the last step's one-time token (a form field)
_SEALED_READERS = "sealed_readers"  # who her browser was given to seal to
_FILED_LOOKUP = "filed_lookup"  # the receipt a report sealed on her device was filed under
# A filing holds its session's turn at least this long, at most an hour more (a worker
# killed mid-filing).
_FILING_HOLD_SECONDS = 3 * 60 * 60
# How long a second post waits for the first: longer than a filing takes once its body
# has arrived (p99 under load is about 6 s, docs/BENCHMARKS.md).
_SECOND_POST_WAIT_SECONDS = 60


@dataclass(frozen=True)
class Step:
    name: str
    form: type
    title: str


# Two pages of questions, then her words: each page costs her a load on a slow network
# and its own title, progress line and buttons to read (bench/time_to_file.py).
STEPS = [
    Step("urgency", forms.SituationForm, _("Are you safe right now?")),
    Step("about", forms.AboutYouAndHelpForm, _("About you")),
]
# Steps since merged into another: links and bookmarks to them lead to the page that
# now asks their questions.
MERGED = {"what": "urgency", "help": "about"}
TOTAL_STEPS = len(STEPS) + 1  # and the last one: her words and files


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "reporting/home.html")


@require_http_methods(["GET", "POST"])
def intake_step(request: HttpRequest, name: str) -> HttpResponse:
    names = [s.name for s in STEPS]
    if name in MERGED:
        return redirect("reporting:intake_step", name=MERGED[name])
    if name not in names:
        return redirect("reporting:intake_step", name=STEPS[0].name)
    index = names.index(name)
    answers = request.session.get(_INTAKE, {})
    for earlier in names[:index]:
        if earlier not in answers:
            return redirect("reporting:intake_step", name=earlier)
    step = STEPS[index]
    if request.method == "POST":
        form = step.form(request.POST)
        if form.is_valid():
            answers[name] = form.cleaned_data
            request.session[_INTAKE] = answers
            if index + 1 < len(STEPS):
                return redirect("reporting:intake_step", name=names[index + 1])
            return redirect("reporting:intake_tell")
    else:
        form = step.form(initial={**_page_language(request), **answers.get(name, {})})
    back = reverse("reporting:intake_step", args=[names[index - 1]]) if index else None
    return render(
        request,
        "reporting/intake/step.html",
        {"form": form, "step": step, "number": index + 1, "total": TOTAL_STEPS, "back": back},
    )


def _page_language(request: HttpRequest) -> dict[str, str]:
    """The language to answer her in, as first shown: the one she is reading (she can
    choose another)."""
    language = getattr(request, "LANGUAGE_CODE", "")
    return {"language": language} if language in Language.values else {}


def _facts(answers: dict) -> services.ReportFacts | None:
    """The routing facts of the answers kept in the session, once every step is done."""
    given = {field: value for step in answers.values() for field, value in step.items()}
    try:
        return services.report_facts(
            urgency=given["urgency"],
            category=given["category"],
            region=given["region"],
            language=given["language"],
            age_band=given["age_band"],
            services=given["services"],
            consent_share=given["consent_share"] == "yes",
            consent_statistics=given["consent_statistics"] == "yes",
        )
    except KeyError:
        return None


def _tell_page(
    request, form, refusals=(), status=200, *, wait: int = 0, too_big_mb: int = 0, readers=()
) -> HttpResponse:
    context = {
        # For her browser to seal to (scripts on): none, and the page seals nothing itself.
        "readers": " ".join(readers),
        "receipt_work_factor": settings.EVIDENCE_RECEIPT_WORK_FACTOR,
        "part_size": UPLOAD_PART_BYTES,
        "max_image_bytes": settings.EVIDENCE_MAX_IMAGE_BYTES,
        "slow_seconds": settings.INTAKE_SLOW_SEALING_SECONDS,
        # Her words are checked on her phone before they are sealed (reporting/forms.py).
        "narrative_limit": forms.NARRATIVE_LIMIT,
        "short_limit": forms.SHORT_LIMIT,
        "sla_hours": settings.CASEWORK_SLA_HOURS,
        "urgent_hours": settings.CASEWORK_SLA_URGENT_HOURS,
        "form": form,
        "number": TOTAL_STEPS,
        "total": TOTAL_STEPS,
        "back": reverse("reporting:intake_step", args=[STEPS[-1].name]),
        "refusals": refusals,
        "too_big_mb": too_big_mb,
        # A one-time token: the same post sent twice (a second tap while the first was on
        # its way) shows the receipt of the first instead of losing it.
        "once": request.POST.get(_ONCE) or keys.new_browser_secret(),
        **limits(),
    }
    if wait:
        return too_many(request, "reporting/intake/tell.html", context, retry_after=wait)
    return render(request, "reporting/intake/tell.html", context, status=status)


def _words_back(request: HttpRequest, wait: int) -> HttpResponse:
    """Her report cannot be taken this minute: give her words back, keep none of her files.

    The files are read past, not sealed, so that a flood costs the server nothing; the
    page tells her to choose them again.
    """
    request.upload_handlers = [DiscardingUploadHandler(request)]
    refused = csrf.refusal(request)
    if refused is not None:
        return refused
    return _tell_page(request, forms.TellUsForm(request.POST), wait=wait)


@contextmanager
def _one_filing_at_a_time(request: HttpRequest) -> Iterator[None]:
    """Let a filing of this browser's session finish before the next one starts.

    A second tap on "Send" while the first post is on its way makes the browser drop
    the first answer, not the first report: the second post waits here until the first
    is kept, then finds it (``_filed_already``) instead of filing again or, as before,
    landing on an empty first step with the receipt lost.  The key is a hash of the
    session's key, gone when the filing ends; with the cache unreachable, posts are not
    held back (a report twice is better than no report).
    """
    session_key = request.session.session_key
    if not session_key:
        yield
        return
    # Not the session row's own name (web/sessions.py): the two copies must not meet.
    key = "filing:" + salted_hmac("reporting.filing", session_key).hexdigest()
    waited, held = False, _hold(key)
    deadline = time.monotonic() + _SECOND_POST_WAIT_SECONDS
    while held is False and time.monotonic() < deadline:
        waited = True
        time.sleep(0.2)
        held = _hold(key)
    if waited:
        # What the first post kept (her receipt, her answers gone) is in the session now.
        engine = import_module(settings.SESSION_ENGINE)
        request.session = engine.SessionStore(session_key)
    try:
        yield
    finally:
        if held:
            with suppress(Exception):
                cache.delete(key)


def _hold(key: str) -> bool | None:
    """True if this request now holds ``key``; False if another does; None if the cache
    cannot say (then nobody waits)."""
    try:
        # Expiring on the hour: a hold left by a killed worker must not date her filing.
        return cache.add(key, 1, timeout=until_an_hour_after(time.time() + _FILING_HOLD_SECONDS))
    except Exception:  # any cache failure means: do not wait
        return None


def _filed_already(request: HttpRequest) -> HttpResponse:
    """Her report was kept, but this post comes after it (a second tap, a reload): if it
    carries the first post's one-time token, show the same receipt; otherwise the steps
    start again."""
    request.upload_handlers = [DiscardingUploadHandler(request)]
    refused = csrf.refusal(request)
    if refused is not None:
        return refused
    once, sealed = request.POST.get(_ONCE, ""), request.session.get(_RECEIPT)
    if sealed and once and _open_receipt(sealed, once) is not None:
        response = redirect("reporting:intake_done")
        set_browser_half(response, RECEIPT_COOKIE, once)
        return response
    return redirect("reporting:intake_step", name=STEPS[0].name)


def _open_receipt(sealed: str, secret: str | None) -> dict | None:
    if not (sealed and secret):
        return None
    try:
        return json.loads(keys.unlock_text_from_session(base64.b64decode(sealed), secret))
    except (CannotOpen, ValueError):
        return None


@csrf_exempt  # see receive_sealed
@require_http_methods(["GET", "POST"])
def intake_tell(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        report_facts = _facts(request.session.get(_INTAKE, {}))
        if report_facts is None:
            return redirect("reporting:intake_step", name=STEPS[0].name)
        return _tell_page(request, forms.TellUsForm(), readers=_hand_readers(request, report_facts))
    if too_big_mb := too_big(request):
        # Answered unread: her words cannot be given back, and the page says so.
        return _tell_page(request, forms.TellUsForm(), status=413, too_big_mb=too_big_mb)
    with _one_filing_at_a_time(request):
        report_facts = _facts(request.session.get(_INTAKE, {}))
        if report_facts is None:
            return _filed_already(request)
        return _file(request, report_facts)


def _file(request: HttpRequest, report_facts: services.ReportFacts) -> HttpResponse:
    if wait := throttle.filing_wait(request):
        return _words_back(request, wait)
    throttle.record_filing(request)

    pending = services.new_receipt()
    try:
        recipients = services.recipients_for(report_facts, pending)
    except IntakeUnavailable:
        return render(request, "reporting/intake/unavailable.html", status=503)
    handler, refused_csrf = receive_sealed(request, recipients)
    if refused_csrf is not None:
        return refused_csrf
    try:
        form = forms.TellUsForm(request.POST)
        if not form.is_valid() or cut_off(handler):
            handler.discard_all()
            return _tell_page(request, form, handler.refusals, status=400)
        once = request.POST.get(_ONCE, "")
        # What the receipt page shows: her code, and the files that were not kept (their
        # names are hers, so they are sealed with the code).
        shown = json.dumps(
            {"code": pending.display, "refused": [[r.name, r.reason] for r in handler.refusals]}
        )
        try:
            sealed = keys.lock_text_with(shown, once)
        except CannotOpen:  # no token, or not one of ours: a secret of our own
            once, sealed = keys.lock_text_for_session(shown)
        try:
            # Her report and the session that shows her its code are kept together or
            # not at all: a database lost in between must not keep a report whose code
            # she never sees (she is told nothing was saved, and sends it again).
            with transaction.atomic():
                services.file_report(
                    report_facts,
                    services.ReportContent(**form.cleaned_data),
                    handler.accepted,
                    pending=pending,
                    recipients=recipients,
                )
                request.session.pop(_INTAKE, None)
                # The code waits on screen until she says she kept it; the session (a
                # database row) holds it sealed to a key that only her browser carries
                # (the form's one-time token, then a cookie), so a copy of the database
                # meanwhile opens nothing.
                request.session[_RECEIPT] = base64.b64encode(sealed).decode("ascii")
                request.session.save()
        except UploadRefused as refused:
            handler.discard_all()
            return _tell_page(request, form, [refused], status=400)
    except BaseException as failure:
        handler.discard_all(failure=failure)
        raise
    request.session.modified = False  # saved above, with her report
    response = redirect("reporting:intake_done")
    set_browser_half(response, RECEIPT_COOKIE, once)
    return response


def _hand_readers(request: HttpRequest, report_facts: services.ReportFacts) -> list[str]:
    """The organisations her browser will seal to, kept in her session as given: what
    she files later is recorded as sealed to exactly these (and to her), and her
    uploads are checked for one stanza each (reporting/uploads.py)."""
    try:
        readers = [str(r) for r in services.helper_recipients(report_facts)]
    except IntakeUnavailable:
        return []  # the page's own path then says that no report can be taken now
    request.session[_SEALED_READERS] = readers
    request.session[uploads.SESSION_READERS] = len(readers) + 1  # and her own key
    return readers


# Why a report sealed on her device was not kept, in her words (JSON for the page).
_NOT_KEPT = {
    "steps": _("This page is out of date. Nothing was kept: please start your report again."),
    "receipt": _(
        "Your receipt could not be made on this phone. Nothing was kept; please send again."
    ),
    "uploads": _("Part of your report did not arrive. Nothing was kept; please send again."),
    "type": _("One of your files is not a kind of file we can take. Nothing was kept."),
    "report_too_large": _("Together your files are too large. Nothing was kept."),
    "busy": _(
        "Too many reports are arriving right now. Nothing was kept: please wait a few "
        "minutes, then send again."
    ),
}
_NOT_KEPT_OTHERWISE = _(
    "Your report could not be kept as it was sealed. Nothing was kept; please send again."
)


def _not_kept(reason: str, status: int = 400) -> JsonResponse:
    message = _NOT_KEPT.get(reason, _NOT_KEPT_OTHERWISE)
    return JsonResponse({"reason": reason, "message": str(message)}, status=status)


@require_http_methods(["POST"])
def intake_sealed(request: HttpRequest) -> HttpResponse:
    """File her report sealed on her device (intake.js): her receipt as her browser made
    it and the tokens of her sealed uploads, as JSON.  The same filing sent again (an
    answer lost on a bad network) answers as the first did."""
    try:
        sent = json.loads(request.body)
        lookup = str(sent["receipt"]["lookup"])
    except (ValueError, KeyError, TypeError):
        return _not_kept("request")
    with _one_filing_at_a_time(request):
        if request.session.get(_FILED_LOOKUP) == lookup:
            return JsonResponse({"filed": True})
        report_facts = _facts(request.session.get(_INTAKE, {}))
        readers = request.session.get(_SEALED_READERS)
        if report_facts is None or not readers:
            return _not_kept("steps", status=409)
        if wait := throttle.filing_wait(request):
            response = _not_kept("busy", status=429)
            response["Retry-After"] = str(wait)
            return response
        throttle.record_filing(request)
        try:
            services.file_browser_report(
                report_facts,
                lookup=lookup,
                recipient=str(sent["receipt"]["recipient"]),
                sealed_identity=base64.b64decode(
                    str(sent["receipt"]["sealed_identity"]), validate=True
                ),
                readers=readers,
                content=str(sent["content"]),
                files=[services.browser_file(f) for f in sent.get("files", [])],
                owner=uploads.upload_owner(request),
            )
        except (KeyError, TypeError, ValueError):
            return _not_kept("request")
        except UploadNotFound:
            return _not_kept("uploads")
        except NotAcceptable as refused:
            return _not_kept(refused.reason)
        for key in (_INTAKE, _SEALED_READERS, uploads.SESSION_READERS):
            request.session.pop(key, None)
        request.session[_FILED_LOOKUP] = lookup
    return JsonResponse({"filed": True})


@require_http_methods(["GET", "POST"])
def intake_done(request: HttpRequest) -> HttpResponse:
    """Her receipt code, shown until she says she has kept it, then never again."""
    if request.method == "POST":
        request.session.pop(_RECEIPT, None)
        request.session.pop(_FILED_LOOKUP, None)
        response = redirect("reporting:home")
        response.delete_cookie(RECEIPT_COOKIE, samesite="Lax")
        return response
    shown = _open_receipt(request.session.get(_RECEIPT), request.COOKIES.get(RECEIPT_COOKIE))
    return render(
        request,
        "reporting/intake/done.html",
        {
            "code": shown and shown["code"],
            "refusals": [
                Refusal(name, reason) for name, reason in (shown or {}).get("refused", [])
            ],
            "sla_hours": settings.CASEWORK_SLA_HOURS,
            "urgent_hours": settings.CASEWORK_SLA_URGENT_HOURS,
            **limits(),
        },
    )
