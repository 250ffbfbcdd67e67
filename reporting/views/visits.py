"""Her return visit with scripts on (issue 18, item 7): her report opened on her device.

The page (frontend/src/return.js) takes her code, and in a Worker derives from it the
lookup her report is filed under and the secret her key is sealed under, as the server
does on the other path (reporting/receipts.py, evidence/keys.stretch_code).  Only the
lookup comes here.  The server answers with her key still sealed, and a random value
sealed to her recipient: her browser opens her key, then that value, and sends the value
back.  Only then is the visit open in this session: a copy of the database holds the
lookup, but not what opens her key, so it cannot act in her name here.

From then on the server hands her browser sealed objects only (the age files of her
words, her files' notes and contents, the messages), never opens one, and receives only
what her browser sealed: her messages and files come through the resumable uploads
(reporting/uploads.py) and are kept by their tokens; her "yes" to a referral comes as
the headers her browser re-issued with her key (frontend/src/header.js), checked here
without any key.  The session holds which report is open and the minute it was last
used (the same idle time-out as the scripts-off visit), never a key.

Scripts off, the visit goes through reporting/views/return_visit.py as before: the server opens her
key for each page.  Refusals here are JSON, ``{"reason", "message"}``, the message in
her language.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from evidence import keys
from evidence import services as evidence
from evidence.exceptions import NotAcceptable, UploadNotFound
from reporting import services, throttle, uploads
from reporting.exceptions import ReceiptNotFound, ReportChanged
from reporting.models import ConsentRequest, Message, Report
from reporting.views.return_visit import SERVICE_FOR_HER
from web.ratelimit import wait_minutes

# {"report": id, "proof": the SHA-256 of the value her browser must send back, "open":
# whether it has}.  No key, no lookup.
_VISIT = "browser_visit"
_SEEN = "browser_visit_seen"


def _messages() -> dict[str, str]:
    # Built per request: gettext answers in the language of the page she is on.
    sealed_wrong = _(
        "What you sent could not be kept as it was locked. Nothing was kept; please send again."
    )
    return {
        "code": _("This code does not open a report. Check the 16 digits and try again."),
        "closed": _("Your report was closed on this phone. Type your code again to open it."),
        "request": _("This could not be understood. Nothing was changed; please try again."),
        "uploads": _("Part of what you sent did not arrive. Nothing was kept; please send again."),
        "header": sealed_wrong,
        "stanzas": _(
            "Your report changed while you were writing. Nothing was kept; please send again."
        ),
        "payload": sealed_wrong,
        "sha256": sealed_wrong,
        "type": _("One of your files is not a kind of file we can take. Nothing was kept."),
        "report_too_large": _("Together your files are too large. Nothing was kept."),
        "no_file": _(
            "No file was chosen. Choose one or more files, then press “Add to my report”."
        ),
        "message_too_long": _(
            "This message is too long. Nothing was sent: shorten it, and send the rest in "
            "another message."
        ),
        "out_of_date": _(
            "Your report changed while you answered. Nothing was shared; please answer again."
        ),
        "question": _("This question is no longer waiting for your answer."),
    }


def _refusal(reason: str, status: int = 400) -> JsonResponse:
    messages = _messages()
    return JsonResponse(
        {"reason": reason, "message": messages.get(reason, messages["request"])}, status=status
    )


def _sent(request: HttpRequest) -> dict | None:
    try:
        sent = json.loads(request.body)
    except ValueError:
        return None
    return sent if isinstance(sent, dict) else None


def _this_minute() -> int:
    # Minutes, not seconds: the session says she is still reading, not when exactly.
    return int(time.time() // 60)


def _open_report(request: HttpRequest) -> Report | None:
    """Her report, if her browser opened it in this session, and not left idle: past
    REPORTER_IDLE_MINUTES the session ends, as on the scripts-off path."""
    visit = request.session.get(_VISIT)
    if not visit:
        return None
    if _this_minute() - request.session.get(_SEEN, 0) > settings.REPORTER_IDLE_MINUTES:
        request.session.flush()
        return None
    if not visit.get("open"):
        return None
    report = Report.objects.filter(pk=visit["report"]).first()
    if report is not None:
        request.session[_SEEN] = _this_minute()
    return report


def _her_report_open(view: Callable) -> Callable:
    @wraps(view)
    def with_her_report(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        report = _open_report(request)
        if report is None:
            return _refusal("closed", status=403)
        return view(request, report, *args, **kwargs)

    return with_her_report


def _no_store(response: HttpResponse) -> HttpResponse:
    # Her report's ciphertext and what it is made of: never from a cache.
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["POST"])
def visit_open(request: HttpRequest) -> HttpResponse:
    """{"lookup"} -> her key as sealed under her code, and a value sealed to her."""
    if wait := throttle.receipt_wait(request):
        response = JsonResponse(
            {
                "reason": "busy",
                "message": _(
                    "Too many codes were tried. Please wait %(minutes)s min, then try again."
                )
                % {"minutes": wait_minutes(wait)},
            },
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
    sent = _sent(request)
    try:
        report = services.find_by_lookup(str(sent["lookup"]))
    except (KeyError, TypeError, ReceiptNotFound):
        throttle.record_receipt_failure(request)
        return _refusal("code")
    challenge, proof = keys.key_challenge(report.reporter.key_recipient)
    request.session.cycle_key()
    request.session[_VISIT] = {"report": report.pk, "proof": proof, "open": False}
    request.session[_SEEN] = _this_minute()
    return _no_store(
        JsonResponse(
            {
                "sealed_identity": _b64(report.reporter.sealed_key),
                "challenge": _b64(challenge),
            }
        )
    )


@require_http_methods(["POST"])
def visit_prove(request: HttpRequest) -> HttpResponse:
    """{"proof"}: the value her browser opened with her key.  Right, the visit opens and
    her report comes back (sealed); wrong, it is counted as a wrong code."""
    visit = request.session.get(_VISIT)
    sent = _sent(request)
    if not visit or sent is None:
        return _refusal("closed", status=403)
    if not keys.challenge_answered(str(sent.get("proof", "")), visit["proof"]):
        request.session.pop(_VISIT, None)
        throttle.record_receipt_failure(request)
        return _refusal("code")
    request.session[_VISIT] = {"report": visit["report"], "proof": "", "open": True}
    report = _open_report(request)
    if report is None:
        return _refusal("closed", status=403)
    return _report_answer(request, report)


@require_http_methods(["GET"])
@_her_report_open
def visit_report(request: HttpRequest, report: Report) -> HttpResponse:
    """Her report as it is now (after a file added, an answer given)."""
    return _report_answer(request, report)


def _report_answer(request: HttpRequest, report: Report) -> HttpResponse:
    # What she sends next is checked for one stanza per reader it is sealed to.
    request.session[uploads.SESSION_READERS] = len(report.sealed_to)
    return _no_store(JsonResponse(_report_data(report)))


def _b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _sealed(sealed) -> dict | None:
    if sealed is None or sealed.is_erased:
        return None
    return {
        "id": str(sealed.pk),
        "header": _b64(sealed.header),
        "url": reverse("reporting:visit_object", args=[sealed.pk]),
    }


def _report_data(report: Report) -> dict:
    """Her report for her browser to open: what is sealed, as sealed objects (their
    ids, headers and where to fetch them); what is plaintext anyway (its status, the
    questions put to her), as the sentences her page shows."""
    waiting, answered = services.consent_questions(report)
    files = [
        {
            "note": _sealed(item.note),
            "original": _sealed(item.original),
            "working_copy": _sealed(item.working_copy),
            "kind": item.kind,
            "size": filesizeformat(item.size),
        }
        for item in report.evidence.select_related("original", "working_copy", "note")
    ]
    return {
        "status": str(report.get_status_display()),
        "readers": report.sealed_to,
        "content": _sealed(report.content),
        "files": [f for f in files if f["note"] and f["original"]],
        "messages": [
            {"author": m.author, "author_label": m.get_author_display(), "body": _sealed(m.body)}
            for m in report.messages.select_related("body")
            if not m.body.is_erased
        ],
        "questions": [
            {
                "id": str(q.pk),
                "recipient": q.recipient,
                "text": _(
                    "The people helping you would like to pass your report to %(org)s for "
                    "%(service)s. They would read what you wrote and see your files. Do you "
                    "agree?"
                )
                % {
                    "org": q.organization_name,
                    "service": SERVICE_FOR_HER.get(q.service, q.service),
                },
            }
            for q in waiting
        ],
        "answered": [_answered(q) for q in answered],
    }


def _answered(question: ConsentRequest) -> str:
    values = {
        "org": question.organization_name,
        "date": date_format(timezone.localtime(question.answered_at), "DATE_FORMAT"),
    }
    if question.state == ConsentRequest.State.GRANTED:
        return _("You agreed on %(date)s to pass your report to %(org)s.") % values
    return (
        _("You said no on %(date)s to passing your report to %(org)s. Nothing was shared.") % values
    )


@require_http_methods(["GET"])
@_her_report_open
def visit_object(request: HttpRequest, report: Report, pk: int) -> HttpResponse:
    """One sealed object of her report, as an age file (header, then payload), for her
    browser to open.  Only her report's: any other id is not found."""
    sealed = next((s for s in services.sealed_objects(report) if s.pk == pk), None)
    if sealed is None:
        return _refusal("request", status=404)
    response = StreamingHttpResponse(
        evidence.age_file(sealed), content_type="application/octet-stream"
    )
    response["Content-Length"] = str(len(bytes(sealed.header)) + sealed.payload_size)
    return _no_store(response)


