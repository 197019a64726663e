"""Replaying a weighting step from its record on weight columns (kernel layer).

A weighting step is stored as data (a step record of :mod:`delibpoll._records`: cells,
margins, options). :func:`replay` runs it again on an ``n x k`` array of weight columns, for
example every replicate weight column at once, finding the method's kernel by name in a
table. The weighting functions fit the full-sample weights with the same kernels, so a
replay on the starting weights gives the design's weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from ._engine import Cells, FitResult, calibrate_cells, rake_cells
from ._records import (
    CalibrateStep,
    MarginTarget,
    PostStratStep,
    RakeStep,
    StepRecord,
    TrimStep,
)
from ._repweights import ReplicateWeights
from .exceptions import DelibpollError, WeightingWarning

__all__ = [
    "calibrate_fit",
    "grake_scale",
    "population_totals",
    "rake_fit",
    "replay",
    "replay_replicates",
    "resolve_counts",
]

_GRAKE_THRESHOLD = 20.0  # R survey:::grake's SOMETHRESHOLD


def _warn_missed_margins(func: str, missed: np.ndarray, worst: float) -> None:
    """Warn when a replayed step (on replicate or other weight columns) leaves columns off
    their margins."""
    count = int(np.count_nonzero(missed))
    if count:
        warnings.warn(
            f"{func} replayed on {len(missed)} weight column(s) (such as replicate weights): "
            f"{count} of them could not be brought to the margins (largest share error "
            f"{worst:.3g}), usually because that column has no weight in some category. "
            "Their contribution to the variance uses weights that miss the margins. Collapse "
            "small categories, or use jackknife replicates (which drop one PSU at a time).",
            WeightingWarning,
            stacklevel=4,
        )


# ---------------------------------------------------------------------- shared pieces
def resolve_counts(
    margins: Sequence[MarginTarget], row_cell: np.ndarray, cw_rows: np.ndarray, total: np.ndarray
) -> list[np.ndarray]:
    """Target totals per margin and weight column (L_m x k), given the column totals.

    Categories without a target (``unmatched='keep'``) keep their current weighted share of
    each column; the targeted categories share the rest in their target proportions.
    ``row_cell`` maps rows to the cells that the margins' ``cell_code`` index.
    """
    out = []
    col_sum = None  # the columns' totals, summed only if some margin keeps categories
    for mt in margins:
        n_cat = mt.n_categories
        n_target = mt.n_target
        shares = np.zeros((n_cat, cw_rows.shape[1]))
        kept = np.zeros(cw_rows.shape[1])
        if n_cat > n_target:
            if col_sum is None:
                col_sum = cw_rows.sum(axis=0)
            row_code = mt.cell_code[row_cell]
            for j in range(cw_rows.shape[1]):
                cur = np.bincount(row_code, weights=cw_rows[:, j], minlength=n_cat)
                shares[n_target:, j] = cur[n_target:] / col_sum[j]
            kept = shares[n_target:].sum(axis=0)
        shares[:n_target] = mt.shares[:, None] * (1 - kept)[None, :]
        out.append(shares * total[None, :])
    return out


def population_totals(counts: Sequence[np.ndarray]) -> np.ndarray:
    """Population totals of the columns of the calibration model matrix (every category of
    the first margin, every category but the first of the others)."""
    parts = [counts[0]] + [c[1:] for c in counts[1:]]
    return np.vstack(parts)


def grake_scale(
    xmat: np.ndarray, cw0: np.ndarray, pop: np.ndarray, first_block: int
) -> np.ndarray:
    """Per weight column, the factor R's ``grake`` rescales the starting weights by before
    calibrating: the mean of population / sample total over the columns of R's model matrix
    (an intercept, then every category but the first of each margin) when every one of those
    ratios exceeds 20, else 1. Bounds on g then apply to the rescaled weights, as in R.

    ``xmat`` (see ``design_matrix``) holds the ``first_block`` categories of the first margin
    where R has the intercept; the intercept's total is their sum.
    """
    sample_total = xmat.T @ cw0  # (p, k)
    s_r = np.vstack([sample_total[:first_block].sum(axis=0, keepdims=True), sample_total[1:]])
    p_r = np.vstack([pop[:first_block].sum(axis=0, keepdims=True), pop[1:]])
    out = np.ones(pop.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = p_r / s_r
    for j in range(pop.shape[1]):
        r = ratios[:, j]
        if np.all(np.isfinite(r)) and r.min() > _GRAKE_THRESHOLD:
            out[j] = float(r.mean())
    return out


def _cells_of(row_cell: np.ndarray, counts: np.ndarray, margins: Sequence[MarginTarget]) -> Cells:
    return Cells(
        row_cell=row_cell,
        counts=counts,
        margin_cell_codes=tuple(m.cell_code for m in margins),
        n_categories=tuple(m.n_categories for m in margins),
    )


# ---------------------------------------------------------------------- the methods
def rake_fit(step: RakeStep, row_w: np.ndarray) -> tuple[np.ndarray, FitResult, np.ndarray]:
    """Rake weight columns ``row_w`` (n x k): new weights, the fit, starting cell totals."""
    cells = _cells_of(step.row_cell, step.cell_counts, step.margins)
    k = row_w.shape[1]
    cw0 = cells.cell_totals(row_w)
    if cw0.ndim == 1:
        cw0 = cw0[:, None]
    counts = resolve_counts(step.margins, step.row_cell, row_w, np.full(k, step.total))
    cap_cell = None
    if step.cap_value is not None:
        cap_cell = np.repeat((step.cap_value * cells.counts)[:, None], k, axis=1)
    fit = rake_cells(
        cw0, cells, counts, max_iter=step.max_iter, tol=step.tol, cap_cell=cap_cell
    )
    # each cell's factor new / old (0 for a cell without weight), without temporaries
    factor = np.divide(fit.cell_weights, cw0, out=np.zeros_like(cw0), where=cw0 > 0)
    if k == 1:
        out1 = np.take(factor[:, 0], cells.row_cell)
        np.multiply(out1, row_w[:, 0], out=out1)
        out = out1[:, None]
    else:
        # rows' cell factors gathered straight into the output (cells are valid indices)
        out = np.take(factor, cells.row_cell, axis=0, out=np.empty_like(row_w), mode="clip")
        out *= row_w
    return out, fit, cw0


def calibrate_fit(
    step: CalibrateStep, row_w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """Calibrate weight columns ``row_w`` (n x k): new weights, the cell factors ``g``
    (including R's grake rescaling), iterations, converged (k,) and misfit (k,)."""
    k = row_w.shape[1]
    counts = resolve_counts(step.margins, step.row_cell, row_w, np.full(k, step.total))
    pop = population_totals(counts)
    if len(step.numeric_totals):
        # numeric auxiliaries: fixed population totals, the last columns of the model matrix
        pop = np.vstack([pop, np.repeat(step.numeric_totals[:, None], k, axis=1)])
    cw0 = _cells_of(step.row_cell, step.cell_counts, step.margins).cell_totals(row_w)
    rescale = grake_scale(step.x, cw0, pop, step.margins[0].n_categories)
    g, it, conv, err = calibrate_cells(
        step.x, cw0 * rescale[None, :], pop, method=step.calfun, bounds=step.bounds,
        max_iter=step.max_iter, tol=step.tol,
    )
    g_total = g * rescale[None, :]
    return row_w * g_total[step.row_cell], g_total, it, conv, err


def _replay_rake(step: StepRecord, row_w: np.ndarray) -> np.ndarray:
    assert isinstance(step, RakeStep)
    out, fit, _ = rake_fit(step, row_w)
    missed = ~np.asarray(fit.converged, dtype=bool)
    _warn_missed_margins(step.method, missed, float(np.max(fit.max_error)))
    return out


def _replay_calibrate(step: StepRecord, row_w: np.ndarray) -> np.ndarray:
    assert isinstance(step, CalibrateStep)
    out, _, _, conv, err = calibrate_fit(step, row_w)
    missed = ~np.asarray(conv, dtype=bool)
    _warn_missed_margins(step.method, missed, float(np.max(err)))
    return out


def _replay_poststratify(step: StepRecord, row_w: np.ndarray) -> np.ndarray:
    assert isinstance(step, PostStratStep)
    k = row_w.shape[1]
    row_code = step.row_cell
    n_cat = step.margin.n_categories
    counts = resolve_counts((step.margin,), row_code, row_w, np.full(k, step.total))[0]
    if k == 1:
        cur = np.bincount(row_code, weights=row_w[:, 0], minlength=n_cat)[:, None]
    else:  # every column's post-stratum totals in one sparse product (rows added in order)
        n = len(row_code)
        ind = sp.csr_matrix((np.ones(n), (row_code, np.arange(n))), shape=(n_cat, n))
        cur = np.asarray(ind @ row_w)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(cur > 0, counts / cur, 0.0)
    if k > 1:
        empty = (cur <= 0) & (counts > 0)  # a post-stratum with no weight stays at 0
        worst = float((counts / counts.sum(axis=0) * empty).max())
        _warn_missed_margins(step.method, np.asarray(empty.any(axis=0)), worst)
    return np.asarray(row_w * factor[row_code])


def _trim_rows(step: TrimStep, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One trimming pass on weight columns held as the rows of ``w`` (k x n): which rows it
    changes, and their new values. Each row's sums are the pairwise sums over its n values,
    as for a single column, so the numbers do not depend on how many columns there are."""
    lo, hi = step.lower, step.upper
    # a zero weight is a row left out (of a replicate): it stays out, untrimmed
    active = w != 0
    outside = active & ((w < lo) | (w > hi))
    inside = active & ~outside
    n_inside = inside.sum(axis=1)
    changed = outside.any(axis=1) & (n_inside > 0)  # else the column is left as it is
    if not changed.all():
        w, active, inside, n_inside = w[changed], active[changed], inside[changed], n_inside[changed]
    new = np.where(active, np.clip(w, lo, hi), 0.0)
    trimmed = (w - new).sum(axis=1)
    if step.redistribute == "additive":
        new += np.where(inside, (trimmed / n_inside)[:, None], 0.0)
    else:
        # each column's sum over its untrimmed weights alone (as new[inside].sum())
        kept = np.array([new[j][inside[j]].sum() for j in range(len(new))])
        new = np.where(inside, new * (1 + trimmed / kept)[:, None], new)
    return changed, new


def _replay_trim(step: StepRecord, row_w: np.ndarray) -> np.ndarray:
    """Trim every column; with ``strict``, repeat while any weight is outside the bounds
    (by more than 1e-12), up to ``max_iter`` passes. A column a pass leaves unchanged is
    left unchanged by every later pass (its values, and so the pass's decision, are the
    same), so later passes only look at the columns the previous one changed."""
    assert isinstance(step, TrimStep)
    lo, hi = step.lower, step.upper

    def off_bounds(x: np.ndarray) -> bool:
        return bool(np.any((x != 0) & ((x < lo - 1e-12) | (x > hi + 1e-12))))

    w = np.array(row_w.T, order="C")  # columns as contiguous rows (a copy)
    todo = np.arange(w.shape[0])
    stuck_off = False  # a column that no longer changes is still off the bounds
    it = 0
    while True:
        every = len(todo) == w.shape[0]
        changed, new = _trim_rows(step, w if every else w[todo])
        if every and changed.all():
            w = new
        else:
            w[todo[changed]] = new
        it += 1
        if not step.strict or it >= step.max_iter:
            break
        stuck_off = stuck_off or off_bounds(w[todo[~changed]])
        todo = todo[changed]
        if not (stuck_off or off_bounds(w[todo])):
            break
    return np.ascontiguousarray(w.T)


#: The replay kernel of each weighting method, by the method's name.
REPLAYS: dict[str, Callable[[StepRecord, np.ndarray], np.ndarray]] = {
    "rake": _replay_rake,
    "calibrate": _replay_calibrate,
    "poststratify": _replay_poststratify,
    "trim": _replay_trim,
}


def replay(step: StepRecord, row_w: np.ndarray) -> np.ndarray:
    """Replay a weighting step on weight columns ``row_w`` (``n x k``, rows in the design's
    order); returns the new ``n x k`` weights.

    Columns that cannot be brought to the step's margins (e.g. a replicate with no weight
    in a category) give a :class:`~delibpoll.WeightingWarning`.
    """
    kernel = REPLAYS.get(step.method)
    if kernel is None:  # pragma: no cover - every record type has a kernel
        raise DelibpollError(f"No replay for weighting method {step.method!r}.")
    return kernel(step, np.asarray(row_w, dtype=float))


def replay_replicates(step: StepRecord, reps: ReplicateWeights) -> ReplicateWeights:
    """Replicate weights ``reps`` reweighted by a weighting step: the step replayed on every
    replicate column at once (one pass over the cells), the variance multipliers kept.

    Parameters
    ----------
    step : StepRecord
        The step's record (``WeightingStep.record``).
    reps : ReplicateWeights

    Returns
    -------
    ReplicateWeights
    """
    new = replay(step, reps.weights)
    if new.base is None:
        new.flags.writeable = False  # the replay's own array: handed over without a copy
    return ReplicateWeights(
        weights=new, type=reps.type, scale=reps.scale, rscales=reps.rscales, mse=reps.mse
    )
