"""Her return visits with scripts off: her code opens her report, and the server opens
her key for each page (kept meanwhile as a split key: sealed in her session, its other
half in a cookie of her browser's); her report, the files and messages she adds, and her
answers to the questions put to her.  With scripts on, the same code page opens her
report on her device instead (visits.py)."""

from __future__ import annotations

import base64
import time
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from evidence import keys
from evidence.exceptions import CannotOpen, UploadRefused
from reporting import forms, services, throttle
from reporting.exceptions import ReceiptNotFound
from reporting.facts import Service
from reporting.models import ConsentRequest, Message, Report
from reporting.views._common import (
    REPORTER_COOKIE,
    UPLOAD_PART_BYTES,
    cut_off,
    limits,
    receive_sealed,
    set_browser_half,
    too_big,
)
from web.ratelimit import too_many

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
    cookie = request.COOKIES.get(REPORTER_COOKIE)
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
    device (frontend/src/return.js, visits.py): what it needs to do so, and
    the report's page, empty, for it to fill with what it opens."""
    return {
        "form": form,
        "message_form": forms.MessageForm(),
        "receipt_work_factor": settings.EVIDENCE_RECEIPT_WORK_FACTOR,
        "part_size": UPLOAD_PART_BYTES,
        "max_image_bytes": settings.EVIDENCE_MAX_IMAGE_BYTES,
        "max_message_length": forms.NARRATIVE_LIMIT,
        **limits(),
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
                set_browser_half(response, REPORTER_COOKIE, cookie)
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
            **limits(),
        },
        status=status,
    )


@require_http_methods(["GET"])
@_her_report_open
def my_report(request: HttpRequest, report: Report, identity: keys.Identity) -> HttpResponse:
    return _report_page(request, report, identity)


@csrf_exempt  # see receive_sealed
@require_http_methods(["POST"])
@_her_report_open
def my_report_evidence(
    request: HttpRequest, report: Report, identity: keys.Identity
) -> HttpResponse:
    if too_big_mb := too_big(request):
        return _report_page(request, report, identity, status=413, too_big_mb=too_big_mb)
    handler, refused_csrf = receive_sealed(request, services.report_recipients(report))
    if refused_csrf is not None:
        return refused_csrf
    try:
        if not handler.accepted or cut_off(handler):
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
