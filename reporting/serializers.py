"""What the intake API reads and answers.

A new report is checked against the same vocabularies (reporting/facts.py) and limits
(reporting/forms.py) as the intake pages, with the pages' messages where they fit, so
that a report filed by an app is the report she would have filed on the site.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reporting import facts, forms, services
from reporting.models import Report


def _message(form: type, field: str, key: str):
    """The pages' own message for this error, already in the catalogues."""
    return form.base_fields[field].error_messages[key]


_ANSWER_YES_OR_NO = _message(forms.HelpForm, "consent_share", "required")
_TELL_US = _message(forms.TellUsForm, "narrative", "required")


class NewReportSerializer(serializers.Serializer):
    # Nobody is asked "minor": it follows from the age band (services.report_facts).
    urgency = serializers.MultipleChoiceField(
        choices=forms.UrgencyForm.base_fields["urgency"].choices,
        default=list,
        help_text="Everything that is true now; may be empty.",
    )
    category = serializers.ChoiceField(
        choices=facts.Category.choices,
        error_messages={"required": _message(forms.WhatHappenedForm, "category", "required")},
    )
    region = serializers.ChoiceField(
        choices=facts.Region.choices,
        error_messages={"required": _message(forms.AboutYouForm, "region", "required")},
    )
    language = serializers.ChoiceField(
        choices=facts.Language.choices,
        help_text="The language she wants to be answered in.",
        error_messages={"required": _message(forms.AboutYouForm, "language", "required")},
    )
    age_band = serializers.ChoiceField(
        choices=facts.AgeBand.choices,
        error_messages={"required": _message(forms.AboutYouForm, "age_band", "required")},
    )
    services = serializers.MultipleChoiceField(
        choices=facts.Service.choices,
        allow_empty=False,
        help_text="At least one kind of help.",
        error_messages={
            "required": _message(forms.HelpForm, "services", "required"),
            "empty": _message(forms.HelpForm, "services", "required"),
        },
    )
    consent_share = serializers.BooleanField(
        help_text="May the report go to a partner association or a lawyer if that helps her.",
        error_messages={"required": _ANSWER_YES_OR_NO},
    )
    consent_statistics = serializers.BooleanField(
        help_text="May the report be counted, without anything that identifies her, "
        "in national statistics.",
        error_messages={"required": _ANSWER_YES_OR_NO},
    )
    narrative = serializers.CharField(
        max_length=forms.NARRATIVE_LIMIT,
        help_text="What happened, in her own words, in any language. Sealed on arrival.",
        error_messages={
            "required": _TELL_US,
            "blank": _TELL_US,
            # "%(limit_value)d" is filled in by Django's MaxLengthValidator, as on the page.
            "max_length": _message(forms.TellUsForm, "narrative", "max_length"),
        },
    )
    identifiers = serializers.CharField(
        max_length=forms.SHORT_LIMIT,
        allow_blank=True,
        default="",
        help_text="Who is doing this: account names, phone numbers, links. Sealed.",
    )
    contact = serializers.CharField(
        max_length=forms.SHORT_LIMIT,
        allow_blank=True,
        default="",
        help_text="A safe way to reach her, if she wants one. Sealed.",
    )

    def report_facts(self) -> services.ReportFacts:
        """The routing facts, made by the same rule as the pages' ("minor" joins the
        urgency of someone under 18)."""
        data = self.validated_data
        return services.report_facts(
            urgency=data["urgency"],
            category=data["category"],
            region=data["region"],
            language=data["language"],
            age_band=data["age_band"],
            services=data["services"],
            consent_share=data["consent_share"],
            consent_statistics=data["consent_statistics"],
        )

    def report_content(self) -> services.ReportContent:
        data = self.validated_data
        return services.ReportContent(
            narrative=data["narrative"], identifiers=data["identifiers"], contact=data["contact"]
        )


class ReceiptSerializer(serializers.Serializer):
    receipt_code = serializers.CharField(
        help_text="Her receipt code, e.g. '4821 0937 5526 1048'. Shown this once and never "
        "again: it is the only way back to the report."
    )
    status = serializers.ChoiceField(choices=Report.Status.choices)
    status_text = serializers.CharField(help_text="The status in the request's language.")


class MyReportSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Report.Status.choices)
    status_text = serializers.CharField(
        source="get_status_display", help_text="The status in the request's language."
    )
    created_at = serializers.DateTimeField(help_text="When it was filed, to the hour.")
    evidence_count = serializers.IntegerField(source="evidence.count")


@extend_schema_field(OpenApiTypes.BINARY)
class _UploadedFile(serializers.FileField):
    """A file sent in the body (drf-spectacular would otherwise describe a URL)."""


class EvidenceUploadSerializer(serializers.Serializer):
    """The multipart body, for the schema: the sealing upload handler reads it."""

    evidence = serializers.ListField(
        child=_UploadedFile(),
        allow_empty=False,
        help_text="One or more files: screenshots, photos, videos, voice notes, PDF, chat "
        "exports, ZIP. The type is told from the bytes, never from the name.",
    )


