"""Evidence bundles: a legal partner asks, the case's organisation approves, a builder
builds, the legal partner downloads (docs/BUNDLES.md for the format, docs/CASEWORK.md for
the steps).

Who holds which key at each step, and why: the lawyer's organisation reads the case
through an accepted referral (its key opens her report's headers), but asking is not
enough: the organisation that holds the case approves, with her consent on record, and
its member's open key lends the builder (casework/builder.py) access to exactly the
objects this bundle needs.  The builder seals the bundle to the legal partner's key and
to the keys the lawyer who asked registered for herself (casework/services/
bundle_recipients.py: what she opens it with), and gives its loan back.  Every staff step
is in the audit log.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from casework import audit, builder, states, workflow
from casework.audit import Action
from casework.exceptions import KeyAccessDenied, NotAllowed
from casework.models import Bundle, Case, CaseNote, Membership, Organization, User, WorkflowStep
from casework.selectors import Access, reading_access
from casework.services.access import open_organization_key, require_case_worker
from casework.services.bundle_recipients import recipients_of, sealing_recipients
from casework.services.members import organization_identity
from casework.services.reasons import open_reason, seal_reason
from evidence import age, bundles, keys
from evidence import services as evidence
from evidence.blobstore import blob_store, new_key
from evidence.exceptions import CannotOpen
from evidence.models import CustodyEvent

logger = logging.getLogger(__name__)

State = Bundle.State
Kind = WorkflowStep.Kind
OPEN = [State.REQUESTED, State.PENDING, State.BUILDING]


class BundleRefused(Exception):
    """The bundle cannot be asked for, approved or built as asked: ``args[0]`` says why
    (``open``, ``erased``, ``no_own_key``, ``no_consent``, ``no_builder``,
    ``builder_unsigned``, ``answered``)."""


# --- who may do what ----------------------------------------------------------------------


def lawyer_access(case: Case, user: User) -> Access | None:
    """Her access to the case as a member of a legal partner it was referred to (and
    accepted), in a role that asks for bundles; None otherwise."""
    access = reading_access(user, case)
    if access is None or access.via != Access.REFERRAL:
        return None
    membership = access.membership
    if membership.organization.kind != Organization.Kind.LEGAL_PARTNER:
        return None
    if membership.role not in (Membership.Role.LEGAL_PARTNER, Membership.Role.ORG_ADMIN):
        return None
    return access


def bundles_of(case: Case, user: User) -> list[Bundle]:
    """The bundles of this case she may see: all of them for the case's organisation,
    her own organisation's for a legal partner; none for anyone else."""
    access = reading_access(user, case)
    if access is None:
        return []
    found = Bundle.objects.filter(case=case).select_related("requested_by", "approved_by")
    if access.is_owner:
        return list(found)
    if lawyer_access(case, user) is not None:
        return list(found.filter(organization=access.organization))
    return []


def bundle_for(case: Case, user: User, bundle_uuid) -> Bundle:
    """One bundle of the case she may see, or Bundle.DoesNotExist (a 404)."""
    for bundle in bundles_of(case, user):
        if str(bundle.uuid) == str(bundle_uuid):
            return bundle
    raise Bundle.DoesNotExist(bundle_uuid)


# --- asking, approving, refusing ----------------------------------------------------------


def _now():
    return timezone.now()


@transaction.atomic
def request_bundle(
    case: Case, *, actor: User, language: str = "", without_own_key: bool = True
) -> Bundle:
    """A legal partner's member asks for a bundle of a case referred to her organisation.

    ``language``: the summary's (the page's she asked from).  ``without_own_key=False``
    refuses (``no_own_key``) while she has registered no key of her own: the page then
    tells her, before she asks, that she could not open the file."""
    access = lawyer_access(case, actor)
    if access is None:
        raise NotAllowed("bundle", case.pk)
    if case.erased_at is not None:
        raise BundleRefused("erased")
    if Bundle.objects.filter(case=case, organization=access.organization, state__in=OPEN):
        raise BundleRefused("open")
    if not without_own_key and not recipients_of(actor):
        raise BundleRefused("no_own_key")
    if language not in dict(settings.LANGUAGES):
        language = ""
    bundle = Bundle.objects.create(
        case=case,
        organization=access.organization,
        requested_by=actor,
        requested_at=_now(),
        language=language,
    )
    audit.record(
        actor,
        Action.BUNDLE_REQUESTED,
        case=case,
        organization=access.organization,
        detail={"bundle": str(bundle.uuid)},
    )
    workflow.add_step(Kind.BUNDLE_REQUESTED, case=case, detail={"bundle": bundle.pk})
    return bundle


