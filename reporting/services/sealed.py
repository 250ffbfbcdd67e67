"""What her browser sealed (issue 18): a report filed with her receipt as her device made
it and the sealed uploads named by their tokens; on a return visit with scripts on, her
messages and files sealed in her browser, and her "yes" to a referral as the headers her
browser re-issued with her key.  The server checks each one's form, never its content."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from evidence import browser_sealed, keys, resumable
from evidence import services as evidence
from evidence.exceptions import NotAcceptable, SealedObjectErased
from evidence.ids import next_position
from evidence.models import EvidenceItem
from evidence.sniff import ACCEPTED, Sniffed
from reporting.exceptions import ReportChanged
from reporting.models import ConsentRequest, Message, Report
from reporting.services._common import to_the_hour
from reporting.services.filing import ReportFacts, fact_fields, save_browser_receipt
from reporting.services.sharing import locked_question, record_answer, sealed_objects
from reporting.signals import evidence_added, message_posted, report_recorded


@dataclass(frozen=True)
class BrowserFile:
    """One file as her browser sealed and uploaded it: the tokens of its uploads, and
    what her device found (its type, the SHA-256 of the original)."""

    original: str
    note: str
    working_copy: str | None
    kind: str
    mime: str
    extension: str
    sha256: str


def browser_file(sent: dict) -> BrowserFile:
    """A file as her page describes it in JSON; KeyError or TypeError if it does not."""
    fields = ("original", "note", "kind", "mime", "extension", "sha256")
    return BrowserFile(
        **{name: str(sent[name]) for name in fields},
        working_copy=str(sent["working_copy"]) if sent.get("working_copy") else None,
    )


def file_browser_report(
    report_facts: ReportFacts,
    *,
    lookup: str,
    recipient: str,
    sealed_identity: bytes,
    readers: list[str],
    content: str,
    files: list[BrowserFile],
    owner: str,
) -> Report:
    """Record a report sealed on her device (issue 18): her receipt as her browser made
    it, and the sealed uploads of ``owner`` (her session) named by their tokens.

    ``readers`` are the organisations her browser was given to seal to (the page that
    gave them kept them in her session); with her own ``recipient`` first, they are who
    her report is sealed to.  The server checks each upload's form (evidence/
    browser_sealed.py), never its content.  NotAcceptable (evidence.exceptions) when
    something is not in the accepted form, UploadNotFound when an upload is not hers or
    not complete: nothing is kept, and the uploads stay for another try.
    """
    try:
        keys.check_browser_receipt(lookup, recipient, sealed_identity)
    except NotAcceptable:
        # One reason for her: her phone's receipt was not as the server keeps one.
        raise NotAcceptable("receipt") from None
    checked = [_checked_file(f) for f in files]
    tokens = _tokens(files, content)
    with evidence.discard_on_failure(), transaction.atomic():
        claimed = {token: resumable.claim(token, owner) for token in tokens}
        _within_the_limit(files, claimed)
        report = Report.objects.create(
            reporter=save_browser_receipt(lookup, recipient, sealed_identity),
            content=claimed[content],
            sealed_to=[recipient, *readers],
            created_at=to_the_hour(timezone.now()),
            **fact_fields(report_facts),
        )
        report.evidence.add(*_record_files(checked, claimed, first=1))
        report_recorded.send(sender=Report, report_id=report.pk)
    return report


def _tokens(files: list[BrowserFile], *more: str) -> list[str]:
    """Every upload a filing names, each once: the same upload named twice is refused."""
    tokens = [*more, *(t for f in files for t in (f.original, f.note, f.working_copy) if t)]
    if len(set(tokens)) != len(tokens):
        raise NotAcceptable("uploads")
    return tokens


def _within_the_limit(files: list[BrowserFile], claimed: dict) -> None:
    # The originals' sizes, which their ciphertexts' lengths give exactly.
    total = sum(evidence.plaintext_size(claimed[f.original]) for f in files)
    if total > settings.EVIDENCE_MAX_REPORT_BYTES:
        raise NotAcceptable("report_too_large")


def _record_files(checked: list, claimed: dict, *, first: int) -> list:
    """Her files as evidence items, numbered from ``first`` in the order she gave them."""
    return [
        evidence.record_browser_item(
            original=claimed[f.original],
            note=claimed[f.note],
            working_copy=claimed[f.working_copy] if f.working_copy else None,
            sniffed=sniffed,
            claimed_sha256=f.sha256,
            actor="reporter",
            position=position,
        )
        for position, (f, sniffed) in enumerate(checked, start=first)
    ]


def _checked_file(file: BrowserFile) -> tuple[BrowserFile, Sniffed]:
    sniffed = Sniffed(file.kind, file.mime, file.extension)
    if sniffed not in ACCEPTED:
        raise NotAcceptable("type")
    if not _SHA256.fullmatch(file.sha256):
        raise NotAcceptable("sha256")
    if file.working_copy and file.kind != "image":
        raise NotAcceptable("uploads")
    return file, sniffed


_SHA256 = re.compile(r"[0-9a-f]{64}")


# What a message her browser sealed may hold: {"text", "sent_at"} as JSON, the text at
# most the form's 100,000 characters, each at most 6 bytes once encoded.
MESSAGE_MAX_BYTES = 6 * 100_000 + 1024


def _locked_readers(report: Report) -> list[str]:
    """Her report's readers, its row held until the transaction ends (``lock``,
    _common.py)."""
    locked = Report.objects.select_for_update().get(pk=report.pk)
    report.sealed_to = locked.sealed_to
    return locked.sealed_to


def _sealed_for(sealed, readers: list[str]) -> None:
    # Checked again at the filing: her browser sealed it for the readers her page was
    # given, and someone may have been added to them since (NotAcceptable "stanzas").
    browser_sealed.check_reissued_header(bytes(sealed.header), readers=len(readers))


def post_browser_message(report: Report, token: str, owner: str) -> Message:
    """Her message sealed in her browser (reporting/views/visits.py) to everyone her report
    is sealed to, as post_message seals it ({"text", "sent_at"}), and uploaded by
    ``owner`` (her session) under ``token``.  Kept as post_message keeps hers, with its
    place in the conversation under the report's lock and ``message_posted`` inside the
    transaction.  UploadNotFound when the upload is not hers or not complete,
    NotAcceptable when it is not sealed for the report's readers or is larger than a
    message can be: nothing is kept, and the upload stays for another try."""
    with transaction.atomic():
        readers = _locked_readers(report)
        body = resumable.claim(token, owner)
        _sealed_for(body, readers)
        if evidence.plaintext_size(body) > MESSAGE_MAX_BYTES:
            raise NotAcceptable("message_too_long")
        message = Message.objects.create(
            report=report,
            position=next_position(Message.objects.filter(report=report)),
            author=Message.Author.REPORTER,
            body=body,
            created_at=to_the_hour(timezone.now()),
        )
        message_posted.send(
            sender=Message,
            report_id=report.pk,
            message_id=message.pk,
            author=Message.Author.REPORTER,
        )
    return message


def add_browser_evidence(report: Report, files: list[BrowserFile], owner: str) -> list:
    """Evidence she adds on a return visit with scripts on: each file as her browser
    sealed and uploaded it (seal-worker.js, as at intake), recorded as
    file_browser_report records hers, numbered after the files already there.  At most
    EVIDENCE_MAX_REPORT_BYTES at a time, as add_evidence takes.  ``evidence_added`` goes
    out inside the transaction.  NotAcceptable / UploadNotFound as file_browser_report:
    nothing is kept, and the uploads stay for another try."""
    if not files:
        raise NotAcceptable("no_file")
    checked = [_checked_file(f) for f in files]
    tokens = _tokens(files)
    with transaction.atomic():
        readers = _locked_readers(report)
        claimed = {token: resumable.claim(token, owner) for token in tokens}
        for sealed in claimed.values():
            _sealed_for(sealed, readers)
        _within_the_limit(files, claimed)
        first = next_position(EvidenceItem.objects.filter(reports=report))
        items = _record_files(checked, claimed, first=first)
        report.evidence.add(*items)
        evidence_added.send(
            sender=Report, report_id=report.pk, item_ids=[item.pk for item in items]
        )
    return items


def readers_after_yes(report: Report, question: ConsentRequest) -> list[str]:
    """Who reads her report once she says yes to ``question``: the readers it has, and
    the organisation asked about (once)."""
    if question.recipient in report.sealed_to:
        return list(report.sealed_to)
    return [*report.sealed_to, question.recipient]


@transaction.atomic
def answer_browser_consent(
    report: Report,
    request_id: int,
    *,
    granted: bool,
    readers: list[str] | None = None,
    headers: dict[int, bytes] | None = None,
) -> ConsentRequest:
    """Her answer given with scripts on (reporting/views/visits.py), her key open only in her
    browser.  Yes: her browser re-issued the header of every sealed object of her
    report for ``readers_after_yes`` (frontend/src/header.js) and sends them, by sealed
    object id, with the ``readers`` it found; the server, holding no key, checks that
    they are exactly the report's objects for exactly those readers (one X25519 stanza
    each, nothing else) and puts them in place, all or none.  No: nothing is shared.
    As answer_consent otherwise: the same states and the same ``consent_answered``.

    ReportChanged when the report is no longer as her browser found it (a message, a
    file, a reader added since: her page fetches it again); NotAcceptable when a header
    is not in the accepted form; ConsentRequest.DoesNotExist for a question that is not
    about her report.  Nothing changes with any of them."""
    # Locked first, as add_reader does: a share by a caseworker at the same moment would
    # otherwise write its headers between these.
    locked = Report.objects.select_for_update().get(pk=report.pk)
    question = locked_question(report, request_id)
    if question.state != ConsentRequest.State.ASKED:
        return question
    if granted:
        if readers != locked.sealed_to:
            raise ReportChanged
        after = readers_after_yes(locked, question)
        sealed = sealed_objects(locked)
        if set(headers or {}) != {s.pk for s in sealed}:
            raise ReportChanged
        for each in sealed:
            browser_sealed.check_reissued_header(headers[each.pk], readers=len(after))
        try:
            for each in sealed:
                evidence.replace_header(each, headers[each.pk], readers=len(after))
        except SealedObjectErased:
            raise ReportChanged from None
        Report.objects.filter(pk=report.pk).update(sealed_to=after)
        report.sealed_to = after
    return record_answer(report, question, granted=granted)
