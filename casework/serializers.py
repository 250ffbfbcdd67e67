"""What the caseworkers' API (casework/api.py) reads and answers.

Requests are checked with the limits of the case page's forms (casework/forms.py), so
that an act done through the API is the act she would have done on the page.  Answers
carry the case's plaintext facts; what is sealed (her words, file names, the
conversation, notes) appears only in the case file, opened by services.read_case_file().
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from casework import selectors, services, triage
from casework.forms import NOT_A_COLLEAGUE, DownloadForm, NoteForm, ReplyForm
from casework.models import Case, DownloadReason, Membership, Tag, User
from evidence.models import SealedObject
from reporting import facts
from reporting.models import Message

NOT_A_MEMBER = _("You are not a member of this organisation.")
ASSIGNEE_FILTER = _("Give a member's id, “me” or “none”.")
NOTE_LIMIT = DownloadForm.base_fields["note"].max_length
# services.set_tags() would cut a longer name to fit; an API client is told instead.
TAG_LIMIT = Tag._meta.get_field("name").max_length
TAGS_PER_CASE = 20


class CaseStatusField(serializers.ChoiceField):
    """A case's status (casework/states.py moves it)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(choices=Case.Status.choices, **kwargs)


class CaseStatusSchema(OpenApiSerializerFieldExtension):
    """The case's statuses as one schema component of their own.  Left to
    drf-spectacular, they would be named "StatusEnum" after the field, like the report
    status of the reporter's API, and the two would collide."""

    target_class = CaseStatusField

    def map_serializer_field(self, auto_schema, direction):
        component = ResolvedComponent(
            name="CaseStatusEnum",
            type=ResolvedComponent.SCHEMA,
            object="CaseStatusEnum",
            schema={
                "type": "string",
                "enum": Case.Status.values,
                "description": "\n".join(
                    f"* `{value}` - {label}" for value, label in Case.Status.choices
                ),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


# --- the queue ---------------------------------------------------------------------------


class QueueQuerySerializer(serializers.Serializer):
    """The queue's query string: the queue page's filters, checked strictly."""

    org = serializers.SlugField(
        required=False,
        help_text="The organisation's short name, among hers; her first one if left out.",
    )
    status = CaseStatusField(
        required=False,
        allow_blank=True,
        help_text="Left out: every case that is not closed.",
    )
    category = serializers.ChoiceField(
        choices=facts.Category.choices, required=False, allow_blank=True
    )
    region = serializers.ChoiceField(choices=facts.Region.choices, required=False, allow_blank=True)
    urgent = serializers.ChoiceField(
        choices=[("yes", "Urgent only"), ("no", "Not urgent only")],
        required=False,
        allow_blank=True,
    )
    assignee = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=12,
        help_text="A member's id, `me`, or `none` for the cases nobody has taken.",
    )
    breached = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Only the cases still new after the time they had to be acknowledged by.",
    )
    page = serializers.IntegerField(required=False, default=1, min_value=1)

    def validate_org(self, slug: str) -> Membership:
        for membership in self.context["memberships"]:
            if membership.organization.slug == slug:
                return membership
        raise serializers.ValidationError(NOT_A_MEMBER)

    def validate_assignee(self, value: str) -> str:
        if value and value not in ("me", "none") and not value.isdecimal():
            raise serializers.ValidationError(ASSIGNEE_FILTER)
        return value

    def membership(self) -> Membership:
        return self.validated_data.get("org") or self.context["memberships"][0]

    def filters(self) -> selectors.QueueFilters:
        data = self.validated_data
        return selectors.QueueFilters(
            status=data.get("status") or "",
            category=data.get("category") or "",
            region=data.get("region") or "",
            urgent=data.get("urgent") or "",
            assignee=data.get("assignee") or "",
            breached=data["breached"],
        )


