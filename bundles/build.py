"""Building a bundle, in the builder process only (bundles/builder.py): claim it, write
it (bundles/content.py), record it, and give the loan back whatever happened.

Only the builder's task imports this module (bundles/tasks.py hands ``build_bundle`` and
``interrupted`` to ``builder.build_in_child``): through bundles/content.py it loads the
summary's PDF and font libraries, which no web process needs (tests/bundles/
test_web_imports.py).  Every function here runs where the builder's key is.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from bundles import builder, content
from bundles.recipients import sealing_recipients
from bundles.selectors import lent_objects
from casework import audit, workflow
from casework.audit import Action
from casework.models import Bundle, WorkflowStep
from evidence import age, keys
from evidence import bundles as bundle_format
from evidence import services as evidence
from evidence.blobstore import blob_store, new_key
from evidence.exceptions import CannotOpen

logger = logging.getLogger(__name__)

BundleState = Bundle.State
StepKind = WorkflowStep.Kind


class _CountingSink:
    """The bundle file as it is written: its SHA-256 and length, for the record."""

    def __init__(self, sink) -> None:
        self.sink, self.sha256, self.size = sink, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.sink.write(data)


@dataclass
class _Progress:
    bundle_id: int
    done: int = 0
    written: int = 0

    def __call__(self, count: int) -> None:
        self.done += count
        # A row update every 4 MiB: the page reloads every few seconds anyway.
        if self.done - self.written >= 4 * 1024 * 1024:
            Bundle.objects.filter(pk=self.bundle_id).update(progress_done=self.done)
            self.written = self.done


def build_bundle(bundle_id: int) -> str:
    """Build one approved bundle, in the builder that was lent the keys.  Safe to run
    twice: the bundle is claimed by a conditional update."""
    key = builder.identity()
    if key is None:
        return "not a builder"
    claimed = Bundle.objects.filter(
        pk=bundle_id, state=BundleState.PENDING, builder=builder.name()
    ).update(state=BundleState.BUILDING, progress_done=0)
    if not claimed:
        return "skipped"
    bundle = Bundle.objects.select_related(
        "case__report", "case__organization", "organization", "requested_by", "approved_by"
    ).get(pk=bundle_id)
    lent = lent_objects(bundle)
    blob = new_key()
    # Read now, not at the request: a key she registers while the bundle waits counts.
    hers = sealing_recipients(bundle.requested_by, bundle.organization)
    try:
        with translation.override(bundle.language or settings.LANGUAGE_CODE):
            digest, size = _write(bundle, key, blob, hers)
    except Exception as exc:
        blob_store().delete(blob)
        _failed(bundle, exc)
        return "failed"
    finally:
        for sealed in lent:  # the loan ends, whatever happened
            evidence.take_back_object(sealed, identity=key)
    _built(bundle, blob, digest, size, [{"recipient": r.recipient, "label": r.label} for r in hers])
    return "built"


def interrupted(bundle_id: int, key: age.X25519Identity | None, *, how: str) -> None:
    """The child building a bundle ended without finishing it (bundles/builder.py,
    ``build_in_child``): in the process that holds the key, fail the bundle if it was
    still this builder's to build, and take the loan back, as a failed build does.  A
    partial file left in the blob store goes with the orphan sweep."""
    logger.error("bundle %s: its build ended without finishing (%s)", bundle_id, how)
    bundle = (
        Bundle.objects.filter(pk=bundle_id)
        .select_related("case__report", "case__organization")
        .first()
    )
    if bundle is None or key is None:
        return
    with transaction.atomic():
        ended = Bundle.objects.filter(
            pk=bundle_id,
            state__in=[BundleState.PENDING, BundleState.BUILDING],
            builder=builder.name(),
        ).update(state=BundleState.FAILED, failure="interrupted")
        if ended:
            audit.record(
                audit.SYSTEM,
                Action.BUNDLE_FAILED,
                case=bundle.case,
                detail={"bundle": str(bundle.uuid), "reason": "interrupted"},
            )
            workflow.add_step(
                StepKind.BUNDLE_ANSWERED, case=bundle.case, detail={"bundle": bundle.pk}
            )
    for sealed in lent_objects(bundle):  # whatever state it is in: the loan ends
        evidence.take_back_object(sealed, identity=key)


def _failure_text(exc: BaseException) -> str:
    # Never the exception's message: it may carry a file's name, which is hers.
    if isinstance(exc, bundle_format.BundleBroken):
        return "broken_file"
    if isinstance(exc, CannotOpen):
        return "cannot_open"
    if isinstance(exc, OSError):
        return "storage"
    return type(exc).__name__[:60]


def _failed(bundle: Bundle, exc: BaseException) -> None:
    logger.error("bundle %s failed: %s", bundle.uuid, type(exc).__name__)
    with transaction.atomic():
        Bundle.objects.filter(pk=bundle.pk).update(
            state=BundleState.FAILED, failure=_failure_text(exc)
        )
        audit.record(
            audit.SYSTEM,
            Action.BUNDLE_FAILED,
            case=bundle.case,
            detail={"bundle": str(bundle.uuid), "reason": _failure_text(exc)},
        )
        workflow.add_step(StepKind.BUNDLE_ANSWERED, case=bundle.case, detail={"bundle": bundle.pk})


def _built(bundle: Bundle, blob: str, digest: str, size: int, sealed_to: list[dict]) -> None:
    now = timezone.now()
    with transaction.atomic():
        Bundle.objects.filter(pk=bundle.pk).update(
            state=BundleState.READY,
            sealed_to=sealed_to,
            blob_key=blob,
            sha256=digest,
            size=size,
            built_at=now,
            expires_at=now + timedelta(days=settings.CASEWORK_BUNDLE_DAYS),
            progress_done=bundle.progress_total,
        )
        evidence.record_export(
            bundle.case.report.evidence.all(),
            actor=bundle.approved_by.get_username(),
            at=now,
            detail=content.export_detail(bundle),
        )
        audit.record(
            audit.SYSTEM,
            Action.BUNDLE_BUILT,
            case=bundle.case,
            detail={"bundle": str(bundle.uuid), "sha256": digest, "size": size},
        )
        workflow.add_step(StepKind.BUNDLE_ANSWERED, case=bundle.case, detail={"bundle": bundle.pk})


def _write(bundle: Bundle, key: age.X25519Identity, blob: str, hers: list) -> tuple[str, int]:
    case = bundle.case
    recipients = [keys.parse_recipient(bundle.organization.key_recipient)]
    recipients += [keys.parse_recipient(row.recipient) for row in hers]
    with blob_store().writer(blob) as out:
        sink = _CountingSink(out)
        writer = bundle_format.BundleWriter(
            sink,
            recipients=recipients,
            bag_name=f"bundle-{case.reference}-{timezone.now():%Y%m%d}",
            progress=_Progress(bundle.pk),
        )
        try:
            content.write(writer, bundle, key)
        except BaseException:
            writer.abort()
            raise
    return sink.sha256.hexdigest(), sink.size
