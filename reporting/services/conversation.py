"""Her report after it is filed, as the server opens it (scripts off): the evidence she
adds and the messages she and the people helping her write, sealed to everyone her
report is sealed to; where her report stands; and her words, files' names and the
conversation opened in memory with a key that holds access."""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from evidence import keys
from evidence import services as evidence
from evidence.ids import next_position
from evidence.models import EvidenceItem
from reporting.models import Message, Report
from reporting.services._common import lock, to_the_hour
from reporting.signals import evidence_added, message_posted


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
        lock(report)
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


def post_message(report: Report, text: str, *, author: str) -> Message:
    """A message on her report, from her or from the people helping her (casework
    calls this with author=HELPER).  Sealed to everyone her report is sealed to;
    ``message_posted`` goes out inside the transaction, with ids only."""
    recipients = report_recipients(report)
    now = timezone.now()
    with evidence.discard_on_failure(), transaction.atomic():
        # Locked: her message and a reply at the same moment would take one position.
        lock(report)
        message = Message.objects.create(
            report=report,
            position=next_position(Message.objects.filter(report=report)),
            author=author,
            body=evidence.seal_bytes(
                json.dumps({"text": text, "sent_at": now.isoformat()}, ensure_ascii=False).encode(),
                recipients,
            ),
            created_at=to_the_hour(now),
        )
        message_posted.send(
            sender=Message, report_id=report.pk, message_id=message.pk, author=author
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
