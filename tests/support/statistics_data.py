"""Reports, cases and referrals inserted straight into the tables, thousands at a time,
for the statistics tests (observatory/counts.py counts plaintext routing facts only).

Filing through the reporting service seals every report (scrypt, X25519...): right for
the tests of filing, far too slow for 3,000 reports.  As bench/queue.py does, each
report here gets a placeholder sealed object and reporter key, which nothing opens.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from casework.models import Case, Organization, Referral, User
from evidence.models import SealedObject
from reporting import facts
from reporting.models import ConsentRequest, Report, ReporterKey


@dataclass(frozen=True)
class Filed:
    """The facts of one report, and what became of its case."""

    month: str  # YYYY-MM
    category: str = "cyberharassment"
    region: str = "casablanca_settat"
    age_band: str = "18_24"
    urgent: bool = False
    consent: bool = True
    day: int = 10
    hour: int = 12
    acknowledged_after: float | None = None  # hours after opening
    priority: int = 1


def moment(month: str, day: int = 10, hour: int = 12) -> datetime:
    year, number = map(int, month.split("-"))
    return datetime(year, number, day, hour, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _sealed(count: int) -> list[SealedObject]:
    return SealedObject.objects.bulk_create(
        SealedObject(blob_key=uuid.uuid4().hex, header=b"\x00", payload_size=0)
        for _ in range(count)
    )


def insert(filed: list[Filed], organization: Organization) -> list[Report]:
    """One report and one case per entry, in four bulk inserts."""
    sealed = _sealed(len(filed))
    keys = ReporterKey.objects.bulk_create(
        ReporterKey(
            lookup=uuid.uuid4().hex * 2,
            key_recipient="age1statisticstest",
            sealed_key=b"\x00",
            created_at=moment(f.month, f.day, f.hour),
        )
        for f in filed
    )
    reports = Report.objects.bulk_create(
        Report(
            reporter=key,
            urgency=["physical_danger"] if f.urgent else [],
            category=f.category,
            gbvims_type=facts.GBVIMS_TYPE[facts.Category(f.category)],
            region=f.region,
            language="ar",
            age_band=f.age_band,
            services=["listening"],
            consent_share=True,
            consent_statistics=f.consent,
            content=content,
            sealed_to=[],
            created_at=moment(f.month, f.day, f.hour),
        )
        for f, key, content in zip(filed, keys, sealed, strict=True)
    )
    cases = []
    for f, report in zip(filed, reports, strict=True):
        opened = moment(f.month, f.day, f.hour)
        acknowledged = (
            opened + timedelta(hours=f.acknowledged_after)
            if f.acknowledged_after is not None
            else None
        )
        cases.append(
            Case(
                report=report,
                organization=organization,
                status=Case.Status.ACKNOWLEDGED if acknowledged else Case.Status.NEW,
                urgent=f.urgent,
                priority=f.priority,
                opened_at=opened,
                sla_due_at=opened + timedelta(hours=48),
                acknowledged_at=acknowledged,
            )
        )
    Case.objects.bulk_create(cases)
    return reports


def refer(
    report: Report,
    *,
    to: Organization,
    by: User,
    service: str = "legal",
    state: str = Referral.State.ACCEPTED,
    created_at: datetime,
    answered_at: datetime | None = None,
    asked_until: datetime | None = None,
) -> Referral:
    """A referral of the report's case, in the given state.  ``asked_until``: her
    consent was asked, and she answered then (None: not yet; omit the argument for
    consent already on record)."""
    request = None
    if asked_until is not None or state == Referral.State.AWAITING_CONSENT:
        request = ConsentRequest.objects.create(
            report=report,
            service=service,
            organization_name=to.name,
            recipient="age1statisticstest",
            state=ConsentRequest.State.ASKED,
            asked_at=created_at,
            answered_at=asked_until,
        )
    (reason,) = _sealed(1)
    return Referral.objects.create(
        case=report.case,
        from_organization=report.case.organization,
        to_organization=to,
        service=service,
        reason=reason,
        state=state,
        referred_by=by,
        consent_request=request,
        created_at=created_at,
        answered_at=answered_at,
    )


def months_ending(last: date, count: int = 12) -> list[str]:
    months, year, month = [], last.year, last.month
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def realistic(
    seed: int,
    months: list[str],
    *,
    reports: int = 3000,
    regions: int = 12,
    age_bands: int = 4,
) -> list[Filed]:
    """A year of reports as they might come: skewed categories and regions (Casablanca
    large, the Saharan regions tiny), a few age bands, about a third urgent; almost
    every one of the ~15,000 detailed cells under 5."""
    rng = random.Random(seed)
    categories = list(facts.Category.values)
    category_weights = [rng.uniform(0.3, 1.5) for _ in categories]
    region_values = list(facts.Region.values)[:regions]
    region_weights = [0.3, 0.05, 0.12, 0.16, 0.04, 0.3, 0.11, 0.02, 0.06, 0.01, 0.01, 0.01]
    region_weights = region_weights[:regions]
    bands = ["18_24", "25_34", "under_18", "35_49", "50_plus", "not_said"][:age_bands]
    band_weights = [0.4, 0.3, 0.12, 0.1, 0.05, 0.03][:age_bands]
    filed = []
    for _ in range(reports):
        acknowledged = rng.choice([None, rng.uniform(0.5, 3), rng.uniform(2, 60)])
        urgent = rng.random() < 0.3
        filed.append(
            Filed(
                month=rng.choice(months),
                category=rng.choices(categories, category_weights)[0],
                region=rng.choices(region_values, region_weights)[0],
                age_band=rng.choices(bands, band_weights)[0],
                urgent=urgent,
                day=rng.randint(1, 28),
                hour=rng.randint(0, 23),
                acknowledged_after=acknowledged,
                priority=3 if urgent else rng.choice([1, 2]),
            )
        )
    return filed
