"""The coordination's statistics page and the observatory's exports (issue 8).

What is counted, published and hidden is casework/statistics.py's business (and
docs/STATISTICS.md's); this module parses the period, checks that the reader is a
member of the national coordination, and draws the charts: SVG made here, drawn by the
template, no script and no chart library (the CSP allows neither, and nothing may be
loaded from a third party).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from casework import selectors, services, statistics
from casework.auth import staff_required
from casework.models import Case, Referral
from casework.triage import Priority
from reporting import facts


def _period(request: HttpRequest) -> tuple[statistics.Period, str]:
    """The period asked for, or the default one and why the asked one was refused."""
    first, last = request.GET.get("from", ""), request.GET.get("to", "")
    if not first and not last:
        return statistics.Period.default(), ""
    try:
        return statistics.Period.parse(first, last), ""
    except ValueError as error:
        reason = str(error)
    if reason == "incomplete month":
        message = _("A period ends with last month at the latest: this month is not over.")
    elif reason == "too long":
        message = _("A period covers at most %(months)d months.") % {
            "months": statistics.MAX_MONTHS
        }
    else:
        message = _("Choose two months, the first one no later than the second.")
    return statistics.Period.default(), message


def _coordinators_only(view):
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not selectors.is_coordinator(request.user):
            return render(request, "casework/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


# --- charts --------------------------------------------------------------------------------

WIDTH = 400  # user units: on a phone nearly 1:1, on a desk at most 36rem wide (site.css)


@dataclass
class Bar:
    label: str
    shown: statistics.Shown
    note: str = ""  # a second, smaller line (the category's GBVIMS type)
    hidden: bool = False
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0
    label_x: float = 0
    label_y: float = 0
    note_y: float = 0
    value_x: float = 0
    value_y: float = 0
    value_anchor: str = "start"
    year: str = ""  # under the first month of each year
    lines: list[tuple[str, float]] = field(default_factory=list)  # (text, y) of a label


@dataclass
class Chart:
    slug: str
    title: str
    description: str
    kind: str  # "columns" (months) or "rows"
    bars: list[Bar]
    rtl: bool
    width: int = WIDTH
    height: int = 0
    axis_y: float = 0
    column_label: str = ""

    @property
    def text_direction(self) -> str:
        return "rtl" if self.rtl else "ltr"


def _scale(bars: list[Bar]) -> int:
    return max([b.shown for b in bars if isinstance(b.shown, int)], default=0) or 1


STUB = 6  # the length of a hatched bar: a hidden count, not drawn to scale


def _columns(chart: Chart) -> Chart:
    """Vertical bars, one per month, in reading order (right to left in Arabic)."""
    top, plot, bottom = 22, 170, 44
    chart.width = max(WIDTH, 28 * len(chart.bars) + 16)
    chart.height = top + plot + bottom
    chart.axis_y = top + plot
    slot = (chart.width - 16) / max(1, len(chart.bars))
    biggest = _scale(chart.bars)
    previous_year = ""
    for i, bar in enumerate(chart.bars):
        position = i if not chart.rtl else len(chart.bars) - 1 - i
        bar.width = round(slot * 0.7, 2)
        bar.x = round(8 + position * slot + (slot - bar.width) / 2, 2)
        bar.height = STUB if bar.hidden else round(max(1, plot * bar.shown / biggest), 2)
        bar.y = round(chart.axis_y - bar.height, 2)
        bar.value_x = bar.label_x = round(bar.x + bar.width / 2, 2)
        bar.value_y = round(bar.y - 5, 2)
        bar.value_anchor = "middle"
        bar.label_y = chart.axis_y + 16
        bar.note_y = chart.axis_y + 32
        year, month = bar.label.split("-")
        bar.year = year if year != previous_year else ""
        previous_year = year
        bar.label = month
    return chart


def _lines(text: str, width: int = 46) -> list[str]:
    """A label in lines of about ``width`` characters (SVG text does not wrap), two at
    most: the whole label is in the chart's table and in its title."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > 2:
        lines = [lines[0], lines[1] + "…"]
    return lines


def _rows(chart: Chart) -> Chart:
    """Horizontal bars, the label above each; they grow from the reading side."""
    line, bar_height = 15, 14
    room = chart.width - 16 - 44  # the value's text after the longest bar
    biggest = _scale(chart.bars)
    start = chart.width - 8 if chart.rtl else 8
    y = 4
    for bar in chart.bars:
        bar.label_x = start
        bar.lines = [(text, y + line * (k + 1) - 1) for k, text in enumerate(_lines(bar.label))]
        y += line * len(bar.lines)
        if bar.note:
            bar.note_y = y + line - 2
            y += line
        bar.y = y + 5
        bar.height = bar_height
        bar.width = STUB if bar.hidden else round(max(1, room * bar.shown / biggest), 2)
        bar.x = round(start - bar.width, 2) if chart.rtl else start
        bar.value_y = bar.y + 11
        if chart.rtl:
            bar.value_x, bar.value_anchor = round(bar.x - 5, 2), "end"
        else:
            bar.value_x, bar.value_anchor = round(bar.x + bar.width + 5, 2), "start"
        y = bar.y + bar_height + 8
    chart.height = y + 4
    return chart


