"""Evidence bundles: a legal partner asks, the case's organisation approves, a builder
builds, the legal partner downloads (docs/BUNDLES.md for the format, docs/CASEWORK.md for
the steps).

Who holds which key at each step, and why: the lawyer's organisation reads the case
through an accepted referral (its key opens her report's headers), but asking is not
enough: the organisation that holds the case approves, with her consent on record, and
its member's open key lends the builder (bundles/builder.py) access to exactly the
objects this bundle needs.  The builder builds it (bundles/build.py), seals it to the
legal partner's key and to the keys the lawyer who asked registered for herself
(bundles/recipients.py: what she opens it with), and gives its loan back.  Every staff
step is in the audit log.

This module is the web's side; the build is the builder's (bundles/build.py), so that a
web process never loads the PDF library the summary needs.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bundles import builder
from bundles.recipients import recipients_of
from bundles.selectors import OPEN, lawyer_access, lent_objects
from casework import audit, states, workflow
from casework.audit import Action
from casework.exceptions import KeyAccessDenied, NotAllowed
from casework.models import Bundle, Case, Organization, User, WorkflowStep
from casework.services.access import open_organization_key, require_case_worker
from casework.services.members import organization_identity
from casework.services.reasons import open_reason, seal_reason
from evidence import age, keys
from evidence import services as evidence
from evidence.blobstore import blob_store

logger = logging.getLogger(__name__)

BundleState = Bundle.State
StepKind = WorkflowStep.Kind


class BundleRefused(Exception):
    """The bundle cannot be asked for, approved or built as asked: ``args[0]`` says why
    (``open``, ``erased``, ``no_own_key``, ``no_consent``, ``no_builder``,
    ``builder_unsigned``, ``answered``)."""


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
    workflow.add_step(StepKind.BUNDLE_REQUESTED, case=case, detail={"bundle": bundle.pk})
    return bundle


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
    others are passed over, logged and audited (bundles/builder.py)."""
    candidates = builder.live_builders()
    passed_over: list = []
    try:
        with transaction.atomic():
            locked = Bundle.objects.select_for_update().select_related("case").get(pk=bundle.pk)
            case = locked.case
            require_case_worker(case, actor)
            if locked.state != BundleState.REQUESTED:
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
            lent = lent_objects(locked)
            recipient = age.X25519Recipient.parse(chosen.recipient)
            for sealed in lent:
                evidence.lend_object(sealed, unlocked_by=[org_key], to=recipient)
            locked.state = BundleState.PENDING
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
        workflow.send_task("bundles.tasks.build_bundle", args=(bundle_id,), queue=queue)
    except Exception as exc:  # the broker went down between the ping and now
        logger.warning("bundle %s not sent to its builder (%s)", bundle_id, type(exc).__name__)
        Bundle.objects.filter(pk=bundle_id, state=BundleState.PENDING).update(
            state=BundleState.FAILED, failure="unreachable"
        )


@transaction.atomic
def refuse_bundle(bundle: Bundle, *, actor: User, reason: str) -> Bundle:
    """The case's organisation says no, and why (sealed to both organisations)."""
    locked = Bundle.objects.select_for_update().select_related("case").get(pk=bundle.pk)
    case = locked.case
    require_case_worker(case, actor)
    if locked.state != BundleState.REQUESTED:
        raise BundleRefused("answered")
    if not reason.strip():
        raise BundleRefused("reason")
    with evidence.discard_on_failure():
        locked.refusal = seal_reason(reason.strip(), case.organization, locked.organization)
    locked.state = BundleState.REFUSED
    locked.approved_by, locked.approved_at = actor, _now()
    locked.save()
    audit.record(actor, Action.BUNDLE_REFUSED, case=case, detail={"bundle": str(locked.uuid)})
    workflow.add_step(StepKind.BUNDLE_ANSWERED, case=case, detail={"bundle": locked.pk})
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


# --- after ----------------------------------------------------------------------------------


@transaction.atomic
def record_download(bundle: Bundle, *, actor: User) -> None:
    """The lawyer takes the file; audited before the first byte leaves."""
    if lawyer_access(bundle.case, actor) is None or bundle.state != BundleState.READY:
        raise NotAllowed("bundle", bundle.case_id)
    audit.record(
        actor,
        Action.BUNDLE_DOWNLOADED,
        case=bundle.case,
        organization=bundle.organization,
        detail={"bundle": str(bundle.uuid)},
    )


def expire_bundles(*, now=None) -> int:
    """Beat: ready bundles past their date lose their file (the lawyer has had
    CASEWORK_BUNDLE_DAYS to take it; a new one can be asked for)."""
    now = now or _now()
    expired = 0
    for bundle_id in Bundle.objects.filter(state=BundleState.READY, expires_at__lt=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            bundle = (
                Bundle.objects.select_for_update()
                .filter(pk=bundle_id, state=BundleState.READY)
                .select_related("case")
                .first()
            )
            if bundle is None:
                continue
            Bundle.objects.filter(pk=bundle_id).update(state=BundleState.EXPIRED)
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
