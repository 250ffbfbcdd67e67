"""State changes on the reporter's side.  This first part: her key and receipt code."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from evidence import keys
from evidence.exceptions import CannotOpen
from reporting import receipts
from reporting.exceptions import ReceiptNotFound
from reporting.models import ReporterKey


def _stretch(code: str) -> keys.StretchedCode:
    return keys.stretch_code(code, work_factor=settings.EVIDENCE_RECEIPT_WORK_FACTOR)


@transaction.atomic
def issue_receipt() -> tuple[ReporterKey, str]:
    """A new reporter identity and the receipt code that opens it (shown once)."""
    code = receipts.new_code()
    stretched = _stretch(code)
    identity = keys.new_identity()
    reporter = ReporterKey.objects.create(
        lookup=stretched.lookup,
        key_recipient=str(identity.recipient),
        sealed_key=keys.seal_identity_under_strong_secret(identity, stretched.passphrase),
        created_at=timezone.now().replace(minute=0, second=0, microsecond=0),
    )
    return reporter, receipts.display(code)


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