def _lent_objects(bundle: Bundle) -> list:
    """Every sealed object the bundle reads: her words, each file's original, working
    copy and note, and the conversation and the notes if the approver included them."""
    report = bundle.case.report
    objects = [report.content]
    for item in report.evidence.select_related("original", "working_copy", "note"):
        objects += [item.original, item.working_copy, item.note]
    if bundle.include_messages:
        objects += [m.body for m in report.messages.select_related("body")]
    if bundle.include_notes:
        objects += [
            n.body for n in CaseNote.objects.filter(case=bundle.case).select_related("body")
        ]
    return [obj for obj in objects if obj is not None and not obj.is_erased]


def approve_bundle(
    bundle: Bundle,
    *,
    actor: User,
    identity: keys.Identity | None,
    include_notes: bool = False,
    include_messages: bool = False,
) -> Bundle:
    """The case's organisation says yes: with her consent on record, its key lends a
    running builder access to what the bundle needs, and the job goes to that builder.
    Only a builder whose row the platform's signing key signed is lent anything; the
    others are passed over, logged and audited (casework/builder.py)."""
    candidates = builder.live_builders()
    passed_over: list = []
    try:
        with transaction.atomic():
            locked = Bundle.objects.select_for_update().select_related("case").get(pk=bundle.pk)
            case = locked.case
            require_case_worker(case, actor)
            if locked.state != State.REQUESTED:
                raise BundleRefused("answered")
            if not states.has_consent(case):
                raise BundleRefused("no_consent")
            org_key = open_organization_key(case, identity)
            if not candidates:
                raise BundleRefused("no_builder")
            genuine = []
            for row in candidates:  # newest first
                (genuine if builder.genuine(row) else passed_over).append(row)
            if not genuine:
                raise BundleRefused("builder_unsigned")
            chosen = genuine[0]
            locked.include_notes, locked.include_messages = include_notes, include_messages
            lent = _lent_objects(locked)
            recipient = age.X25519Recipient.parse(chosen.recipient)
            for sealed in lent:
                evidence.lend_object(sealed, unlocked_by=[org_key], to=recipient)
            locked.state = State.PENDING
            locked.approved_by, locked.approved_at = actor, _now()
            locked.builder = chosen.name
            locked.progress_total = sum(evidence.plaintext_size(s) for s in lent)
            locked.save()
            audit.record(
                actor,
                Action.BUNDLE_APPROVED,
                case=case,
                detail={
                    "bundle": str(locked.uuid),
                    "notes": include_notes,
                    "messages": include_messages,
                },
            )
            bundle_id, queue = locked.pk, builder.private_queue(chosen.name)
            transaction.on_commit(lambda: _send_to_builder(bundle_id, queue))
    finally:  # outside the approval's transaction: a refusal must not undo these rows
        for row in passed_over:
            _record_passed_over(row, bundle)
    return locked


@transaction.atomic  # a transaction of its own: the approval's may roll back
def _record_passed_over(row, bundle: Bundle) -> None:
    """A builder row the platform's signing key did not sign: nothing was lent to it.
    Said to the operator (log), and kept in the audit log."""
    logger.error(
        "bundle builder %r is not signed with this platform's signing key "
        "(EVIDENCE_SIGNING_KEY_FILE): nothing was lent to it. If you started it, give it "
        "the same signing key file as the web server and restart it; if you did not, "
        "someone wrote it into the database (casework_bundlebuilder): remove the row and "
        "find out who could write there.",
        row.name,
    )
    audit.record(
        audit.SYSTEM,
        Action.BUNDLE_BUILDER_REFUSED,
        detail={"builder": row.name, "recipient": row.recipient, "bundle": str(bundle.uuid)},
    )


def _send_to_builder(bundle_id: int, queue: str) -> None:
    # Only from approve_bundle's on_commit: the approved row (and the loan) exist by now.
    try:
        # By name: casework.tasks imports this module.
        current_app.send_task(  # sent after commit
            "casework.tasks.build_bundle",
            args=(bundle_id,),
            queue=queue,
            retry=False,
            # As the task says (ignore_result): otherwise the sender waits on the result
            # store, which is Redis too, for 20 s when Redis is down.
            ignore_result=True,
        )
    except Exception as exc:  # the broker went down between the ping and now
        logger.warning("bundle %s not sent to its builder (%s)", bundle_id, type(exc).__name__)
        Bundle.objects.filter(pk=bundle_id, state=State.PENDING).update(
            state=State.FAILED, failure="unreachable"
        )


