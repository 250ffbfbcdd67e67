"""The downloads the observatory receives: the statistics of a period as CSV (the
report table) and as JSON (every table, the times to acknowledge, the method).
docs/STATISTICS.md, "Exports", describes both; change the two together."""

from __future__ import annotations

import csv
import io

from observatory.counts import Statistics, gbvims_type
from observatory.suppression import (
    HIDDEN,
    SMALL,
    THRESHOLD,
    Key,
    Publication,
    structure_of,
)

ALL = "all"  # in the CSV, a dimension summed over
CSV_COLUMNS = ("row", "month", "category", "gbvims_type", "region", "age_band", "urgency", "count")
METHOD = (
    "Counts under 5, zero included, are shown as '<5' (0 to 4). Counts of 5 or more "
    "hidden so that no '<5' can be worked out from the totals are shown as 'x' (5 or "
    "more). Every published total is the exact sum of its cells; no hidden count has a "
    "single possible value given all the numbers published here. docs/STATISTICS.md."
)


def _row_values(publication: Publication, key: Key) -> list[str]:
    values = [ALL if v is None else v for v in key]
    category = key[publication.names.index("category")]
    values.insert(2, gbvims_type(category) if category is not None else ALL)
    return values


def to_csv(statistics: Statistics) -> str:
    """The report table: one line per detailed cell ("cell"), then one per total
    ("total"; "all" where a dimension is summed over), the grand total last."""
    publication = statistics.reports
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    structure = structure_of(publication.dims)
    for i, key in enumerate(structure.keys):
        kind = "cell" if i < structure.cell_count else "total"
        writer.writerow([kind, *_row_values(publication, key), publication.shown[key]])
    return out.getvalue()


def _totals(publication: Publication) -> dict:
    totals: dict = {ALL: publication.grand_total}
    for name, values in publication.dims:
        totals[name] = {value: publication.total(name, value) for value in values}
    return totals


def to_json(statistics: Statistics) -> dict:
    reports, referrals = statistics.reports, statistics.referrals
    return {
        "period": statistics.period.as_dict(),
        "generated": statistics.generated.isoformat(),
        "counted": "reports whose reporter agreed to anonymised statistics, "
        "by the month they were filed",
        "suppression": {
            "threshold": THRESHOLD,
            "method": METHOD,
            "markers": {SMALL: "0 to 4", HIDDEN: "5 or more, hidden to protect a count under 5"},
        },
        "dimensions": {
            name: (
                [{"code": v, "gbvims_type": gbvims_type(v)} for v in values]
                if name == "category"
                else list(values)
            )
            for name, values in reports.dims
        },
        "cells": [
            dict(zip(CSV_COLUMNS[1:], [*_row_values(reports, key), shown], strict=True))
            for key, shown in reports.cells()
        ],
        "totals": _totals(reports),
        "referrals": {
            "counted": "referrals of those reports made in the period, "
            "by the state they were in at its end",
            "cells": [
                {"state": key[0], "service": key[1], "count": shown}
                for key, shown in referrals.cells()
            ],
            "totals": _totals(referrals),
        },
        "closed_cases": {
            "counted": "cases of those reports closed in the period and still closed at "
            "its end, by the outcome they were closed with and urgency",
            "cells": [
                {"outcome": key[0], "urgency": key[1], "count": shown}
                for key, shown in statistics.outcomes.cells()
            ],
            "totals": _totals(statistics.outcomes),
        },
        "time_to_acknowledge": {
            "unit": "hours",
            "minimum_cases": THRESHOLD,
            "overall": statistics.delay_overall.as_dict(),
            "by_month": {m: d.as_dict() for m, d in statistics.delays_by_month.items()},
            "by_priority": {p: d.as_dict() for p, d in statistics.delays_by_priority.items()},
        },
    }
