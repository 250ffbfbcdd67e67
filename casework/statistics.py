"""Anonymised statistics for the national observatory (issue 8).  docs/STATISTICS.md
says all of this to coordinators and the observatory; change the two together.

**What is counted.**  Reports whose reporter agreed to anonymised statistics
(``Report.consent_statistics``), filed in a period of whole, complete months (never
the current month: its counts still move, and two downloads a week apart would give
away the reports filed in between).  Each report counts once, in the cell of five of
its routing facts: the month it was filed (``created_at``, Morocco time, YYYY-MM), its
category (carrying the category's GBVIMS core type, ``facts.GBVIMS_TYPE``), its
region, its age band, and urgency: "urgent" when she ticked any danger sign,
"not_urgent" otherwise.  Nothing else: no id, no day or hour, no organisation.

**What is published** (the publication model), for a period:

* the **detailed table**: every combination of the period's months and of every
  category, region, age band and urgency, whether anyone is in it or not (12 months
  make 12 x 8 x 13 x 6 x 2 = 14,976 cells);
* the **totals**: one per value of each dimension (reports in 2025-03, reports of
  threats, reports from Oriental...), each the sum of its detailed cells;
* the **grand total**, the sum of each dimension's totals.

**Primary suppression.**  Every count under 5 -- zero included -- is shown as "<5".
A zero is not published as 0, for two reasons.  Being in a narrow combination is itself
the sensitive fact: "someone under 18 in Dakhla reported sextortion in March" tells the
man who did it that she reported.  And an attacker who knows that every "<5" is at
least 1 recovers whole groups: a region total of 7 over seven "<5" cells makes each of
them exactly 1.  So "<5" means 0 to 4, always.

**Secondary suppression.**  A "<5" can still be worked out from the numbers around it:
a region total minus that region's published cells, the grand total minus the other
regions.  The attacker knows every equation (a total is the sum of its cells, the grand
total the sum of each dimension's totals) and every bound: "<5" is 0..4, and "x" -- a
count hidden in this second round -- is 5 or more, since only published counts, all 5
or more, are ever hidden.  Until a round finds no fault:

1. *propagate* the bounds through every equation to a fixpoint (a member of a sum is
   at most the total minus the least the other members can hold, at least the total
   minus the most they can hold);
2. *faults*: a hidden count whose bounds meet; and an equation whose total is published
   while its hidden members' sum, so known exactly, is under 5 (it is a small count
   too, of the union of those cells);
3. if propagation finds none, *check exactly*: for every hidden count, either a
   whole-number change of the true table that keeps every published number and bound
   moves it (a table the attacker cannot tell from the truth: cheap swaps and
   rotations of records, :func:`_witnessed`), or a linear program over all the
   equations at once, started from the true table, must move it by at least one either
   way (:func:`_pinned`); a count that neither moves is a fault;
4. mend the faults of the most aggregated level found (a total that can be worked out
   exposes every cell under it): for each, hide one more published count as "x" -- in
   the equation around it with the fewest hidden members, its smallest published part
   (a detailed cell before a total, a count above 5 before one of exactly 5, which
   could only move upwards), or its total when no part is published; for a small sum,
   the smallest published part of that equation.

Each round hides at least one count, so it ends; a publication leaves only when the
exact check of step 3 finds nothing, so no hidden count has a single possible value
for an attacker who solves the whole system over the reals, with whole-number bounds.

**The attacker audit.**  :func:`audit` is the independent check the tests run (with
scipy's HiGHS, the ``dev`` extra; the site never calls it).  It takes a publication as
the observatory sees it -- an export read back, nothing else, no true value -- and
finds every hidden count with a single possible value: a first linear program
maximises, for every hidden count, a small step away from both of its bounds (repeated
on those not yet seen to move, until the optimum is 0: those never leave a bound); then
among the counts that move, those the equations alone still fix (a column of the system
that every basis needs: QR with pivoting).  It also reports every equation whose hidden
part sums to a known 0..4, and numbers that contradict each other.
:func:`attacker_bounds` gives chosen counts' exact least and greatest values.

Referral outcomes (the state each referral was in at the end of the period, by service)
are a second table, published and suppressed the same way; so are the cases closed, by
outcome and urgency (a third table: the cases still closed when the period ended whose
last closing fell in it, read from the append-only audit log so that the same period
always gives the same table).  Times to acknowledge are
medians and 90th percentiles, shown only when computed over 5 cases or more.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import statistics as stats
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from casework.audit import Action
from casework.models import AuditEvent, Case, Referral
from casework.triage import Priority
from reporting import facts
from reporting.models import Report

THRESHOLD = 5
SMALL = "<5"  # a count of 0 to 4
HIDDEN = "x"  # a count of 5 or more, hidden so that no "<5" can be worked out
ALL = "all"  # in the CSV, a dimension summed over
MAX_MONTHS = 24

URGENT = "urgent"
NOT_URGENT = "not_urgent"
REPORT_DIMENSIONS = ("month", "category", "region", "age_band", "urgency")
REFERRAL_STATES = tuple(Referral.State.values)

Shown = int | str  # a published count, SMALL or HIDDEN
Key = tuple[str | None, ...]  # one value per dimension; None where summed over


def gbvims_type(category: str) -> str:
    return str(facts.GBVIMS_TYPE[facts.Category(category)])


# --- the period ----------------------------------------------------------------------------


def _month(value: date) -> str:
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
            months.append(_month(current))
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
        return {"from": _month(self.first), "to": _month(self.last), "months": list(self.months)}


# --- tables, equations and suppression (pure) ----------------------------------------------


@lru_cache(maxsize=8)
def _structure(dims: tuple[tuple[str, tuple[str, ...]], ...]) -> _Structure:
    return _Structure(dims)


class _Structure:
    """The entries of a table published with its one-way totals and grand total, as
    integer indices, and the equations between them: each total is the sum of its
    cells; the grand total is the sum of each dimension's totals."""

    def __init__(self, dims: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        self.dims = dims
        width = len(dims)
        cells = list(itertools.product(*(values for _, values in dims)))
        totals = [
            tuple(value if i == d else None for i in range(width))
            for d, (_, values) in enumerate(dims)
            for value in values
        ]
        grand = (None,) * width
        self.keys: list[Key] = [*cells, *totals, grand]
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.cell_count = len(cells)
        self.grand = self.index[grand]
        parts: dict[int, list[int]] = {self.index[t]: [] for t in totals}
        for i, cell in enumerate(cells):
            for d in range(width):
                parts[self.index[_total_key(width, d, cell[d])]].append(i)
        self.equations: list[tuple[int, tuple[int, ...]]] = [
            (total, tuple(members)) for total, members in parts.items()
        ]
        for d, (_, values) in enumerate(dims):
            members = tuple(self.index[_total_key(width, d, v)] for v in values)
            self.equations.append((self.grand, members))
        self.equations_of: list[list[int]] = [[] for _ in self.keys]
        for e, (total, members) in enumerate(self.equations):
            self.equations_of[total].append(e)
            for m in members:
                self.equations_of[m].append(e)

    def level(self, i: int) -> int:
        """How many dimensions the entry fixes: a cell all of them, the grand total none."""
        return sum(v is not None for v in self.keys[i])

    def true_values(self, counts: Counter) -> list[int]:
        values = [0] * len(self.keys)
        for i in range(self.cell_count):
            values[i] = counts.get(self.keys[i], 0)
        for total, members in self.equations:
            if total != self.grand:
                values[total] = sum(values[m] for m in members)
        values[self.grand] = sum(values[: self.cell_count])
        return values


def _total_key(width: int, d: int, value: str) -> Key:
    return tuple(value if i == d else None for i in range(width))


INF = math.inf
_TOL = 1e-9
_PUBLISHED, _SMALL, _HIDDEN = 0, 1, 2


def _bounds(status: int, value: int) -> tuple[float, float]:
    if status == _PUBLISHED:
        return value, value
    if status == _SMALL:
        return 0, THRESHOLD - 1
    return THRESHOLD, INF


def _propagate(structure: _Structure, lo: list, hi: list, *, rounds: int = 60) -> bool:
    """Tighten ``lo``/``hi`` in place through every equation until nothing changes
    (or ``rounds`` passes: stopping early only leaves bounds wider, and what goes unseen
    here the exact check catches).  False if the bounds contradict."""
    for _ in range(rounds):
        changed = False
        for total, members in structure.equations:
            low = 0
            high = 0
            unbounded = 0
            widest = 0
            for m in members:
                low += lo[m]
                if hi[m] == INF:
                    unbounded += 1
                else:
                    high += hi[m]
                    widest = max(widest, hi[m] - lo[m])
            t_lo = max(lo[total], low)
            t_hi = min(hi[total], high if unbounded == 0 else INF)
            if t_lo > t_hi:
                return False
            if (t_lo, t_hi) != (lo[total], hi[total]):
                lo[total], hi[total] = t_lo, t_hi
                changed = True
            # A member moves only if the total leaves it less room than its own width.
            if unbounded == 0 and t_hi - low >= widest and high - t_lo >= widest:
                continue
            for m in members:
                new_hi = min(hi[m], t_hi - (low - lo[m]))
                if unbounded == 0:
                    others_high = high - hi[m]
                elif unbounded == 1 and hi[m] == INF:
                    others_high = high
                else:
                    others_high = INF
                new_lo = max(lo[m], t_lo - others_high)
                if new_lo > new_hi:
                    return False
                if (new_lo, new_hi) != (lo[m], hi[m]):
                    lo[m], hi[m] = new_lo, new_hi
                    changed = True
        if not changed:
            return True
    return True


def _faults(structure: _Structure, values: list[int], status: list[int]) -> list[tuple]:
    """("exposed", entry) and ("small sum", equation) faults of a suppression pattern."""
    lo = [0.0] * len(values)
    hi = [0.0] * len(values)
    for i, (s, v) in enumerate(zip(status, values, strict=True)):
        lo[i], hi[i] = _bounds(s, v)
    if not _propagate(structure, lo, hi):
        raise AssertionError("the true values contradict their own equations")
    faults: list[tuple] = [
        ("exposed", i) for i, s in enumerate(status) if s != _PUBLISHED and lo[i] == hi[i]
    ]
    for e, (total, members) in enumerate(structure.equations):
        if status[total] != _PUBLISHED:
            continue
        hidden = [m for m in members if status[m] != _PUBLISHED]
        if hidden and sum(values[m] for m in hidden) < THRESHOLD:
            faults.append(("small sum", e))
    return faults


def _cheapest(structure: _Structure, equation: int, values, status) -> int | None:
    """The published count of an equation whose hiding loses least: a part before the
    total, the most detailed first, then the smallest."""
    total, members = structure.equations[equation]
    published = [m for m in members if status[m] == _PUBLISHED]
    if published:
        return min(
            published, key=lambda m: (-structure.level(m), values[m] == THRESHOLD, values[m], m)
        )
    return total if status[total] == _PUBLISHED else None


def _repair(
    structure: _Structure, fault: tuple, values, status, hidden_in: list[int]
) -> tuple[int, int] | None:
    """(equation, entry to hide) for one fault, or None when nothing near it is left
    to hide.  ``hidden_in``: each equation's hidden members, at the start of the round."""
    kind, subject = fault
    if kind == "small sum":
        choice = _cheapest(structure, subject, values, status)
        return None if choice is None else (subject, choice)
    # Exposed: the equations around it, fewest hidden members first, then outwards.
    seen_equations: set[int] = set()
    frontier = [subject]
    seen_entries = {subject}
    while frontier:
        equations = sorted(
            {e for i in frontier for e in structure.equations_of[i]} - seen_equations,
            key=lambda e: (hidden_in[e], e),
        )
        for e in equations:
            choice = _cheapest(structure, e, values, status)
            if choice is not None:
                return e, choice
        seen_equations.update(equations)
        frontier = []
        for e in equations:
            total, members = structure.equations[e]
            for m in (total, *members):
                if m not in seen_entries and status[m] != _PUBLISHED:
                    seen_entries.add(m)
                    frontier.append(m)
    return None


def _fault_level(structure: _Structure, fault: tuple) -> int:
    kind, subject = fault
    entry = structure.equations[subject][0] if kind == "small sum" else subject
    return structure.level(entry)


def _witnessed(structure: _Structure, values: list[int], status: list[int]) -> set[int]:
    """Hidden entries shown to move by a whole-number change of the true table that
    keeps every published number and every bound: each such change is a table the
    attacker cannot tell from the true one.  Cheap, and enough for almost every cell
    of a sparse table; the LP decides the rest.

    Down by one: the cell and another hidden cell down, the two swapped on one
    dimension up.  Up by one: the cell up, one record of each of its groups (same
    month, same category...) down, and the records' other values recombined into
    cells that go up, so that every total keeps its sum; a group whose hidden total
    can rise while another hidden total of that dimension falls may take its record
    from the other one."""
    width = len(structure.dims)
    cells = structure.keys[: structure.cell_count]
    index = structure.index
    span: dict[int, tuple[float, float]] = {
        i: _bounds(status[i], values[i])
        for i in range(len(structure.keys))
        if status[i] != _PUBLISHED
    }
    fallers = sorted(
        (i for i in span if i < structure.cell_count and values[i] > span[i][0]),
        key=lambda i: (values[i], i),
    )
    falling_in: dict[tuple[int, str], list[int]] = {}
    for i in fallers:
        for d in range(width):
            falling_in.setdefault((d, cells[i][d]), []).append(i)
    resolved: set[int] = set()

    def apply(change: Counter) -> bool:
        balance: Counter = Counter()
        for i, delta in change.items():
            if delta and (i not in span or not span[i][0] <= values[i] + delta <= span[i][1]):
                return False
            for e in structure.equations_of[i]:
                balance[e] += delta if structure.equations[e][0] == i else -delta
        # Checked, not trusted: the change keeps every equation, or it proves nothing.
        if any(balance.values()) or not any(change.values()):
            return False
        resolved.update(i for i, delta in change.items() if delta)
        return True

    def pick(candidates: list[int], attempt: int, other_than: int) -> int | None:
        for k in range(2):
            r = candidates[(attempt * 7 + k) % len(candidates)]
            if r != other_than:
                return r
        return None

    def down(c: int) -> None:
        cell = cells[c]
        if structure.grand in span and along(c, -1):
            return
        for k in range(4):
            b = fallers[(k * 97 + c) % len(fallers)]
            if b == c:
                continue
            other = cells[b]
            for d in range(width):
                if other[d] != cell[d]:
                    swapped_c = index[(*cell[:d], other[d], *cell[d + 1 :])]
                    swapped_b = index[(*other[:d], cell[d], *other[d + 1 :])]
                    change = Counter({c: -1})
                    for i, delta in ((b, -1), (swapped_c, 1), (swapped_b, 1)):
                        change[i] += delta  # summed: two of them may be one cell
                    if apply(change):
                        return

    def along(c: int, delta: int) -> bool:
        """The cell, each of its totals and the grand total, all hidden, move together."""
        change = Counter({c: delta, structure.grand: delta})
        for d in range(width):
            change[index[_total_key(width, d, cells[c][d])]] += delta
        return apply(change)

    def up(c: int) -> None:
        cell = cells[c]
        if structure.grand in span and along(c, 1):
            return
        for attempt in range(6):
            records: list[int] = []
            anchors: list[str] = []
            change = Counter({c: 1})
            for d in range(width):
                anchor, record = cell[d], None
                if falling_in.get((d, cell[d])):
                    record = pick(falling_in[(d, cell[d])], attempt, c)
                mine = index[_total_key(width, d, cell[d])]
                if record is None and mine in span and values[mine] < span[mine][1]:
                    for value in structure.dims[d][1]:
                        other = index[_total_key(width, d, value)]
                        if (
                            value != cell[d]
                            and other in span
                            and values[other] > span[other][0]
                            and falling_in.get((d, value))
                        ):
                            anchor, record = value, pick(falling_in[(d, value)], attempt, c)
                            change[mine] += 1
                            change[other] -= 1
                            break
                if record is None:
                    return
                anchors.append(anchor)
                if record not in records:
                    records.append(record)
            leftovers: list[list[str]] = []
            for d in range(width):
                removed = [cells[r][d] for r in records]
                removed.remove(anchors[d])
                leftovers.append(removed)
            for r in records:
                change[r] -= 1
            for k in range(len(records) - 1):
                change[index[tuple(leftovers[d][k] for d in range(width))]] += 1
            if apply(change):
                return

    for c in sorted((i for i in span if i < structure.cell_count), key=lambda i: (-values[i], i)):
        if c in resolved:
            continue
        if fallers and values[c] > span[c][0]:
            down(c)
        if c not in resolved and values[c] < span[c][1]:
            up(c)
    return resolved


def _pinned(structure: _Structure, values: list[int], status: list[int]) -> list[int]:
    """The hidden counts that the whole system of equations pins to their true value,
    or within less than one of it either way: those no witness moves (_witnessed), then
    a linear program each, from the true table (a feasible point) and stopping at the
    first point one away.  A program that does not converge counts as pinned: the
    count gets hidden company rather than the benefit of the doubt."""
    hidden = [i for i, s in enumerate(status) if s != _PUBLISHED]
    if not hidden:
        return []
    column = {entry: c for c, entry in enumerate(hidden)}
    rows, rhs = [], []
    for total, members in structure.equations:
        row = np.zeros(len(hidden))
        constant = 0
        for entry, sign in ((total, 1), *((m, -1) for m in members)):
            if status[entry] == _PUBLISHED:
                constant -= sign * values[entry]
            else:
                row[column[entry]] += sign
        if row.any():
            rows.append(row)
            rhs.append(constant)
    if not rows:
        return []
    truth = np.array([values[i] for i in hidden], dtype=float)
    bounds = [_bounds(status[i], values[i]) for i in hidden]
    lower = np.array([lo for lo, _ in bounds], dtype=float)
    upper = np.array([hi for _, hi in bounds], dtype=float)
    simplex = _Simplex(np.array(rows), np.array(rhs, dtype=float), lower, upper, truth)
    n = len(hidden)

    def moved() -> np.ndarray:
        return np.abs(simplex.x[:n] - truth) >= 1 - 1e-6

    witnessed = _witnessed(structure, values, status)
    resolved = moved() | np.array([i in witnessed for i in hidden])
    pinned = []
    for c in range(n):
        if resolved[c]:
            continue
        for direction in (1.0, -1.0):
            if not lower[c] <= truth[c] + direction <= upper[c]:
                continue
            cost = np.zeros(n)
            cost[c] = -direction

            def found(x, c=c, direction=direction) -> bool:
                return direction * (x[c] - truth[c]) >= 1 - 1e-6

            try:
                simplex.optimum(cost, found)
            except ValueError:  # unbounded: it can be as large as one likes
                resolved[c] = True
            except RuntimeError:
                break
            resolved |= moved()
            if resolved[c]:
                break
        if not resolved[c]:
            pinned.append(hidden[c])
    return pinned


class _Simplex:
    """Bounded-variable revised primal simplex over A x = b, lower <= x <= upper,
    started from a known feasible point (nonbasic variables may sit between their
    bounds).  Dantzig pricing, Bland's rule after a run of degenerate pivots."""

    def __init__(self, A, b, lower, upper, start):
        m, n = A.shape
        self.m, self.n = m, n
        self.A = np.hstack([A, np.eye(m)])  # one artificial per row, fixed at 0
        self.lower = np.concatenate([lower, np.zeros(m)])
        self.upper = np.concatenate([upper, np.zeros(m)])
        self.x = np.concatenate([np.asarray(start, dtype=float), np.zeros(m)])
        if np.abs(A @ self.x[:n] - b).max(initial=0) > 1e-7:
            raise ValueError("the starting point does not satisfy the equations")
        self.basis = list(range(n, n + m))
        self.in_basis = np.zeros(n + m, dtype=bool)
        self.in_basis[n:] = True
        self.Binv = np.eye(m)

    def run(self, cost, stop=None, limit=20000):
        """Minimise cost . x; ``stop(x)`` True ends early (a witness was found)."""
        A, x, lower, upper, in_basis = self.A, self.x, self.lower, self.upper, self.in_basis
        degenerate = 0
        for iteration in range(limit):
            if stop is not None and stop(x):
                return
            if iteration % 50 == 49:
                self.Binv = np.linalg.inv(A[:, self.basis])
            y = cost[self.basis] @ self.Binv
            reduced = cost - y @ A
            up = (~in_basis) & (reduced < -_TOL) & (x < upper - _TOL)
            down = (~in_basis) & (reduced > _TOL) & (x > lower + _TOL)
            eligible = up | down
            if not eligible.any():
                return
            if degenerate > 30:  # Bland: the first eligible, which cannot cycle
                j = int(np.flatnonzero(eligible)[0])
            else:
                j = int(np.argmax(np.where(eligible, np.abs(reduced), -1.0)))
            direction = 1.0 if up[j] else -1.0
            column = self.Binv @ A[:, j]
            alpha = column * direction  # basic variables move by -alpha * step
            basis = np.array(self.basis)
            xb, lb, ub = x[basis], lower[basis], upper[basis]
            limits = np.full(self.m, INF)
            falling = alpha > _TOL
            limits[falling] = (xb[falling] - lb[falling]) / alpha[falling]
            rising = (alpha < -_TOL) & np.isfinite(ub)
            limits[rising] = (ub[rising] - xb[rising]) / -alpha[rising]
            limits = np.maximum(limits, 0.0)
            own = (upper[j] - x[j]) if direction > 0 else (x[j] - lower[j])
            best = limits.min(initial=INF)
            if own == INF and best == INF:
                raise ValueError("unbounded")
            if own <= best + _TOL:
                step, leave = own, -1
            else:
                step = best
                ties = np.flatnonzero(limits <= best + _TOL)
                leave = int(ties[np.argmin(basis[ties])])
            degenerate = degenerate + 1 if step <= _TOL else 0
            x[basis] = xb - alpha * step
            x[j] += direction * step
            if leave < 0:
                x[j] = upper[j] if direction > 0 else lower[j]
                continue
            out = self.basis[leave]
            x[out] = lower[out] if alpha[leave] > 0 else upper[out]
            row = self.Binv[leave] / column[leave]
            self.Binv -= np.outer(column, row)
            self.Binv[leave] = row
            self.basis[leave] = j
            in_basis[out] = False
            in_basis[j] = True
        raise RuntimeError("the simplex did not converge")

    def optimum(self, cost_x, stop=None):
        cost = np.concatenate([np.asarray(cost_x, dtype=float), np.zeros(self.m)])
        self.run(cost, stop)
        return float(cost[: self.n] @ self.x[: self.n])


@dataclass
class Publication:
    """A table as published: every entry's count, SMALL or HIDDEN."""

    dims: tuple[tuple[str, tuple[str, ...]], ...]
    shown: dict[Key, Shown]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.dims)

    def total(self, dimension: str, value: str) -> Shown:
        d = self.names.index(dimension)
        return self.shown[_total_key(len(self.dims), d, value)]

    @property
    def grand_total(self) -> Shown:
        return self.shown[(None,) * len(self.dims)]

    def cells(self) -> Iterable[tuple[Key, Shown]]:
        structure = _structure(self.dims)
        for key in structure.keys[: structure.cell_count]:
            yield key, self.shown[key]

    def summary(self) -> dict[str, int]:
        """How many detailed cells are published, "<5" and "x"."""
        tally = Counter(
            "published" if isinstance(v, int) else ("small" if v == SMALL else "hidden")
            for _, v in self.cells()
        )
        return {name: tally.get(name, 0) for name in ("published", "small", "hidden")}


