"""State changes on the reporter's side: her key and receipt, and filing a report."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from evidence import browser_sealed, keys, resumable
from evidence import services as evidence
from evidence.exceptions import CannotOpen, NotAcceptable, SealedObjectErased
from evidence.ids import next_position
from evidence.models import EvidenceItem
from evidence.sniff import ACCEPTED, Sniffed
from reporting import facts, receipts
from reporting.exceptions import IntakeUnavailable, ReceiptNotFound, ReportChanged
from reporting.models import ConsentRequest, Message, Report, ReporterKey
from reporting.signals import consent_answered, evidence_added, message_posted, report_recorded


@dataclass(frozen=True)
class ReportFacts:
    """What routing, triage and statistics see: coarse and non-identifying."""

    urgency: list[str]
    category: str
    region: str
    language: str
    age_band: str
    services: list[str]
    consent_share: bool
    consent_statistics: bool


def report_facts(
    *,
    urgency: Iterable[str],
    category: str,
    region: str,
    language: str,
    age_band: str,
    services: Iterable[str],
    consent_share: bool,
    consent_statistics: bool,
) -> ReportFacts:
    """The routing facts of her answers.  Being under 18 is itself a sign of urgency, so
    "minor" joins the signals she ticked (the pages and the API both come through here)."""
    signals = set(urgency)
    if age_band == facts.AgeBand.UNDER_18:
        signals.add(facts.UrgencySignal.MINOR.value)
    return ReportFacts(
        urgency=sorted(signals),
        category=category,
        region=region,
        language=language,
        age_band=age_band,
        services=sorted(services),
        consent_share=consent_share,
        consent_statistics=consent_statistics,
    )


@dataclass(frozen=True)
class ReportContent:
    """What she wrote: sealed, never stored or logged in plaintext."""

    narrative: str
    identifiers: str = ""
    contact: str = ""


@dataclass(frozen=True)
class PendingReceipt:
    """A receipt made before the report is filed, so that evidence arriving with the
    form can be sealed to her from its first byte."""

    code: str = field(repr=False)
    identity: keys.Identity = field(repr=False)
    stretched: keys.StretchedCode = field(repr=False)

    @property
    def recipient(self) -> keys.Recipient:
        return self.identity.recipient

    @property
    def display(self) -> str:
        return receipts.display(self.code)


# Who else a new report is sealed to (besides her) is decided by casework, which this app
# may not import: casework registers the function when it starts (casework/apps.py).
RecipientResolver = Callable[[ReportFacts], list[keys.Recipient]]
_recipient_resolver: RecipientResolver | None = None


def register_recipient_resolver(resolver: RecipientResolver) -> None:
    global _recipient_resolver  # one resolver per process, set at start-up
    _recipient_resolver = resolver


def helper_recipients(report_facts: ReportFacts) -> list[keys.Recipient]:
    """The organisations that will read a report with these facts (routing's choice and
    the coordination): what her browser seals to, besides her own key."""
    helpers = _recipient_resolver(report_facts) if _recipient_resolver else []
    if not helpers:
        raise IntakeUnavailable
    return helpers


def recipients_for(report_facts: ReportFacts, pending: PendingReceipt) -> list[keys.Recipient]:
    """Her own recipient and the organisations that will read the report."""
    return [pending.recipient, *helper_recipients(report_facts)]


def _stretch(code: str) -> keys.StretchedCode:
    return keys.stretch_code(code, work_factor=settings.EVIDENCE_RECEIPT_WORK_FACTOR)


def _to_the_hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def new_receipt() -> PendingReceipt:
    code = receipts.new_code()
    return PendingReceipt(code, keys.new_identity(), _stretch(code))


def save_reporter(pending: PendingReceipt) -> ReporterKey:
    """Her receipt, made on the server (scripts off)."""
    sealed = keys.seal_identity_under_strong_secret(pending.identity, pending.stretched.passphrase)
    return _reporter_row(pending.stretched.lookup, str(pending.recipient), sealed)


def save_browser_receipt(lookup: str, recipient: str, sealed_identity: bytes) -> ReporterKey:
    """Her receipt, made on her device (frontend/src/receipt-worker.js): the server gets
    what it stores for any receipt, and never the code or the secret derived from it.
    NotAcceptable (evidence.exceptions) when it is not in that form; nothing is kept."""
    keys.check_browser_receipt(lookup, recipient, sealed_identity)
    return _reporter_row(lookup, recipient, sealed_identity)


def _reporter_row(lookup: str, recipient: str, sealed_identity: bytes) -> ReporterKey:
    return ReporterKey.objects.create(
        lookup=lookup,
        key_recipient=recipient,
        sealed_key=sealed_identity,
        created_at=_to_the_hour(timezone.now()),
    )


def file_report(
    report_facts: ReportFacts,
    content: ReportContent,
    uploads: Iterable,
    *,
    pending: PendingReceipt,
    recipients: list[keys.Recipient],
) -> Report:
    """Record a report: facts in plaintext, her words and files sealed to ``recipients``.

    ``uploads`` are the SealedUploads of the form, sealed to the same recipients.
    ``report_recorded`` goes out inside the transaction.  If anything fails, nothing of
    the report remains: no row, no case, no workflow step, and no payload sealed on the
    way.
    """
    with evidence.discard_on_failure(), transaction.atomic():
        return _file_report(report_facts, content, uploads, pending, recipients)


def _file_report(report_facts, content, uploads, pending, recipients) -> Report:
    now = timezone.now()
    sealed_content = {**asdict(content), "filed_at": now.isoformat()}
    report = Report.objects.create(
        reporter=save_reporter(pending),
        **_fact_fields(report_facts),
        content=evidence.seal_bytes(
            json.dumps(sealed_content, ensure_ascii=False).encode(), recipients
        ),
        sealed_to=[str(r) for r in recipients],
        created_at=_to_the_hour(now),
    )
    # Positions keep the order of her files, which their random keys do not.
    items = [
        evidence.record_upload(u, recipients=recipients, actor="reporter", position=position)
        for position, u in enumerate(uploads, start=1)
    ]
    report.evidence.add(*items)
    report_recorded.send(sender=Report, report_id=report.pk)
    return report


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
    tokens = [content, *(t for f in files for t in (f.original, f.note, f.working_copy) if t)]
    if len(set(tokens)) != len(tokens):
        raise NotAcceptable("uploads")
    with evidence.discard_on_failure(), transaction.atomic():
        claimed = {token: resumable.claim(token, owner) for token in tokens}
        items = [(f, sniffed, claimed[f.original]) for f, sniffed in checked]
        if sum(evidence.plaintext_size(original) for *_, original in items) > (
            settings.EVIDENCE_MAX_REPORT_BYTES
        ):
            raise NotAcceptable("report_too_large")
        report = Report.objects.create(
            reporter=save_browser_receipt(lookup, recipient, sealed_identity),
            content=claimed[content],
            sealed_to=[recipient, *readers],
            created_at=_to_the_hour(timezone.now()),
            **_fact_fields(report_facts),
        )
        report.evidence.add(
            *(
                evidence.record_browser_item(
                    original=original,
                    note=claimed[f.note],
                    working_copy=claimed[f.working_copy] if f.working_copy else None,
                    sniffed=sniffed,
                    claimed_sha256=f.sha256,
                    actor="reporter",
                    position=position,
                )
                for position, (f, sniffed, original) in enumerate(items, start=1)
            )
        )
        report_recorded.send(sender=Report, report_id=report.pk)
    return report


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


def _fact_fields(report_facts: ReportFacts) -> dict:
    return {
        "urgency": sorted(report_facts.urgency),
        "category": report_facts.category,
        "gbvims_type": facts.GBVIMS_TYPE[report_facts.category],
        "region": report_facts.region,
        "language": report_facts.language,
        "age_band": report_facts.age_band,
        "services": sorted(report_facts.services),
        "consent_share": report_facts.consent_share,
        "consent_statistics": report_facts.consent_statistics,
    }


def _lock(report: Report) -> None:
    """Hold her report's row until the transaction ends: what counts a position up
    within it (a message, a file, a question) waits for the one before."""
    Report.objects.select_for_update().filter(pk=report.pk).values_list("pk").get()


def report_recipients(report: Report) -> list[keys.Recipient]:
    """Who everything of this report is sealed to: her, and the organisations reading it."""
    return [keys.parse_recipient(r) for r in report.sealed_to]


def add_evidence(report: Report, uploads: Iterable) -> list:
    """Evidence she adds on a return visit, sealed like the rest of her report.

    ``uploads`` must have been sealed to ``report_recipients(report)``.
    ``evidence_added`` goes out inside the transaction, with ids only.
    """
    recipients = report_recipients(report)
    with evidence.discard_on_failure(), transaction.atomic():
        # Locked: two uploads at once would number their files the same.
        _lock(report)
        first = next_position(EvidenceItem.objects.filter(reports=report))
        items = [
            evidence.record_upload(u, recipients=recipients, actor="reporter", position=position)
            for position, u in enumerate(uploads, start=first)
        ]
        report.evidence.add(*items)
        evidence_added.send(
            sender=Report, report_id=report.pk, item_ids=[item.pk for item in items]
        )
    return items


def set_status(report: Report, status: str) -> None:
    """What she reads on her return visit about where her report stands.  Casework
    calls this when a case moves; the words are hers to read, so they live here."""
    if status not in Report.Status.values:
        raise ValueError(status)
    Report.objects.filter(pk=report.pk).update(status=status)
    report.status = status


def open_receipt(text: str) -> tuple[ReporterKey, keys.Identity]:
    """The reporter and her identity, from the code she typed."""
    code = receipts.normalise(text)
    if code is None:
        raise ReceiptNotFound
    stretched = _stretch(code)
    reporter = ReporterKey.objects.filter(lookup=stretched.lookup).first()
    if reporter is None:
        raise ReceiptNotFound
    try:
        return reporter, keys.open_identity_with_passphrase(
            reporter.sealed_key, stretched.passphrase
        )
    except CannotOpen:
        raise ReceiptNotFound from None


def find_by_lookup(lookup: str) -> Report:
    """Her report, found by the lookup her browser derived from her code (a return
    visit with scripts on: reporting/visits.py); her identity stays sealed in
    ``report.reporter.sealed_key`` for her browser to open.  ReceiptNotFound when no
    report answers to it, or its key was erased (retention)."""
    report = (
        Report.objects.select_related("reporter")
        .filter(reporter__lookup=lookup)
        .exclude(reporter__sealed_key=b"")
        .first()
    )
    if report is None:
        raise ReceiptNotFound
    return report


def post_message(report: Report, text: str, *, author: str) -> Message:
    """A message on her report, from her or from the people helping her (casework
    calls this with author=HELPER).  Sealed to everyone her report is sealed to;
    ``message_posted`` goes out inside the transaction, with ids only."""
    recipients = report_recipients(report)
    now = timezone.now()
    with evidence.discard_on_failure(), transaction.atomic():
        # Locked: her message and a reply at the same moment would take one position.
        _lock(report)
        message = Message.objects.create(
            report=report,
            position=next_position(Message.objects.filter(report=report)),
            author=author,
            body=evidence.seal_bytes(
                json.dumps({"text": text, "sent_at": now.isoformat()}, ensure_ascii=False).encode(),
                recipients,
            ),
            created_at=_to_the_hour(now),
        )
        message_posted.send(
            sender=Message, report_id=report.pk, message_id=message.pk, author=author
        )
    return message


# What a message her browser sealed may hold: {"text", "sent_at"} as JSON, the text at
# most the form's 100,000 characters, each at most 6 bytes once encoded.
MESSAGE_MAX_BYTES = 6 * 100_000 + 1024


def _locked_readers(report: Report) -> list[str]:
    """Her report's readers, its row held until the transaction ends (``_lock``)."""
    locked = Report.objects.select_for_update().get(pk=report.pk)
    report.sealed_to = locked.sealed_to
    return locked.sealed_to