@require_http_methods(["GET"])
@_her_report_open
def visit_headers(request: HttpRequest, report: Report) -> HttpResponse:
    """The header of every sealed object of her report, by id, and who reads it: what
    her browser re-issues for her "yes"."""
    return _no_store(
        JsonResponse(
            {
                "readers": report.sealed_to,
                "headers": {str(s.pk): _b64(s.header) for s in services.sealed_objects(report)},
            }
        )
    )


@require_http_methods(["POST"])
@_her_report_open
def visit_message(request: HttpRequest, report: Report) -> HttpResponse:
    """{"token"}: her message, sealed in her browser and uploaded."""
    sent = _sent(request)
    if sent is None or not isinstance(sent.get("token"), str):
        return _refusal("request")
    try:
        services.post_browser_message(report, sent["token"], uploads.upload_owner(request))
    except UploadNotFound:
        return _refusal("uploads")
    except NotAcceptable as refused:
        return _refusal(refused.reason)
    return JsonResponse({"author_label": str(Message.Author.REPORTER.label)})


@require_http_methods(["POST"])
@_her_report_open
def visit_evidence(request: HttpRequest, report: Report) -> HttpResponse:
    """{"files": [...]}: files sealed in her browser and uploaded, as at intake."""
    sent = _sent(request)
    try:
        files = [services.browser_file(f) for f in sent["files"]]
    except (KeyError, TypeError, AttributeError):
        return _refusal("request")
    try:
        added = services.add_browser_evidence(report, files, uploads.upload_owner(request))
    except UploadNotFound:
        return _refusal("uploads")
    except NotAcceptable as refused:
        return _refusal(refused.reason)
    text = ngettext(
        "%(counter)s file was added to your report.",
        "%(counter)s files were added to your report.",
        len(added),
    ) % {"counter": len(added)}
    return JsonResponse({"added": len(added), "message": text})