def _dims(dims: Sequence[tuple[str, Sequence[str]]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((name, tuple(values)) for name, values in dims)


def publish(
    dims: Sequence[tuple[str, Sequence[str]]], counts: Counter, *, secondary: bool = True
) -> Publication:
    """Primary, then (unless told not to: the tests' naive publication) secondary
    suppression of a table of ``counts`` (cell tuple -> count)."""
    dims = _dims(dims)
    structure = _structure(dims)
    values = structure.true_values(counts)
    status = [_PUBLISHED if v >= THRESHOLD else _SMALL for v in values]
    while secondary:
        faults = _faults(structure, values, status)
        if not faults:
            faults = [("exposed", i) for i in _pinned(structure, values, status)]
        if not faults:
            break
        # The most aggregated faults first: a total that can be worked out exposes
        # every cell under it, and mending the total mends them.
        level = min(_fault_level(structure, f) for f in faults)
        hidden_in = [
            sum(status[m] != _PUBLISHED for m in (total, *members))
            for total, members in structure.equations
        ]
        repaired: set[int] = set()
        hidden_now = 0
        for fault in faults:
            if _fault_level(structure, fault) != level:
                continue
            # One repair per equation a round: the next round's propagation tells
            # whether the other faults there are mended too.
            if fault[0] == "small sum" and fault[1] in repaired:
                continue
            repair = _repair(structure, fault, values, status, hidden_in)
            if repair is None or repair[0] in repaired:
                continue
            repaired.add(repair[0])
            status[repair[1]] = _HIDDEN
            hidden_now += 1
        if not hidden_now:
            # Nothing published is left near a fault.  With nothing published around
            # them, bounds alone pin nothing, so this should not happen; if it does,
            # hide every total, and refuse rather than publish when none is left.
            totals = [
                i for i in range(structure.cell_count, len(status)) if status[i] == _PUBLISHED
            ]
            if not totals:
                raise RuntimeError("no suppression pattern protects this table")
            for i in totals:
                status[i] = _HIDDEN
    shown: dict[Key, Shown] = {}
    for i, key in enumerate(structure.keys):
        shown[key] = (
            values[i] if status[i] == _PUBLISHED else (SMALL if status[i] == _SMALL else HIDDEN)
        )
    return Publication(dims, shown)


# --- the attacker audit (needs scipy: the dev extra) ---------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something an attacker learns that the publication meant to hide."""

    kind: str  # "exact": a hidden count has one possible value; "small sum"; "inconsistent"
    key: Key
    value: float | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.key} = {self.value}"


@dataclass
class _LinearSystem:
    keys: list[Key]  # the hidden entries, one column each
    lower: list[float]
    upper: list[float]
    rows: list[dict[int, float]] = field(default_factory=list)
    rhs: list[float] = field(default_factory=list)


def _linear_system(publication: Publication) -> tuple[_LinearSystem, list[Problem]]:
    structure = _structure(publication.dims)
    column: dict[int, int] = {}
    system = _LinearSystem([], [], [])
    problems: list[Problem] = []
    for i, key in enumerate(structure.keys):
        shown = publication.shown[key]
        if isinstance(shown, int):
            continue
        column[i] = len(system.keys)
        system.keys.append(key)
        low, high = _bounds(_SMALL if shown == SMALL else _HIDDEN, 0)
        system.lower.append(low)
        system.upper.append(high)
    for total, members in structure.equations:
        row: dict[int, float] = {}
        constant = 0
        for entry, sign in ((total, 1), *((m, -1) for m in members)):
            shown = publication.shown[structure.keys[entry]]
            if isinstance(shown, int):
                constant -= sign * shown
            else:
                row[column[entry]] = row.get(column[entry], 0) + sign
        if not row:
            if constant != 0:
                problems.append(Problem("inconsistent", structure.keys[total], constant))
            continue
        system.rows.append(row)
        system.rhs.append(constant)
        # The hidden members of a published total: their sum is known exactly.
        if total not in column:
            hidden_sum = -constant if all(v == -1 for v in row.values()) else None
            if hidden_sum is not None and hidden_sum < THRESHOLD:
                problems.append(Problem("small sum", structure.keys[total], hidden_sum))
    return system, problems


def _matrices(system: _LinearSystem):
    from scipy.sparse import csr_matrix

    data, rows, cols = [], [], []
    for r, row in enumerate(system.rows):
        for c, v in row.items():
            rows.append(r)
            cols.append(c)
            data.append(v)
    shape = (len(system.rows), len(system.keys))
    return csr_matrix((data, (rows, cols)), shape=shape)


def audit(publication: Publication) -> list[Problem]:
    """Every hidden count an attacker pins to one value from everything published,
    every known sum of hidden counts under 5, every contradiction.  Empty: safe."""
    from scipy.linalg import lstsq, qr
    from scipy.optimize import linprog
    from scipy.sparse import bmat, csr_matrix, hstack, identity

    system, problems = _linear_system(publication)
    n = len(system.keys)
    if n == 0:
        return problems
    A = _matrices(system)
    b = np.array(system.rhs, dtype=float)
    lower = np.array(system.lower, dtype=float)
    upper = np.array(system.upper, dtype=float)
    finite = np.isfinite(upper)

    # 1. Which hidden counts can leave their bounds?  Maximise the sum of small steps
    # z_j <= x_j - lower_j, z_j <= upper_j - x_j (0 <= z_j <= step) over the counts not
    # yet seen strictly inside; each round adds at least one or proves the rest fixed.
    step = 1e-4
    unresolved = np.arange(n)
    inside = np.zeros(n, dtype=bool)
    point = None
    while unresolved.size:
        k = unresolved.size
        pick = identity(n, format="csr")[unresolved]  # k x n
        eye = identity(k, format="csr")
        below = bmat([[-pick, eye]])  # z - x <= -lower
        above_rows = pick[finite[unresolved]]
        above = bmat([[above_rows, identity(k, format="csr")[finite[unresolved]]]])
        A_ub = bmat([[below], [above]], format="csr")
        b_ub = np.concatenate([-lower[unresolved], upper[unresolved][finite[unresolved]]])
        A_eq = hstack([A, csr_matrix((A.shape[0], k))], format="csr")
        cost = np.concatenate([np.zeros(n), -np.ones(k)])
        bounds = [(lo, None if hi == INF else hi) for lo, hi in zip(lower, upper, strict=True)]
        bounds += [(0, step)] * k
        result = linprog(
            cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b, bounds=bounds, method="highs"
        )
        if result.status != 0:
            problems.append(Problem("inconsistent", (), None))
            return problems
        point = result.x[:n]
        moved = result.x[n:] > step / 2
        if not moved.any():
            break
        inside[unresolved[moved]] = True
        unresolved = unresolved[~moved]
    for j in unresolved:
        problems.append(Problem("exact", system.keys[j], round(float(point[j]), 6) + 0.0))

    # 2. Among those that move, the ones the equations alone still pin: a column that
    # every basis of the columns needs is not a combination of the others.
    columns = np.flatnonzero(inside)
    if columns.size:
        dense = A[:, columns].toarray()
        _, r, order = qr(dense, mode="economic", pivoting=True)
        diagonal = np.abs(np.diag(r)) if r.size else np.array([])
        rank = int((diagonal > 1e-9 * max(1.0, diagonal.max(initial=0))).sum())
        basis, rest = order[:rank], order[rank:]
        if rest.size:
            weights = lstsq(dense[:, basis], dense[:, rest])[0]
            pinned = basis[np.abs(weights).max(axis=1) < 1e-9]
        else:
            pinned = basis
        for c in pinned:
            j = columns[c]
            problems.append(Problem("exact", system.keys[j], round(float(point[j]), 6) + 0.0))
    return problems


def attacker_bounds(publication: Publication, keys: Iterable[Key]) -> dict[Key, tuple]:
    """The least and the most each entry can be, given everything published: exact LP
    bounds rounded inwards to integers (the counts are whole).  Published entries are
    their own value."""
    from scipy.optimize import linprog

    system, _ = _linear_system(publication)
    where = {key: j for j, key in enumerate(system.keys)}
    A = _matrices(system)
    b = np.array(system.rhs, dtype=float)
    bounds = [
        (lo, None if hi == INF else hi) for lo, hi in zip(system.lower, system.upper, strict=True)
    ]
    answers: dict[Key, tuple] = {}
    for key in keys:
        shown = publication.shown[key]
        if isinstance(shown, int):
            answers[key] = (shown, shown)
            continue
        j = where[key]
        cost = np.zeros(len(system.keys))
        ends = []
        for sign in (1, -1):
            cost[j] = sign
            result = linprog(cost, A_eq=A, b_eq=b, bounds=bounds, method="highs")
            if result.status == 3:  # unbounded
                ends.append(INF)
            elif result.status != 0:
                raise ValueError(f"the publication contradicts itself ({result.message})")
            else:
                ends.append(sign * result.fun)
        low, high = ends
        answers[key] = (
            math.ceil(low - 1e-6),
            high if high == INF else math.floor(high + 1e-6),
        )
    return answers


# --- reading the facts (the one read of the database) --------------------------------------


def report_dimensions(period: Period) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return (
        ("month", period.months),
        ("category", tuple(facts.Category.values)),
        ("region", tuple(facts.Region.values)),
        ("age_band", tuple(facts.AgeBand.values)),
        ("urgency", (URGENT, NOT_URGENT)),
    )


def referral_dimensions() -> tuple[tuple[str, tuple[str, ...]], ...]:
    return (("state", REFERRAL_STATES), ("service", tuple(facts.Service.values)))


def outcome_dimensions() -> tuple[tuple[str, tuple[str, ...]], ...]:
    return (("outcome", tuple(Case.Outcome.values)), ("urgency", (URGENT, NOT_URGENT)))


PRIORITIES = (
    (Priority.IMMEDIATE, "immediate"),
    (Priority.HIGH, "high"),
    (Priority.NORMAL, "normal"),
)


@dataclass(frozen=True)
class Delay:
    """Hours from a case's opening to its acknowledgement, over ``cases`` cases; the
    figures are None below THRESHOLD cases."""

    cases: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, hours: list[float]) -> Delay:
        if len(hours) < THRESHOLD:
            return cls(len(hours), None, None)
        ordered = sorted(hours)
        # The 90th percentile by nearest rank: the smallest delay within which at
        # least 90% of the cases were acknowledged (a delay one of them really had).
        p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
        return cls(len(hours), round(stats.median(ordered), 1), round(p90, 1))

    def as_dict(self) -> dict:
        return {"median": self.median, "p90": self.p90}


