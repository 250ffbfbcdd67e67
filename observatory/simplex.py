"""A small linear-programming solver for the suppression's exact check
(observatory/suppression.py, ``_pinned``): numpy only, so that the site ships no
solver library (the tests' attacker uses scipy's HiGHS, independently)."""

from __future__ import annotations

import math

import numpy as np

INF = math.inf
_TOL = 1e-9


class Simplex:
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
