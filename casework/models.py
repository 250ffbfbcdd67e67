from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evidence import keys
from evidence.ids import RANDOM_ID_FLOOR, random_id
from evidence.models import SealedObject
from reporting import facts
from reporting.models import ConsentRequest, Report


class User(AbstractUser):
    """A staff account: caseworker, legal partner, coordinator or platform operator.

    Reporters never have one; they come back with a receipt code.  Each account has an
    age identity sealed under its password (docs/CRYPTO.md): login opens it, and it
    opens the keys of the organisations that granted her access.
    """

    key_recipient = models.CharField(_("public key"), max_length=100, blank=True, editable=False)
    sealed_key = models.BinaryField(null=True, editable=False)
    # Set when someone else chose her password (an invitation, an administrator's reset):
    # she picks her own at the next sign-in.
    must_change_password = models.BooleanField(default=False, editable=False)
    # ...within this time (STAFF_ONE_TIME_PASSWORD_HOURS): a one-time password handed over
    # and never used must not stay a way in for ever.
    one_time_password_until = models.DateTimeField(null=True, blank=True, editable=False)

    @property
    def one_time_password_expired(self) -> bool:
        return (
            self.must_change_password
            and self.one_time_password_until is not None
            and self.one_time_password_until <= timezone.now()
        )

    def set_password(self, raw_password: str | None, *, identity: keys.Identity | None = None):
        """Seal the account's identity under the new password.

        ``identity`` keeps the current identity (a password change, where the old
        password opened it).  Every other path that sets a password without the old one
        (an administrator's reset, a new account) gets a new identity: the old one cannot
        be opened any more, so her organisations must grant her access again.
        """
        super().set_password(raw_password)
        if raw_password is None:
            return
        identity = identity or keys.new_identity()
        self.sealed_key = keys.seal_identity_with_passphrase(
            identity, raw_password, work_factor=settings.EVIDENCE_MEMBER_WORK_FACTOR
        )
        self.key_recipient = str(identity.recipient)