@dataclass
class Statistics:
    period: Period
    generated: date
    reports: Publication
    referrals: Publication
    delays_by_month: dict[str, Delay]
    delays_by_priority: dict[str, Delay]
    delay_overall: Delay
    outcomes: Publication | None = None


def _local_month(moment: datetime) -> str:
    return _month(timezone.localtime(moment, ZoneInfo(settings.TIME_ZONE)).date())


def read(period: Period) -> tuple[Counter, Counter, list[tuple[str, int, float]]]:
    """Counts of consenting reports by cell, of their referrals by (state at the end of
    the period, service), and (month, priority, hours) of their acknowledged cases."""
    consenting = Report.objects.filter(
        consent_statistics=True, created_at__gte=period.start, created_at__lt=period.end
    )
    zone = ZoneInfo(settings.TIME_ZONE)
    rows = (
        consenting.annotate(
            month=TruncMonth("created_at", tzinfo=zone),
            urgent=ExpressionWrapper(~Q(urgency=[]), output_field=BooleanField()),
        )
        .values("month", "category", "region", "age_band", "urgent")
        .annotate(n=Count("pk"))
        .order_by()
    )
    reports: Counter = Counter()
    for row in rows:
        key = (
            _month(row["month"]),
            row["category"],
            row["region"],
            row["age_band"],
            URGENT if row["urgent"] else NOT_URGENT,
        )
        reports[key] += row["n"]

    referrals: Counter = Counter()
    final = {Referral.State.ACCEPTED, Referral.State.DECLINED, Referral.State.REFUSED}
    for state, service, answered, asked, request in Referral.objects.filter(
        case__report__consent_statistics=True,
        created_at__gte=period.start,
        created_at__lt=period.end,
    ).values_list(
        "state", "service", "answered_at", "consent_request__answered_at", "consent_request_id"
    ):
        # As it stood when the period ended, so that the same period always gives the
        # same table (a later download must not tell which referrals moved since).
        if state in final and answered is not None and answered < period.end:
            at_end = state
        elif request is not None and (asked is None or asked >= period.end):
            at_end = Referral.State.AWAITING_CONSENT
        else:
            at_end = Referral.State.OFFERED
        referrals[(str(at_end), service)] += 1

    delays = [
        (_local_month(opened), priority, (acknowledged - opened).total_seconds() / 3600)
        for opened, acknowledged, priority in Case.objects.filter(
            report__consent_statistics=True,
            opened_at__gte=period.start,
            opened_at__lt=period.end,
            acknowledged_at__isnull=False,
        ).values_list("opened_at", "acknowledged_at", "priority")
    ]
    return reports, referrals, delays


