"""Reasons staff write about a case to another organisation (why a referral, why a
decline, why a bundle is refused): sealed to both organisations, because a reason may say
things about her; never written in plaintext, in the audit log or anywhere else."""

from __future__ import annotations

import json

from casework.models import Organization
from evidence import keys
from evidence import services as evidence
from evidence.exceptions import CannotOpen
from evidence.models import SealedObject


def seal_reason(text: str, *organizations: Organization) -> SealedObject:
    recipients = [keys.parse_recipient(org.key_recipient) for org in organizations]
    return evidence.seal_bytes(json.dumps({"text": text}, ensure_ascii=False).encode(), recipients)


def open_reason(sealed: SealedObject | None, org_key: keys.Identity | None) -> str | None:
    """The text, or None when there is none, it was erased, or this key does not open it."""
    if sealed is None or org_key is None or sealed.is_erased:
        return None
    try:
        return json.loads(evidence.read_object(sealed, [org_key]))["text"]
    except CannotOpen:
        return None
