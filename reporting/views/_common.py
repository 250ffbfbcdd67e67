"""What more than one of her pages needs: the upload limits they state, the sealing of
what a post carries as it arrives (and the refusal, unread, of a post too large), and
the browser's half of a split secret, with the names of the cookies that hold one."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from evidence.uploads import SealingUploadHandler
from web import csrf

# The browser's halves of the split secrets: the receipt on screen after filing, and her
# key on a return visit with scripts off.
RECEIPT_COOKIE = "receipt_key"
REPORTER_COOKIE = "reporter_key"
# The parts her browser uploads (frontend/src/upload.js): a lost connection costs one.
UPLOAD_PART_BYTES = 4 * 1024 * 1024
# Room in a post for her words and the form's own bytes, beside the files' limit.
_FORM_ALLOWANCE = 1024 * 1024


def limits() -> dict[str, int]:
    """The upload limits, as the pages state them beside the file field (MB)."""
    return {
        "max_file_mb": settings.EVIDENCE_MAX_FILE_BYTES // (1024 * 1024),
        "max_report_mb": settings.EVIDENCE_MAX_REPORT_BYTES // (1024 * 1024),
        # For the scripts that check her files before anything is sent.
        "max_file_bytes": settings.EVIDENCE_MAX_FILE_BYTES,
        "max_report_bytes": settings.EVIDENCE_MAX_REPORT_BYTES,
    }


def too_big(request: HttpRequest) -> int:
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


def receive_sealed(
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


def cut_off(handler: SealingUploadHandler) -> bool:
    """The post ended before its files did: the browser that sent it is most likely gone
    and will never see a receipt, so nothing of it is kept.  Files refused for what they
    are (too large, of a kind not taken) leave the others kept, and she is told."""
    return any(refusal.reason == "interrupted" for refusal in handler.refusals)


def set_browser_half(response: HttpResponse, name: str, secret: str) -> None:
    """The browser's half of a split secret: never readable by scripts, never sent to
    another site, and gone when the browser closes (no max_age)."""
    response.set_cookie(
        name, secret, httponly=True, secure=settings.SESSION_COOKIE_SECURE, samesite="Lax"
    )