class CaseSerializer(serializers.Serializer):
    """A case's plaintext facts: what the queue shows.  Nothing here is decrypted."""

    id = serializers.IntegerField()
    reference = serializers.CharField(
        help_text="What staff call the case, e.g. C-3F9K-Q2MX-7TD (C-000042 before issue 16)."
    )
    urgent = serializers.BooleanField(help_text="A danger sign was ticked (priority 3).")
    priority = serializers.IntegerField(
        help_text="The urgency rubric (docs/CASEWORK.md): 3 immediate, 2 high, 1 normal."
    )
    priority_reasons = serializers.SerializerMethodField(
        help_text="Why, in the language of the request."
    )
    status = CaseStatusField()
    category = serializers.ChoiceField(source="report.category", choices=facts.Category.choices)
    gbvims_type = serializers.ChoiceField(
        source="report.gbvims_type", choices=facts.GBVIMSType.choices
    )
    region = serializers.ChoiceField(source="report.region", choices=facts.Region.choices)
    age_band = serializers.ChoiceField(source="report.age_band", choices=facts.AgeBand.choices)
    language = serializers.ChoiceField(
        source="report.language",
        choices=facts.Language.choices,
        help_text="The language she wants to be answered in.",
    )
    opened_at = serializers.DateTimeField(help_text="When she filed, to the hour.")
    sla_due_at = serializers.DateTimeField(help_text="When it must be acknowledged by.")
    breached = serializers.SerializerMethodField(
        help_text="Still new after the time it had to be acknowledged by."
    )

    def get_priority_reasons(self, case) -> list[str]:
        return triage.reason_labels(case.priority_reasons)

    assignee = serializers.CharField(
        source="assignee.username", allow_null=True, help_text="Username, or null for nobody."
    )
    outcome = serializers.ChoiceField(
        choices=Case.Outcome.choices,
        allow_blank=True,
        help_text="Why it was last closed; empty if it never was.  Kept when it is "
        "reopened: `status` says whether it is closed now.",
    )
    tags = serializers.SerializerMethodField(help_text="Her organisation's tags on the case.")
    legal_hold = serializers.BooleanField(
        help_text="A court still needs it: retention will not erase it while this is true."
    )

    @extend_schema_field(bool)
    def get_breached(self, case: Case) -> bool:
        now = self.context["now"]
        return case.status == Case.Status.NEW and case.sla_due_at < now

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, case: Case) -> list[str]:
        return [tag.name for tag in case.tags.all()]  # prefetched by the queue's selector


class OrganizationSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class CountsSerializer(serializers.Serializer):
    """The numbers at the top of the queue (selectors.queue_counts)."""

    open = serializers.IntegerField()
    new = serializers.IntegerField()
    urgent = serializers.IntegerField(help_text="Open and urgent.")
    breached = serializers.IntegerField(help_text="Still new past the time they were due.")
    mine = serializers.IntegerField(help_text="Open and assigned to her.")
    unassigned = serializers.IntegerField(help_text="Open and assigned to nobody.")


class QueueSerializer(serializers.Serializer):
    organization = OrganizationSerializer()
    counts = CountsSerializer()
    count = serializers.IntegerField(help_text="Cases matching the filters, on all pages.")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = CaseSerializer(many=True)


# --- the case file -----------------------------------------------------------------------


@dataclass
class OpenedCase:
    """A case and what was opened of it for one request.  The facts are read from the
    case, as in the queue; the rest from the case file, in memory only."""

    case: Case
    file: services.CaseFile
    timeline: list[selectors.TimelineEntry]
    moves: list[dict]
    access: str = selectors.Access.OWNER

    def __getattr__(self, name: str):
        # Only reached for what the dataclass lacks: the case's own facts.
        return getattr(self.case, name)


class EvidenceSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="item.pk")
    name = serializers.CharField(help_text="The name she gave the file (it was sealed).")
    kind = serializers.CharField(
        source="item.kind", help_text="image, video, audio, pdf, text or archive."
    )
    mime = serializers.CharField(source="item.mime", help_text="Told from the file's bytes.")
    size = serializers.IntegerField(source="item.size", help_text="Bytes received.")
    sha256 = serializers.CharField(source="item.sha256", help_text="Of the original bytes.")
    received_at = serializers.DateTimeField(source="item.received_at", help_text="To the hour.")
    has_working_copy = serializers.SerializerMethodField(
        help_text="A sanitised copy (no metadata, no location) can be viewed."
    )
    sealed_by = serializers.ChoiceField(
        source="item.original.sealed_by",
        choices=SealedObject.SealedBy.choices,
        help_text="How the original was sealed: `browser`, on her device before it was "
        "sent (the server only ever held ciphertext); `server`, by the server as it "
        "arrived.",
    )

    @extend_schema_field(bool)
    def get_has_working_copy(self, view) -> bool:
        return view.item.working_copy_id is not None


class MessageSerializer(serializers.Serializer):
    author = serializers.ChoiceField(
        choices=Message.Author.choices,
        help_text="`reporter` (her) or `helper` (her organisation).",
    )
    text = serializers.CharField()
    hour = serializers.DateTimeField(help_text="When it was sent, to the hour.")


