"""Routing rules are data: the operator edits them in the admin and can ask, before any
report arrives, where one would go and why."""

from __future__ import annotations

import html

import pytest
from django.utils import translation

from casework import routing
from casework.models import AuditEvent, Case, Organization, RoutingRule
from reporting import services as reporting
from tests.support.cast import file_report

pytestmark = pytest.mark.django_db


def facts(**overrides):
    answers = {
        "urgency": [],
        "category": "sextortion",
        "region": "casablanca_settat",
        "language": "ar",
        "age_band": "18_24",
        "services": ["legal"],
        "consent_share": True,
        "consent_statistics": True,
    }
    return reporting.report_facts(**{**answers, **overrides})


def rule(name, *organizations, priority=100, **conditions) -> RoutingRule:
    made = RoutingRule.objects.create(name=name, priority=priority, **conditions)
    made.organizations.set(organizations)
    return made


def test_a_matching_rule_sends_the_report_to_its_organisation_and_says_why(cast):
    rule("Sextortion to the centre", cast.orgs["centre"], categories=["sextortion"])

    report, _ = file_report(category="sextortion", region="casablanca_settat")
    decision = routing.decide(facts())

    assert report.case.organization == cast.orgs["centre"]
    assert decision.organization == cast.orgs["centre"]
    assert "Sextortion to the centre" in decision.reasons[0]


def test_rules_are_tried_in_order_and_conditions_must_all_hold(cast):
    rule("Minors first", cast.orgs["centre"], priority=1, age_bands=["under_18"])
    rule("Everything else", cast.orgs["association"], priority=2)

    assert routing.decide(facts(age_band="under_18")).organization == cast.orgs["centre"]
    assert routing.decide(facts(age_band="25_34")).organization == cast.orgs["association"]


def test_urgency_and_services_conditions(cast):
    rule("Danger", cast.orgs["centre"], urgency=RoutingRule.Urgency.URGENT)
    rule("Takedown", cast.orgs["association"], services=["takedown"], priority=200)

    assert routing.decide(facts(urgency=["self_harm"])).organization == cast.orgs["centre"]
    calm = routing.decide(facts(services=["takedown", "legal"]))
    assert calm.organization == cast.orgs["association"]


def test_the_least_loaded_organisation_with_room_takes_it(cast):
    rule("Both", cast.orgs["association"], cast.orgs["centre"])
    first, _ = file_report()
    second, _ = file_report()

    assert {first.case.organization, second.case.organization} == {
        cast.orgs["association"],
        cast.orgs["centre"],
    }


def test_when_a_rules_organisations_are_full_the_next_rule_or_the_coordination_takes_it(cast):
    centre = cast.orgs["centre"]
    centre.capacity = 0
    centre.save(update_fields=["capacity"])
    rule("Full one", centre, priority=1)

    with translation.override("en"):
        decision = routing.decide(facts(region="souss_massa"))
    report, _ = file_report(region="souss_massa")

    assert decision.organization is None
    assert decision.reasons[0].startswith("Rule “Full one” matches, but")
    assert "national coordination" in decision.reasons[-1]
    assert report.case.organization == cast.orgs["coordination"]


def test_an_inactive_rule_or_an_organisation_without_a_key_is_passed_over(cast):
    keyless = Organization.objects.create(
        name="No key yet", slug="nokey", kind=Organization.Kind.PARTNER_ASSOCIATION
    )
    rule("Keyless", keyless, priority=1)
    rule("Switched off", cast.orgs["centre"], priority=2, active=False)

    assert routing.decide(facts()).organization == cast.orgs["association"]


def test_the_operator_asks_where_a_report_would_go_and_nothing_is_filed(cast, admin_client):
    rule("Fès region", cast.orgs["centre"], regions=["fes_meknes"])

    response = admin_client.post(
        "/admin/casework/routingrule/dry-run/",
        {
            "category": "threats",
            "region": "fes_meknes",
            "language": "fr",
            "age_band": "25_34",
            "services": ["listening"],
        },
    )

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Centre d'écoute B" in page
    assert "Fès region" in page
    assert "Coordination N" in page  # also sealed to the coordination
    assert not Case.objects.exists()


def test_editing_a_rule_in_the_admin_is_audited(cast, admin_client):
    response = admin_client.post(
        "/admin/casework/routingrule/add/",
        {
            "name": "Oriental",
            "active": "on",
            "priority": "10",
            "regions": ["oriental"],
            "urgency": "any",
            "organizations": [cast.orgs["centre"].pk],
        },
    )

    assert response.status_code == 302, response.content.decode()[:1500]
    made = RoutingRule.objects.get(name="Oriental")
    assert made.regions == ["oriental"]
    assert AuditEvent.objects.filter(action="routing_rule.changed_by_operator").count() == 1
