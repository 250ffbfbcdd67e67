"""Small-cell suppression of the anonymised statistics (issue 8): what a table
publishes, and what it hides so that no small count can be worked out.
docs/STATISTICS.md says all of this to coordinators and the observatory; change the
two together.  What is counted is observatory/counts.py's business; the attacker the
tests set on a publication is tests/support/attacker.py.

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
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from observatory.simplex import Simplex

THRESHOLD = 5
SMALL = "<5"  # a count of 0 to 4
HIDDEN = "x"  # a count of 5 or more, hidden so that no "<5" can be worked out

Shown = int | str  # a published count, SMALL or HIDDEN
Key = tuple[str | None, ...]  # one value per dimension; None where summed over


@lru_cache(maxsize=8)
def structure_of(dims: tuple[tuple[str, tuple[str, ...]], ...]) -> Structure:
    return Structure(dims)


class Structure:
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
                parts[self.index[total_key(width, d, cell[d])]].append(i)
        self.equations: list[tuple[int, tuple[int, ...]]] = [
            (total, tuple(members)) for total, members in parts.items()
        ]
        for d, (_, values) in enumerate(dims):
            members = tuple(self.index[total_key(width, d, v)] for v in values)
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


def total_key(width: int, d: int, value: str) -> Key:
    return tuple(value if i == d else None for i in range(width))


INF = math.inf
_PUBLISHED, _SMALL, _HIDDEN = 0, 1, 2


def _bounds(status: int, value: int) -> tuple[float, float]:
    if status == _PUBLISHED:
        return value, value
    if status == _SMALL:
        return 0, THRESHOLD - 1
    return THRESHOLD, INF


def _propagate(structure: Structure, lo: list, hi: list, *, rounds: int = 60) -> bool:
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


def _faults(structure: Structure, values: list[int], status: list[int]) -> list[tuple]:
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


def _cheapest(structure: Structure, equation: int, values, status) -> int | None:
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
    structure: Structure, fault: tuple, values, status, hidden_in: list[int]
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


def _fault_level(structure: Structure, fault: tuple) -> int:
    kind, subject = fault
    entry = structure.equations[subject][0] if kind == "small sum" else subject
    return structure.level(entry)


def _witnessed(structure: Structure, values: list[int], status: list[int]) -> set[int]:
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
            change[index[total_key(width, d, cells[c][d])]] += delta
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
                mine = index[total_key(width, d, cell[d])]
                if record is None and mine in span and values[mine] < span[mine][1]:
                    for value in structure.dims[d][1]:
                        other = index[total_key(width, d, value)]
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


def _pinned(structure: Structure, values: list[int], status: list[int]) -> list[int]:
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
    simplex = Simplex(np.array(rows), np.array(rhs, dtype=float), lower, upper, truth)
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
        return self.shown[total_key(len(self.dims), d, value)]

    @property
    def grand_total(self) -> Shown:
        return self.shown[(None,) * len(self.dims)]

    def cells(self) -> Iterable[tuple[Key, Shown]]:
        structure = structure_of(self.dims)
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
    structure = structure_of(dims)
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
