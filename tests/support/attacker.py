"""The attacker the statistics tests set on a publication (issue 8): what the
observatory, or anyone it passes an export to, can work out from the published
numbers alone.  Test-only: it needs scipy (the ``dev`` extra), which the site never
ships.  docs/STATISTICS.md, "The attacker audit".

**The attacker audit.**  :func:`audit` is a check independent of the suppression's own
(observatory/suppression.py, with its own simplex), on scipy's HiGHS.  It takes a
publication as the observatory sees it -- an export read back, nothing else, no true
value -- and finds every hidden count with a single possible value: a first linear
program maximises, for every hidden count, a small step away from both of its bounds
(repeated on those not yet seen to move, until the optimum is 0: those never leave a
bound); then among the counts that move, those the equations alone still fix (a column
of the system that every basis needs: QR with pivoting).  It also reports every
equation whose hidden part sums to a known 0..4, and numbers that contradict each
other.  :func:`attacker_bounds` gives chosen counts' exact least and greatest values.

:func:`read_csv` and :func:`read_json` read an export back from its bytes, as the
observatory does, so that the attack starts from nothing but what left the site.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import lstsq, qr
from scipy.optimize import linprog
from scipy.sparse import bmat, csr_matrix, hstack, identity

from observatory.counts import REPORT_DIMENSIONS
from observatory.exports import ALL, CSV_COLUMNS
from observatory.suppression import (
    HIDDEN,
    SMALL,
    THRESHOLD,
    Key,
    Publication,
    Shown,
    structure_of,
    total_key,
)

INF = math.inf


def _bounds(shown: str) -> tuple[float, float]:
    """What a marker says: "<5" is 0 to 4, "x" is 5 or more (never hidden otherwise)."""
    return (0, THRESHOLD - 1) if shown == SMALL else (THRESHOLD, INF)


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
    structure = structure_of(publication.dims)
    column: dict[int, int] = {}
    system = _LinearSystem([], [], [])
    problems: list[Problem] = []
    for i, key in enumerate(structure.keys):
        shown = publication.shown[key]
        if isinstance(shown, int):
            continue
        column[i] = len(system.keys)
        system.keys.append(key)
        low, high = _bounds(shown)
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


# --- reading an export back ------------------------------------------------------------


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
            shown[total_key(width, d, value)] = _count(count)
    missing = set(structure_of(dims).keys) - set(shown)
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
