"""The emails of the bundle steps: a bundle is asked for (to the organisation holding
the case), a bundle is answered (to the lawyer who asked: ready, refused or failed).

Performers of casework's workflow (casework/workflow.py, ``performs``): the bundle
services add the steps in their transactions, the outbox sends them, and these say that
something waits, never what (casework/notifications.py says why).  Registered when
this module is imported, from bundles/apps.py.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from casework import workflow
from casework.models import Bundle, WorkflowStep
from casework.notifications import organization_addresses, send

StepKind = WorkflowStep.Kind


def _link(name: str, *args) -> str:
    return settings.SITE_URL + reverse(name, args=args)


def _bundle(step: WorkflowStep) -> Bundle | None:
    return (
        Bundle.objects.filter(pk=step.detail.get("bundle"))
        .select_related("case__organization", "organization", "requested_by")
        .first()
    )


@workflow.performs(StepKind.BUNDLE_REQUESTED)
def bundle_requested(step: WorkflowStep) -> None:
    bundle = _bundle(step)
    if bundle is None or bundle.state != Bundle.State.REQUESTED:
        return
    with translation.override(settings.LANGUAGE_CODE):
        send(
            organization_addresses(bundle.case.organization),
            _("%(organization)s asks for an evidence bundle of case %(reference)s")
            % {"organization": bundle.organization.name, "reference": bundle.case.reference},
            "bundles/email/bundle_requested.txt",
            {"bundle": bundle, "link": _link("casework:case", bundle.case_id)},
        )


@workflow.performs(StepKind.BUNDLE_ANSWERED)
def bundle_answered(step: WorkflowStep) -> None:
    bundle = _bundle(step)
    if bundle is None:
        return
    lawyer = bundle.requested_by
    with translation.override(settings.LANGUAGE_CODE):
        send(
            [lawyer.email] if lawyer.is_active and lawyer.email else [],
            _("Evidence bundle of case %(reference)s: %(state)s")
            % {"reference": bundle.case.reference, "state": bundle.get_state_display()},
            "bundles/email/bundle_answered.txt",
            {
                "bundle": bundle,
                "link": _link("bundles:bundle", bundle.case_id, bundle.uuid),
            },
        )
