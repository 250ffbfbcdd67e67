"""What goes into a case's evidence bundle (docs/BUNDLES.md), read with the builder's key.

Runs in the bundle builder only (bundles/build.py, ``build_bundle``), inside the
stream of an evidence.bundles.BundleWriter: nothing here touches the disk or the database
but to read.  The words of the summary are in the bundle's language (the one she asked
in), every event of the timeline in words (EVENT_WORDS; never an action's code), and every
time in the one zone of settings.TIME_ZONE, which the summary states.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bundles import summary as bundle_summary
from casework import selectors, triage
from casework.audit import SYSTEM, Action
from casework.models import Bundle, CaseNote
from evidence import age, bundles
from evidence import services as evidence
from evidence.models import CustodyEvent, EvidenceItem, SealedObject
from reporting import facts
from reporting import services as reporting

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}
# A sanitised copy larger than this is named in the summary, not drawn in it.
IMAGE_LIMIT = 30 * 1024 * 1024

# Every event a case's timeline can hold, in words for a court (the case page's own
# labels are shorter, and some acts, bundles among them, have none there).
EVENT_WORDS = {
    "report.filed": gettext_lazy("She filed the report"),
    "reporter.message": gettext_lazy("She wrote a message"),
    "reporter.evidence": gettext_lazy("She added evidence"),
    Action.CASE_ASSIGNED: gettext_lazy("The case was assigned to a caseworker"),
    Action.CASE_TAGGED: gettext_lazy("The case's tags were changed"),
    Action.NOTE_ADDED: gettext_lazy("An internal note was added"),
    Action.MESSAGE_SENT: gettext_lazy("A reply was sent to her"),
    Action.CASE_ESCALATED: gettext_lazy(
        "The case was escalated to the national coordination (no acknowledgement in time)"
    ),
    Action.CASE_ERASED: gettext_lazy("What was sealed of the case was erased (retention)"),
    Action.REFERRAL_CREATED: gettext_lazy("The case was referred to another organisation"),
    Action.REFERRAL_CONSENT_ASKED: gettext_lazy("Her consent to the referral was asked"),
    Action.REFERRAL_ACCEPTED: gettext_lazy("The referral was accepted"),
    Action.REFERRAL_DECLINED: gettext_lazy("The referral was declined"),
    Action.BUNDLE_REQUESTED: gettext_lazy("An evidence bundle was requested"),
    Action.BUNDLE_APPROVED: gettext_lazy("An evidence bundle was approved"),
    Action.BUNDLE_REFUSED: gettext_lazy("An evidence bundle was refused"),
    Action.BUNDLE_BUILT: gettext_lazy("An evidence bundle was built"),
    Action.BUNDLE_FAILED: gettext_lazy("An evidence bundle could not be built"),
    Action.BUNDLE_DOWNLOADED: gettext_lazy("An evidence bundle was downloaded"),
    Action.BUNDLE_EXPIRED: gettext_lazy("An evidence bundle expired and its file was deleted"),
}
OTHER_EVENT = gettext_lazy("Another act on the case")


def event_words(entry: selectors.TimelineEntry) -> str:
    """What happened, in words: never the code the audit log keeps."""
    if entry.action in (Action.CASE_STATUS, Action.CASE_LEGAL_HOLD):
        return entry.label  # "Status: new → acknowledged", with the outcome; hold on/off
    return str(EVENT_WORDS.get(entry.action, OTHER_EVENT))


def actor_words(actor: str) -> str:
    """Who did it: a member's username, or words for her and for the platform."""
    if actor == "reporter":
        return _("She (who reported)")
    if actor == SYSTEM:
        return _("The platform")
    return actor


def _opener(sealed: SealedObject, key: age.Identity) -> Callable:
    return lambda: evidence.open_object(sealed, [key])


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _when(moment: datetime) -> str:
    """A time in the summary's one zone (settings.TIME_ZONE), in the bundle's language."""
    # A 24-hour clock in every language (the Arabic DATETIME_FORMAT counts 12 hours, "2 م"):
    # a judge reads "14:06" one way only.
    return formats.date_format(timezone.localtime(moment, _zone()), "j F Y, H:i")


def time_zone_words() -> str:
    return _("All times: %(zone)s time zone") % {"zone": settings.TIME_ZONE}


def _line(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False, sort_keys=True).encode() + b"\n"


def export_detail(bundle: Bundle) -> dict:
    """What the custody event of the export says: the same in the database's chain
    (bundles/build.py) and in the bag's data/custody.jsonl, which a court compares."""
    return {"bundle": str(bundle.uuid), "to": bundle.organization.name}


