"""Anonymised statistics (issue 8): what is counted, what is hidden, and that nothing
hidden can be worked out -- by an attacker who solves every equation the export
holds, the exports read back from their bytes alone.

The attacker is tests/support/attacker.py's audit (linear programming, scipy's HiGHS):
an implementation independent of the suppression's own check (its own simplex).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import re
from collections import Counter
from datetime import date, timedelta

import pytest
from django.utils import timezone, translation

from casework.models import CASE_REFERENCE, AuditEvent, Referral
from observatory.counts import build, read
from observatory.period import Period
from observatory.suppression import HIDDEN, SMALL, publish, structure_of
from reporting import facts
from tests.support import attacker
from tests.support.attacker import attacker_bounds, audit
from tests.support.statistics_data import Filed, insert, moment, months_ending, realistic, refer

REGION_CATEGORY = [
    ("region", ("north", "south", "east")),
    ("category", ("threats", "doxxing", "other")),
]


def hidden_keys(publication):
    return [k for k, v in publication.shown.items() if not isinstance(v, int)]


def assert_nothing_recovered(publication, *, bounds_for=None):
    """The audit finds nothing; and for the chosen hidden counts (all of them by
    default) the attacker's exact range holds at least two whole numbers."""
    assert audit(publication) == []
    keys = hidden_keys(publication) if bounds_for is None else bounds_for
    for key, (low, high) in attacker_bounds(publication, keys).items():
        assert low < high, (key, low, high)


# --- the audit can fail --------------------------------------------------------------------


def test_the_audit_recovers_a_small_cell_from_a_row_total_under_naive_suppression():
    counts = Counter(
        {
            ("north", "threats"): 3,  # the small one
            ("north", "doxxing"): 20,
            ("north", "other"): 30,
            ("south", "threats"): 12,
            ("south", "doxxing"): 9,
            ("south", "other"): 7,
            ("east", "threats"): 15,
            ("east", "doxxing"): 6,
            ("east", "other"): 8,
        }
    )
    naive = publish(REGION_CATEGORY, counts, secondary=False)
    assert naive.shown[("north", "threats")] == SMALL
    assert naive.total("region", "north") == 53  # 53 - 20 - 30 = 3

    problems = audit(naive)

    assert attacker.Problem("exact", ("north", "threats"), 3.0) in problems
    assert attacker_bounds(naive, [("north", "threats")]) == {("north", "threats"): (3, 3)}


def test_the_audit_recovers_a_small_total_from_the_grand_total_under_naive_suppression():
    counts = Counter({("north", "threats"): 40, ("south", "threats"): 30, ("east", "doxxing"): 2})
    naive = publish(REGION_CATEGORY, counts, secondary=False)
    assert naive.total("region", "east") == SMALL

    problems = audit(naive)

    # 72 - 40 - 30: the east's 2 reports, although its total reads "<5".
    assert attacker.Problem("exact", ("east", None), 2.0) in problems
    assert attacker_bounds(naive, [("east", None)]) == {("east", None): (2, 2)}


def test_the_audit_sees_a_small_sum_of_hidden_cells():
    counts = Counter({("north", "threats"): 2, ("north", "doxxing"): 1, ("north", "other"): 30})
    naive = publish(REGION_CATEGORY, counts, secondary=False)

    assert attacker.Problem("small sum", ("north", None), 3) in audit(naive)


# --- the suppression passes it -------------------------------------------------------------


def test_the_same_tables_suppressed_give_nothing_away():
    for counts in (
        Counter({("north", "threats"): 3, ("north", "doxxing"): 20, ("north", "other"): 30}),
        Counter({("north", "threats"): 40, ("south", "threats"): 30, ("east", "doxxing"): 2}),
    ):
        publication = publish(REGION_CATEGORY, counts)
        assert_nothing_recovered(publication)
        # Primary suppression is untouched: every count under 5 still reads "<5".
        structure = structure_of(publication.dims)
        values = structure.true_values(counts)
        for key, value in zip(structure.keys, values, strict=True):
            if value < 5:
                assert publication.shown[key] == SMALL
            elif publication.shown[key] != HIDDEN:
                assert publication.shown[key] == value


def five_dimensions(months: int = 2):
    return [
        ("month", tuple(f"2025-{m:02d}" for m in range(1, months + 1))),
        ("category", tuple(facts.Category.values)),
        ("region", tuple(facts.Region.values)),
        ("age_band", tuple(facts.AgeBand.values)),
        ("urgency", ("urgent", "not_urgent")),
    ]