def _bar(label: str, shown: statistics.Shown, note: str = "") -> Bar:
    return Bar(label=label, shown=shown, note=note, hidden=not isinstance(shown, int))


def _charts(stats: statistics.Statistics) -> list[Chart]:
    reports, rtl = stats.reports, get_language_bidi()
    period = {"first": stats.period.months[0], "last": stats.period.months[-1]}
    gbvims = dict(facts.GBVIMSType.choices)
    months = Chart(
        slug="chart-month",
        title=_("Reports per month"),
        description=_(
            "Reports filed each month from %(first)s to %(last)s, by reporters who agreed"
            " to anonymised statistics."
        )
        % period,
        kind="columns",
        rtl=rtl,
        column_label=_("Month"),
        bars=[_bar(m, reports.total("month", m)) for m in stats.period.months],
    )
    categories = Chart(
        slug="chart-category",
        title=_("Reports per category"),
        description=_("Reports of each category, with its GBVIMS core type, over the period."),
        kind="rows",
        rtl=rtl,
        column_label=_("Category"),
        bars=[
            _bar(
                str(label),
                reports.total("category", value),
                _("GBVIMS: %(type)s") % {"type": gbvims[statistics.gbvims_type(value)]},
            )
            for value, label in facts.Category.choices
        ],
    )
    regions = Chart(
        slug="chart-region",
        title=_("Reports per region"),
        description=_("Reports from each region over the period."),
        kind="rows",
        rtl=rtl,
        column_label=_("Region"),
        bars=[_bar(str(label), reports.total("region", v)) for v, label in facts.Region.choices],
    )
    return [_columns(months), _rows(categories), _rows(regions)]


def _table(publication: statistics.Publication, name: str, choices) -> list[tuple[str, object]]:
    return [(str(label), publication.total(name, value)) for value, label in choices]


def _referral_rows(referrals: statistics.Publication) -> list[tuple[str, list, object]]:
    rows = []
    for state, label in Referral.State.choices:
        cells = [referrals.shown[(state, service)] for service in facts.Service.values]
        rows.append((str(label), cells, referrals.total("state", state)))
    return rows


def _outcome_rows(outcomes: statistics.Publication) -> list[tuple[str, list, object]]:
    """Cases closed, by outcome: one row an outcome, urgent and not, and its total."""
    return [
        (
            str(label),
            [outcomes.shown[(outcome, u)] for u in (statistics.URGENT, statistics.NOT_URGENT)],
            outcomes.total("outcome", outcome),
        )
        for outcome, label in Case.Outcome.choices
    ]


@require_GET
@staff_required
@_coordinators_only
def statistics_page(request: HttpRequest) -> HttpResponse:
    period, error = _period(request)
    stats = statistics.build(period)
    priorities = dict(Priority.choices)
    return render(
        request,
        "casework/statistics.html",
        {
            "stats": stats,
            "error": error,
            "period_from": stats.period.months[0],
            "period_to": stats.period.months[-1],
            "latest": statistics.last_complete_month().strftime("%Y-%m"),
            "charts": _charts(stats),
            "grand_total": stats.reports.grand_total,
            "age_bands": _table(stats.reports, "age_band", facts.AgeBand.choices),
            "urgency": _table(
                stats.reports,
                "urgency",
                [
                    (statistics.URGENT, _("With a danger sign")),
                    (statistics.NOT_URGENT, _("Without a danger sign")),
                ],
            ),
            "detail": stats.reports.summary(),
            "detail_cells": sum(stats.reports.summary().values()),
            "services": [str(label) for _, label in facts.Service.choices],
            "referral_rows": _referral_rows(stats.referrals),
            "referral_totals": [stats.referrals.total("service", s) for s in facts.Service.values],
            "referral_total": stats.referrals.grand_total,
            "outcome_rows": _outcome_rows(stats.outcomes),
            "outcome_totals": [
                stats.outcomes.total("urgency", u)
                for u in (statistics.URGENT, statistics.NOT_URGENT)
            ],
            "outcome_total": stats.outcomes.grand_total,
            "delays_by_month": list(stats.delays_by_month.items()),
            "delays_by_priority": [
                (priorities[level], stats.delays_by_priority[name])
                for level, name in statistics.PRIORITIES
            ],
            "small": statistics.SMALL,
            "hidden": statistics.HIDDEN,
            "query": request.GET.urlencode(),
        },
    )


def _export(request: HttpRequest, kind: str) -> HttpResponse:
    if request.GET.get("from") or request.GET.get("to"):
        try:
            period = statistics.Period.parse(request.GET.get("from", ""), request.GET.get("to", ""))
        except ValueError:
            return HttpResponseBadRequest(_period(request)[1], content_type="text/plain")
    else:
        period = statistics.Period.default()
    stats = services.export_statistics(period, kind=kind, actor=request.user)
    name = f"statistics-{period.months[0]}-{period.months[-1]}.{kind}"
    if kind == "csv":
        response = HttpResponse(statistics.to_csv(stats), content_type="text/csv; charset=utf-8")
    else:
        body = json.dumps(statistics.to_json(stats), ensure_ascii=False, indent=1)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@staff_required
@_coordinators_only
def statistics_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, "csv")


@require_GET
@staff_required
@_coordinators_only
def statistics_json(request: HttpRequest) -> HttpResponse:
    return _export(request, "json")
