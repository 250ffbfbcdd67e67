"""The victim's pages.  Thin: parse, call one service, render.

The intake keeps only routing facts (coarse, plaintext anyway) in the session between
steps; her words and files arrive with the last step and are sealed as they arrive.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from config import csrf
from config.ratelimit import too_many
from evidence import keys
from evidence.exceptions import CannotOpen, UploadRefused
from evidence.uploads import DiscardingUploadHandler, SealingUploadHandler
from reporting import forms, services, throttle
from reporting.exceptions import IntakeUnavailable, ReceiptNotFound
from reporting.facts import Service
from reporting.models import ConsentRequest, Message, Report

_INTAKE = "intake"
_RECEIPT = "receipt_to_show"
_RECEIPT_COOKIE = "receipt_key"


@dataclass(frozen=True)
class Step:
    name: str
    form: type
    title: str


STEPS = [
    Step("urgency", forms.UrgencyForm, _("Are you safe right now?")),
    Step("what", forms.WhatHappenedForm, _("What is happening")),
    Step("about", forms.AboutYouForm, _("About you")),
    Step("help", forms.HelpForm, _("The help you want")),
]
TOTAL_STEPS = len(STEPS) + 1  # and the last one: her words and files


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "reporting/home.html")


@require_http_methods(["GET", "POST"])
def intake_step(request: HttpRequest, name: str) -> HttpResponse:
    names = [s.name for s in STEPS]
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
        form = step.form(initial=answers.get(name))
    back = reverse("reporting:intake_step", args=[names[index - 1]]) if index else None
    return render(
        request,
        "reporting/intake/step.html",
        {"form": form, "step": step, "number": index + 1, "total": TOTAL_STEPS, "back": back},
    )


def _facts(answers: dict) -> services.ReportFacts | None:
    """The routing facts of the answers kept in the session, once every step is done."""
    try:
        about, helping = answers["about"], answers["help"]
        return services.report_facts(
            urgency=answers["urgency"]["urgency"],
            category=answers["what"]["category"],
            region=about["region"],
            language=about["language"],
            age_band=about["age_band"],
            services=helping["services"],
            consent_share=helping["consent_share"] == "yes",
            consent_statistics=helping["consent_statistics"] == "yes",
        )
    except KeyError:
        return None


def _tell_page(request, form, refusals=(), status=200, *, wait: int = 0) -> HttpResponse:
    context = {
        "form": form,
        "number": TOTAL_STEPS,
        "total": TOTAL_STEPS,
        "back": reverse("reporting:intake_step", args=[STEPS[-1].name]),
        "refusals": refusals,
        "max_file_mb": settings.EVIDENCE_MAX_FILE_BYTES // (1024 * 1024),
        "max_report_mb": settings.EVIDENCE_MAX_REPORT_BYTES // (1024 * 1024),
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
    except BaseException:
        handler.discard_all()
        raise
    if refused is not None:
        handler.discard_all()
    return handler, refused


@csrf_exempt  # see _receive_sealed
@require_http_methods(["GET", "POST"])
def intake_tell(request: HttpRequest) -> HttpResponse:
    report_facts = _facts(request.session.get(_INTAKE, {}))
    if report_facts is None:
        return redirect("reporting:intake_step", name=STEPS[0].name)
    if request.method == "GET":
        return _tell_page(request, forms.TellUsForm())
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
        if not form.is_valid() or handler.refusals:
            handler.discard_all()
            return _tell_page(request, form, handler.refusals, status=400)
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
                # database row) holds it sealed to a key that only her browser's cookie
                # carries, so a copy of the database meanwhile opens nothing.
                cookie, sealed = keys.lock_text_for_session(pending.display)
                request.session[_RECEIPT] = base64.b64encode(sealed).decode("ascii")
                request.session.save()
        except UploadRefused as refused:
            handler.discard_all()
            return _tell_page(request, form, [refused], status=400)
    except BaseException:
        handler.discard_all()
        raise
    request.session.modified = False  # saved above, with her report
    response = redirect("reporting:intake_done")
    _set_browser_half(response, _RECEIPT_COOKIE, cookie)
    return response


@require_http_methods(["GET", "POST"])
def intake_done(request: HttpRequest) -> HttpResponse:
    """Her receipt code, shown until she says she has kept it, then never again."""
    if request.method == "POST":
        request.session.pop(_RECEIPT, None)
        response = redirect("reporting:home")
        response.delete_cookie(_RECEIPT_COOKIE, samesite="Lax")
        return response
    sealed, cookie = request.session.get(_RECEIPT), request.COOKIES.get(_RECEIPT_COOKIE)
    code = None
    if sealed and cookie:
        try:
            code = keys.unlock_text_from_session(base64.b64decode(sealed), cookie)
        except CannotOpen:
            code = None
    return render(request, "reporting/intake/done.html", {"code": code})


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


@require_http_methods(["GET", "POST"])
def return_visit(request: HttpRequest) -> HttpResponse:
    form = forms.ReceiptForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if wait := throttle.receipt_wait(request):
            return too_many(
                request, "reporting/return/login.html", {"form": form}, retry_after=wait
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
    return render(request, "reporting/return/login.html", {"form": form}, status=status)


def _report_page(
    request, report, identity, refusals=(), status=200, message_form=None
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
            "added": request.session.pop(_ADDED, 0),
            "max_file_mb": settings.EVIDENCE_MAX_FILE_BYTES // (1024 * 1024),
            "max_report_mb": settings.EVIDENCE_MAX_REPORT_BYTES // (1024 * 1024),
        },
        status=status,
    )


@require_http_methods(["GET"])
def my_report(request: HttpRequest) -> HttpResponse:
    visit = _visitor(request)
    if visit is None:
        return redirect("reporting:return_visit")
    return _report_page(request, *visit)


@csrf_exempt  # see _receive_sealed
@require_http_methods(["POST"])
def my_report_evidence(request: HttpRequest) -> HttpResponse:
    visit = _visitor(request)
    if visit is None:
        return redirect("reporting:return_visit")
    report, identity = visit
    handler, refused_csrf = _receive_sealed(request, services.report_recipients(report))
    if refused_csrf is not None:
        return refused_csrf
    try:
        if handler.refusals or not handler.accepted:
            handler.discard_all()
            return _report_page(request, report, identity, handler.refusals, status=400)
        try:
            services.add_evidence(report, handler.accepted)
        except UploadRefused as refused:
            handler.discard_all()
            return _report_page(request, report, identity, [refused], status=400)
    except BaseException:
        handler.discard_all()
        raise
    request.session[_ADDED] = len(handler.accepted)
    return redirect("reporting:my_report")


@require_http_methods(["POST"])
def my_report_message(request: HttpRequest) -> HttpResponse:
    visit = _visitor(request)
    if visit is None:
        return redirect("reporting:return_visit")
    report, identity = visit
    form = forms.MessageForm(request.POST)
    if not form.is_valid():
        return _report_page(request, report, identity, status=400, message_form=form)
    services.post_message(report, form.cleaned_data["text"], author=Message.Author.REPORTER)
    return redirect(reverse("reporting:my_report") + "#messages")


@require_http_methods(["POST"])
def leave(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    response = redirect("reporting:home")
    response.delete_cookie(_REPORTER_COOKIE, samesite="Lax")
    return response


@require_http_methods(["POST"])
def my_report_consent(request: HttpRequest) -> HttpResponse:
    """Her yes or no to passing her report on to the organisation a question names."""
    visit = _visitor(request)
    if visit is None:
        return redirect("reporting:return_visit")
    report, identity = visit
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
