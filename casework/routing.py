"""Which organisation handles a new report, and why.  Functions over routing facts only.

A report is sealed, at intake, to the organisation that will handle it and to the
national coordination (which DESIGN.md says can always read a case).  Sealing at
intake, rather than sharing later, is deliberate: a background task holds no key and so
cannot re-issue a header; only the people filing (her) and holding (members) can.

The choice, in order:
1. routing rules (``RoutingRule``, edited in the admin), lowest order first: the first
   rule whose conditions match and one of whose organisations holds a key and has room
   (open cases below capacity) gives the report to the least loaded of those;
2. when no rule places it: the least-loaded partner association or listening centre
   whose own coverage (regions, languages, services) serves it, below capacity;
3. otherwise the national coordination.
Every step says why, for the admin's dry-run page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from casework.models import Case, Organization, RoutingRule
from evidence import keys

OrganizationKind = Organization.Kind
PARTNER_KINDS = [OrganizationKind.PARTNER_ASSOCIATION, OrganizationKind.LISTENING_CENTRE]


@dataclass
class Decision:
    organization: Organization | None
    reasons: list[str] = field(default_factory=list)


def _covers(offered: list, wanted: list) -> bool:
    return not offered or not wanted or bool(set(offered) & set(wanted))


def rule_matches(rule: RoutingRule, report_facts) -> bool:
    urgent = bool(report_facts.urgency)
    return (
        _covers(rule.categories, [report_facts.category])
        and _covers(rule.regions, [report_facts.region])
        and _covers(rule.languages, [report_facts.language])
        and _covers(rule.age_bands, [report_facts.age_band])
        and _covers(rule.services, report_facts.services)
        and (
            rule.urgency == RoutingRule.Urgency.ANY
            or (rule.urgency == RoutingRule.Urgency.URGENT) == urgent
        )
    )


def _serves(organization: Organization, report_facts) -> bool:
    return (
        _covers(organization.regions, [report_facts.region])
        and _covers(organization.languages, [report_facts.language])
        and _covers(organization.services, report_facts.services)
    )


def _with_load(organizations: QuerySet[Organization]) -> list[Organization]:
    """Those holding a key, least loaded first (open cases), ties by age."""
    return list(
        organizations.filter(sealed_key__isnull=False)
        .annotate(load=Count("cases", filter=~Q(cases__status=Case.Status.CLOSED)))
        .order_by("load", "pk")
    )


def _room(organization: Organization) -> str:
    return _("%(org)s has %(load)d open cases for a capacity of %(capacity)d") % {
        "org": organization.name,
        "load": organization.load,
        "capacity": organization.capacity,
    }


def decide(report_facts) -> Decision:
    decision = Decision(None)
    for rule in RoutingRule.objects.filter(active=True).prefetch_related("organizations"):
        if not rule_matches(rule, report_facts):
            continue
        candidates = _with_load(rule.organizations.all())
        free = [org for org in candidates if org.load < org.capacity]
        if free:
            decision.organization = free[0]
            decision.reasons += [
                _("Rule “%(rule)s” matches.") % {"rule": rule.name},
                _room(free[0]) + (_(", the least loaded.") if len(free) > 1 else "."),
            ]
            return decision
        decision.reasons.append(
            _("Rule “%(rule)s” matches, but its organisations are full or hold no key.")
            % {"rule": rule.name}
        )
    for organization in _with_load(Organization.objects.filter(kind__in=PARTNER_KINDS)):
        if organization.load < organization.capacity and _serves(organization, report_facts):
            decision.organization = organization
            decision.reasons += [
                _("No rule places it; %(org)s covers her region, language and services.")
                % {"org": organization.name},
                _room(organization) + ".",
            ]
            return decision
    decision.reasons.append(
        _("No partner with room covers it: the national coordination handles it.")
    )
    return decision


def coordination() -> list[Organization]:
    return list(
        Organization.objects.filter(
            kind=OrganizationKind.NATIONAL_COORDINATOR, sealed_key__isnull=False
        ).order_by("pk")
    )


def report_recipients(report_facts) -> list[keys.Recipient]:
    """The handler first (casework/services/cases.open_case reads it from there), then
    the coordination."""
    handler = decide(report_facts).organization
    readers = ([handler] if handler else []) + coordination()
    unique = list(dict.fromkeys(org.key_recipient for org in readers))  # a rule may name one
    return [keys.parse_recipient(recipient) for recipient in unique]