@pytest.mark.parametrize(
    ("name", "counts"),
    [
        ("a single report", {("2025-01", "sextortion", "oriental", "under_18", "urgent"): 1}),
        (
            "one region with one small cell",
            {
                ("2025-01", "threats", "casablanca_settat", "18_24", "not_urgent"): 40,
                ("2025-02", "doxxing", "casablanca_settat", "25_34", "not_urgent"): 35,
                ("2025-02", "threats", "fes_meknes", "18_24", "urgent"): 25,
                ("2025-01", "other", "dakhla_oued_ed_dahab", "50_plus", "urgent"): 2,
            },
        ),
        (
            "a total of exactly 5",
            {("2025-01", "sextortion", "oriental", "under_18", "urgent"): 5},
        ),
        (
            "a total of 5 in two cells",
            {
                ("2025-01", "threats", "oriental", "18_24", "urgent"): 3,
                ("2025-02", "threats", "oriental", "18_24", "urgent"): 2,
            },
        ),
        (
            "all cells small",
            {
                (m, c, r, "18_24", "not_urgent"): (hash((m, c, r)) % 4) + 1
                for m in ("2025-01", "2025-02")
                for c in ("threats", "doxxing", "other")
                for r in ("oriental", "souss_massa", "draa_tafilalet")
            },
        ),
    ],
)
def test_adversarial_tables_give_nothing_away(name, counts):
    publication = publish(five_dimensions(), Counter(counts))
    hidden_totals = [k for k in hidden_keys(publication) if sum(v is not None for v in k) < 5]
    # Every hidden total, and the hidden cells that hold someone, get their exact range.
    holding = [k for k in hidden_keys(publication) if counts.get(k)]
    assert_nothing_recovered(publication, bounds_for=hidden_totals + holding)


def test_a_single_report_shows_nothing_but_less_than_five_everywhere():
    counts = Counter({("2025-01", "sextortion", "oriental", "under_18", "urgent"): 1})
    publication = publish(five_dimensions(), counts)
    # No zero is published: nobody can tell which month, region or age it was.
    assert set(publication.shown.values()) == {SMALL}


def test_random_small_tables_give_nothing_away():
    """Small dense tables are where a rule that looks at one equation at a time misses
    what all of them say together; the exact check must catch every such case."""
    rng = random.Random(8)
    for _ in range(120):
        dims = [
            (f"d{d}", tuple(f"v{i}" for i in range(rng.randint(2, 4))))
            for d in range(rng.choice([2, 2, 3, 3, 4]))
        ]
        cells = list(itertools.product(*(values for _, values in dims)))
        sizes = rng.choice([[0, 0, 1, 2, 3, 4], [0, 1, 2, 4, 5, 6, 9, 20, 50], [0, 0, 0, 5, 7]])
        counts = Counter({c: rng.choice(sizes) for c in cells})
        publication = publish(dims, counts)
        assert audit(publication) == [], (dims, dict(counts), publication.shown)


def test_a_realistic_year_gives_nothing_away_and_keeps_its_totals():
    months = months_ending(date(2025, 12, 1))
    filed = realistic(3, months, reports=3000)
    counts = Counter(
        (f.month, f.category, f.region, f.age_band, "urgent" if f.urgent else "not_urgent")
        for f in filed
    )
    dims = [
        ("month", tuple(months)),
        *five_dimensions()[1:],
    ]

    publication = publish(dims, counts)

    assert audit(publication) == []
    summary = publication.summary()
    assert summary["small"] > 14000  # almost every combination is under 5...
    # ...yet every month and every category keeps its total, and all but a couple of
    # regions theirs (the small ones, and one more to protect them).
    assert all(isinstance(publication.total("month", m), int) for m in months)
    assert all(isinstance(publication.total("category", c), int) for c in facts.Category.values)
    hidden_regions = [
        r for r in facts.Region.values if not isinstance(publication.total("region", r), int)
    ]
    assert len(hidden_regions) <= 4
    assert publication.grand_total == 3000
    bounds = attacker_bounds(
        publication, [k for k in hidden_keys(publication) if sum(v is not None for v in k) == 1]
    )
    assert all(low < high for low, high in bounds.values())


# --- the period ----------------------------------------------------------------------------