@transaction.atomic
def refuse_bundle(bundle: Bundle, *, actor: User, reason: str) -> Bundle:
    """The case's organisation says no, and why (sealed to both organisations)."""
    locked = Bundle.objects.select_for_update().select_related("case").get(pk=bundle.pk)
    case = locked.case
    require_case_worker(case, actor)
    if locked.state != State.REQUESTED:
        raise BundleRefused("answered")
    if not reason.strip():
        raise BundleRefused("reason")
    with evidence.discard_on_failure():
        locked.refusal = seal_reason(reason.strip(), case.organization, locked.organization)
    locked.state = State.REFUSED
    locked.approved_by, locked.approved_at = actor, _now()
    locked.save()
    audit.record(actor, Action.BUNDLE_REFUSED, case=case, detail={"bundle": str(locked.uuid)})
    workflow.add_step(Kind.BUNDLE_ANSWERED, case=case, detail={"bundle": locked.pk})
    return locked


def refusal_text(bundle: Bundle, *, organization: Organization, identity) -> str | None:
    """The reason of a refusal, opened with the member's organisation key (None when
    locked or not refused)."""
    if bundle.refusal is None or identity is None:
        return None
    try:
        org_key = organization_identity(organization, identity)
    except KeyAccessDenied:  # she waits for access: the page says the reason stays sealed
        return None
    return open_reason(bundle.refusal, org_key)


