"""The victim's pages.  Thin: parse, call one service, render.

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
from functools import wraps
from importlib import import_module

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from evidence import keys
from evidence.exceptions import CannotOpen, NotAcceptable, UploadNotFound, UploadRefused
from evidence.uploads import DiscardingUploadHandler, Refusal, SealingUploadHandler
from reporting import forms, services, throttle, uploads
from reporting.exceptions import IntakeUnavailable, ReceiptNotFound
from reporting.facts import Language, Service
from reporting.models import ConsentRequest, Message, Report
from web import csrf
from web.ratelimit import too_many, until_an_hour_after

_INTAKE = "intake"
_RECEIPT = "receipt_to_show"
_RECEIPT_COOKIE = "receipt_key"
_ONCE = "once"  # the last step's one-time token (a form field)
_SEALED_READERS = "sealed_readers"  # who her browser was given to seal to
_FILED_LOOKUP = "filed_lookup"  # the receipt a report sealed on her device was filed under
# The parts her browser uploads (frontend/src/upload.js): a lost connection costs one.
_UPLOAD_PART_BYTES = 4 * 1024 * 1024
# Room in a post for her words and the form's own bytes, beside the files' limit.
_FORM_ALLOWANCE = 1024 * 1024
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


def _limits() -> dict[str, int]:
    """The upload limits, as the pages state them beside the file field (MB)."""
    return {
        "max_file_mb": settings.EVIDENCE_MAX_FILE_BYTES // (1024 * 1024),
        "max_report_mb": settings.EVIDENCE_MAX_REPORT_BYTES // (1024 * 1024),
        # For the scripts that check her files before anything is sent.
        "max_file_bytes": settings.EVIDENCE_MAX_FILE_BYTES,
        "max_report_bytes": settings.EVIDENCE_MAX_REPORT_BYTES,
    }


def _tell_page(
    request, form, refusals=(), status=200, *, wait: int = 0, too_big_mb: int = 0, readers=()
) -> HttpResponse:
    context = {
        # For her browser to seal to (scripts on): none, and the page seals nothing itself.
        "readers": " ".join(readers),
        "receipt_work_factor": settings.EVIDENCE_RECEIPT_WORK_FACTOR,
        "part_size": _UPLOAD_PART_BYTES,
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
        **_limits(),
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


def _too_big(request: HttpRequest) -> int:
    """The size in MB of a post that the limits refuse whatever it holds, else 0.

    Read from the request's length before a byte of its body: on a slow phone, a video
    over the limit would otherwise upload for hours before she is told."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
    if length <= settings.EVIDENCE_MAX_REPORT_BYTES + _FORM_ALLOWANCE:
        return 0
    return -(-length // (1024 * 1024))


def _receive_sealed(
    request: HttpRequest, recipients
) -> tuple[SealingUploadHandler, HttpResponse | None]:
    """Read the body through the sealing handler, then check CSRF.

    Views that take evidence are csrf_exempt because the middleware would read the body
    with Django's default upload handlers first; the check happens here instead, once the
    sealing handler is in place.  A refused check (and any failure while reading) leaves
    nothing behind.
    """
    handler = SealingUploadHandler(request, recipients=recipients)
    request.upload_handlers = [handler]
    try:
        refused = csrf.refusal(request)
        request.POST  # noqa: B018 - parse the whole body now, through the sealing handler
    except BaseException as failure:
        handler.discard_all(failure=failure)
        raise
    if refused is not None:
        handler.discard_all()
    return handler, refused


def _cut_off(handler: SealingUploadHandler) -> bool:
    """The post ended before its files did: the browser that sent it is most likely gone
    and will never see a receipt, so nothing of it is kept.  Files refused for what they
    are (too large, of a kind not taken) leave the others kept, and she is told."""
    return any(refusal.reason == "interrupted" for refusal in handler.refusals)


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
        _set_browser_half(response, _RECEIPT_COOKIE, once)
        return response
    return redirect("reporting:intake_step", name=STEPS[0].name)


def _open_receipt(sealed: str, secret: str | None) -> dict | None:
    if not (sealed and secret):
        return None
    try:
        return json.loads(keys.unlock_text_from_session(base64.b64decode(sealed), secret))
    except (CannotOpen, ValueError):
        return None


@csrf_exempt  # see _receive_sealed
@require_http_methods(["GET", "POST"])
def intake_tell(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        report_facts = _facts(request.session.get(_INTAKE, {}))
        if report_facts is None:
            return redirect("reporting:intake_step", name=STEPS[0].name)
        return _tell_page(request, forms.TellUsForm(), readers=_hand_readers(request, report_facts))
    if too_big_mb := _too_big(request):
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
    handler, refused_csrf = _receive_sealed(request, recipients)
    if refused_csrf is not None:
        return refused_csrf
    try:
        form = forms.TellUsForm(request.POST)
        if not form.is_valid() or _cut_off(handler):
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
    _set_browser_half(response, _RECEIPT_COOKIE, once)
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
        response.delete_cookie(_RECEIPT_COOKIE, samesite="Lax")
        return response
    shown = _open_receipt(request.session.get(_RECEIPT), request.COOKIES.get(_RECEIPT_COOKIE))
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
            **_limits(),
        },
    )