def read_outcomes(period: Period) -> Counter:
    """Cases of consenting reports closed in the period, by (outcome, urgency), as they
    stood when it ended: a case counts if its last status change before the end closed
    it within the period (reopened and closed again: its last closing; reopened and
    still open at the end: not at all).  From the audit rows, which never change."""
    consenting = Case.objects.filter(report__consent_statistics=True)
    last: dict[int, dict] = {}
    for case_id, at, detail in (
        AuditEvent.objects.filter(
            action=Action.CASE_STATUS,
            at__lt=period.end,
            case_id__in=consenting.values("pk"),
        )
        .order_by("seq")
        .values_list("case_id", "at", "detail")
    ):
        last[case_id] = {**detail, "at": at}
    closed = {
        case_id: change["outcome"]
        for case_id, change in last.items()
        if change.get("to") == Case.Status.CLOSED
        and change["at"] >= period.start
        and change.get("outcome") in Case.Outcome.values  # closings before outcomes: none
    }
    urgent = dict(
        consenting.filter(pk__in=list(closed))
        .annotate(
            urgent_report=ExpressionWrapper(~Q(report__urgency=[]), output_field=BooleanField())
        )
        .values_list("pk", "urgent_report")
    )
    return Counter(
        (outcome, URGENT if urgent.get(case_id) else NOT_URGENT)
        for case_id, outcome in closed.items()
    )


