"""Her browser's resumable uploads of what it sealed: the tus 1.0.0 protocol (core,
creation, termination) over evidence/resumable.py.  Thin: parse the headers, call one
service, answer.

    POST    report/uploads/          Upload-Length -> 201, Location: the upload's address
    HEAD    report/uploads/<token>/  -> Upload-Offset, Upload-Length
    PATCH   report/uploads/<token>/  Upload-Offset, application/offset+octet-stream body
    DELETE  report/uploads/<token>/  -> 204, nothing kept
    OPTIONS either                   -> Tus-Version, Tus-Extension, Tus-Max-Size

Every byte she sends is ciphertext; still, a body is never handed to Django's upload
handlers (which could spill it to a temporary file): the views are csrf_exempt so that
the middleware reads nothing first, put a handler that keeps nothing in place, check
CSRF themselves (web/csrf.py, with the X-CSRFToken header her browser sends), and the
PATCH body is read straight from the request stream by the service.

Whose upload it is: a keyed hash of her session's key, so a token copied out of her
browser opens nothing in another session.  The readers her browser must have sealed to
are counted by the page that gave them to her browser (``session["upload_readers"]``).
Refusals are JSON, ``{"reason": ..., "message": ...}``, the message in her language.
The token is her upload's address: never logged, never in an error.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from evidence import resumable
from evidence.exceptions import NotAcceptable, TooManyUploads, UploadConflict, UploadNotFound
from evidence.uploads import DiscardingUploadHandler
from web import csrf

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination"
SESSION_READERS = "upload_readers"  # set by the page that gives her browser the readers
OFFSET_OCTET_STREAM = "application/offset+octet-stream"


def _messages() -> dict[str, str]:
    # Built per request: gettext answers in the language of the page she is on.
    sealed_wrong = _(
        "This file could not be sent as it was sealed. Nothing was kept; please try again."
    )
    return {
        "header": sealed_wrong,
        "stanzas": sealed_wrong,
        "payload": sealed_wrong,
        "size": _("This file is larger than the site can take (%(mb)s MB). Nothing of it was kept.")
        % {"mb": settings.EVIDENCE_MAX_FILE_BYTES // (1024 * 1024)},
        "session": _(
            "This page has expired. Please go back to the last step of your report and "
            "choose your files again."
        ),
        "csrf": _(
            "This page has expired. Please go back to the last step of your report and "
            "choose your files again."
        ),
        "not_found": _("This upload is no longer on the server. Please send the file again."),
        "offset": _(
            "Part of this file arrived out of order. Sending continues from where it stopped."
        ),
        "busy": _(
            "Part of this file arrived out of order. Sending continues from where it stopped."
        ),
        "too_many": _(
            "Too many files are on their way at once. Wait for some to finish, or remove "
            "some, then try again."
        ),
        "request": _("This upload could not be understood. Please try again."),
    }


def _refusal(reason: str, status: int, **headers: str) -> JsonResponse:
    response = JsonResponse({"reason": reason, "message": _messages()[reason]}, status=status)
    return _tus(response, **headers)


def _tus(response: HttpResponse, **headers: str) -> HttpResponse:
    response["Tus-Resumable"] = TUS_VERSION
    # What the server holds of an upload changes with every part: never from a cache.
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _options() -> HttpResponse:
    response = HttpResponse(status=204)
    response["Tus-Version"] = TUS_VERSION
    response["Tus-Extension"] = TUS_EXTENSIONS
    response["Tus-Max-Size"] = str(resumable.largest_ciphertext(settings.EVIDENCE_MAX_FILE_BYTES))
    return _tus(response)


def upload_owner(request: HttpRequest) -> str | None:
    """Whose uploads these are: a keyed hash of her session's key (reporting/views/
    claims them with the same), so that no other browser can add to or take them."""
    key = request.session.session_key
    if not key:
        return None
    return salted_hmac("reporting.uploads", key).hexdigest()


def _header_int(request: HttpRequest, name: str) -> int | None:
    value = request.headers.get(name, "")
    return int(value) if value.isascii() and value.isdigit() else None


def _refused_request(request: HttpRequest) -> HttpResponse | None:
    """What every request but OPTIONS must pass before a byte of its body is read: the
    protocol's version, then CSRF, with no upload handler that could keep anything."""
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        return _refusal("request", 412, Tus_Version=TUS_VERSION)
    request.upload_handlers = [DiscardingUploadHandler(request)]
    if csrf.refusal(request) is not None:
        return _refusal("csrf", 403)
    return None


@csrf_exempt  # checked in _refused_request, once nothing can read the body
@require_http_methods(["OPTIONS", "POST"])
def uploads(request: HttpRequest) -> HttpResponse:
    """Start an upload of Upload-Length bytes (Upload-Metadata, if sent, is ignored:
    the file's name is hers, and sealed inside it)."""
    if request.method == "OPTIONS":
        return _options()
    if refused := _refused_request(request):
        return refused
    owner, readers = upload_owner(request), request.session.get(SESSION_READERS)
    if owner is None or not isinstance(readers, int) or readers < 1:
        return _refusal("session", 403)
    length = _header_int(request, "Upload-Length")
    if length is None:
        return _refusal("request", 400)
    try:
        token = resumable.start_upload(
            length=length, owner=owner, readers=readers, max_size=settings.EVIDENCE_MAX_FILE_BYTES
        )
    except NotAcceptable as refused:
        return _refusal(refused.reason, 413 if refused.reason == "size" else 400)
    except TooManyUploads:
        return _refusal("too_many", 429)
    response = HttpResponse(status=201)
    response["Location"] = reverse("reporting:upload", args=[token])
    return _tus(response)


@csrf_exempt  # checked in _refused_request, once nothing can read the body
@require_http_methods(["OPTIONS", "HEAD", "PATCH", "DELETE"])
def upload(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return _options()
    if refused := _refused_request(request):
        return refused
    owner = upload_owner(request)
    if owner is None:
        return _refusal("session", 403)
    try:
        if request.method == "HEAD":
            return _offset(token, owner)
        if request.method == "PATCH":
            return _append(request, token, owner)
        resumable.discard(token, owner)
        return _tus(HttpResponse(status=204))
    except UploadNotFound:
        return _refusal("not_found", 404)
    except UploadConflict as conflict:
        headers = {} if conflict.offset is None else {"Upload_Offset": str(conflict.offset)}
        return _refusal(conflict.reason, 409, **headers)
    except NotAcceptable as refused:
        return _refusal(refused.reason, 413 if refused.reason == "size" else 400)


def _offset(token: str, owner: str) -> HttpResponse:
    offset = resumable.upload_offset(token, owner)
    length = resumable.upload_length(token, owner)
    return _tus(HttpResponse(status=200), Upload_Offset=str(offset), Upload_Length=str(length))


def _append(request: HttpRequest, token: str, owner: str) -> HttpResponse:
    if request.content_type != OFFSET_OCTET_STREAM:
        return _refusal("request", 415)
    offset = _header_int(request, "Upload-Offset")
    if offset is None:
        return _refusal("request", 400)
    sent = _header_int(request, "Content-Length")
    if sent is None:
        return _refusal("request", 411)
    if offset + sent > resumable.upload_length(token, owner):
        # More than she announced: refused unread, and the upload stays as it was.
        return _refusal("size", 413)
    # The request itself is the stream: read in pieces by the service, never parsed.
    reached = resumable.append(token, owner, offset, request)
    return _tus(HttpResponse(status=204), Upload_Offset=str(reached))
