"""Which organisations read a new report.  Pure functions over routing facts.

A report is sealed, at intake, to the organisation that will handle it and to the
national coordination (which DESIGN.md says can always read a case).  Sealing at
intake, rather than sharing later, is deliberate: a background task holds no key and so
cannot re-issue a header; only the people filing (her) and holding (members) can.

The handler is the least-loaded partner association or listening centre that serves the
report's region, language and a service she asked for, below its capacity; when none
does, the coordination handles it itself.  Rules edited in the admin (issue 6) refine
this choice.  Only organisations that hold a key can receive anything.
"""

from __future__ import annotations

from django.db.models import Count, Q

from casework.models import Case, Organization
from evidence import keys

Kind = Organization.Kind
PARTNER_KINDS = [Kind.PARTNER_ASSOCIATION, Kind.LISTENING_CENTRE]


def _serves(organization: Organization, report_facts) -> bool:
    def covers(offered: list, wanted: list) -> bool:
        return not offered or not wanted or bool(set(offered) & set(wanted))

    return (
        covers(organization.regions, [report_facts.region])
        and covers(organization.languages, [report_facts.language])
        and covers(organization.services, report_facts.services)
    )


def handler_for(report_facts) -> Organization | None:
    partners = (
        Organization.objects.filter(kind__in=PARTNER_KINDS, sealed_key__isnull=False)
        .annotate(load=Count("cases", filter=~Q(cases__status=Case.Status.CLOSED)))
        .order_by("load", "pk")
    )
    for organization in partners:
        if organization.load < organization.capacity and _serves(organization, report_facts):
            return organization
    return None


def report_recipients(report_facts) -> list[keys.Recipient]:
    """The handler first (casework/services/cases.open_case reads it from there), then
    the coordination."""
    coordination = list(
        Organization.objects.filter(
            kind=Kind.NATIONAL_COORDINATOR, sealed_key__isnull=False
        ).order_by("pk")
    )
    handler = handler_for(report_facts)
    readers = ([handler] if handler else []) + coordination
    return [keys.parse_recipient(org.key_recipient) for org in readers]