def build(period: Period, *, today: date | None = None) -> Statistics:
    """Everything the page and the exports show for a period, suppressed."""
    reports, referrals, delays = read(period)
    dims = report_dimensions(period)
    known = [set(values) for _, values in dims]
    # A value outside today's vocabularies (renamed since) would have no cell: drop it
    # rather than fail, it is counted nowhere else either.
    reports = Counter(
        {k: n for k, n in reports.items() if all(v in known[d] for d, v in enumerate(k))}
    )
    priorities = dict(PRIORITIES)
    return Statistics(
        period=period,
        generated=today or timezone.localdate(),
        reports=publish(dims, reports),
        referrals=publish(referral_dimensions(), referrals),
        delays_by_month={
            month: Delay.of([h for m, _, h in delays if m == month]) for month in period.months
        },
        delays_by_priority={
            name: Delay.of([h for _, p, h in delays if priorities.get(p) == name])
            for _, name in PRIORITIES
        },
        delay_overall=Delay.of([h for _, _, h in delays]),
        outcomes=publish(outcome_dimensions(), read_outcomes(period)),
    )


# --- exports -------------------------------------------------------------------------------

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
    structure = _structure(publication.dims)
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


def _count(text: str | int) -> Shown:
    if isinstance(text, int):
        return text
    if text in (SMALL, HIDDEN):
        return text
    return int(text)


