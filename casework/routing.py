"""Which organisations read a new report.  Pure functions over routing facts.

For now every report is sealed to the national coordination, which DESIGN.md says can
always read a case and which dispatches it by hand; rules that choose partner
associations and listening centres by region, language, category and capacity (issue 6)
add to this list.  Only organisations that hold a key can receive anything.
"""

from __future__ import annotations

from casework.models import Organization
from evidence import keys


def report_recipients(report_facts) -> list[keys.Recipient]:
    coordination = Organization.objects.filter(
        kind=Organization.Kind.NATIONAL_COORDINATOR, sealed_key__isnull=False
    ).order_by("pk")
    return [keys.parse_recipient(org.key_recipient) for org in coordination]