# --- building (in the builder process) ----------------------------------------------------


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
        pk=bundle_id, state=State.PENDING, builder=builder.name()
    ).update(state=State.BUILDING, progress_done=0)
    if not claimed:
        return "skipped"
    bundle = Bundle.objects.select_related(
        "case__report", "case__organization", "organization", "requested_by", "approved_by"
    ).get(pk=bundle_id)
    lent = _lent_objects(bundle)
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
    """The child building a bundle ended without finishing it (casework/builder.py,
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
            pk=bundle_id, state__in=[State.PENDING, State.BUILDING], builder=builder.name()
        ).update(state=State.FAILED, failure="interrupted")
        if ended:
            audit.record(
                audit.SYSTEM,
                Action.BUNDLE_FAILED,
                case=bundle.case,
                detail={"bundle": str(bundle.uuid), "reason": "interrupted"},
            )
            workflow.add_step(Kind.BUNDLE_ANSWERED, case=bundle.case, detail={"bundle": bundle.pk})
    for sealed in _lent_objects(bundle):  # whatever state it is in: the loan ends
        evidence.take_back_object(sealed, identity=key)


def _failure_text(exc: BaseException) -> str:
    # Never the exception's message: it may carry a file's name, which is hers.
    if isinstance(exc, bundles.BundleBroken):
        return "broken_file"
    if isinstance(exc, CannotOpen):
        return "cannot_open"
    if isinstance(exc, OSError):
        return "storage"
    return type(exc).__name__[:60]


def _failed(bundle: Bundle, exc: BaseException) -> None:
    logger.error("bundle %s failed: %s", bundle.uuid, type(exc).__name__)
    with transaction.atomic():
        Bundle.objects.filter(pk=bundle.pk).update(state=State.FAILED, failure=_failure_text(exc))
        audit.record(
            audit.SYSTEM,
            Action.BUNDLE_FAILED,
            case=bundle.case,
            detail={"bundle": str(bundle.uuid), "reason": _failure_text(exc)},
        )
        workflow.add_step(Kind.BUNDLE_ANSWERED, case=bundle.case, detail={"bundle": bundle.pk})


def _built(bundle: Bundle, blob: str, digest: str, size: int, sealed_to: list[dict]) -> None:
    now = _now()
    with transaction.atomic():
        Bundle.objects.filter(pk=bundle.pk).update(
            state=State.READY,
            sealed_to=sealed_to,
            blob_key=blob,
            sha256=digest,
            size=size,
            built_at=now,
            expires_at=now + timedelta(days=settings.CASEWORK_BUNDLE_DAYS),
            progress_done=bundle.progress_total,
        )
        evidence.add_custody(
            bundle.case.report.evidence.all(),
            action=CustodyEvent.Action.EXPORTED,
            actor=bundle.approved_by.get_username(),
            at=now,
            detail={"bundle": str(bundle.uuid), "to": bundle.organization.name},
        )
        audit.record(
            audit.SYSTEM,
            Action.BUNDLE_BUILT,
            case=bundle.case,
            detail={"bundle": str(bundle.uuid), "sha256": digest, "size": size},
        )
        workflow.add_step(Kind.BUNDLE_ANSWERED, case=bundle.case, detail={"bundle": bundle.pk})


def _write(bundle: Bundle, key: age.X25519Identity, blob: str, hers: list) -> tuple[str, int]:
    from casework import bundle_content

    case = bundle.case
    recipients = [keys.parse_recipient(bundle.organization.key_recipient)]
    recipients += [keys.parse_recipient(row.recipient) for row in hers]
    with blob_store().writer(blob) as out:
        sink = _CountingSink(out)
        writer = bundles.BundleWriter(
            sink,
            recipients=recipients,
            bag_name=f"bundle-{case.reference}-{_now():%Y%m%d}",
            progress=_Progress(bundle.pk),
        )
        try:
            bundle_content.write(writer, bundle, key)
        except BaseException:
            writer.abort()
            raise
    return sink.sha256.hexdigest(), sink.size


# --- after ----------------------------------------------------------------------------------


@transaction.atomic
def record_download(bundle: Bundle, *, actor: User) -> None:
    """The lawyer takes the file; audited before the first byte leaves."""
    if lawyer_access(bundle.case, actor) is None or bundle.state != State.READY:
        raise NotAllowed("bundle", bundle.case_id)
    audit.record(
        actor,
        Action.BUNDLE_DOWNLOADED,
        case=bundle.case,
        organization=bundle.organization,
        detail={"bundle": str(bundle.uuid)},
    )


def bundle_files_in_use(keys: list[str]) -> list[str]:
    """Which of these blob keys are built bundles still waiting to be downloaded (the
    orphan sweep asks: a bundle file has no SealedObject row of its own)."""
    return list(
        Bundle.objects.filter(blob_key__in=keys, state=State.READY).values_list(
            "blob_key", flat=True
        )
    )


def expire_bundles(*, now=None) -> int:
    """Beat: ready bundles past their date lose their file (the lawyer has had
    CASEWORK_BUNDLE_DAYS to take it; a new one can be asked for)."""
    now = now or _now()
    expired = 0
    for bundle_id in Bundle.objects.filter(state=State.READY, expires_at__lt=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            bundle = (
                Bundle.objects.select_for_update()
                .filter(pk=bundle_id, state=State.READY)
                .select_related("case")
                .first()
            )
            if bundle is None:
                continue
            Bundle.objects.filter(pk=bundle_id).update(state=State.EXPIRED)
            audit.record(
                audit.SYSTEM,
                Action.BUNDLE_EXPIRED,
                case=bundle.case,
                detail={"bundle": str(bundle.uuid)},
            )
            key = bundle.blob_key
            transaction.on_commit(lambda key=key: blob_store().delete(key))
            expired += 1
    return expired


# The words the pages use for a failure, by the code kept on the row: what happened, in
# words.  Nobody can approve a failed bundle again (it is no longer waiting), so none of
# them asks anyone to; the page adds what comes next for whoever reads it (FAILURE_NEXT).
FAILURES = {
    "broken_file": _(
        "A file of the case is not what was received (its SHA-256 differs): nothing was exported."
    ),
    "cannot_open": _("The bundle service could not open a file of the case: nothing was exported."),
    "storage": _(
        "The bundle could not be written to the platform's storage: nothing was exported."
    ),
    "unreachable": _("The bundle service could not be reached: nothing was exported."),
    "interrupted": _("The bundle service stopped while building it: nothing was exported."),
}
FAILURE_OTHER = _("The bundle could not be built: nothing was exported.")
FAILURE_NEXT = {
    "lawyer": _(
        "You can ask for a new bundle; the organisation holding the case will be asked to "
        "approve it. If it fails again, tell the platform's operator, with the identifier "
        "above."
    ),
    "holder": _(
        "The legal partner can ask for a new bundle; you will then be asked to approve it. "
        "If it fails again, tell the platform's operator, with the identifier above."
    ),
}


def failure_text(bundle: Bundle) -> str:
    """What happened to a failed bundle, in words (never the code on its row)."""
    return str(FAILURES.get(bundle.failure, FAILURE_OTHER))