def _from_rows(names: Sequence[str], cells: list[tuple[Key, Shown]], totals: dict) -> Publication:
    """A publication rebuilt from an export's cells and totals alone."""
    values: list[list[str]] = [[] for _ in names]
    for key, _ in cells:
        for d, v in enumerate(key):
            if v not in values[d]:
                values[d].append(v)
    dims = tuple((name, tuple(vs)) for name, vs in zip(names, values, strict=True))
    width = len(names)
    shown: dict[Key, Shown] = {key: _count(v) for key, v in cells}
    shown[(None,) * width] = _count(totals[ALL])
    for d, name in enumerate(names):
        for value, count in totals[name].items():
            shown[_total_key(width, d, value)] = _count(count)
    missing = set(_structure(dims).keys) - set(shown)
    if missing:
        raise ValueError(f"the export lacks {len(missing)} cells or totals")
    return Publication(dims, shown)


def read_csv(text: str) -> Publication:
    """The report table of a CSV export, as the observatory reads it."""
    reader = csv.reader(io.StringIO(text))
    if tuple(next(reader)) != CSV_COLUMNS:
        raise ValueError("not a statistics export")
    names = REPORT_DIMENSIONS
    cells, totals = [], {ALL: None, **{name: {} for name in names}}
    for row in reader:
        kind, fields, count = row[0], [*row[1:3], *row[4:7]], row[7]
        if kind == "cell":
            cells.append((tuple(fields), count))
        elif all(v == ALL for v in fields):
            totals[ALL] = count
        else:
            ((d, value),) = [(d, v) for d, v in enumerate(fields) if v != ALL]
            totals[names[d]][value] = count
    return _from_rows(names, cells, totals)


def read_json(data: dict) -> tuple[Publication, Publication]:
    """The report and referral tables of a JSON export."""
    names = REPORT_DIMENSIONS
    reports = _from_rows(
        names,
        [(tuple(c[n] for n in names), c["count"]) for c in data["cells"]],
        data["totals"],
    )
    referral = data["referrals"]
    referrals = _from_rows(
        ("state", "service"),
        [((c["state"], c["service"]), c["count"]) for c in referral["cells"]],
        referral["totals"],
    )
    return reports, referrals