def test_the_default_period_is_the_last_twelve_complete_months():
    period = Period.default(date(2026, 3, 15))
    assert period.months[0] == "2025-03"
    assert period.months[-1] == "2026-02"
    assert len(period.months) == 12


@pytest.mark.parametrize(
    ("first", "last", "reason"),
    [
        ("2026-03", "2026-03", "incomplete month"),
        ("2025-05", "2025-04", "reversed"),
        ("2023-01", "2025-02", "too long"),
        ("2025-13", "2025-12", "malformed month"),
        ("", "2025-01", "malformed month"),
    ],
)
def test_periods_refused(first, last, reason):
    with pytest.raises(ValueError, match=reason):
        Period.parse(first, last, today=date(2026, 3, 15))


# --- through the database and the exports --------------------------------------------------


@pytest.fixture
def year(cast):
    """A realistic year of consenting reports, the last 12 complete months."""
    period = Period.default()
    filed = realistic(5, list(period.months), reports=3000)
    insert(filed, cast.orgs["association"])
    return period, filed


def export(client, kind, period=None):
    query = f"?from={period.months[0]}&to={period.months[-1]}" if period else ""
    response = client.get(f"/fr/staff/statistics.{kind}{query}")
    assert response.status_code == 200, response.content[:300]
    return response


def test_no_small_count_can_be_recovered_from_the_csv_export(cast, year):
    period, filed = year
    response = export(cast.client("coralie"), "csv", period)
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")

    publication = attacker.read_csv(text)

    assert publication.grand_total == len(filed)
    assert len(list(publication.cells())) == len(period.months) * 8 * 13 * 6 * 2
    assert audit(publication) == []
    totals = [k for k in hidden_keys(publication) if sum(v is not None for v in k) < 5]
    sample = random.Random(1).sample([k for k, v in publication.cells() if v == SMALL], 12)
    for key, (low, high) in attacker_bounds(publication, totals + sample).items():
        assert low < high, key
    # Every published total is the true count: suppression hides, it never alters.
    urgent = sum(f.urgent for f in filed)
    assert publication.total("urgency", "urgent") == urgent
    assert publication.total("urgency", "not_urgent") == len(filed) - urgent
    truth = Counter(f.region for f in filed)
    for region in facts.Region.values:
        shown = publication.total("region", region)
        assert shown == truth[region] or shown in (SMALL, HIDDEN)
        assert shown != SMALL or truth[region] < 5


def test_no_small_count_can_be_recovered_from_the_json_export(cast, year):
    period, filed = year
    data = json.loads(export(cast.client("coralie"), "json", period).content)

    reports, referrals = attacker.read_json(data)

    assert data["suppression"]["threshold"] == 5
    assert data["period"] == period.as_dict()
    assert reports.grand_total == len(filed)
    assert audit(reports) == []
    assert audit(referrals) == []


def test_referral_outcomes_are_counted_as_they_stood_at_the_end_of_the_period(cast):
    period = Period.default()
    first, last = period.months[0], period.months[-1]
    reports = insert([Filed(month=first) for _ in range(30)], cast.orgs["association"])
    to, by, end = cast.orgs["centre"], cast.users["alice"], period.end
    later = end + timedelta(days=3)
    for report in reports[:12]:  # accepted within the period
        refer(report, to=to, by=by, created_at=moment(first), answered_at=moment(first, 20))
    for report in reports[12:15]:  # declined within the period
        refer(
            report,
            to=to,
            by=by,
            service="psychological",
            state=Referral.State.DECLINED,
            created_at=moment(first),
            answered_at=moment(last, 3),
        )
    for report in reports[15:22]:  # accepted, but only after the period: offered then
        refer(report, to=to, by=by, created_at=moment(last), answered_at=later)
    for report in reports[22:26]:  # she said no after the period: still asked then
        refer(
            report,
            to=to,
            by=by,
            state=Referral.State.REFUSED,
            created_at=moment(last),
            answered_at=later,
            asked_until=later,
        )
    for report in reports[26:30]:  # she said yes within it; the answer came later
        refer(
            report,
            to=to,
            by=by,
            created_at=moment(last),
            answered_at=later,
            asked_until=moment(last, 20),
        )
    refer(reports[0], to=to, by=by, created_at=later)  # after the period: not counted

    _, referrals, _ = read(period)

    assert referrals == Counter(
        {
            ("accepted", "legal"): 12,
            ("declined", "psychological"): 3,
            ("offered", "legal"): 7 + 4,
            ("awaiting_consent", "legal"): 4,
        }
    )


