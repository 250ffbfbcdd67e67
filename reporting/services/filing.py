"""Filing a report: what routing sees of it (ReportFacts), what she wrote
(ReportContent), her receipt (made on the server, or as her browser made it), who a new
report is sealed to, and the report filed with the form (scripts off); then finding her
report again by her code or by the lookup her browser derived from it."""

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
from reporting.models import Report, ReporterKey
from reporting.services._common import to_the_hour
from reporting.signals import report_recorded


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
        created_at=to_the_hour(timezone.now()),
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
        **fact_fields(report_facts),
        content=evidence.seal_bytes(
            json.dumps(sealed_content, ensure_ascii=False).encode(), recipients
        ),
        sealed_to=[str(r) for r in recipients],
        created_at=to_the_hour(now),
    )
    # Positions keep the order of her files, which their random keys do not.
    items = [
        evidence.record_upload(u, recipients=recipients, actor="reporter", position=position)
        for position, u in enumerate(uploads, start=1)
    ]
    report.evidence.add(*items)
    report_recorded.send(sender=Report, report_id=report.pk)
    return report


def fact_fields(report_facts: ReportFacts) -> dict:
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
    visit with scripts on: reporting/views/visits.py); her identity stays sealed in
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
