"""Weighting: raking, calibration, post-stratification and trimming.

Every function takes a :class:`~delibpoll.SurveyDesign` and returns a new one; the input
design and its data are never changed. Each call appends a :class:`WeightingStep` to the
design's weighting log (replayable on other weight columns, e.g. replicate weights) and keeps
the calibration information that variance estimation needs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ._engine import (
    Cells,
    MarginCodes,
    design_matrix,
    margin_errors,
    match_margins,
    representative_rows,
)
from ._records import (
    CalibrateStep,
    CalibrationRecord,
    GregRecord,
    MarginSources,
    MarginTarget,
    PostStratRecord,
    PostStratStep,
    RakeStep,
    RakingRecord,
    StepRecord,
    TrimStep,
    WeightingReport,
)
from ._replay import (
    calibrate_fit,
    grake_scale,
    population_totals,
    rake_fit,
    replay,
    replay_replicates,
    resolve_counts,
)
from ._stats import kish_deff, kish_deff_unchecked
from ._types import CalFun, OnNonconvergence, Redistribute, Unmatched, values
from ._validation import check_bounds, check_choice, check_int
from .design import SurveyDesign, check_design
from .exceptions import ConvergenceError, ConvergenceWarning, DelibpollError, WeightingWarning
from .targets import Targets, targets_of

__all__ = [
    "WeightingReport",
    "WeightingStep",
    "calibrate",
    "kish_deff",
    "poststratify",
    "rake",
    "trim",
]

# ---------------------------------------------------------------------- log and report
@dataclass(frozen=True)
class WeightingStep:
    """One weighting step in a design's log.

    ``method`` is ``"rake"``, ``"calibrate"``, ``"poststratify"`` or ``"trim"``; ``options``
    holds the arguments used; ``record`` is the step as data (cells, margins, options: see
    :mod:`delibpoll._records`). :meth:`apply` replays the step from its record on other
    weight columns (``n x k`` array, rows in the design's order) and returns the new weights.
    """

    method: str
    targets: Targets | None
    options: Mapping[str, Any]
    iterations: int
    converged: bool
    max_error: float
    record: StepRecord = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        # a read-only view of a private copy: editing it cannot change a later replay
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["options"] = dict(self.options)  # mappingproxy does not pickle
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        self.__post_init__()

    def apply(self, row_w: np.ndarray) -> np.ndarray:
        """Replay this step on weight columns ``row_w`` (n, or n x k); returns new weights.

        Parameters
        ----------
        row_w : numpy.ndarray
            ``(n,)`` or ``(n, k)`` weights, rows in the design's order.

        Returns
        -------
        numpy.ndarray
            The reweighted columns, of the shape of ``row_w``.
        """
        arr = np.asarray(row_w, dtype=float)
        one = arr.ndim == 1
        mat = arr[:, None] if one else arr
        out = replay(self.record, mat)
        return np.asarray(out[:, 0] if one else out)


def _report(
    method: str,
    w_after: np.ndarray,
    w_before: np.ndarray,
    matched: Sequence[MarginCodes],
    cells: Cells | None,
    iterations: int,
    converged: bool,
    max_error: float,
    cell_totals: tuple[np.ndarray, np.ndarray] | None = None,
) -> WeightingReport:
    """The step's report: its statistics now, its margins table when first asked for (from
    the cell totals of the weights before and after)."""
    n = len(w_after)
    if matched and cells is None:
        raise AssertionError("cells are needed for a report on margins")  # pragma: no cover
    if cells is None:
        before_c = after_c = np.zeros(0)
    elif cell_totals is None:  # cell totals (C values), so the report holds no row weights
        before_c, after_c = cells.cell_totals(w_before), cells.cell_totals(w_after)
    else:
        before_c, after_c = cell_totals
    sources = MarginSources(
        names=tuple(mc.margin.name for mc in matched),
        categories=tuple(mc.categories for mc in matched),
        shares=tuple(np.asarray(mc.margin.shares, dtype=float) for mc in matched),
        cell_codes=() if cells is None else cells.margin_cell_codes[: len(matched)],
        cell_counts=np.zeros(0) if cells is None else cells.counts,
        before=before_c,
        after=after_c,
    )
    wsum = float(w_after.sum())
    deff = kish_deff_unchecked(w_after)  # GREG weights may be negative: no checks here
    wmin, wmax = float(w_after.min()), float(w_after.max())
    return WeightingReport.of(
        sources,
        w_after,
        method=method,
        iterations=iterations,
        converged=converged,
        max_margin_error=max_error,
        n=n,
        weight_sum=wsum,
        kish_deff=deff,
        kish_n_eff=n / deff,
        weight_min=wmin,
        weight_max=wmax,
        weight_ratio=wmax / wmin,
    )


# ---------------------------------------------------------------------- shared checks
def _check_targets(targets: object, design: SurveyDesign, func: str) -> Targets:
    targets = targets_of(targets, func)
    for m in targets.margins:
        design.check_columns(list(m.variables), "targets")
    if targets.numeric_totals:
        if func != "calibrate":
            raise DelibpollError(
                f"{func} cannot use the numeric population totals "
                f"{sorted(targets.numeric_totals)} of these targets; use calibrate() for "
                "totals of numeric columns, or targets.select(...) of the categorical margins."
            )
        design.check_columns(list(targets.numeric_totals), "targets")
    return targets


def _check_tol(tol: object, func: str) -> float:
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not (0 < float(tol) < 1):
        raise DelibpollError(
            f"The 'tol' parameter of {func} must be a float in (0, 1); got {tol!r}."
        )
    return float(tol)


def _choice(name: str, vocabulary: Any) -> Callable[[object, str], object]:
    words = values(vocabulary)
    return lambda value, func: check_choice(value, name, func, words)


#: The options several methods share, each checked (and normalised) one way everywhere.
_OPTION_CHECKS: dict[str, Callable[[object, str], object]] = {
    "max_iter": lambda value, func: check_int(value, "max_iter", func),
    "tol": _check_tol,
    "method": _choice("method", CalFun),
    "unmatched": _choice("unmatched", Unmatched),
    "on_nonconvergence": _choice("on_nonconvergence", OnNonconvergence),
    "redistribute": _choice("redistribute", Redistribute),
}


def _resolve_total(targets: Targets, design_total: float, total: float | None, func: str) -> float:
    if total is not None:
        if isinstance(total, bool) or not isinstance(total, int | float) or not (
            np.isfinite(total) and total > 0
        ):
            raise DelibpollError(
                f"The 'total' parameter of {func} must be a positive number; got {total!r}."
            )
        if targets.total is not None and abs(targets.total - total) > 1e-6 * total:
            raise DelibpollError(
                f"The 'total' parameter of {func} ({total:.10g}) disagrees with the total fixed "
                f"by the count targets ({targets.total:.10g}); pass one or the other."
            )
        return float(total)
    if targets.total is not None:
        return float(targets.total)
    return float(design_total)


# ---------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Fitted:
    """What a weighting method's fit gives back to the shared path.

    Attributes
    ----------
    weights : numpy.ndarray
        ``(n,)`` new weights.
    step : WeightingStep
        The step for the design's log (with its record, for replays).
    record : CalibrationRecord or None
        What the linearised variance needs to account for the step (None for trimming).
    matched : sequence of MarginCodes
        The margins matched to the data, for the report (empty: no margins to report).
    cells : Cells or None
        The weighting cells of ``matched``.
    cell_totals : (numpy.ndarray, numpy.ndarray) or None
        Cell totals of the weights before and after, when the fit has them.
    """

    weights: np.ndarray
    step: WeightingStep
    record: CalibrationRecord | None
    matched: Sequence[MarginCodes] = ()
    cells: Cells | None = None
    cell_totals: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class WeightingMethod:
    """A weighting method of the registry :data:`METHODS`: the common contract.

    Attributes
    ----------
    name : str
        The public function's name (``"rake"``, ...); also the name of its replay kernel in
        :mod:`delibpoll._replay` and of its steps' ``method``.
    takes_targets : bool
        Whether the method weights to population targets (checked the one shared way).
    options : tuple of str
        The shared options it takes, checked in this order by :data:`_OPTION_CHECKS`.
    check : callable
        ``check(options, targets)``: the method's own parameter checks, run after the shared
        ones (they may add normalised options).
    fit : callable
        ``fit(design, targets, options) -> Fitted``: the new weights, the step (as data), the
        calibration record and what the report needs.
    """

    name: str
    takes_targets: bool
    options: tuple[str, ...]
    check: Callable[[dict[str, Any], Targets | None], None]
    fit: Callable[[SurveyDesign, Targets | None, dict[str, Any]], Fitted]


def _weight(name: str, design: object, targets: object, **options: Any) -> SurveyDesign:
    """The one path of every weighting function: check the design, the targets and the
    options, fit, then check the weights, report and return the reweighted design."""
    method = METHODS[name]
    checked = check_design(design, name)
    tg = _check_targets(targets, checked, name) if method.takes_targets else None
    opts = dict(options)
    for key in method.options:
        opts[key] = _OPTION_CHECKS[key](opts[key], name)
    method.check(opts, tg)
    fitted = method.fit(checked, tg, opts)
    return _finish(checked, name, fitted, opts.get("on_nonconvergence", "error"))


def _finish(
    design: SurveyDesign, func: str, fitted: Fitted, on_nonconvergence: str
) -> SurveyDesign:
    step, new_w = fitted.step, fitted.weights
    if not step.converged:
        if func == "trim":
            msg = (
                f"trim could not bring every weight within [{step.options['lower']:.6g}, "
                f"{step.options['upper']:.6g}] (strict=True). "
            )
        else:
            msg = (
                f"{func} did not meet the targets after {step.iterations} iterations: the "
                f"largest margin error is {step.max_error:.3g} (tolerance "
                f"{step.options.get('tol')}). "
            )
        hint = step.options.get("_hint", "")
        if on_nonconvergence == "error":
            raise ConvergenceError(
                msg + hint + " Pass on_nonconvergence='warn' to get the weights anyway.",
                iterations=step.iterations,
                max_error=step.max_error,
            )
        warnings.warn(msg + hint, ConvergenceWarning, stacklevel=4)
    wmin, wmax = float(new_w.min()), float(new_w.max())
    if np.isfinite(wmin) and np.isfinite(wmax) and wmin <= 0 and step.options.get("method") == "linear":
        warnings.warn(
            f"Linear calibration gave {int((new_w <= 0).sum())} zero or negative weight(s) (min "
            f"{wmin:.4g}), as GREG weights can be. Pass bounds=(L, U) or use method='raking' "
            "or 'logit' for positive weights.",
            WeightingWarning,
            stacklevel=4,
        )
    elif not (wmin > 0 and np.isfinite(wmax)):
        raise DelibpollError(
            f"{func} produced zero, negative or non-finite weights; the targets or bounds "
            "cannot be met with positive weights."
        )
    report = _report(
        func, new_w, design.weight_array, fitted.matched, fitted.cells, step.iterations,
        step.converged, step.max_error, fitted.cell_totals,
    )
    replicates = design.replicates
    if replicates is not None:
        replicates = replay_replicates(step.record, replicates)
    return design.reweighted(
        new_w, step=step, report=report, record=fitted.record, replicates=replicates
    )


# ---------------------------------------------------------------------- rake
def _check_rake(opts: dict[str, Any], targets: Targets | None) -> None:
    cap = opts["cap"]
    if cap is not None and (
        isinstance(cap, bool) or not isinstance(cap, int | float) or not cap > 1
    ):
        raise DelibpollError(
            f"The 'cap' parameter of rake must be a number > 1 (a multiple of the mean weight); "
            f"got {cap!r}. A cap of 1 or less cannot be met unless every weight is equal."
        )


def _fit_rake(design: SurveyDesign, targets: Targets | None, opts: dict[str, Any]) -> Fitted:
    func = "rake"
    assert targets is not None
    max_iter, tol, cap, unmatched = opts["max_iter"], opts["tol"], opts["cap"], opts["unmatched"]
    w0 = design.weight_array
    tot = _resolve_total(targets, float(w0.sum()), opts["total"], func)
    extra: list[tuple[np.ndarray, int]] = []
    if cap is not None:
        # cells must hold rows of equal weight for a per-row cap: split them by starting weight
        wcode, wuniq = pd.factorize(w0, sort=True)
        extra.append((wcode.astype(np.int64), len(wuniq)))
    matched, cells = match_margins(
        design.column_codes, targets.margins, unmatched, extra
    )
    n = len(w0)
    n_margins = len(matched)
    cap_value = None if cap is None else float(cap) * tot / n
    options: dict[str, Any] = {
        "max_iter": max_iter, "tol": tol, "cap": cap, "unmatched": unmatched, "total": tot,
    }
    raking_cells = Cells(
        row_cell=cells.row_cell,
        counts=cells.counts,
        margin_cell_codes=cells.margin_cell_codes[:n_margins],
        n_categories=cells.n_categories[:n_margins],
    )
    margins = tuple(
        MarginTarget(cell_code=raking_cells.margin_cell_codes[m],
                     n_categories=raking_cells.n_categories[m], shares=mc.margin.shares)
        for m, mc in enumerate(matched)
    )
    step_record = RakeStep(
        row_cell=cells.row_cell, cell_counts=cells.counts, margins=margins, total=tot,
        max_iter=max_iter, tol=tol, cap_value=cap_value,
    )
    new_mat, fit, cw_start = rake_fit(step_record, w0[:, None])
    new_w = new_mat[:, 0]
    if cap_value is not None:
        options["_hint"] = (
            f"The cap of {cap} x the mean weight may be too low to meet the margins; raise it."
        )
    step = WeightingStep(
        method=func,
        targets=targets,
        options=options,
        iterations=fit.iterations,
        converged=bool(fit.converged[0]),
        max_error=float(fit.max_error[0]),
        record=step_record,
    )
    record = RakingRecord(
        row_cell=step_record.row_cell,
        n_cells=cells.n_cells,
        cell_codes=tuple(m.cell_code for m in step_record.margins),
        n_categories=raking_cells.n_categories,
        cell_counts=step_record.cell_counts,
        psw=new_w,
    )
    return Fitted(new_w, step, record, matched, raking_cells,
                  (cw_start[:, 0], fit.cell_weights[:, 0]))


# ---------------------------------------------------------------------- calibrate
def _numeric_auxiliary(design: SurveyDesign, col: str) -> np.ndarray:
    """The values of a numeric calibration auxiliary (no missing values: R's calibrate
    needs them for every row)."""
    s = design.column(col)
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        raise DelibpollError(
            f"The numeric population total of targets names column '{col}', which is not "
            f"numeric (dtype {s.dtype}); give a categorical margin for it instead."
        )
    vals = s.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(vals)
    if bad.any():
        raise DelibpollError(
            f"Column '{col}' (a numeric calibration auxiliary) has {int(bad.sum())} missing "
            "or infinite value(s); every row needs a value. Impute them or drop those rows "
            "first."
        )
    return vals


def _check_calibrate(opts: dict[str, Any], targets: Targets | None) -> None:
    opts["g_bounds"] = check_bounds(opts["bounds"], opts["method"], "calibrate")


def _fit_calibrate(design: SurveyDesign, targets: Targets | None, opts: dict[str, Any]) -> Fitted:
    func = "calibrate"
    assert targets is not None
    method, bounds, max_iter, tol = opts["method"], opts["bounds"], opts["max_iter"], opts["tol"]
    unmatched = opts["unmatched"]
    lo, hi = opts["g_bounds"]
    w0 = design.weight_array
    tot = _resolve_total(targets, float(w0.sum()), opts["total"], func)
    numeric = targets.numeric_totals
    num_vals = [_numeric_auxiliary(design, col) for col in numeric]
    extra = []
    for vals in num_vals:  # cells hold rows with equal values of every numeric auxiliary
        code, uniq = pd.factorize(vals, sort=True)
        extra.append((code.astype(np.int64), len(uniq)))
    matched, cells = match_margins(
        design.column_codes, targets.margins, unmatched, extra
    )
    if extra:
        n_m = len(matched)
        cells = Cells(row_cell=cells.row_cell, counts=cells.counts,
                      margin_cell_codes=cells.margin_cell_codes[:n_m],
                      n_categories=cells.n_categories[:n_m])
    xmat = design_matrix(cells)
    if num_vals:
        rep = representative_rows(cells.row_cell, cells.n_cells)
        xmat = np.column_stack([xmat] + [v[rep] for v in num_vals])
    options: dict[str, Any] = {
        "method": method, "bounds": (lo, hi), "max_iter": max_iter, "tol": tol,
        "unmatched": unmatched, "total": tot,
        "_hint": "The bounds may be infeasible: widen them." if bounds is not None else "",
    }
    margins = tuple(
        MarginTarget(cell_code=cells.margin_cell_codes[m], n_categories=cells.n_categories[m],
                     shares=mc.margin.shares)
        for m, mc in enumerate(matched)
    )
    step_record = CalibrateStep(
        row_cell=cells.row_cell, cell_counts=cells.counts, x=xmat, margins=margins, total=tot,
        calfun=method, bounds=(lo, hi), max_iter=max_iter, tol=tol,
        numeric_totals=np.array(list(numeric.values()), dtype=float),
    )
    new_mat, g_total, it, conv, _ = calibrate_fit(step_record, w0[:, None])
    counts0 = resolve_counts(margins, cells.row_cell, w0[:, None], np.array([tot]))
    pop0 = population_totals(counts0)
    if numeric:
        pop0 = np.vstack([pop0, step_record.numeric_totals[:, None]])
    scale0 = float(
        grake_scale(xmat, cells.cell_totals(w0)[:, None], pop0, cells.n_categories[0])[0]
    )
    if scale0 != 1.0 and bounds is not None:
        warnings.warn(
            f"calibrate rescaled the starting weights by {scale0:.4g} before calibrating, as R's "
            "grake does when every population total is more than 20 times the sample total, so "
            f"the bounds {bounds!r} apply to the rescaled weights (g = new weight / "
            f"({scale0:.4g} x starting weight)). Put the starting weights on the population "
            "scale (e.g. with total=) to have the bounds apply to them directly.",
            WeightingWarning,
            stacklevel=5,
        )
    new_w = new_mat[:, 0]
    # report the share error the same way as rake does
    share_err = float(
        margin_errors(
            cells.cell_totals(new_w)[:, None], cells, [c / c.sum(axis=0) for c in counts0]
        )[0]
    )
    step = WeightingStep(
        method=func,
        targets=targets,
        options=options,
        iterations=it,
        converged=bool(conv[0]),
        # one definition everywhere: the largest |weighted share - target share| (the
        # relative misfit of the totals that Newton's method stops on is not a share error)
        max_error=share_err,
        record=step_record,
    )
    record = GregRecord(
        row_cell=step_record.row_cell,
        x=step_record.x,
        w0_cell=cells.cell_totals(w0),
        g_cell=g_total[:, 0],
        new_w=new_w,
    )
    return Fitted(new_w, step, record, matched, cells)


# ---------------------------------------------------------------------- poststratify
def _check_poststratify(opts: dict[str, Any], targets: Targets | None) -> None:
    assert targets is not None
    if len(targets.margins) != 1:
        raise DelibpollError(
            f"poststratify takes exactly one margin; got {len(targets.margins)} "
            f"({[m.name for m in targets.margins]}). Use a joint margin such as "
            "('age_group', 'sex') for crossed post-strata, or rake() for several margins."
        )


def _fit_poststratify(
    design: SurveyDesign, targets: Targets | None, opts: dict[str, Any]
) -> Fitted:
    func = "poststratify"
    assert targets is not None
    unmatched = opts["unmatched"]
    w0 = design.weight_array
    tot = _resolve_total(targets, float(w0.sum()), opts["total"], func)
    matched, ps_cells = match_margins(
        design.column_codes, targets.margins[:1], unmatched
    )
    mc = matched[0]
    n_cat = len(mc.categories)
    margin = MarginTarget(cell_code=np.arange(n_cat), n_categories=n_cat, shares=mc.margin.shares)
    step_record = PostStratStep(row_cell=mc.row_code, margin=margin, total=tot)
    new_w = replay(step_record, w0[:, None])[:, 0]
    after = np.bincount(mc.row_code, weights=new_w, minlength=n_cat) / new_w.sum()
    counts0 = resolve_counts((margin,), step_record.row_cell, w0[:, None], np.array([tot]))
    target = counts0[0][:, 0] / tot
    step = WeightingStep(
        method=func,
        targets=targets,
        options={"unmatched": unmatched, "total": tot},
        iterations=1,
        converged=True,
        max_error=float(np.abs(after - target).max()),
        record=step_record,
    )
    record = PostStratRecord(row_cell=step_record.row_cell, n_cells=n_cat, old_w=w0, new_w=new_w)
    return Fitted(new_w, step, record, matched, ps_cells)


# ---------------------------------------------------------------------- trim
def _check_trim(opts: dict[str, Any], targets: Targets | None) -> None:
    upper, lower = opts["upper"], opts["lower"]
    if upper is None and lower is None:
        raise DelibpollError("trim needs at least one of 'upper' and 'lower'.")
    for name, val in (("upper", upper), ("lower", lower)):
        if val is not None and (
            isinstance(val, bool) or not isinstance(val, int | float) or not np.isfinite(val)
        ):
            raise DelibpollError(
                f"The '{name}' parameter of trim must be a finite number; got {val!r}."
            )


def _fit_trim(design: SurveyDesign, targets: Targets | None, opts: dict[str, Any]) -> Fitted:
    func = "trim"
    upper, lower, relative = opts["upper"], opts["lower"], opts["relative"]
    redistribute, strict, max_iter = opts["redistribute"], opts["strict"], opts["max_iter"]
    w0 = design.weight_array
    n = len(w0)
    mean_w = float(w0.mean())
    hi = np.inf if upper is None else float(upper) * (mean_w if relative else 1.0)
    lo = -np.inf if lower is None else float(lower) * (mean_w if relative else 1.0)
    if lo >= hi:
        raise DelibpollError(f"trim needs lower < upper; got lower={lower}, upper={upper}.")
    if hi * n < w0.sum() or lo * n > w0.sum():
        raise DelibpollError(
            f"trim bounds are infeasible: {n} weights summing to {w0.sum():.6g} cannot all lie "
            f"in [{lo:.6g}, {hi:.6g}]. Widen the bounds."
        )
    step_record = TrimStep(
        lower=lo, upper=hi, redistribute=redistribute, strict=strict, max_iter=max_iter
    )
    new_w = replay(step_record, w0[:, None])[:, 0]
    converged = not strict or not np.any((new_w < lo - 1e-9 * abs(lo)) | (new_w > hi * (1 + 1e-9)))
    # the report shows how far trimming moved the weights off the margins of the last step
    # that had targets (NaN when no step had any): trimming does not keep them
    matched: Sequence[MarginCodes] = []
    cells: Cells | None = None
    margin_error = float("nan")
    last = next((s for s in reversed(design.weighting_log) if s.targets is not None), None)
    if last is not None and last.targets is not None:
        matched, cells = match_margins(
            design.column_codes, last.targets.margins,
            last.options.get("unmatched", "error"),
        )
        after_c = cells.cell_totals(new_w)
        margin_error = 0.0
        for m, mc in enumerate(matched):
            shares = np.bincount(cells.margin_cell_codes[m], weights=after_c,
                                 minlength=len(mc.categories)) / after_c.sum()
            k = mc.n_target
            margin_error = max(margin_error,
                               float(np.abs(shares[:k] - np.asarray(mc.margin.shares)[:k]).max()))
    step = WeightingStep(
        method=func,
        targets=None,
        options={
            "upper": hi, "lower": lo, "redistribute": redistribute, "strict": strict,
            "tol": 0.0, "_hint": "Widen the bounds.",
        },
        iterations=1,
        converged=converged,
        max_error=margin_error,
        record=step_record,
    )
    return Fitted(new_w, step, None, matched, cells)


#: The weighting methods, by name: what each checks and how it fits. The public functions
#: below go through it (:func:`_weight`), and so do their replays (:mod:`delibpoll._replay`
#: has a kernel of each name).
METHODS: dict[str, WeightingMethod] = {
    m.name: m
    for m in (
        WeightingMethod("rake", True, ("max_iter", "tol", "unmatched", "on_nonconvergence"),
                        _check_rake, _fit_rake),
        WeightingMethod("calibrate", True,
                        ("max_iter", "tol", "method", "unmatched", "on_nonconvergence"),
                        _check_calibrate, _fit_calibrate),
        WeightingMethod("poststratify", True, ("unmatched",), _check_poststratify,
                        _fit_poststratify),
        WeightingMethod("trim", False, ("redistribute", "max_iter"), _check_trim, _fit_trim),
    )
}


# ---------------------------------------------------------------------- public functions
def rake(
    design: SurveyDesign,
    targets: Targets,
    *,
    max_iter: int = 1000,
    tol: float = 1e-10,
    cap: float | None = None,
    unmatched: Unmatched = "error",
    on_nonconvergence: OnNonconvergence = "error",
    total: float | None = None,
) -> SurveyDesign:
    """Rake (iterative proportional fitting) the design's weights to population margins.

    Parameters
    ----------
    design : SurveyDesign
        Starting weights are the design's current weights.
    targets : Targets
        One margin per raking variable (joint margins allowed).
    max_iter : int, default 1000
        Largest number of full sweeps over the margins.
    tol : float, default 1e-10
        Converged only when every weighted share is within ``tol`` of its target share.
        The change between iterations is never used as a stopping rule.
    cap : float, optional
        Cap weights at ``cap`` times the mean weight inside the loop: after each sweep over
        the margins, weights above the cap are set to it, and the next sweep re-meets the
        margins. Converged means margins met *and* no weight above the cap. Must be > 1.
    unmatched : {"error", "keep"}
        What to do with data categories that have no target (e.g. "Prefer not to say"):
        raise an error, or let them keep their current weighted share while the targeted
        categories share the rest in their target proportions.
    on_nonconvergence : {"error", "warn"}
        Raise :class:`~delibpoll.ConvergenceError`, or warn and return the weights with
        ``weighting_report.converged`` False.
    total : float, optional
        Sum of the weights when every margin is a share or percentage. Default: the
        design's current weight total (count margins fix the total themselves).

    Returns
    -------
    SurveyDesign
        A new design with raked weights, a :class:`WeightingReport` and the raking recorded
        for variance estimation (as R's ``rake()``).

    Raises
    ------
    DelibpollError
        Unknown columns, missing values in a raking variable, data categories without a
        target, target categories with no respondents, an infeasible cap.
    ConvergenceError
        Targets not met within ``max_iter`` sweeps (with ``on_nonconvergence="error"``).

    Notes
    -----
    Rows are collapsed once to the cells formed by crossing the raking variables
    (``np.bincount`` on integer codes); the cells are raked and each row's weight is its
    starting weight times its cell's adjustment. The work after the first pass is
    proportional to the number of cells, not rows. The variance of estimates from the raked
    design accounts for the raking as R ``survey`` does (residuals from the raking margins,
    10 backfitting sweeps as ``svyrecvar``). With ``cap``, variance treats the capped
    weights as raked to the margins.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, Targets, rake
    >>> df = pd.DataFrame({"sex": ["F", "F", "M", "M", "M"], "age": ["y", "o", "y", "o", "o"]})
    >>> t = Targets.from_dict({"sex": {"F": 0.5, "M": 0.5}, "age": {"y": 0.4, "o": 0.6}})
    >>> raked = rake(SurveyDesign(df), t)
    >>> raked.weights.groupby(df["sex"]).sum().round(6).tolist()
    [2.5, 2.5]
    """

    return _weight(
        "rake", design, targets, max_iter=max_iter, tol=tol, cap=cap, unmatched=unmatched,
        on_nonconvergence=on_nonconvergence, total=total,
    )


def calibrate(
    design: SurveyDesign,
    targets: Targets,
    *,
    method: CalFun = "linear",
    bounds: tuple[float, float] | None = None,
    max_iter: int = 1000,
    tol: float = 1e-10,
    unmatched: Unmatched = "error",
    on_nonconvergence: OnNonconvergence = "error",
    total: float | None = None,
) -> SurveyDesign:
    """Calibrate the weights to population margins (generalised regression / raking).

    As R ``calibrate(design, formula, population, calfun=, bounds=)`` with the margins of
    ``targets`` as the calibration model (an intercept plus indicators of each margin's
    categories, joint margins as indicators of their cells).

    Parameters
    ----------
    method : {"linear", "raking", "logit"}
        The calibration function (R ``calfun``): linear (GREG; weights may go negative
        without bounds), raking (multiplicative; equals :func:`rake` when unbounded), logit
        (bounded raking; needs finite ``bounds``).
    bounds : (float, float), optional
        Bounds ``(L, U)`` on the adjustment factors ``g = w_new / w_old``, where ``w_old``
        are the design's starting weights, as R's ``grake``. Only when every population
        total is more than 20 times the sample total (R's rule: the intercept and every
        category but the first of each margin) are the starting weights first rescaled by
        the mean of those ratios, and the bounds then apply to the rescaled weights (with a
        :class:`~delibpoll.WeightingWarning`, as R warns). Must satisfy ``0 <= L < 1 < U``.
    max_iter, tol, unmatched, on_nonconvergence, total
        As in :func:`rake`. Converged when every calibration total is within
        ``tol * total`` of its target.

    Returns
    -------
    SurveyDesign

    Raises
    ------
    DelibpollError
        Invalid bounds, unknown columns, missing values, unmatched categories.
    ConvergenceError
        Targets not met (for bounded calibration this usually means the bounds are
        infeasible).

    Notes
    -----
    Newton's method on the calibration equations ``sum_i w_i g(x_i' lambda) x_i = T``
    (Deville and Sarndal 1992), solved on the cells formed by crossing the margin variables,
    as R's ``grake``. Variance after calibration uses residuals from the weighted regression
    of the linearised variable on the calibration model, as R (``greg_calibration``).

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, Targets, calibrate
    >>> df = pd.DataFrame({"sex": ["F", "F", "M", "M", "M"]})
    >>> d = calibrate(SurveyDesign(df), Targets.from_dict({"sex": {"F": 0.5, "M": 0.5}}))
    >>> d.weights.round(4).tolist()
    [1.25, 1.25, 0.8333, 0.8333, 0.8333]
    """

    return _weight(
        "calibrate", design, targets, method=method, bounds=bounds, max_iter=max_iter, tol=tol,
        unmatched=unmatched, on_nonconvergence=on_nonconvergence, total=total,
    )


def poststratify(
    design: SurveyDesign,
    targets: Targets,
    *,
    unmatched: Unmatched = "error",
    total: float | None = None,
) -> SurveyDesign:
    """Post-stratify the weights to one margin (use a joint margin for crossed cells).

    Each post-stratum's weights are multiplied by ``target total / current weighted total``,
    as R ``postStratify``. Variance then uses residuals from the post-stratum means.

    Parameters
    ----------
    targets : Targets
        Exactly one margin, e.g. ``Targets.from_dict({("age_group", "sex"): {...}})``.
    unmatched, total
        As in :func:`rake`.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, Targets, poststratify
    >>> df = pd.DataFrame({"sex": ["F", "M", "M", "M"]})
    >>> d = poststratify(SurveyDesign(df), Targets.from_dict({"sex": {"F": 2, "M": 6}}))
    >>> d.weights.tolist()
    [2.0, 2.0, 2.0, 2.0]
    """

    return _weight("poststratify", design, targets, unmatched=unmatched, total=total)


def trim(
    design: SurveyDesign,
    *,
    upper: float | None = None,
    lower: float | None = None,
    relative: bool = False,
    redistribute: Redistribute = "additive",
    strict: bool = False,
    max_iter: int = 100,
) -> SurveyDesign:
    """Trim extreme weights and redistribute the trimmed amount, as R ``trimWeights``.

    Parameters
    ----------
    upper, lower : float, optional
        Largest and smallest allowed weight. With ``relative=True`` they are multiples of the
        mean weight (``upper=5`` caps weights at five times the mean).
    redistribute : {"additive", "proportional"}
        How the weight removed (or added) by trimming is shared among the untrimmed weights:
        the same amount each (R ``trimWeights``), or in proportion to their weights. Either
        way the sum of the weights is unchanged.
    strict : bool, default False
        Redistribution can push untrimmed weights past a bound. With ``strict=True`` trimming
        is repeated until no weight is outside the bounds (R ``strict=TRUE``).

    Notes
    -----
    Trimming moves the weights off any margins they were raked to; use ``rake(cap=)`` or
    ``calibrate(bounds=)`` to bound weights while keeping the margins. Variance keeps the
    calibration information of earlier steps, as R does.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, trim
    >>> df = pd.DataFrame({"w": [1.0, 1.0, 1.0, 5.0]})
    >>> trim(SurveyDesign(df, weights="w"), upper=3).weights.round(4).tolist()
    [1.6667, 1.6667, 1.6667, 3.0]
    """

    return _weight(
        "trim", design, None, upper=upper, lower=lower, relative=relative,
        redistribute=redistribute, strict=strict, max_iter=max_iter,
    )