def test_referral_outcomes_give_nothing_away(cast):
    period = Period.default()
    rng = random.Random(4)
    reports = insert([Filed(month=period.months[0]) for _ in range(60)], cast.orgs["association"])
    truth = Counter()
    for report in reports:
        service = rng.choice(["legal", "legal", "psychological", "takedown", "listening"])
        state = rng.choice(["accepted", "accepted", "declined", "offered", "refused"])
        refer(
            report,
            to=cast.orgs["centre"],
            by=cast.users["alice"],
            service=service,
            state=state,
            created_at=moment(period.months[0]),
            answered_at=None if state == "offered" else moment(period.months[0], 20),
        )
        truth[(state, service)] += 1

    data = json.loads(export(cast.client("coralie"), "json", period).content)
    _, referrals = attacker.read_json(data)

    assert referrals.grand_total == 60
    for key, shown in referrals.cells():
        assert shown == truth[key] or (shown == SMALL and truth[key] < 5) or shown == HIDDEN
    assert_nothing_recovered(referrals)


def test_a_report_without_consent_to_statistics_is_counted_nowhere(cast):
    period = Period.default()
    month = period.months[3]
    insert(realistic(6, list(period.months), reports=600), cast.orgs["association"])
    for report in insert(
        [
            Filed(month=month, category="threats", acknowledged_after=2, priority=3)
            for _ in range(6)
        ],
        cast.orgs["association"],
    ):
        refer(report, to=cast.orgs["centre"], by=cast.users["alice"], created_at=moment(month))
    client = cast.client("coralie")

    def exported() -> tuple[dict, str]:
        data = json.loads(export(client, "json", period).content)
        del data["generated"]
        return data, export(client, "csv", period).content.decode()

    before = exported()
    (hers,) = insert(
        [Filed(month=month, category="threats", consent=False, acknowledged_after=200, priority=3)],
        cast.orgs["association"],
    )
    refer(hers, to=cast.orgs["centre"], by=cast.users["alice"], created_at=moment(month))

    assert exported() == before  # not in a cell, a total, a referral or a delay

    # Had she agreed, she would have been counted: the comparison can fail.
    type(hers).objects.filter(pk=hers.pk).update(consent_statistics=True)
    after = exported()
    assert after[0]["totals"]["all"] == before[0]["totals"]["all"] + 1


def test_a_delay_computed_on_fewer_than_five_cases_is_not_shown(cast):
    period = Period.default()
    month = period.months[0]
    insert(
        [Filed(month=month, acknowledged_after=h) for h in (1, 2, 3, 4)], cast.orgs["association"]
    )
    data = json.loads(export(cast.client("coralie"), "json", period).content)
    assert data["time_to_acknowledge"]["overall"] == {"median": None, "p90": None}
    insert(
        [Filed(month=month, acknowledged_after=h) for h in (5, 6, 7, 8, 9, 10)],
        cast.orgs["association"],
    )
    data = json.loads(export(cast.client("coralie"), "json", period).content)
    assert data["time_to_acknowledge"]["overall"] == {"median": 5.5, "p90": 9.0}


def test_the_exports_hold_months_and_codes_only(cast, year):
    period, _ = year
    client = cast.client("coralie")
    text = export(client, "csv", period).content.decode()
    data = json.loads(export(client, "json", period).content)

    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["month"] for r in rows} == {*period.months, "all"}
    names = [o.name for o in cast.orgs.values()] + list(cast.users)
    for blob in (text, json.dumps(data, ensure_ascii=False)):
        assert not re.search(r"\d{4}-\d{2}-\d{2}[T ]\d", blob)  # no time of day, anywhere
        assert not CASE_REFERENCE.search(blob)  # no case reference
        assert not any(name in blob for name in names)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)  # the CSV has no day at all
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["generated"])  # the JSON: its own date
    keys = {k for cell in data["cells"] for k in cell}
    assert keys == {"month", "category", "gbvims_type", "region", "age_band", "urgency", "count"}
    assert all(isinstance(c["count"], int) or c["count"] in (SMALL, HIDDEN) for c in data["cells"])


def test_an_export_is_written_in_the_audit_log_with_its_period(cast):
    period = Period.default()
    export(cast.client("coralie"), "csv", period)
    event = AuditEvent.objects.get(action="statistics.exported")
    assert event.actor == "coralie"
    assert event.detail == {"format": "csv", "from": period.months[0], "to": period.months[-1]}