def write(writer: bundles.BundleWriter, bundle: Bundle, key: age.Identity) -> None:
    case = bundle.case
    report = case.report
    # In the order she gave them (their position: their keys are random).
    items = list(report.evidence.select_related("original", "working_copy", "note"))
    names = {item.pk: reporting.evidence_name(item, key) for item in items}
    paths: dict[int, tuple[str, str]] = {}
    for item in items:
        paths[item.pk] = _add_files(writer, item, names[item.pk], key)
    if bundle.include_messages:
        conversation = b"".join(
            _line({"author": m["author"], "at": m["hour"].isoformat(), "text": m["text"]})
            for m in reporting.read_messages(report, key)
        )
        writer.add_bytes("data/messages/conversation.jsonl", conversation)
    writer.add_bytes("data/custody.jsonl", _custody(writer, bundle, items, paths))
    summary = _summary(bundle, key, items, names, paths)
    writer.add_bytes("data/case-summary.html", bundle_summary.render_html(summary))
    writer.add_bytes(
        "data/case-summary.pdf", bundle_summary.render_pdf(summary, created=timezone.now())
    )
    writer.finish(_bag_info(bundle))


def _add_files(
    writer: bundles.BundleWriter, item: EvidenceItem, name: str, key: age.Identity
) -> tuple[str, str]:
    safe = bundles.sanitise_name(name)
    original = f"data/originals/{item.sha256}_{safe}"
    writer.add(
        bundles.PayloadFile(
            original, item.size, _opener(item.original, key), expected_sha256=item.sha256
        )
    )
    copy = ""
    if item.working_copy is not None and not item.working_copy.is_erased:
        made = item.custody.filter(action=CustodyEvent.Action.WORKING_COPY_MADE).first()
        detail = made.detail if made else {}
        stem = safe.rsplit(".", 1)[0] if "." in safe else safe
        copy = (
            f"data/working-copies/{item.sha256}_{stem}.{EXTENSIONS.get(detail.get('mime'), 'bin')}"
        )
        writer.add(
            bundles.PayloadFile(
                copy,
                evidence.plaintext_size(item.working_copy),
                _opener(item.working_copy, key),
                expected_sha256=detail.get("sha256", ""),
            )
        )
    return original, copy


def _custody(writer, bundle: Bundle, items, paths) -> bytes:
    """Every event of every file from receipt to this export, each naming the file in the
    bag it is about with that file's SHA-256 and size (the verifier checks them)."""
    lines = []
    for item in items:
        original, copy = paths[item.pk]
        for event in item.custody.order_by("position"):  # the chain, receipt first
            path = (
                copy if event.action == CustodyEvent.Action.WORKING_COPY_MADE and copy else original
            )
            digest = writer.digests[path]
            lines.append(
                _line(
                    {
                        "action": event.action,
                        "actor": event.actor,
                        "at": event.at.isoformat(),
                        "detail": event.detail,
                        "path": path,
                        "sha256": digest.sha256,
                        "size": digest.size,
                    }
                )
            )
        digest = writer.digests[original]
        lines.append(
            _line(
                {
                    "action": CustodyEvent.Action.EXPORTED,
                    "actor": bundle.approved_by.get_username(),
                    "at": timezone.now().isoformat(),
                    "detail": export_detail(bundle),
                    "path": original,
                    "sha256": digest.sha256,
                    "size": digest.size,
                }
            )
        )
    return b"".join(lines)


def _bag_info(bundle: Bundle) -> list[tuple[str, str]]:
    case = bundle.case
    return [
        ("Source-Organization", case.organization.name),
        ("External-Identifier", case.reference),
        ("Bundle-Identifier", str(bundle.uuid)),
        ("Bagging-Date", timezone.localdate().isoformat()),
        (
            "Requested-By",
            f"{bundle.organization.name} ({bundle.requested_by.get_username()})",
        ),
        ("Approved-By", f"{case.organization.name} ({bundle.approved_by.get_username()})"),
        ("Internal-Notes", "included" if bundle.include_notes else "not included"),
        ("Messages", "included" if bundle.include_messages else "not included"),
    ]


def _labels(values, choices) -> str:
    known = dict(choices)
    return ", ".join(str(known.get(value, value)) for value in values) or "—"


def _notes(bundle: Bundle, key: age.Identity) -> list[tuple[str, str, str]] | None:
    if not bundle.include_notes:
        return None
    notes = []
    for note in CaseNote.objects.filter(case=bundle.case).select_related("author", "body"):
        sealed = json.loads(evidence.read_object(note.body, [key]))
        # The sealed time is ISO 8601 in UTC: written in the summary's zone like the rest.
        at = datetime.fromisoformat(sealed["at"]) if "at" in sealed else note.created_at
        notes.append((_when(at), note.author.get_username(), sealed["text"]))
    return notes


