"""The coordination's statistics page and the observatory's downloads (issue 8).

What is counted, published and hidden is observatory/counts.py's and
observatory/suppression.py's business (and docs/STATISTICS.md's); this module parses
the period, checks that the reader is a member of the national coordination, and
renders the page (its charts: observatory/charts.py) or a download
(observatory/exports.py, through the service that writes its audit row).
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from casework import selectors
from casework.auth import staff_required
from casework.models import Case, Referral
from casework.triage import Priority
from casework.views.refusals import forbidden
from observatory import charts, counts, exports, services
from observatory.period import MAX_MONTHS, Period, last_complete_month
from observatory.suppression import HIDDEN, SMALL, Publication
from reporting import facts


def _period(request: HttpRequest) -> tuple[Period, str]:
    """The period asked for, or the default one and why the asked one was refused."""
    first, last = request.GET.get("from", ""), request.GET.get("to", "")
    if not first and not last:
        return Period.default(), ""
    try:
        return Period.parse(first, last), ""
    except ValueError as error:
        reason = str(error)
    if reason == "incomplete month":
        message = _("A period ends with last month at the latest: this month is not over.")
    elif reason == "too long":
        message = _("A period covers at most %(months)d months.") % {"months": MAX_MONTHS}
    else:
        message = _("Choose two months, the first one no later than the second.")
    return Period.default(), message


def _coordinators_only(view):
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not selectors.is_coordinator(request.user):
            return forbidden(request)
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _table(publication: Publication, name: str, choices) -> list[tuple[str, object]]:
    return [(str(label), publication.total(name, value)) for value, label in choices]


def _referral_rows(referrals: Publication) -> list[tuple[str, list, object]]:
    rows = []
    for state, label in Referral.State.choices:
        cells = [referrals.shown[(state, service)] for service in facts.Service.values]
        rows.append((str(label), cells, referrals.total("state", state)))
    return rows


def _outcome_rows(outcomes: Publication) -> list[tuple[str, list, object]]:
    """Cases closed, by outcome: one row an outcome, urgent and not, and its total."""
    return [
        (
            str(label),
            [outcomes.shown[(outcome, u)] for u in (counts.URGENT, counts.NOT_URGENT)],
            outcomes.total("outcome", outcome),
        )
        for outcome, label in Case.Outcome.choices
    ]


@require_GET
@staff_required
@_coordinators_only
def statistics_page(request: HttpRequest) -> HttpResponse:
    period, error = _period(request)
    stats = counts.build(period)
    priorities = dict(Priority.choices)
    return render(
        request,
        "observatory/statistics.html",
        {
            "stats": stats,
            "error": error,
            "period_from": stats.period.months[0],
            "period_to": stats.period.months[-1],
            "latest": last_complete_month().strftime("%Y-%m"),
            "charts": charts.draw(stats),
            "grand_total": stats.reports.grand_total,
            "age_bands": _table(stats.reports, "age_band", facts.AgeBand.choices),
            "urgency": _table(
                stats.reports,
                "urgency",
                [
                    (counts.URGENT, _("With a danger sign")),
                    (counts.NOT_URGENT, _("Without a danger sign")),
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
                stats.outcomes.total("urgency", u) for u in (counts.URGENT, counts.NOT_URGENT)
            ],
            "outcome_total": stats.outcomes.grand_total,
            "delays_by_month": list(stats.delays_by_month.items()),
            "delays_by_priority": [
                (priorities[level], stats.delays_by_priority[name])
                for level, name in counts.PRIORITIES
            ],
            "small": SMALL,
            "hidden": HIDDEN,
            "query": request.GET.urlencode(),
        },
    )


def _export(request: HttpRequest, kind: str) -> HttpResponse:
    if request.GET.get("from") or request.GET.get("to"):
        try:
            period = Period.parse(request.GET.get("from", ""), request.GET.get("to", ""))
        except ValueError:
            return HttpResponseBadRequest(_period(request)[1], content_type="text/plain")
    else:
        period = Period.default()
    stats = services.export_statistics(period, kind=kind, actor=request.user)
    name = f"statistics-{period.months[0]}-{period.months[-1]}.{kind}"
    if kind == "csv":
        response = HttpResponse(exports.to_csv(stats), content_type="text/csv; charset=utf-8")
    else:
        body = json.dumps(exports.to_json(stats), ensure_ascii=False, indent=1)
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