def test_an_export_of_a_bad_period_is_refused(cast):
    client = cast.client("coralie")
    this_month = timezone.localdate().strftime("%Y-%m")
    response = client.get(f"/fr/staff/statistics.csv?from={this_month}&to={this_month}")
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="statistics.exported").exists()


# --- who may see them ----------------------------------------------------------------------

URLS = ["/fr/staff/statistics/", "/fr/staff/statistics.csv", "/fr/staff/statistics.json"]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("name", ["alice", "amina", "nadia", "leila"])
def test_only_the_coordination_sees_the_statistics(cast, name, url):
    response = cast.client(name).get(url)
    assert response.status_code == 403
    assert "casework/forbidden.html" in [t.name for t in response.templates]


@pytest.mark.parametrize("url", URLS)
def test_the_coordination_sees_them(cast, url):
    assert cast.client("coralie").get(url).status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/fr/staff/statistics/")
    assert response.status_code == 302
    assert "/fr/staff/login/" in response["Location"]


def test_the_menu_links_to_the_statistics_for_the_coordination_only(cast):
    assert (
        'href="/fr/staff/statistics/"' in cast.client("coralie").get("/fr/staff/").content.decode()
    )
    assert "/staff/statistics/" not in cast.client("alice").get("/fr/staff/").content.decode()


# --- the page ------------------------------------------------------------------------------


def months_chart(html: str) -> str:
    return re.search(
        r'<svg class="chart chart-columns" id="chart-month".*?</svg>', html, re.S
    ).group(0)


def test_the_page_draws_a_bar_per_month_and_hatches_the_hidden_ones(cast):
    period = Period.default()
    filed = realistic(7, list(period.months[:10]), reports=700)
    filed += [Filed(month=period.months[10]) for _ in range(2)]  # 2 in one month; 0 in the last
    insert(filed, cast.orgs["association"])
    months = build(period).reports

    with translation.override("fr"):
        response = cast.client("coralie").get("/fr/staff/statistics/")

    html = response.content.decode()
    assert '<html lang="fr" dir="ltr">' in html
    chart = months_chart(html)
    shown = [months.total("month", m) for m in period.months]
    assert re.findall(r'<g class="chart-item" data-shown="([^"]*)"', chart) == [
        str(v).replace("<", "&lt;") for v in shown
    ]
    assert chart.count('class="chart-bar"') == sum(isinstance(v, int) for v in shown) >= 9
    assert chart.count('class="chart-hidden"') == sum(not isinstance(v, int) for v in shown) >= 2
    assert ">&lt;5</text>" in chart  # the hidden month says so, as text
    assert '<title id="chart-month-title">' in chart
    assert 'aria-labelledby="chart-month-title chart-month-desc"' in chart
    assert 'id="legend"' in html
    assert '<bdi dir="ltr">&lt;5</bdi>' in html
    assert html.count('<details class="chart-table">') == 3  # each chart has its table
    assert html.count("GBVIMS") >= 8
    assert "style=" not in html  # the CSP forbids them


def test_the_page_in_arabic_reads_right_to_left(cast):
    period = Period.default()
    insert(realistic(9, list(period.months), reports=900), cast.orgs["association"])

    html = cast.client("coralie", language="ar").get("/ar/staff/statistics/").content.decode()

    assert '<html lang="ar" dir="rtl">' in html
    chart = months_chart(html)
    # Months run right to left: the first month's bar is the rightmost.
    xs = [float(x) for x in re.findall(r'<rect class="chart-bar" x="([\d.]+)"', chart)]
    assert xs == sorted(xs, reverse=True)
    category = re.search(r'id="chart-category".*?</svg>', html, re.S).group(0)
    assert 'direction="rtl"' in category  # labels set from the right edge
    # Numbers and "<5" stay left to right, isolated from the Arabic around them.
    assert re.search(r'text-anchor="end" direction="ltr" unicode-bidi="isolate">\d+<', category)


def test_a_bad_period_on_the_page_says_why_and_shows_the_default(cast):
    this_month = timezone.localdate().strftime("%Y-%m")
    response = cast.client("coralie").get(
        f"/fr/staff/statistics/?from={this_month}&to={this_month}"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="errors" role="alert"' in html
    default = Period.default()
    assert f'value="{default.months[0]}"' in html