def _messages(bundle: Bundle, key: age.Identity) -> list[tuple[str, str, str]]:
    """The conversation, when included: when (hers to the hour), who, what."""
    if not bundle.include_messages:
        return []
    helper = bundle.case.organization.name
    return [
        (
            _when(m["hour"]),
            actor_words("reporter") if m["author"] == "reporter" else helper,
            m["text"],
        )
        for m in reporting.read_messages(bundle.case.report, key)
    ]


def _image(item: EvidenceItem, key: age.Identity) -> bytes | None:
    """The bytes of an image's sanitised copy, to show in the summary (None otherwise)."""
    copy = item.working_copy
    if item.kind != "image" or copy is None or copy.is_erased:
        return None
    if evidence.plaintext_size(copy) > IMAGE_LIMIT:
        return None
    return evidence.read_object(copy, [key])


def _summary(bundle: Bundle, key, items, names, paths) -> bundle_summary.Summary:
    case = bundle.case
    report = case.report
    content = reporting.read_content(report, key)
    facts_shown = [
        (_("Case"), case.reference),
        (_("Organisation holding the case"), case.organization.name),
        (_("Requested by"), f"{bundle.organization.name} ({bundle.requested_by.get_username()})"),
        (_("Approved by"), bundle.approved_by.get_username()),
        (_("Bundle identifier"), str(bundle.uuid)),
        (_("Exported on"), _when(timezone.now())),
        (_("Time zone"), settings.TIME_ZONE),
        (_("Received"), _when(report.created_at)),
        (_("What is happening"), _labels([report.category], facts.Category.choices)),
        (_("Region"), _labels([report.region], facts.Region.choices)),
        (_("Age"), _labels([report.age_band], facts.AgeBand.choices)),
        (_("Danger signs"), _labels(report.urgency, facts.UrgencySignal.choices)),
        (_("Urgency"), str(triage.Priority(case.priority).label)),
        (_("Help she asked for"), _labels(report.services, facts.Service.choices)),
    ]
    timeline = [
        (_when(entry.at), actor_words(entry.actor), event_words(entry))
        for entry in selectors.timeline(case)
    ]
    files = [
        bundle_summary.SummaryFile(
            name=names[item.pk],
            kind=item.kind,
            size=item.size,
            sha256=item.sha256,
            received=_when(item.received_at),
            original_path=paths[item.pk][0],
            working_copy_path=paths[item.pk][1],
            image=_image(item, key) if paths[item.pk][1] else None,
        )
        for item in items
    ]
    return bundle_summary.Summary(
        language=translation.get_language() or "fr",
        title=_("Case %(reference)s — summary") % {"reference": case.reference},
        facts=facts_shown,
        narrative=content.get("narrative", ""),
        identifiers=content.get("identifiers", ""),
        timeline=timeline,
        files=files,
        notes=_notes(bundle, key),
        messages_included=bundle.include_messages,
        messages=_messages(bundle, key),
        headings=headings(),
    )


def headings() -> dict[str, str]:
    """The summary's headings and phrases, translated (bundles/summary.py holds no words)."""
    return {
        "facts": _("The case"),
        "narrative": _("What she wrote"),
        "identifiers": _("Who is doing it (as she named them)"),
        "time_zone": time_zone_words(),
        "timeline": _("Timeline"),
        "when": _("When"),
        "who": _("Who"),
        "what": _("What"),
        "files": _("Evidence files"),
        "file_kind": _("Kind"),
        "file_size": _("Size (bytes)"),
        "file_sha256": _("SHA-256 of the original"),
        "file_received": _("Received"),
        "file_original": _("Original in the bundle"),
        "file_working_copy": _("Sanitised copy in the bundle"),
        "no_working_copy": _("none"),
        "file_image": _("The sanitised copy, reduced to fit the page:"),
        "notes": _("Internal notes of the organisation"),
        "notes_excluded": _("The internal notes are not included in this bundle."),
        "messages": _("The conversation with her"),
        "messages_included": _(
            "The conversation with her is included below, and in data/messages/conversation.jsonl."
        ),
        "messages_excluded": _("The conversation with her is not included in this bundle."),
        "integrity": _("Checking this bundle"),
        "integrity_text": _(
            "Every file of this bundle is listed with its SHA-256 and SHA-512 digests in the "
            "manifests; the tag manifest that lists them is signed with the platform's "
            "Ed25519 key (signature/); data/custody.jsonl gives each file's chain of custody "
            "from its receipt to this export, with its digest. The originals are the bytes "
            "received, unchanged. The verifier (verify_bundle.py, published by the platform) "
            "checks all of it."
        ),
        "none": _("Nothing."),
        "kind_image": _("image"),
        "kind_video": _("video"),
        "kind_audio": _("audio"),
        "kind_pdf": _("PDF document"),
        "kind_text": _("text"),
        "kind_archive": _("archive (not opened)"),
    }
