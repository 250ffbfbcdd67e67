"""A case's files as HTTP responses, for the staff pages and the API alike: the
plaintext streams from the sealed payload to the socket, a chunk at a time, and is
written nowhere on the way.  The reader comes from ``services.open_evidence``, which
wrote the audit row before the first byte leaves."""

from __future__ import annotations

from collections.abc import Iterator

from django.http import StreamingHttpResponse

from casework.models import Case
from evidence.models import CustodyEvent, EvidenceItem

STREAM_CHUNK = 256 * 1024


def stream_chunks(reader) -> Iterator[bytes]:
    """The plaintext, a chunk at a time, straight from the sealed payload to the socket."""
    with reader:
        while block := reader.read(STREAM_CHUNK):
            yield block


def original_response(case: Case, item: EvidenceItem, reader) -> StreamingHttpResponse:
    """The original as an attachment."""
    response = StreamingHttpResponse(stream_chunks(reader), content_type=item.mime)
    # Named by the case and the hash, never by the name she gave it: that name is
    # content, and a downloads folder is not sealed.
    filename = f"{case.reference}-{item.pk}-{item.sha256[:12]}.{item.extension or 'bin'}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Content-Length"] = str(item.size)
    return response


def working_copy_response(item: EvidenceItem, reader) -> StreamingHttpResponse:
    """The sanitised copy, shown inline (no metadata, no location), as the type the
    custody event of its making names."""
    made = item.custody.filter(action=CustodyEvent.Action.WORKING_COPY_MADE).first()
    mime = (made.detail.get("mime") if made else None) or "application/octet-stream"
    response = StreamingHttpResponse(stream_chunks(reader), content_type=mime)
    response["Content-Disposition"] = "inline"
    return response