@require_http_methods(["POST"])
@_her_report_open
def visit_consent(request: HttpRequest, report: Report) -> HttpResponse:
    """{"question", "answer": "yes" | "no"}, and with a yes {"readers", "headers": {id:
    base64}}: the headers her browser re-issued with her key."""
    sent = _sent(request)
    try:
        question_id = int(sent["question"])
        granted = {"yes": True, "no": False}[sent["answer"]]
        headers = None
        if granted:
            headers = {
                int(pk): base64.b64decode(value, validate=True)
                for pk, value in dict(sent["headers"]).items()
            }
        readers = [str(r) for r in sent.get("readers", [])] if granted else None
    except (KeyError, TypeError, ValueError, binascii.Error):
        return _refusal("request")
    try:
        question = services.answer_browser_consent(
            report, question_id, granted=granted, readers=readers, headers=headers
        )
    except ConsentRequest.DoesNotExist:
        return _refusal("question", status=404)
    except ReportChanged:
        return _refusal("out_of_date", status=409)
    except NotAcceptable as refused:
        return _refusal(refused.reason)
    request.session[uploads.SESSION_READERS] = len(report.sealed_to)
    if question.state == ConsentRequest.State.GRANTED:
        thanks = _("Thank you. Your report is now shared with %(org)s.") % {
            "org": question.organization_name
        }
    else:
        thanks = _("Thank you. Nothing was shared. The people helping you go on helping you.")
    return JsonResponse({"state": question.state, "message": thanks})
