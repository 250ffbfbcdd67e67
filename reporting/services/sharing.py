"""Who reads her report, and the questions put to her about it: sharing it with one more
organisation or no longer (headers re-issued, payloads untouched), asking her consent and
her answer given with scripts off; and the crypto-erasure of all of it (retention)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from evidence import keys
from evidence import services as evidence
from evidence.ids import next_position
from reporting import facts
from reporting.models import ConsentRequest, Report, ReporterKey
from reporting.services._common import lock, to_the_hour
from reporting.signals import consent_answered


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
    lock(report)
    return ConsentRequest.objects.create(
        report=report,
        position=next_position(ConsentRequest.objects.filter(report=report)),
        service=service,
        organization_name=organization_name,
        recipient=recipient,
        asked_at=to_the_hour(timezone.now()),
    )


def locked_question(report: Report, request_id: int) -> ConsentRequest:
    """The question ``request_id`` put to her about ``report``, locked until the
    transaction ends (a second click waits for the first answer); DoesNotExist for a
    question that is not about her report."""
    question = (
        ConsentRequest.objects.select_for_update().filter(pk=request_id, report=report).first()
    )
    if question is None:
        raise ConsentRequest.DoesNotExist(request_id)
    return question


@transaction.atomic
def answer_consent(
    report: Report, request_id: int, *, granted: bool, identity: keys.Identity
) -> ConsentRequest:
    """Her answer, on her return visit.  Yes: her own key, open for this visit, shares
    every sealed object of her report with the organisation asked about (headers only).
    No: nothing is shared.  ``consent_answered`` goes out inside the transaction.
    An answer already given stays (a second click, the back button): nothing changes.
    ConsentRequest.DoesNotExist for a question that is not about her report."""
    question = locked_question(report, request_id)
    if question.state != ConsentRequest.State.ASKED:
        return question
    if granted:
        add_reader(report, question.recipient, unlocked_by=identity)
    return record_answer(report, question, granted=granted)


def record_answer(report: Report, question: ConsentRequest, *, granted: bool) -> ConsentRequest:
    question.state = ConsentRequest.State.GRANTED if granted else ConsentRequest.State.REFUSED
    # To the hour, like every time of hers: an exact one would date her visit.
    question.answered_at = to_the_hour(timezone.now())
    question.save(update_fields=["state", "answered_at"])
    consent_answered.send(
        sender=ConsentRequest, report_id=report.pk, request_id=question.pk, granted=granted
    )
    return question


def consent_questions(report: Report) -> tuple[list[ConsentRequest], list[ConsentRequest]]:
    """(waiting for her answer, answered), oldest first: what her page shows."""
    questions = list(report.consent_requests.all())
    waiting = [q for q in questions if q.state == ConsentRequest.State.ASKED]
    return waiting, [q for q in questions if q.state != ConsentRequest.State.ASKED]