class EvidenceItemSerializer(serializers.Serializer):
    kind = serializers.CharField(
        help_text="Told from the file's bytes: image, video, audio, pdf, text or archive."
    )
    size = serializers.IntegerField(help_text="Bytes received.")


class EvidenceAddedSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    items = EvidenceItemSerializer(many=True)


# evidence.uploads.Refusal's reasons, and evidence.exceptions.UploadRefused's.
REFUSAL_REASONS = [
    ("too_large", "Larger than the limit for one file."),
    ("report_too_large", "All the report's files together are larger than the limit."),
    ("type", "Not a kind of file that is accepted (told from its bytes)."),
    ("empty", "The file is empty."),
    ("interrupted", "The upload stopped in the middle of the file."),
    ("image_too_large", "An image with too many pixels to open safely."),
]


class RefusalSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The file's name, without folders.")
    reason = serializers.ChoiceField(choices=REFUSAL_REASONS)
    message = serializers.CharField(help_text="The reason in the request's language.")


class EvidenceRefusedSerializer(serializers.Serializer):
    evidence = serializers.ListField(child=serializers.CharField())
    refusals = RefusalSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in the request's language.")


# --- the first-response guide (reporting/guide/api.py) -----------------------------------
# Read-only answers, built from reporting/guide's dataclasses.

GUIDE_NODE_TYPES = [("question", "question"), ("advice", "advice")]
GUIDE_CARD_KINDS = [
    ("technical", "technical"),
    ("legal", "legal"),
    ("psychological", "psychological"),
]
GUIDE_BLOCK_FORMATS = [
    ("text", "text"),
    ("steps", "steps"),
    ("emergency_numbers", "emergency_numbers"),
]
GUIDE_ACTIONS = [("report", "report"), ("talk", "talk")]


class GuideGoToSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="What to show her: an answer, or a link to go on.")
    next = serializers.CharField(
        help_text="The id of the node it leads to: GET /api/guide/{lang}/nodes/{next}/."
    )


class GuideEmergencyNumberSerializer(serializers.Serializer):
    name = serializers.CharField()
    number = serializers.CharField(help_text="Digits, as dialled.")
    note = serializers.CharField(help_text="When to call it; may be empty.")


class GuideBlockSerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=GUIDE_BLOCK_FORMATS,
        help_text="text: a paragraph in `text`; steps: a numbered list in `steps`; "
        "emergency_numbers: the numbers in `numbers`.",
    )
    text = serializers.CharField(help_text="Plain text; \\n is a line break. Empty unless text.")
    steps = serializers.ListField(child=serializers.CharField(), help_text="Empty unless steps.")
    numbers = GuideEmergencyNumberSerializer(many=True)


class GuideLinkSerializer(serializers.Serializer):
    text = serializers.CharField()
    url = serializers.URLField(help_text="An official site (https). Send it as a plain link.")


class GuideActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=GUIDE_ACTIONS,
        help_text="report: file a report; talk: emergency numbers and listening centres "
        "(GET /api/guide/{lang}/talk/).",
    )
    label = serializers.CharField(help_text="The button's text in the guide's language.")
    url = serializers.URLField(help_text="The same on the website.")


class GuideCardSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=GUIDE_CARD_KINDS)
    kind_label = serializers.CharField(help_text="The kind in the guide's language.")
    title = serializers.CharField()
    blocks = GuideBlockSerializer(many=True)
    links = GuideLinkSerializer(many=True)
    actions = GuideActionSerializer(many=True, help_text="Always report, then talk.")


class GuideNodeSerializer(serializers.Serializer):
    language = serializers.CharField()
    id = serializers.CharField()
    type = serializers.ChoiceField(
        choices=GUIDE_NODE_TYPES,
        help_text="question: ask `text` and offer the `answers`; advice: show `text` as a "
        "title, then the `cards`, then `then` if there is one.",
    )
    text = serializers.CharField(help_text="The question, or the advice page's title.")
    hint = serializers.CharField(help_text="A sentence to show under it; may be empty.")
    parent = serializers.CharField(
        allow_null=True, help_text="The node before it on the shortest way from the start."
    )
    url = serializers.URLField(help_text="The same node on the website.")
    answers = GuideGoToSerializer(many=True, help_text="Empty for advice.")
    cards = GuideCardSerializer(many=True, help_text="Empty for a question.")
    then = GuideGoToSerializer(
        allow_null=True, help_text="Advice only: a link to go on (null if none)."
    )


class GuideListeningCentreSerializer(serializers.Serializer):
    region = serializers.ChoiceField(choices=facts.Region.choices)
    region_name = serializers.CharField(help_text="The region in the guide's language.")
    name = serializers.CharField()
    description = serializers.CharField()
    phone = serializers.CharField(help_text="May be empty.")
    address = serializers.CharField(help_text="May be empty.")


class GuideTalkSerializer(serializers.Serializer):
    language = serializers.CharField()
    emergency_numbers = GuideEmergencyNumberSerializer(many=True)
    listening_centres = GuideListeningCentreSerializer(many=True)