class NoteSerializer(serializers.Serializer):
    author = serializers.CharField(help_text="The username of who wrote it.")
    at = serializers.DateTimeField()
    text = serializers.CharField()


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(help_text="A username, `reporter` or `system`.")
    action = serializers.CharField(help_text="What happened, as named in the audit log.")
    label = serializers.CharField(help_text="What happened, in the request's language.")


class MoveSerializer(serializers.Serializer):
    to = CaseStatusField()
    label = serializers.CharField(help_text="The button's words, in the request's language.")


class CaseFileSerializer(CaseSerializer):
    """The facts, and what was opened with her key for this request (audited)."""

    narrative = serializers.CharField(source="file.narrative", help_text="What she wrote.")
    identifiers = serializers.CharField(
        source="file.identifiers", help_text="Accounts, links and names she gave."
    )
    contact = serializers.CharField(
        source="file.contact", help_text="A safe way to reach her, if she gave one."
    )
    content_sealed_by = serializers.ChoiceField(
        source="file.content_sealed_by",
        choices=SealedObject.SealedBy.choices,
        help_text="How her words were sealed: `browser`, on her device; `server`, by the "
        "server as they arrived.",
    )
    evidence = EvidenceSerializer(source="file.evidence", many=True)
    messages = MessageSerializer(source="file.messages", many=True)
    notes = NoteSerializer(
        source="file.notes", many=True, help_text="Her organisation's; she never reads them."
    )
    timeline = TimelineEntrySerializer(many=True, help_text="What was done, oldest first.")
    moves = MoveSerializer(
        many=True,
        help_text="The statuses she may move the case to now; empty if her role "
        "does not work cases.",
    )
    access = serializers.ChoiceField(
        choices=[
            selectors.Access.OWNER,
            selectors.Access.REFERRAL,
            selectors.Access.ESCALATION,
            selectors.Access.URGENT,
        ],
        help_text="Why she may read it: `owner`, her organisation's case; otherwise she "
        "reads it only (no act on it is allowed): `referral`, referred to her "
        "organisation, which accepted; `escalation` or `urgent`, she is of the national "
        "coordination.",
    )


# --- acts on a case ----------------------------------------------------------------------


class StatusChangeSerializer(serializers.Serializer):
    to = CaseStatusField(help_text="One of the case file's `moves`.")
    outcome = serializers.ChoiceField(
        choices=Case.Outcome.choices,
        required=False,
        default="",
        help_text="Why the case is closed: required when `to` is `closed` (400 without "
        "it), what the statistics count; not read for any other move.",
    )


class AssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(
        allow_null=True, help_text="A colleague's user id, or null to give the case to nobody."
    )

    def validate_assignee(self, pk: int | None) -> User | None:
        if pk is None:
            return None
        colleague = selectors.colleagues(self.context["case"]).filter(pk=pk).first()
        if colleague is None:
            raise serializers.ValidationError(NOT_A_COLLEAGUE)
        return colleague


class TagsSerializer(serializers.Serializer):
    tags = serializers.ListField(
        child=serializers.CharField(max_length=TAG_LIMIT),
        max_length=TAGS_PER_CASE,
        help_text="Exactly the case's tags from now on; an empty list removes them all. "
        "Tags are not sealed: never put a name in a tag.",
    )


class NoteTextSerializer(serializers.Serializer):
    text = serializers.CharField(
        max_length=NoteForm.base_fields["text"].max_length,
        help_text="Sealed for her organisation. The reporter does not see notes.",
    )


class ReplyTextSerializer(serializers.Serializer):
    text = serializers.CharField(
        max_length=ReplyForm.base_fields["text"].max_length,
        help_text="Sealed to her and to the organisations her report is sealed to; she "
        "reads it when she comes back with her receipt code.",
    )


class DownloadSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=DownloadReason.choices,
        help_text="Why she needs the original file, from a short list; written in the audit "
        "log with her name.",
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=NOTE_LIMIT,
        help_text="Optional (required for 'other'): sealed to her organisation; the audit "
        "log names it, never holds it.",
    )

    def validate(self, attrs):
        if attrs["reason"] == DownloadReason.OTHER and not attrs.get("note", "").strip():
            raise serializers.ValidationError({"note": [_("Say why in the note.")]})
        return attrs