class Organization(models.Model):
    class Kind(models.TextChoices):
        PARTNER_ASSOCIATION = "partner_association", _("Partner association")
        LISTENING_CENTRE = "listening_centre", _("Listening centre")
        LEGAL_PARTNER = "legal_partner", _("Legal partner")
        NATIONAL_COORDINATOR = "national_coordinator", _("National coordinator")

    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(_("short name"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    # What routing matches reports against (reporting/facts.py values).  Empty means "any".
    regions = models.JSONField(_("regions served"), default=list, blank=True)
    languages = models.JSONField(_("languages spoken"), default=list, blank=True)
    services = models.JSONField(_("services offered"), default=list, blank=True)
    capacity = models.PositiveIntegerField(
        _("capacity"), default=40, help_text=_("How many open cases it can carry at once.")
    )
    notification_email = models.EmailField(
        _("notification address"),
        blank=True,
        help_text=_("Told that a new case is waiting; never told what it is about."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The organisation's identity, sealed to its members who hold access and to the
    # operator's recovery key.  Empty until its first member joins.
    key_recipient = models.CharField(_("public key"), max_length=100, blank=True, editable=False)
    sealed_key = models.BinaryField(null=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        allowed = {
            "regions": facts.Region.values,
            "languages": facts.Language.values,
            "services": facts.Service.values,
        }
        errors = {
            name: _("Unknown values: %(values)s") % {"values": ", ".join(map(str, unknown))}
            for name, values in allowed.items()
            if (unknown := [v for v in getattr(self, name) or [] if v not in values])
        }
        if errors:
            raise ValidationError(errors)


class Membership(models.Model):
    class Role(models.TextChoices):
        TRIAGE_LEAD = "triage_lead", _("Triage lead")
        CASEWORKER = "caseworker", _("Caseworker")
        LEGAL_PARTNER = "legal_partner", _("Legal partner")
        ORG_ADMIN = "org_admin", _("Organisation admin")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # The member's recipient the organisation's key was last sealed to.  When her own key
    # changes (an administrator reset her password) the two differ: she waits for access.
    key_granted_to = models.CharField(max_length=100, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} — {self.organization}"

    @property
    def has_key_access(self) -> bool:
        return bool(self.key_granted_to) and self.key_granted_to == self.user.key_recipient

    # What each role may do with its organisation's cases.  A legal partner reads what
    # is shared with her organisation and asks for bundles (issue 7); she does not run
    # the case.  Organisation admins of small NGOs are often caseworkers too.
    @property
    def can_work_cases(self) -> bool:
        return self.role in {self.Role.TRIAGE_LEAD, self.Role.CASEWORKER, self.Role.ORG_ADMIN}

    @property
    def can_assign_others(self) -> bool:
        return self.role in {self.Role.TRIAGE_LEAD, self.Role.ORG_ADMIN}

    @property
    def can_manage_members(self) -> bool:
        return self.role == self.Role.ORG_ADMIN

    def clean(self) -> None:
        # A lawyer's access is shaped for bundles, a caseworker's for casework: mixing them
        # would give a legal clinic the triage queue or an association the bundle export.
        is_legal_org = self.organization.kind == Organization.Kind.LEGAL_PARTNER
        is_lawyer = self.role == self.Role.LEGAL_PARTNER
        if is_lawyer != is_legal_org and self.role != self.Role.ORG_ADMIN:
            raise ValidationError(
                {
                    "role": _(
                        "Legal partner is the role for members of a legal partner, and only them."
                    )
                }
            )


class RoutingRule(models.Model):
    """Which organisations receive which reports: conditions on routing facts only.

    Empty conditions match anything.  Rules are tried in ``priority`` order (lowest
    first); the first whose conditions match and one of whose organisations holds a key
    and has room takes the report (casework/routing.py).
    """

    class Urgency(models.TextChoices):
        ANY = "any", _("Any")
        URGENT = "urgent", _("Only with a danger sign")
        NOT_URGENT = "not_urgent", _("Only without a danger sign")

    name = models.CharField(_("name"), max_length=120)
    active = models.BooleanField(_("active"), default=True)
    priority = models.PositiveIntegerField(
        _("order"), default=100, help_text=_("Rules are tried from the lowest number up.")
    )
    categories = models.JSONField(_("categories"), default=list, blank=True)
    regions = models.JSONField(_("regions"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    age_bands = models.JSONField(_("age bands"), default=list, blank=True)
    services = models.JSONField(
        _("services"), default=list, blank=True, help_text=_("Matches if she asked for any.")
    )
    urgency = models.CharField(
        _("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.ANY
    )
    organizations = models.ManyToManyField(
        Organization,
        related_name="routing_rules",
        verbose_name=_("organisations"),
        help_text=_("The least loaded of them with room takes the report."),
    )

    class Meta:
        ordering = ["priority", "pk"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A label an organisation puts on its cases ("awaiting platform", "court")."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(_("name"), max_length=40)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="one_tag_name_per_org")
        ]

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    """An organisation's handling of one report.

    Everything here is plaintext and non-identifying: the report's words and files stay
    sealed in reporting, and the case's notes are sealed to the organisation.
    """

    class Status(models.TextChoices):
        NEW = "new", _("New")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        IN_PROGRESS = "in_progress", _("In progress")
        REFERRED = "referred", _("Referred")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        """Why a case was closed: what the statistics count, chosen from a short list."""

        HELPED = "helped", _("She was helped")
        REFERRED = "referred", _("Referred to another organisation")
        CONTENT_REMOVED = "content_removed", _("The content was taken down")
        NO_REPLY = "no_reply", _("She stopped answering")
        NOT_OUR_REMIT = "not_our_remit", _("Not our remit")
        DUPLICATE = "duplicate", _("Same report filed twice")

    # Random: a case is opened at her filing, so a sequence would order her filings
    # between the staff's acts (evidence/ids.py).  Cases opened before that keep their
    # old ids: the append-only audit log names them, and cannot be rewritten.
    id = models.BigIntegerField(primary_key=True, default=random_id, editable=False)
    report = models.OneToOneField(Report, on_delete=models.PROTECT, related_name="case")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    # The urgency rubric's verdict (casework/triage.py) when the case opened: the queue
    # sorts on it; ``urgent`` (any danger sign) is its highest level, kept for filters.
    urgent = models.BooleanField(default=False)
    priority = models.PositiveSmallIntegerField(default=1, db_default=1)
    priority_reasons = models.JSONField(default=list, db_default=[])
    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="cases")
    opened_at = models.DateTimeField()  # the report's hour: nothing finer about her
    # The time by which someone must acknowledge it (settings.CASEWORK_SLA_*_HOURS).
    sla_due_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Empty while open; a reopened case keeps its last outcome until closed again.
    outcome = models.CharField(max_length=24, choices=Outcome.choices, blank=True, default="")
    # Set once by beat when nobody acknowledged it in time; the coordination then sees it.
    escalated_at = models.DateTimeField(null=True, blank=True)
    # The last act of a member on it (never hers: her times stay to the hour), and the
    # last reminder its assignee got: beat reminds her of cases left untouched.
    last_activity_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # Retention erased its sealed content (crypto-erasure); the facts stay for statistics.
    erased_at = models.DateTimeField(null=True, blank=True)
    # Evidence a court still needs: retention leaves the case alone while this is set.
    legal_hold = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-priority", "sla_due_at", "pk"]
        indexes = [
            # The queue's order within one organisation and status.
            models.Index(
                fields=["organization", "status", "-priority", "sla_due_at", "id"],
                name="case_queue_order",
            ),
            # The default queue (open cases) and its counts read this one alone.
            models.Index(
                fields=["organization", "-priority", "sla_due_at", "id"],
                name="case_queue_open",
                condition=~models.Q(status="closed"),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return case_reference(self.pk)


# Crockford's base32: no I, L, O or U, so nothing read out on the phone is mistaken.
_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# A case reference in a text (an email's subject, an export checked for one).
CASE_REFERENCE = re.compile(
    r"C-(?:\d{6,}|[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{3})"
)


def case_reference(pk: int) -> str:
    """What staff call a case: "C-3F9K-Q2MX-7TD" (its key in base32, in groups of four
    for reading aloud).  A case opened before keys were random keeps the reference it
    was known by ("C-000042"), which bundles and letters already carry."""
    if pk < RANDOM_ID_FLOOR:
        return f"C-{pk:06d}"
    digits = ""
    while pk:
        pk, rest = divmod(pk, 32)
        digits = _BASE32[rest] + digits
    digits = digits.rjust(11, "0")
    return "C-" + "-".join(digits[i : i + 4] for i in range(0, len(digits), 4))


class DownloadReason(models.TextChoices):
    """Why a member takes an original off the site: a short list the audit log keeps in
    clear (a free text there stayed readable forever, and may say things about her);
    anything more goes into a note sealed to her organisation."""

    COURT = "court", _("For a complaint or a court case")
    POLICE = "police", _("For the police or the public prosecutor")
    PLATFORM = "platform", _("To report it to a platform")
    CHECK = "check", _("To check the file (whether it is genuine, its details)")
    HER_COPY = "her_copy", _("She asked for a copy")
    OTHER = "other", _("Another reason (say it in the note)")


class CaseNote(models.Model):
    """A caseworker's note, sealed to her organisation only (the reporter never sees it)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    body = models.OneToOneField(SealedObject, on_delete=models.PROTECT, related_name="case_note")
    # To the hour, the exact time being inside the sealed note: notes and her evidence
    # share the sealed objects' table (random keys now, evidence/ids.py; sequential
    # before), and no exact time sits beside anything of hers there.
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.case_id}"


class AuditEvent(models.Model):
    """One row of the append-only, hash-chained audit log (casework/audit.py).

    No foreign keys: a row must outlive the user, case or organisation it names (a
    cascade would be a DELETE, which the database refuses on this table), and reading
    the log must not depend on anything else being intact.  No report content, ever:
    ids, statuses, and the reasons staff give.
    """

    seq = models.BigIntegerField(unique=True, editable=False)
    at = models.DateTimeField(editable=False)
    actor_id = models.BigIntegerField(null=True, editable=False)
    actor = models.CharField(max_length=150, editable=False)  # username, "reporter", "system"
    organization_id = models.BigIntegerField(null=True, editable=False)
    action = models.CharField(max_length=48, editable=False)
    case_id = models.BigIntegerField(null=True, editable=False, db_index=True)
    detail = models.JSONField(default=dict, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor}"


class Referral(models.Model):
    """A case shared with another organisation for a service, with her consent.

    Access is given by re-issuing the headers of her report's sealed objects with the
    receiving organisation's recipient (never by re-encrypting a payload), by whoever
    holds a key at that moment: the referring caseworker when her consent is already on
    record, or she herself when she says yes on her return visit.
    """

    class State(models.TextChoices):
        AWAITING_CONSENT = "awaiting_consent", _("Waiting for her consent")
        OFFERED = "offered", _("Waiting for the organisation's answer")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        REFUSED = "refused", _("She did not agree")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals")
    from_organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="referrals_sent"
    )
    to_organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="referrals_received"
    )
    service = models.CharField(max_length=32, choices=facts.Service.choices)
    # Sealed to both organisations: a caseworker's reason may say things about her.
    reason = models.OneToOneField(
        SealedObject, on_delete=models.PROTECT, related_name="referral_reason"
    )
    decline_reason = models.OneToOneField(
        SealedObject,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referral_decline_reason",
    )
    state = models.CharField(max_length=24, choices=State.choices)
    referred_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    answered_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The question put to her when her consent was not on record (reporting owns it).
    consent_request = models.OneToOneField(
        ConsentRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="referral"
    )
    created_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"referral {self.pk} of {self.case_id} to {self.to_organization_id}"


class WorkflowStep(models.Model):
    """One thing still to do after a state change: the transactional outbox.

    Written in the same transaction as the change that calls for it (a report filed, her
    new message, an escalation), so the step exists exactly when the change does.  A task
    claims it by a conditional update, does it, and deletes it; beat re-sends steps that
    wait too long and takes back steps whose worker died (casework/workflow.py).  Ids
    only: no content, ever.
    """

    class Kind(models.TextChoices):
        NEW_CASE = "new_case", _("Tell the organisation a new case waits")
        ACTIVITY = "activity", _("Tell the caseworker she wrote or added evidence")
        ESCALATION = "escalation", _("Tell the coordination a case waits too long")
        REMINDER = "reminder", _("Remind a caseworker of cases left untouched")
        REFERRAL_OFFERED = "referral_offered", _("Tell an organisation a referral waits")
        REFERRAL_ANSWERED = "referral_answered", _("Tell the referring caseworker the answer")
        BUNDLE_REQUESTED = "bundle_requested", _("Tell the organisation a bundle is asked for")
        BUNDLE_ANSWERED = "bundle_answered", _("Tell the lawyer her bundle is ready, or why not")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        FAILED = "failed", _("Failed")

    # Random: the step of her filing, message or answer is written with it, so a
    # sequence here would order her acts (evidence/ids.py).
    id = models.BigIntegerField(primary_key=True, default=random_id, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="workflow_steps"
    )
    detail = models.JSONField(default=dict, blank=True)  # ids and plain values only
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    # To the hour: a step written with her report must not date it any finer.
    created_at = models.DateTimeField()
    # No exact creation time, so "waiting too long" is counted in sweeps: a step found
    # pending by one sweep is re-sent by the next (casework/workflow.py).
    sweeps = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)  # retry back-off
    lease_until = models.DateTimeField(null=True, blank=True)  # while a worker holds it

    class Meta:
        # Steps are independent of one another: within an hour, any order will do.
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["state", "not_before"], name="workflow_step_due")]
        verbose_name = _("workflow step")
        verbose_name_plural = _("workflow steps")

    def __str__(self) -> str:
        return f"{self.kind} step {self.pk}"


# The evidence bundles app's models (bundles/), still here with their migrations until a
# migration moves their tables (bundles/__init__.py).
class BundleBuilder(models.Model):
    """A worker process that builds evidence bundles (bundles/builder.py).

    It made an X25519 identity when it started, in its memory only: never written to
    the database, the disk or Redis.  Approving a bundle lends that identity access to
    the case's sealed objects (a stanza added to each header); the builder opens them,
    builds, and takes its stanzas back.  A builder that stops takes its key with it, so
    a copy of the server opens nothing.
    """

    name = models.CharField(max_length=200, unique=True)  # the worker's hostname
    recipient = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    heard_at = models.DateTimeField()  # it says it is alive every CASEWORK_BUILDER_BEAT s
    # The platform's signing key over (name, recipient, started_at), base64: a row that
    # someone with only database access wrote has none that verifies, and is lent
    # nothing (bundles/builder.py, "Who may be a builder").
    signature = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return self.name


class Bundle(models.Model):
    """A court-ready evidence bundle of a case, asked for by a legal partner
    (docs/BUNDLES.md): requested, approved by the case's organisation, built by a
    worker, then downloaded as one age file sealed to the legal partner."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Waiting for approval")
        PENDING = "pending", _("Approved, waiting to be built")
        BUILDING = "building", _("Being built")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Refused")
        EXPIRED = "expired", _("Expired")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="bundles")
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="bundles"
    )  # the legal partner it is sealed to
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    include_notes = models.BooleanField(default=False)
    include_messages = models.BooleanField(default=False)
    # Sealed to both organisations: why the case's organisation said no.
    refusal = models.OneToOneField(
        SealedObject, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.REQUESTED)
    builder = models.CharField(max_length=200, blank=True)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    failure = models.CharField(max_length=300, blank=True)
    # The sealed bundle: a whole age file in the blob store (header included).
    blob_key = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)  # of the sealed file
    built_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # The language she asked in: the summary's words (blank: the site's language).
    language = models.CharField(max_length=8, blank=True)
    # The recipients of her own the file was sealed to, besides her organisation's key
    # ({"recipient": "age1…", "label": "…"}), written when it is built.
    sealed_to = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"bundle {self.uuid} of {self.case_id}"

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, self.progress_done * 100 // self.progress_total)

    @property
    def file_name(self) -> str:
        return f"bundle-{self.case.reference}-{self.uuid.hex[:8]}.age"


class BundleRecipient(models.Model):
    """An age recipient a member who may download bundles registered for herself (the
    ``age1…`` line of ``age-keygen``): each bundle she asks for is also sealed to it, so
    she opens it with her own key file and the standard ``age`` tool (docs/BUNDLES.md).
    A public key: it opens nothing here."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="bundle_recipients")
    recipient = models.CharField(max_length=100)
    label = models.CharField(max_length=80, blank=True)
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "recipient"], name="one_recipient_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.recipient[:16]}… of {self.user_id}"
