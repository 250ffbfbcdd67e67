"""Cases: opening one for each report, moving it through its states, and reading it.

Reading is here too, because every read of content is an act the audit log records in
the same transaction.  Plaintext exists only in the objects these functions return,
for the request that asked; nothing here writes it anywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from casework import audit, selectors, states, triage
from casework.audit import Action
from casework.exceptions import KeyLocked, NotAllowed, OutcomeMissing, TransitionRefused
from casework.models import Case, CaseNote, DownloadReason, Membership, Organization, Tag, User
from casework.services.access import (
    note_member_activity,
    open_organization_key,
    require_case_reader,
    require_case_worker,
    require_not_erased,
)
from casework.services.reasons import open_reason, seal_reason
from evidence import keys
from evidence import services as evidence
from evidence.exceptions import CannotOpen
from evidence.models import EvidenceItem, SealedObject
from reporting import services as reporting
from reporting.models import Message, Report

Status = Case.Status


@transaction.atomic
def open_case(report_id: int) -> Case:
    """The case for a new report, owned by the organisation it was sealed to for
    handling (the first after her own recipient; casework/routing.py chose it).

    Runs inside the filing transaction (reporting's ``report_recorded``); safe to run
    twice.
    """
    existing = Case.objects.filter(report_id=report_id).first()
    if existing is not None:
        return existing
    report = Report.objects.get(pk=report_id)
    owner = Organization.objects.filter(key_recipient__in=report.sealed_to[1:2]).first()
    if owner is None:
        # recipients_for() refuses a report with no organisation to read it, so this is
        # a programming error, not a visitor's: fail the filing rather than lose a case.
        raise LookupError(f"report {report_id} is sealed to no known organisation")
    assessment = triage.assess(report.urgency, report.category)
    case = Case.objects.create(
        report=report,
        organization=owner,
        urgent=assessment.priority == triage.Priority.IMMEDIATE,
        priority=assessment.priority,
        priority_reasons=assessment.reasons,
        opened_at=report.created_at,
        sla_due_at=report.created_at + timedelta(hours=assessment.sla_hours),
    )
    # No audit row here: its exact time, or its place in the chain between rows with
    # exact times, would date her filing to the minute.  The case keeps the hour only.
    return case


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update().get(pk=case.pk)


@transaction.atomic
def change_status(case: Case, to: str, *, actor: User, outcome: str = "") -> Case:
    """Move the case along casework/states.py, and tell her in plain words.

    Acknowledging stops the SLA clock; acknowledging an unassigned case gives it to
    whoever acknowledged it (a tired caseworker takes it in one click; a triage lead
    reassigns it as she pleases).  Closing needs ``outcome``, one of ``Case.Outcome``
    (OutcomeMissing otherwise), kept on the case and in the audit row; reopening leaves
    it where it was (the last reason it was closed for) and closing again asks again.
    """
    require_case_worker(case, actor)
    locked = _locked(case)
    if locked.erased_at is not None:  # nothing left to work on: it stays closed
        raise TransitionRefused(locked.status, to)
    if not states.allowed(locked.status, to, consent_share=states.has_consent(locked)):
        raise TransitionRefused(locked.status, to)
    detail = {}
    if states.needs_outcome(to):
        if outcome not in Case.Outcome.values:
            raise OutcomeMissing(case.pk)
        detail["outcome"] = outcome
    previous = locked.status
    now = timezone.now()
    locked.status = to
    fields = ["status"]
    if detail:
        locked.outcome = outcome
        fields.append("outcome")
    if to == Status.ACKNOWLEDGED:
        locked.acknowledged_at = now
        fields.append("acknowledged_at")
        if locked.assignee_id is None:
            locked.assignee = actor
            fields.append("assignee")
    if to == Status.CLOSED:
        locked.closed_at = now
        fields.append("closed_at")
    elif previous == Status.CLOSED:
        locked.closed_at = None
        fields.append("closed_at")
    locked.last_activity_at = now
    locked.save(update_fields=[*fields, "last_activity_at"])
    reporting.set_status(locked.report, states.REPORTER_STATUS[to])
    audit.record(
        actor, Action.CASE_STATUS, case=locked, detail={"from": previous, "to": to, **detail}
    )
    return locked


@transaction.atomic
def assign_case(case: Case, assignee: User | None, *, actor: User) -> Case:
    """Give the case to a member of its organisation who works cases, or to nobody.
    A caseworker may take a case herself; giving it to someone else is a lead's job."""
    membership = require_case_worker(case, actor)
    if assignee is not None:
        target = Membership.objects.filter(user=assignee, organization_id=case.organization_id)
        target = target.first()
        if target is None or not target.can_work_cases:
            raise NotAllowed("assign", case.pk)
    if not membership.can_assign_others and assignee not in (None, actor):
        raise NotAllowed("assign", case.pk)
    locked = _locked(case)
    if not membership.can_assign_others and locked.assignee_id not in (None, actor.pk):
        # Taking a colleague's case, or releasing it, is the lead's call.
        raise NotAllowed("assign", case.pk)
    locked.assignee = assignee
    locked.last_activity_at = timezone.now()
    locked.save(update_fields=["assignee", "last_activity_at"])
    audit.record(
        actor, Action.CASE_ASSIGNED, case=locked, detail={"to": assignee.pk if assignee else None}
    )
    return locked


def _viewed(actor: User, action: str, case: Case, access: selectors.Access, detail: dict) -> None:
    # A reader from another organisation is logged under hers, and says why she could.
    if not access.is_owner:
        detail = {**detail, "via": access.via}
    audit.record(actor, action, case=case, organization=access.organization, detail=detail)


@transaction.atomic
def add_note(case: Case, text: str, *, actor: User) -> CaseNote:
    """A note for colleagues, sealed to the organisation only: she never reads it."""
    require_case_worker(case, actor)
    require_not_erased(case)
    recipient = keys.parse_recipient(case.organization.key_recipient)
    now = timezone.now()
    body = json.dumps({"text": text, "at": now.isoformat()}, ensure_ascii=False)
    with evidence.discard_on_failure():
        note = CaseNote.objects.create(
            case=case,
            author=actor,
            body=evidence.seal_bytes(body.encode(), [recipient]),
            created_at=now.replace(minute=0, second=0, microsecond=0),
        )
    note_member_activity(case)
    # No note id in the row: it would tie the note's exact time to its row (and its
    # sealed object, which shares a table with hers).
    audit.record(actor, Action.NOTE_ADDED, case=case)
    return note


@transaction.atomic
def set_tags(case: Case, names: list[str], *, actor: User) -> list[Tag]:
    """Exactly these tags on the case, creating the organisation's new ones."""
    require_case_worker(case, actor)
    wanted = sorted({name.strip()[:40] for name in names if name.strip()})
    tags = [
        Tag.objects.get_or_create(organization_id=case.organization_id, name=n)[0] for n in wanted
    ]
    case.tags.set(tags)
    note_member_activity(case)
    audit.record(actor, Action.CASE_TAGGED, case=case, detail={"tags": [t.pk for t in tags]})
    return tags


@transaction.atomic
def set_legal_hold(case: Case, on: bool, *, actor: User) -> bool:
    """Place the case under legal hold (evidence a court still needs: retention leaves
    it alone however long it has been closed), or lift it.  False if it already was."""
    require_case_worker(case, actor)
    require_not_erased(case)
    changed = Case.objects.filter(pk=case.pk).exclude(legal_hold=on).update(legal_hold=on)
    if not changed:
        return False
    case.legal_hold = on
    note_member_activity(case)
    audit.record(actor, Action.CASE_LEGAL_HOLD, case=case, detail={"on": on})
    return True


@transaction.atomic
def reply_to_reporter(case: Case, text: str, *, actor: User) -> Message:
    """A message she reads on her return visit, sealed to her and to the organisations
    her report is sealed to (reporting owns the conversation)."""
    require_case_worker(case, actor)
    # Her key was dropped with her words: nothing new may be sealed about her.
    require_not_erased(case)
    # One reply at a time per case: its message and its audit row take their places in
    # the same order, which the timeline pairs (selectors.timeline).
    _locked(case)
    message = reporting.post_message(case.report, text, author=Message.Author.HELPER)
    note_member_activity(case)
    # No message id: her messages share the sequence, and this row's time is exact.
    audit.record(actor, Action.MESSAGE_SENT, case=case)
    return message


@dataclass
class EvidenceView:
    item: EvidenceItem
    name: str


@dataclass
class CaseFile:
    """A case opened for one request: plaintext in memory, gone with the response."""

    case: Case
    narrative: str
    identifiers: str
    contact: str
    evidence: list[EvidenceView] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    # How her words were sealed: on her device (``browser``) or by the server as they
    # arrived (``server``, scripts off).  Each file says the same of its original.
    content_sealed_by: str = SealedObject.SealedBy.SERVER


def _open_note(note: CaseNote, org_key: keys.Identity) -> dict:
    sealed = json.loads(evidence.read_object(note.body, [org_key]))
    return {
        "author": note.author.get_username(),
        "at": datetime.fromisoformat(sealed["at"]),
        "text": sealed["text"],
    }


@transaction.atomic
def read_case_file(case: Case, *, actor: User, identity: keys.Identity | None) -> CaseFile:
    """Open her words, her files' names, the conversation and the notes; audited.

    A member reading a case referred to her organisation, or the coordination reading
    an urgent or escalated one, opens it with her own organisation's key, and sees no
    notes: those are sealed to the owning organisation only."""
    access = require_case_reader(case, actor)
    require_not_erased(case)
    org_key = open_organization_key(case, identity, organization=access.organization)
    report = case.report
    # CannotOpen here: her organisation is not among the report's readers (the
    # coordination had no key yet when she filed); the pages say so.
    content = reporting.read_content(report, org_key)
    items = list(report.evidence.select_related("note", "original", "working_copy"))
    notes = []
    if access.is_owner:
        notes = [_open_note(note, org_key) for note in case.notes.select_related("author", "body")]
    _viewed(actor, Action.CASE_VIEWED, case, access, {})
    return CaseFile(
        case=case,
        narrative=content.get("narrative", ""),
        identifiers=content.get("identifiers", ""),
        contact=content.get("contact", ""),
        evidence=[EvidenceView(item, reporting.evidence_name(item, org_key)) for item in items],
        messages=reporting.read_messages(report, org_key),
        notes=notes,
        content_sealed_by=report.content.sealed_by,
    )


@transaction.atomic
def open_evidence(
    case: Case,
    item_id: int,
    *,
    actor: User,
    identity: keys.Identity | None,
    original: bool = False,
    reason: str = "",
    note: str = "",
):
    """(item, readable stream) of one file of the case: its sanitised working copy for
    viewing, or the original bytes for one of the ``DownloadReason`` values (and, for
    "other", a note).  The reason is kept in the audit log; the note only sealed to her
    organisation, the log naming it by id.  The audit row commits before the first byte
    leaves; the caller streams and closes the reader."""
    access = require_case_reader(case, actor)
    require_not_erased(case)
    item = case.report.evidence.select_related("original", "working_copy").get(pk=item_id)
    sealed = item.original if original else item.working_copy
    if sealed is None:
        raise EvidenceItem.DoesNotExist(item_id)
    note = note.strip()
    if original and (
        reason not in DownloadReason.values or (reason == DownloadReason.OTHER and not note)
    ):
        raise NotAllowed("download without a reason", case.pk)
    org_key = open_organization_key(case, identity, organization=access.organization)
    try:
        reader = evidence.open_object(sealed, [org_key])
    except CannotOpen as exc:
        raise KeyLocked(access.organization.pk) from exc
    if original:
        detail = {"item": item.pk, "sha256": item.sha256, "reason": reason}
        if note:
            detail["note"] = seal_reason(note, access.organization).pk
        _viewed(actor, Action.EVIDENCE_DOWNLOADED, case, access, detail)
    else:
        _viewed(actor, Action.EVIDENCE_VIEWED, case, access, {"item": item.pk})
    return item, reader


def download_notes(case: Case, *, actor: User, identity: keys.Identity | None) -> dict[int, str]:
    """The notes members of her organisation sealed with their downloads of this case's
    originals, by the sealed object's id (what the audit row names): those her key opens."""
    access = require_case_reader(case, actor)
    ids = [
        entry.detail["note"]
        for entry in selectors.access_log(case)
        if isinstance(entry.detail.get("note"), int)
    ]
    if not ids or case.erased_at is not None:
        return {}
    try:
        org_key = open_organization_key(case, identity, organization=access.organization)
    except KeyLocked:
        return {}
    notes = {
        sealed.pk: open_reason(sealed, org_key)
        for sealed in SealedObject.objects.filter(pk__in=ids)
    }
    return {pk: text for pk, text in notes.items() if text is not None}