def _sealed_for(sealed, readers: list[str]) -> None:
    # Checked again at the filing: her browser sealed it for the readers her page was
    # given, and someone may have been added to them since (NotAcceptable "stanzas").
    browser_sealed.check_reissued_header(bytes(sealed.header), readers=len(readers))


def post_browser_message(report: Report, token: str, owner: str) -> Message:
    """Her message sealed in her browser (reporting/visits.py) to everyone her report
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
            created_at=_to_the_hour(timezone.now()),
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
    tokens = [t for f in files for t in (f.original, f.note, f.working_copy) if t]
    if len(set(tokens)) != len(tokens):
        raise NotAcceptable("uploads")
    with transaction.atomic():
        readers = _locked_readers(report)
        claimed = {token: resumable.claim(token, owner) for token in tokens}
        for sealed in claimed.values():
            _sealed_for(sealed, readers)
        if sum(evidence.plaintext_size(claimed[f.original]) for f in files) > (
            settings.EVIDENCE_MAX_REPORT_BYTES
        ):
            raise NotAcceptable("report_too_large")
        first = next_position(EvidenceItem.objects.filter(reports=report))
        items = [
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
        report.evidence.add(*items)
        evidence_added.send(
            sender=Report, report_id=report.pk, item_ids=[item.pk for item in items]
        )
    return items


def read_messages(report: Report, identity: keys.Identity) -> list[dict]:
    """The conversation, oldest first, opened in memory."""
    return [
        {
            "author": message.author,
            "author_label": message.get_author_display(),
            "text": json.loads(evidence.read_object(message.body, [identity]))["text"],
            "hour": message.created_at,
        }
        for message in report.messages.select_related("body")
    ]


def evidence_name(item, identity: keys.Identity) -> str:
    """The name she gave a file, from its sealed note."""
    return json.loads(evidence.read_object(item.note, [identity]))["name"]


def read_content(report: Report, identity: keys.Identity) -> dict:
    """Her sealed words, opened in memory with a key that holds access."""
    return json.loads(evidence.read_object(report.content, [identity]))


@transaction.atomic
def erase_report(report: Report) -> int:
    """Crypto-erasure of everything sealed of her report (retention): her words, her
    files and their notes, the conversation, and her own key, so her receipt opens
    nothing any more.  The routing facts stay, for statistics.  Returns how many sealed
    objects were erased; safe to run twice."""
    erased = 0
    for item in report.evidence.select_related("original", "working_copy", "note"):
        erased += evidence.erase_item(item)
    for sealed in [report.content, *(m.body for m in report.messages.select_related("body"))]:
        if sealed.erased_at is None:
            evidence.erase_object(sealed)
            erased += 1
    ReporterKey.objects.filter(pk=report.reporter_id).update(sealed_key=b"")
    return erased


# --- who reads her report, and the questions put to her about it --------------------------


def sealed_objects(report: Report) -> list:
    """Every sealed object of her report that can still be opened: her words, each
    file's original, working copy and note, and the conversation.  What a share
    re-issues, and all her browser may fetch on a return visit with scripts on."""
    sealed = [report.content]
    for item in report.evidence.select_related("original", "working_copy", "note"):
        sealed += [item.original, item.working_copy, item.note]
    sealed += [message.body for message in report.messages.select_related("body")]
    return [s for s in sealed if s is not None and not s.is_erased]


def _reissue(report: Report, readers: list[str], unlocked_by: keys.Identity) -> None:
    # Headers only: each payload stays as it is on disk, however large (DESIGN.md).
    recipients = [keys.parse_recipient(r) for r in readers]
    for sealed in sealed_objects(report):
        evidence.share_object(sealed, unlocked_by=[unlocked_by], recipients=recipients)
    Report.objects.filter(pk=report.pk).update(sealed_to=readers)


@transaction.atomic
def add_reader(report: Report, recipient: str, *, unlocked_by: keys.Identity) -> bool:
    """Share her whole report with one more organisation: re-issue the header of each
    of its sealed objects with ``recipient`` added, by a key that opens them (hers, or
    an organisation's that reads it already).  What she adds later is sealed to it too.
    False if it reads the report already.  CannotOpen if ``unlocked_by`` opens nothing."""
    keys.parse_recipient(recipient)
    # Locked: two shares at once would each write the headers without the other's reader.
    locked = Report.objects.select_for_update().get(pk=report.pk)
    if recipient in locked.sealed_to:
        report.sealed_to = locked.sealed_to
        return False
    readers = [*locked.sealed_to, recipient]
    _reissue(locked, readers, unlocked_by)
    report.sealed_to = readers
    return True


@transaction.atomic
def remove_reader(report: Report, recipient: str, *, unlocked_by: keys.Identity) -> bool:
    """Stop sharing her report with an organisation: re-issue every header without it.
    Her own recipient is never removed.  False if it did not read the report."""
    locked = Report.objects.select_for_update().get(pk=report.pk)
    if recipient not in locked.sealed_to:
        report.sealed_to = locked.sealed_to
        return False
    if recipient == locked.sealed_to[0]:
        raise ValueError("her own key always reads her report")
    readers = [r for r in locked.sealed_to if r != recipient]
    _reissue(locked, readers, unlocked_by)
    report.sealed_to = readers
    return True


@transaction.atomic
def ask_consent(
    report: Report, *, service: str, organization_name: str, recipient: str
) -> ConsentRequest:
    """Put a question to her, shown on her next return visit: may her report go to this
    organisation, for this help?  Nothing is shared until she says yes."""
    if service not in facts.Service.values:
        raise ValueError(service)
    keys.parse_recipient(recipient)
    _lock(report)
    return ConsentRequest.objects.create(
        report=report,
        position=next_position(ConsentRequest.objects.filter(report=report)),
        service=service,
        organization_name=organization_name,
        recipient=recipient,
        asked_at=_to_the_hour(timezone.now()),
    )


@transaction.atomic
def answer_consent(
    report: Report, request_id: int, *, granted: bool, identity: keys.Identity
) -> ConsentRequest:
    """Her answer, on her return visit.  Yes: her own key, open for this visit, shares
    every sealed object of her report with the organisation asked about (headers only).
    No: nothing is shared.  ``consent_answered`` goes out inside the transaction.
    An answer already given stays (a second click, the back button): nothing changes.
    ConsentRequest.DoesNotExist for a question that is not about her report."""
    question = (
        ConsentRequest.objects.select_for_update().filter(pk=request_id, report=report).first()
    )
    if question is None:
        raise ConsentRequest.DoesNotExist(request_id)
    if question.state != ConsentRequest.State.ASKED:
        return question
    if granted:
        add_reader(report, question.recipient, unlocked_by=identity)
    return _record_answer(report, question, granted=granted)


def _record_answer(report: Report, question: ConsentRequest, *, granted: bool) -> ConsentRequest:
    question.state = ConsentRequest.State.GRANTED if granted else ConsentRequest.State.REFUSED
    # To the hour, like every time of hers: an exact one would date her visit.
    question.answered_at = _to_the_hour(timezone.now())
    question.save(update_fields=["state", "answered_at"])
    consent_answered.send(
        sender=ConsentRequest, report_id=report.pk, request_id=question.pk, granted=granted
    )
    return question


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
    """Her answer given with scripts on (reporting/visits.py), her key open only in her
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
    question = (
        ConsentRequest.objects.select_for_update().filter(pk=request_id, report=report).first()
    )
    if question is None:
        raise ConsentRequest.DoesNotExist(request_id)
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
    return _record_answer(report, question, granted=granted)


def consent_questions(report: Report) -> tuple[list[ConsentRequest], list[ConsentRequest]]:
    """(waiting for her answer, answered), oldest first: what her page shows."""
    questions = list(report.consent_requests.all())
    waiting = [q for q in questions if q.state == ConsentRequest.State.ASKED]
    return waiting, [q for q in questions if q.state != ConsentRequest.State.ASKED]
