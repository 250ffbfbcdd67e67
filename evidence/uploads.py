"""An upload handler that seals evidence as it arrives: plaintext never touches a disk.

Django's default handlers would write a large upload to a temporary file in plaintext.
A view that receives evidence replaces them, before it reads ``request.POST``:

    request.upload_handlers = [SealingUploadHandler(request, recipients=...)]

(the view must then be ``csrf_exempt`` and check CSRF itself with ``web.csrf.refusal``,
because the CSRF middleware would otherwise parse the body first with the default
handlers).  Each file is sealed chunk by chunk into the blob store; its type is sniffed
from its first bytes; the per-file and per-report limits are enforced as the bytes
arrive.  A refused file is skipped, not stored, and the reason is kept in
``handler.refusals`` so the form can say what went wrong while keeping the rest of what
she typed.  Accepted files appear in ``request.FILES`` as ``SealedUpload`` objects whose
content cannot be read back from them: the caller records them (``blob.record()``) in
its own transaction, or ``discard()``s them if the form is refused.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

from evidence import age
from evidence.services import BlobSealer, SealedBlob, may_be_stored
from evidence.sniff import HEAD_SIZE, Sniffed, sniff

_NAME_LIMIT = 120


def display_name(raw: str | None) -> str:
    """A file name fit to show a caseworker: no folders, no control or direction
    characters (a right-to-left override can make ``photo\u202egpj.exe`` look like a
    JPEG), at most 120 characters.  Never used as a path."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(c for c in name if unicodedata.category(c) not in {"Cc", "Cf", "Cs", "Co"})
    name = name.strip(" .")
    return name[:_NAME_LIMIT] or "file"


@dataclass(frozen=True)
class Refusal:
    """Why a file was not accepted: ``reason`` is one of "too_large", "report_too_large",
    "type" (not an allowed type), "empty", "interrupted"."""

    name: str
    reason: str


class _Unreadable:
    """Stands where an UploadedFile's content would be: the content is sealed."""

    def read(self, *args, **kwargs):
        raise OSError("sealed evidence cannot be read back from the upload")

    def seek(self, *args, **kwargs):
        return 0

    def close(self):
        return None


class SealedUpload(UploadedFile):
    """An accepted evidence file: sealed in the blob store, not yet recorded."""

    def __init__(self, *, name: str, blob: SealedBlob, sniffed: Sniffed, image: bytes | None):
        super().__init__(_Unreadable(), name=name, content_type=sniffed.mime, size=blob.size)
        self.blob = blob
        self.sniffed = sniffed
        # Images only, and only while the request runs: the working copy and the
        # perceptual hash are made from this in memory.
        self.image = image

    def discard(self) -> None:
        self.blob.discard()
        self.image = None


@dataclass
class _Current:
    name: str
    sealer: BlobSealer
    # Every byte until the type is known (a few KiB), then, for an image, the whole file.
    pending: bytearray | None = field(default_factory=bytearray)
    sniffed: Sniffed | None = None


class SealingUploadHandler(FileUploadHandler):
    chunk_size = 1024 * 1024

    def __init__(self, request=None, *, recipients: Iterable[age.Recipient]) -> None:
        super().__init__(request)
        self.recipients = list(recipients)
        self.max_file = settings.EVIDENCE_MAX_FILE_BYTES
        self.max_total = settings.EVIDENCE_MAX_REPORT_BYTES
        self.max_image = settings.EVIDENCE_MAX_IMAGE_BYTES
        self.total = 0
        self.refusals: list[Refusal] = []
        self.accepted: list[SealedUpload] = []
        self.current: _Current | None = None

    # --- Django's handler interface ---------------------------------------------------

    def new_file(
        self,
        field_name,
        file_name,
        content_type,
        content_length,
        charset=None,
        content_type_extra=None,
    ):
        super().new_file(
            field_name, file_name, content_type, content_length, charset, content_type_extra
        )
        name = display_name(file_name)
        self.current = _Current(name=name, sealer=BlobSealer(self.recipients))
        if content_length is not None and content_length > self.max_file:
            self._refuse("too_large")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        current = self.current
        if current is None:
            return None
        self.total += len(raw_data)
        if start + len(raw_data) > self.max_file:
            self._refuse("too_large")
        if self.total > self.max_total:
            self._refuse("report_too_large")
        current.sealer.write(raw_data)
        if current.pending is not None:
            current.pending += raw_data
            if current.sniffed is None and len(current.pending) >= HEAD_SIZE:
                if not self._sniff(current, complete=False):
                    self._refuse("type")
            elif current.sniffed is not None and len(current.pending) > self.max_image:
                current.pending = None  # too big to hold: kept as a sealed original only
        return None

    def file_complete(self, file_size: int) -> SealedUpload | None:
        # Django calls this outside its SkipFile handling: refuse by returning None.
        current, self.current = self.current, None
        if current is None:
            return None
        if file_size == 0 or (current.sniffed is None and not self._sniff(current, complete=True)):
            current.sealer.abort()
            self.refusals.append(Refusal(current.name, "empty" if file_size == 0 else "type"))
            return None
        try:
            blob = current.sealer.finish()
        except BaseException:
            # The last chunks failed to reach the disk (full, or gone): the file is no
            # longer this handler's current one, so remove its partial payload here.
            current.sealer.abort()
            raise
        upload = SealedUpload(
            name=current.name,
            blob=blob,
            sniffed=current.sniffed,
            image=bytes(current.pending) if current.pending is not None else None,
        )
        self.accepted.append(upload)
        return upload

    def upload_interrupted(self) -> None:
        """The request ended in the middle of a file: remove what was sealed of it."""
        if self.current is not None:
            self.current.sealer.abort()
            self.refusals.append(Refusal(self.current.name, "interrupted"))
            self.current = None

    # --- for the view -----------------------------------------------------------------

    def discard_all(self, *, failure: BaseException | None = None) -> None:
        """The form was refused or the request failed: leave nothing behind — unless it
        failed in a way that may have stored the report (``may_be_stored``): then its
        payloads stay for the rows that may name them, or for the orphan sweep."""
        self.upload_interrupted()
        if failure is not None and may_be_stored(failure):
            return
        for upload in self.accepted:
            upload.discard()
        self.accepted.clear()

    # --- helpers ----------------------------------------------------------------------

    def _sniff(self, current: _Current, *, complete: bool) -> bool:
        current.sniffed = sniff(bytes(current.pending[:HEAD_SIZE]), complete=complete)
        if current.sniffed is None:
            return False
        if current.sniffed.kind != "image" or len(current.pending) > self.max_image:
            current.pending = None
        return True

    def _refuse(self, reason: str) -> None:
        current, self.current = self.current, None
        current.sealer.abort()
        self.refusals.append(Refusal(current.name, reason))
        raise SkipFile(reason)


class DiscardingUploadHandler(FileUploadHandler):
    """Reads past every file without keeping a byte (not even in memory).

    For a post that cannot be taken now (a rate limit): the form's text fields are still
    parsed, so the page can give her words back, while her files cost nothing.
    """

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        return None

    def file_complete(self, file_size: int) -> None:
        return None