def _set_browser_half(response: HttpResponse, name: str, secret: str) -> None:
    """The browser's half of a split secret: never readable by scripts, never sent to
    another site, and gone when the browser closes (no max_age)."""
    response.set_cookie(
        name, secret, httponly=True, secure=settings.SESSION_COOKIE_SECURE, samesite="Lax"
    )


# --- her return visits --------------------------------------------------------------------

_REPORTER_COOKIE = "reporter_key"
_REPORTER_SEALED = "reporter_key_sealed"
_REPORTER_REPORT = "reporter_report"
_REPORTER_SEEN = "reporter_seen"
_ADDED = "evidence_added"
_ANSWERED = "consent_answered"

# The help a question names, as words in a sentence addressed to her ("… to X, for …").
SERVICE_FOR_HER = {
    Service.LISTENING: _("someone to listen to you"),
    Service.PSYCHOLOGICAL: _("psychological support"),
    Service.LEGAL: _("legal advice"),
    Service.TAKEDOWN: _("help taking content down"),
}


def _this_minute() -> int:
    # Minutes, not seconds: the session says she is still reading, not when exactly.
    return int(time.time() // 60)


def _visitor(request: HttpRequest) -> tuple[Report, keys.Identity] | None:
    """Her report and her key, if this browser opened it with the code.

    Left idle for REPORTER_IDLE_MINUTES, the report closes: whoever picks up her phone
    later, with the browser still open, finds the code page, not her report."""
    sealed = request.session.get(_REPORTER_SEALED)
    cookie = request.COOKIES.get(_REPORTER_COOKIE)
    if sealed and _this_minute() - request.session.get(_REPORTER_SEEN, 0) > (
        settings.REPORTER_IDLE_MINUTES
    ):
        request.session.flush()
        return None
    report = Report.objects.filter(pk=request.session.get(_REPORTER_REPORT)).first()
    if not (sealed and cookie and report):
        return None
    try:
        opened = report, keys.unlock_from_session(base64.b64decode(sealed), cookie)
    except (CannotOpen, ValueError):
        return None
    request.session[_REPORTER_SEEN] = _this_minute()
    return opened


def _her_report_open(view):
    """The view runs with her report and her key (``_visitor``) for the browser that
    opened it with its code; any other browser is sent to the code page."""

    @wraps(view)
    def with_her_report(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        visit = _visitor(request)
        if visit is None:
            return redirect("reporting:return_visit")
        return view(request, *visit, *args, **kwargs)

    return with_her_report


def _return_page(form: forms.ReceiptForm) -> dict:
    """The code page's context.  With scripts on, the same page opens her report on her
    device (frontend/src/return.js, reporting/visits.py): what it needs to do so, and
    the report's page, empty, for it to fill with what it opens."""
    return {
        "form": form,
        "message_form": forms.MessageForm(),
        "receipt_work_factor": settings.EVIDENCE_RECEIPT_WORK_FACTOR,
        "part_size": _UPLOAD_PART_BYTES,
        "max_image_bytes": settings.EVIDENCE_MAX_IMAGE_BYTES,
        "max_message_length": forms.NARRATIVE_LIMIT,
        **_limits(),
    }


@require_http_methods(["GET", "POST"])
def return_visit(request: HttpRequest) -> HttpResponse:
    form = forms.ReceiptForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if wait := throttle.receipt_wait(request):
            return too_many(
                request, "reporting/return/login.html", _return_page(form), retry_after=wait
            )
        if form.is_valid():
            try:
                reporter, identity = services.open_receipt(form.cleaned_data["code"])
            except ReceiptNotFound:
                throttle.record_receipt_failure(request)
                form.add_error(
                    "code",
                    _("This code does not open a report. Check the 16 digits and try again."),
                )
            else:
                request.session.cycle_key()
                cookie, sealed = keys.lock_for_session(identity)
                request.session[_REPORTER_SEALED] = base64.b64encode(sealed).decode("ascii")
                request.session[_REPORTER_REPORT] = reporter.report.pk
                request.session[_REPORTER_SEEN] = _this_minute()
                response = redirect("reporting:my_report")
                _set_browser_half(response, _REPORTER_COOKIE, cookie)
                return response
        status = 400
    return render(request, "reporting/return/login.html", _return_page(form), status=status)


def _report_page(
    request,
    report,
    identity,
    refusals=(),
    status=200,
    message_form=None,
    *,
    added: int = 0,
    too_big_mb: int = 0,
    no_file: bool = False,
) -> HttpResponse:
    content = services.read_content(report, identity)
    files = [
        {"name": services.evidence_name(item, identity), "kind": item.kind, "size": item.size}
        for item in report.evidence.all()
    ]
    waiting, answered = services.consent_questions(report)
    just_answered = request.session.pop(_ANSWERED, None)
    return render(
        request,
        "reporting/return/report.html",
        {
            "report": report,
            "questions": [(q, SERVICE_FOR_HER.get(q.service, q.service)) for q in waiting],
            "answered_questions": answered,
            "just_answered": next((q for q in answered if q.pk == just_answered), None),
            "content": content,
            "files": files,
            "refusals": refusals,
            "messages_thread": services.read_messages(report, identity),
            "message_form": message_form or forms.MessageForm(),
            "added": request.session.pop(_ADDED, 0) or added,
            "too_big_mb": too_big_mb,
            "no_file": no_file and not refusals,
            **_limits(),
        },
        status=status,
    )


@require_http_methods(["GET"])
@_her_report_open
def my_report(request: HttpRequest, report: Report, identity: keys.Identity) -> HttpResponse:
    return _report_page(request, report, identity)


@csrf_exempt  # see _receive_sealed
@require_http_methods(["POST"])
@_her_report_open
def my_report_evidence(
    request: HttpRequest, report: Report, identity: keys.Identity
) -> HttpResponse:
    if too_big_mb := _too_big(request):
        return _report_page(request, report, identity, status=413, too_big_mb=too_big_mb)
    handler, refused_csrf = _receive_sealed(request, services.report_recipients(report))
    if refused_csrf is not None:
        return refused_csrf
    try:
        if not handler.accepted or _cut_off(handler):
            handler.discard_all()
            return _report_page(
                request, report, identity, handler.refusals, status=400, no_file=True
            )
        try:
            services.add_evidence(report, handler.accepted)
        except UploadRefused as refused:
            handler.discard_all()
            return _report_page(request, report, identity, [refused], status=400)
    except BaseException as failure:
        handler.discard_all(failure=failure)
        raise
    if handler.refusals:
        # The good files are kept; she is told which others were not, and why.
        return _report_page(
            request, report, identity, handler.refusals, added=len(handler.accepted)
        )
    request.session[_ADDED] = len(handler.accepted)
    return redirect("reporting:my_report")


@require_http_methods(["POST"])
@_her_report_open
def my_report_message(
    request: HttpRequest, report: Report, identity: keys.Identity
) -> HttpResponse:
    form = forms.MessageForm(request.POST)
    if not form.is_valid():
        return _report_page(request, report, identity, status=400, message_form=form)
    services.post_message(report, form.cleaned_data["text"], author=Message.Author.REPORTER)
    return redirect(reverse("reporting:my_report") + "#messages")


def _forget_her(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """End her session and drop the browser's halves of its secrets.

    The session row goes (her open report, her receipt on screen, her answers so far); the
    cookies go; ``Clear-Site-Data`` also asks the browser to drop its cache of our pages,
    including the back-forward cache that would show her last page again on Back.
    """
    request.session.flush()
    for name in (_RECEIPT_COOKIE, _REPORTER_COOKIE, settings.CSRF_COOKIE_NAME):
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


@require_http_methods(["POST"])
@_her_report_open
def my_report_consent(
    request: HttpRequest, report: Report, identity: keys.Identity
) -> HttpResponse:
    """Her yes or no to passing her report on to the organisation a question names."""
    form = forms.ConsentAnswerForm(request.POST)
    if form.is_valid():
        try:
            question = services.answer_consent(
                report,
                form.cleaned_data["question"],
                granted=form.cleaned_data["answer"] == "yes",
                identity=identity,
            )
        except ConsentRequest.DoesNotExist:
            pass  # not a question about her report: her page, unchanged
        else:
            request.session[_ANSWERED] = question.pk
    return redirect("reporting:my_report")
