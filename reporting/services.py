"""State changes on the reporter's side: her key and receipt, and filing a report."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from evidence import keys
from evidence import services as evidence
from evidence.exceptions import CannotOpen
from reporting import facts, receipts
from reporting.exceptions import IntakeUnavailable, ReceiptNotFound
from reporting.models import Message, Report, ReporterKey
from reporting.signals import evidence_added, message_posted, report_filed, report_recorded


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


def recipients_for(report_facts: ReportFacts, pending: PendingReceipt) -> list[keys.Recipient]:
    """Her own recipient and the organisations that will read the report."""
    helpers = _recipient_resolver(report_facts) if _recipient_resolver else []
    if not helpers:
        raise IntakeUnavailable
    return [pending.recipient, *helpers]


def _stretch(code: str) -> keys.StretchedCode:
    return keys.stretch_code(code, work_factor=settings.EVIDENCE_RECEIPT_WORK_FACTOR)


def _to_the_hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def new_receipt() -> PendingReceipt:
    code = receipts.new_code()
    return PendingReceipt(code, keys.new_identity(), _stretch(code))


def save_reporter(pending: PendingReceipt) -> ReporterKey:
    return ReporterKey.objects.create(
        lookup=pending.stretched.lookup,
        key_recipient=str(pending.recipient),
        sealed_key=keys.seal_identity_under_strong_secret(
            pending.identity, pending.stretched.passphrase
        ),
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
    ``report_filed`` goes out once the transaction has committed.  If anything fails,
    nothing of the report remains: no row, and no payload sealed on the way.
    """
    with evidence.discard_on_failure(), transaction.atomic():
        return _file_report(report_facts, content, uploads, pending, recipients)


def _file_report(report_facts, content, uploads, pending, recipients) -> Report:
    now = timezone.now()
    sealed_content = {**asdict(content), "filed_at": now.isoformat()}
    report = Report.objects.create(
        reporter=save_reporter(pending),
        urgency=sorted(report_facts.urgency),
        category=report_facts.category,
        gbvims_type=facts.GBVIMS_TYPE[report_facts.category],
        region=report_facts.region,
        language=report_facts.language,
        age_band=report_facts.age_band,
        services=sorted(report_facts.services),
        consent_share=report_facts.consent_share,
        consent_statistics=report_facts.consent_statistics,
        content=evidence.seal_bytes(
            json.dumps(sealed_content, ensure_ascii=False).encode(), recipients
        ),
        sealed_to=[str(r) for r in recipients],
        created_at=_to_the_hour(now),
    )
    items = [evidence.record_upload(u, recipients=recipients, actor="reporter") for u in uploads]
    report.evidence.add(*items)
    report_recorded.send(sender=Report, report_id=report.pk)
    transaction.on_commit(lambda: report_filed.send(sender=Report, report_id=report.pk))
    return report


def report_recipients(report: Report) -> list[keys.Recipient]:
    """Who everything of this report is sealed to: her, and the organisations reading it."""
    return [keys.parse_recipient(r) for r in report.sealed_to]


def add_evidence(report: Report, uploads: Iterable) -> list:
    """Evidence she adds on a return visit, sealed like the rest of her report.

    ``uploads`` must have been sealed to ``report_recipients(report)``.
    ``evidence_added`` goes out after commit, with ids only.
    """
    recipients = report_recipients(report)
    with evidence.discard_on_failure(), transaction.atomic():
        items = [
            evidence.record_upload(u, recipients=recipients, actor="reporter") for u in uploads
        ]
        report.evidence.add(*items)
        ids = [item.pk for item in items]
        transaction.on_commit(
            lambda: evidence_added.send(sender=Report, report_id=report.pk, item_ids=ids)
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


def post_message(report: Report, text: str, *, author: str) -> Message:
    """A message on her report, from her or from the people helping her (casework
    calls this with author=HELPER).  Sealed to everyone her report is sealed to;
    ``message_posted`` goes out after commit, with ids only."""
    recipients = report_recipients(report)
    now = timezone.now()
    with evidence.discard_on_failure(), transaction.atomic():
        message = Message.objects.create(
            report=report,
            author=author,
            body=evidence.seal_bytes(
                json.dumps({"text": text, "sent_at": now.isoformat()}, ensure_ascii=False).encode(),
                recipients,
            ),
            created_at=_to_the_hour(now),
        )
        transaction.on_commit(
            lambda: message_posted.send(sender=Message, report_id=report.pk, message_id=message.pk)
        )
    return message


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
