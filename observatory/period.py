"""The period the statistics cover: whole, complete months, never the current one
(its counts still move, and two downloads a week apart would give away the reports
filed in between).  docs/STATISTICS.md, "What is counted"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

MAX_MONTHS = 24


def month_of(value: date) -> str:
    """The month of ``value`` as the tables and the exports name it: "YYYY-MM"."""
    return f"{value.year:04d}-{value.month:02d}"


def _next_month(value: date) -> date:
    return date(value.year + (value.month == 12), value.month % 12 + 1, 1)


def last_complete_month(today: date | None = None) -> date:
    today = today or timezone.localdate()
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Whole months, ``first`` to ``last`` included (both the 1st of their month)."""

    first: date
    last: date

    @classmethod
    def default(cls, today: date | None = None) -> Period:
        """The last 12 complete months."""
        last = last_complete_month(today)
        first = last
        for _ in range(11):
            first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
        return cls(first, last)

    @classmethod
    def parse(cls, first: str, last: str, *, today: date | None = None) -> Period:
        """From two "YYYY-MM"; ValueError when malformed, reversed, longer than
        MAX_MONTHS or reaching into the current month."""
        try:
            start = datetime.strptime(first, "%Y-%m").date()  # noqa: DTZ007 - a month, no time
            end = datetime.strptime(last, "%Y-%m").date()  # noqa: DTZ007
        except (TypeError, ValueError):
            raise ValueError("malformed month") from None
        period = cls(start, end)
        if end < start:
            raise ValueError("reversed")
        if end > last_complete_month(today):
            raise ValueError("incomplete month")
        if len(period.months) > MAX_MONTHS:
            raise ValueError("too long")
        return period

    @property
    def months(self) -> tuple[str, ...]:
        months, current = [], self.first
        while current <= self.last:
            months.append(month_of(current))
            current = _next_month(current)
        return tuple(months)

    def _aware(self, day: date) -> datetime:
        return datetime(day.year, day.month, 1, tzinfo=ZoneInfo(settings.TIME_ZONE))

    @property
    def start(self) -> datetime:
        return self._aware(self.first)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return self._aware(_next_month(self.last))

    def as_dict(self) -> dict:
        return {
            "from": month_of(self.first),
            "to": month_of(self.last),
            "months": list(self.months),
        }
