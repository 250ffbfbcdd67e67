from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from evidence.ids import random_id
from evidence.models import EvidenceItem, SealedObject
from reporting import facts


class ReporterKey(models.Model):
    """A reporter's identity, sealed under her receipt code.

    She is known by nothing else: no account, no name, no address.  The code itself is
    never stored; ``lookup`` comes out of a slow KDF over it (reporting/receipts.py), so
    finding a row from a guessed code costs a full scrypt per guess.
    """

    # Random keys, here and on every row below: a sequence would order her acts between
    # the staff's, whose times are exact (evidence/ids.py).
    id = models.BigIntegerField(primary_key=True, default=random_id, editable=False)
    lookup = models.CharField(max_length=64, unique=True, editable=False)
    key_recipient = models.CharField(max_length=100, editable=False)
    sealed_key = models.BinaryField(editable=False)
    # Rounded to the hour, like every reporter-side timestamp: a precise time could be
    # matched against a network log to find who filed.
    created_at = models.DateTimeField(editable=False)

    def __str__(self) -> str:
        return f"reporter key {self.pk}"


class Report(models.Model):
    """A report: routing facts in plaintext, everything she wrote sealed in ``content``."""

    id = models.BigIntegerField(primary_key=True, default=random_id, editable=False)

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received: it is waiting for a caseworker")
        IN_PROGRESS = "in_progress", _("A caseworker is looking after your report")
        REFERRED = "referred", _("Your report was passed on to a partner, with your consent")
        CLOSED = "closed", _("Closed")

    reporter = models.OneToOneField(ReporterKey, on_delete=models.PROTECT, related_name="report")
    # Routing facts: coarse and non-identifying (DESIGN.md).
    urgency = models.JSONField(default=list)  # UrgencySignal values she said yes to
    category = models.CharField(max_length=32, choices=facts.Category.choices)
    gbvims_type = models.CharField(max_length=32, choices=facts.GBVIMSType.choices)
    region = models.CharField(max_length=32, choices=facts.Region.choices)
    language = models.CharField(max_length=8, choices=facts.Language.choices)
    age_band = models.CharField(max_length=16, choices=facts.AgeBand.choices)
    services = models.JSONField(default=list)  # Service values
    consent_share = models.BooleanField()
    consent_statistics = models.BooleanField()
    # Content: narrative, identifiers, contact, sealed to her and to who helps her.
    content = models.OneToOneField(SealedObject, on_delete=models.PROTECT, related_name="report")
    evidence = models.ManyToManyField(
        EvidenceItem, related_name="reports", blank=True, through="ReportEvidence"
    )
    # The age1... recipients everything of this report is sealed to (hers first), so that
    # what she adds later opens for the same people.
    sealed_to = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    created_at = models.DateTimeField()  # to the hour

    def __str__(self) -> str:
        return f"report {self.pk}"

    @property
    def is_urgent(self) -> bool:
        return bool(self.urgency)


class Message(models.Model):
    """A message between her and the people helping her, sealed like her report."""

    class Author(models.TextChoices):
        REPORTER = "reporter", _("You")
        HELPER = "helper", _("The person helping you")

    id = models.BigIntegerField(primary_key=True, default=random_id, editable=False)
    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="messages")
    author = models.CharField(max_length=16, choices=Author.choices)
    body = models.OneToOneField(SealedObject, on_delete=models.PROTECT, related_name="message")
    created_at = models.DateTimeField()  # to the hour
    # Its place in the conversation (1, 2, ...), counted under the report's lock: the
    # order both sides read on the page, and nothing about any other report.
    position = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["report_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["report", "position"], name="one_message_position")
        ]

    def __str__(self) -> str:
        return f"message {self.pk} on report {self.report_id}"


class ConsentRequest(models.Model):
    """A question put to her on her return visit: may her report go to this
    organisation, for this service?  Casework asks (a referral without her consent on
    record); she answers yes or no; her answer is what makes the sharing lawful."""

    class State(models.TextChoices):
        ASKED = "asked", _("Waiting for your answer")
        GRANTED = "granted", _("You agreed")
        REFUSED = "refused", _("You did not agree")

    id = models.BigIntegerField(primary_key=True, default=random_id, editable=False)
    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="consent_requests")
    service = models.CharField(max_length=32, choices=facts.Service.choices)
    # Who would receive it, as she will read it, and the age1... recipient her yes
    # shares her report with (her own key re-issues the headers).
    organization_name = models.CharField(max_length=200)
    recipient = models.CharField(max_length=100)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ASKED)
    asked_at = models.DateTimeField()  # to the hour
    answered_at = models.DateTimeField(null=True, blank=True)  # to the hour
    # The order the questions were put to her on this report (1, 2, ...).
    position = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["report_id", "position"]

    def __str__(self) -> str:
        return f"consent request {self.pk} on report {self.report_id}"


class ReportEvidence(models.Model):
    """Which files belong to which report: the table Django made for ``Report.evidence``
    (same name and columns), declared here only to give its rows random keys too: its
    sequence would have ordered every file added, across all reports."""

    id = models.BigIntegerField(primary_key=True, default=random_id, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE)
    evidenceitem = models.ForeignKey(EvidenceItem, on_delete=models.CASCADE)

    class Meta:
        db_table = "reporting_report_evidence"
        unique_together = [("report", "evidenceitem")]

    def __str__(self) -> str:
        return f"evidence {self.evidenceitem_id} of report {self.report_id}"
