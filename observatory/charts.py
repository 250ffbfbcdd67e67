"""The statistics page's charts: SVG made here, drawn by the template
(observatory/templates/observatory/statistics.html), no script and no chart library (the CSP
allows neither, and nothing may be loaded from a third party)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _

from observatory.counts import Statistics, gbvims_type
from observatory.suppression import Shown
from reporting import facts

WIDTH = 400  # user units: on a phone nearly 1:1, on a desk at most 36rem wide (site.css)


@dataclass
class Bar:
    label: str
    shown: Shown
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


def _bar(label: str, shown: Shown, note: str = "") -> Bar:
    return Bar(label=label, shown=shown, note=note, hidden=not isinstance(shown, int))


def draw(stats: Statistics) -> list[Chart]:
    """The page's charts of ``stats``: reports per month, per category and per region,
    laid out in the reading direction of the language in use."""
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
                _("GBVIMS: %(type)s") % {"type": gbvims[gbvims_type(value)]},
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
