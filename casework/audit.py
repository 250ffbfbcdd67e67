"""The audit log: append-only, hash-chained, written in the same transaction as the act.

Each row carries the hash of the row before it, so removing, reordering or editing a
row breaks the chain at that point (``manage.py verify_audit`` names where).  The
database refuses UPDATE and DELETE on the table (a trigger, migration 0003), so even the
web process's own role cannot rewrite history; production also revokes those grants
(docs/CASEWORK.md, "Audit log").

What goes in: who, when, what, which case, and ids or staff-given reasons in
``detail``.  Never report content, never a reporter's anything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from django.db import connection, transaction
from django.utils import timezone

from casework.models import AuditEvent

GENESIS = "0" * 64
# Any fixed 64-bit number: one advisory lock serialises appends so each row sees the
# previous one; it is released when the transaction commits or rolls back.
_APPEND_LOCK = 0x5AFE_A0D1


class Action:
    """Every action name written to the log, in one place."""

    LOGIN = "login"
    LOGIN_FAILED = "login.failed"
    LOGIN_OTP_FAILED = "login.otp_failed"
    LOGIN_LOCKED = "login.locked"
    LOGIN_ONE_TIME_EXPIRED = "login.one_time_expired"
    LOGOUT = "logout"
    LOGOUT_IDLE = "logout.idle"
    OTP_ENROLLED = "otp.enrolled"
    RECOVERY_CODE_USED = "otp.recovery_code_used"
    PASSWORD_CHANGED = "password.changed"  # an action's name, not a password  # noqa: S105  # nosec B105
    PASSWORD_RESET = "password.reset_by_operator"  # an action's name  # noqa: S105  # nosec B105
    PASSWORD_WRONG = "password.wrong_current"  # an action's name  # noqa: S105  # nosec B105
    SECOND_FACTOR_RESET = "otp.reset_by_operator"
    ACCOUNT_CHANGED = "account.changed_by_operator"
    ORGANIZATION_CHANGED = "organization.changed_by_operator"
    MEMBER_ADDED = "member.added_by_operator"
    MEMBER_REMOVED = "member.removed"
    ROUTING_RULE_CHANGED = "routing_rule.changed_by_operator"
    MEMBER_INVITED = "member.invited"
    MEMBER_ACCESS_GRANTED = "member.access_granted"
    CASE_VIEWED = "case.viewed"
    CASE_STATUS = "case.status_changed"
    CASE_ASSIGNED = "case.assigned"
    CASE_TAGGED = "case.tagged"
    NOTE_ADDED = "note.added"
    MESSAGE_SENT = "message.sent"
    EVIDENCE_VIEWED = "evidence.viewed"
    EVIDENCE_DOWNLOADED = "evidence.downloaded"
    # Written by beat (actor "system"): nobody acknowledged it in time; retention.
    CASE_ESCALATED = "case.escalated"
    CASE_ERASED = "case.erased"
    CASE_LEGAL_HOLD = "case.legal_hold"
    REFERRAL_CREATED = "referral.created"
    REFERRAL_CONSENT_ASKED = "referral.consent_asked"
    REFERRAL_ACCEPTED = "referral.accepted"
    REFERRAL_DECLINED = "referral.declined"
    BUNDLE_REQUESTED = "bundle.requested"
    BUNDLE_APPROVED = "bundle.approved"
    BUNDLE_REFUSED = "bundle.refused"
    BUNDLE_BUILT = "bundle.built"
    BUNDLE_FAILED = "bundle.failed"
    BUNDLE_DOWNLOADED = "bundle.downloaded"
    BUNDLE_EXPIRED = "bundle.expired"
    # A bundle builder's row that the platform's signing key did not sign, passed over
    # at an approval: someone wrote it into the database (bundles/builder.py).
    BUNDLE_BUILDER_REFUSED = "bundle_builder.refused"
    # A lawyer's own age recipient for her bundles (a public key), added or removed.
    BUNDLE_RECIPIENT_ADDED = "bundle_recipient.added"
    BUNDLE_RECIPIENT_REMOVED = "bundle_recipient.removed"
    # Her organisation's key taken home under her passphrase (to open its bundles).
    ORGANIZATION_KEY_EXPORTED = "organization_key.exported"
    # Every export of the statistics, with its period, so that the coordination can see
    # which periods left (two that overlap can be subtracted: docs/STATISTICS.md).
    STATISTICS_EXPORTED = "statistics.exported"
    # The operator's "try again" on failed workflow steps (admin), with the steps' ids.
    WORKFLOW_RETRIED = "workflow.retried_by_operator"


# The actor of acts no account does (beat's escalations, retention, a bundle built).
SYSTEM = "system"

# Reading: what the timeline leaves out (it shows what was done, not who looked).
ACCESS_ACTIONS = {Action.CASE_VIEWED, Action.EVIDENCE_VIEWED, Action.EVIDENCE_DOWNLOADED}
# Nothing is recorded at the moment she files or writes: every row has an exact time,
# and hers are kept to the hour (DESIGN.md).


def _plain(value) -> bool:
    """Values whose JSON survives PostgreSQL's jsonb unchanged: a float or a non-string
    key would come back written differently and break the hash of an untouched row."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | int | bool)


def _digest(fields: dict) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _fields(event: AuditEvent) -> dict:
    return {
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "organization_id": event.organization_id,
        "action": event.action,
        "case_id": event.case_id,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
    }


def record(
    actor,
    action: str,
    *,
    case=None,
    organization=None,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one row.  Call it inside the transaction of the act it records: if the
    act rolls back, so does its row, and a committed act always has its row.

    ``actor`` is a User, or a plain label ("reporter", "system") for acts with no account.
    """
    if not _plain(detail or {}):
        raise TypeError("audit detail holds strings, integers, booleans, lists and dicts only")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_APPEND_LOCK])
        last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
        if organization is None and case is not None:
            organization = case.organization_id
        event = AuditEvent(
            seq=(last.seq + 1) if last else 1,
            at=timezone.now(),
            actor_id=getattr(actor, "pk", None),
            actor=getattr(actor, "username", None) or str(actor),
            organization_id=getattr(organization, "pk", organization),
            action=action,
            case_id=getattr(case, "pk", case),
            detail=detail or {},
            prev_hash=last.hash if last else GENESIS,
        )
        event.hash = _digest(_fields(event))
        event.save(force_insert=True)
        return event


@dataclass(frozen=True)
class Break:
    """Where the chain first fails, in words an operator can act on."""

    seq: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.seq}: {self.reason}"


def verify(*, batch: int = 5000) -> tuple[int, Break | None]:
    """(rows checked, first break or None), reading in order of ``seq``."""
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    queryset = AuditEvent.objects.order_by("seq")
    for event in queryset.iterator(chunk_size=batch):
        if event.seq != expected_seq:
            return checked, Break(expected_seq, f"missing (the next row present is {event.seq})")
        if event.prev_hash != expected_prev:
            return checked, Break(
                event.seq, "does not follow the row before it (previous hash differs)"
            )
        if _digest(_fields(event)) != event.hash:
            return checked, Break(event.seq, "was altered after it was written (hash differs)")
        expected_prev, expected_seq, checked = event.hash, event.seq + 1, checked + 1
    return checked, None
