"""Cases closed, by outcome: counted from the closings' audit rows, as they stood when
the period ended, and published under the same suppression as every other table
(issue 15, item 13)."""

from __future__ import annotations

import html
import json
from collections import Counter
from datetime import datetime

import pytest
from django.utils import timezone

from casework import audit, services
from casework.models import Case
from observatory import counts
from observatory.period import Period
from observatory.suppression import SMALL
from tests.support.attacker import attacker_bounds
from tests.support.attacker import audit as attacker_audit
from tests.support.statistics_data import Filed, insert, moment

pytestmark = pytest.mark.django_db


class _Clock:
    """The audit log's clock set to a day of the period: its rows are stamped with the
    time they are written, and a period is always of months already over."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def close(case: Case, outcome: str, actor, *, at: datetime, monkeypatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(audit, "timezone", _Clock(at))
        services.change_status(case, Case.Status.CLOSED, actor=actor, outcome=outcome)


def test_cases_closed_are_counted_by_outcome_as_they_stood_at_the_end(cast, monkeypatch):
    period = Period.default()
    first, last = period.months[0], period.months[-1]
    alice = cast.users["alice"]
    filed = [Filed(month=first, acknowledged_after=2) for _ in range(12)]
    filed += [Filed(month=first, acknowledged_after=2, urgent=True) for _ in range(2)]
    filed += [Filed(month=first, acknowledged_after=2, consent=False)]
    reports = insert(filed, cast.orgs["association"])
    cases = [r.case for r in reports]
    for case in cases[:7]:
        close(case, "helped", alice, at=moment(last), monkeypatch=monkeypatch)
    for case in cases[7:9]:
        close(case, "no_reply", alice, at=moment(first, 20), monkeypatch=monkeypatch)
    # Closed, reopened and closed again within the period: its last reason counts, once.
    close(cases[9], "no_reply", alice, at=moment(first, 12), monkeypatch=monkeypatch)
    with monkeypatch.context() as patch:
        patch.setattr(audit, "timezone", _Clock(moment(first, 13)))
        services.change_status(cases[9], Case.Status.IN_PROGRESS, actor=alice)
    close(cases[9], "content_removed", alice, at=moment(first, 14), monkeypatch=monkeypatch)
    # Closed within it, reopened after it: closed when it ended.
    close(cases[10], "helped", alice, at=moment(last, 2), monkeypatch=monkeypatch)
    services.change_status(cases[10], Case.Status.IN_PROGRESS, actor=alice)
    # Closed after the period (now): not counted.
    services.change_status(cases[11], Case.Status.CLOSED, actor=alice, outcome="helped")
    for case in cases[12:14]:
        close(case, "not_our_remit", alice, at=moment(last), monkeypatch=monkeypatch)
    close(cases[14], "helped", alice, at=moment(last), monkeypatch=monkeypatch)  # no consent

    counted = counts.read_outcomes(period)

    assert counted == Counter(
        {
            ("helped", "not_urgent"): 8,
            ("no_reply", "not_urgent"): 2,
            ("content_removed", "not_urgent"): 1,
            ("not_our_remit", "urgent"): 2,
        }
    )
    published = counts.build(period, today=timezone.localdate()).outcomes
    assert published.grand_total == 13
    assert published.shown[("no_reply", "not_urgent")] == SMALL
    assert published.shown[("not_our_remit", "urgent")] == SMALL
    hidden = [k for k, v in published.shown.items() if not isinstance(v, int)]
    for key, (low, high) in attacker_bounds(published, hidden).items():
        assert low < high, (key, low, high)
    assert attacker_audit(published) == []

    coordinator = cast.client("coralie")
    page = html.unescape(coordinator.get("/fr/staff/statistics/").content.decode())
    assert "Dossiers clôturés, par issue" in page
    assert "Elle a cessé de répondre" in page
    data = json.loads(coordinator.get("/fr/staff/statistics.json").content)
    assert data["closed_cases"]["totals"]["all"] == 13
    cells = {(c["outcome"], c["urgency"]): c["count"] for c in data["closed_cases"]["cells"]}
    assert cells[("no_reply", "not_urgent")] == SMALL
