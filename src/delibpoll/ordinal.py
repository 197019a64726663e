"""Design-based ordinal logistic regression: the proportional-odds model of R ``svyolr``.

``P(Y <= k) = expit(zeta_k - x' beta)`` for the ordered categories of the response, fitted by
maximising the weighted log-likelihood to full convergence (Newton's method with the
analytic Hessian; R's optimiser stops about 1e-3 short, see the Notes of :func:`olr`). The
variance is the design variance of the influence values ``scores_i H^{-1}`` (linearised,
raking/calibration-aware), or from refits on the replicate weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import _variance
from ._formula import ModelFrame, build_model, term_columns
from ._glm import aliased_columns, olr_fit, olr_scores
from ._types import NaPolicy
from ._validation import check_level, check_na
from .design import SurveyDesign, check_design
from .exceptions import ConvergenceWarning, DelibpollError
from .regression import CoefficientTable, WaldTest, wald_test_of

__all__ = ["OLRResult", "olr"]


@dataclass(frozen=True)
class OLRResult(CoefficientTable):
    """A design-based proportional-odds logistic model (R ``svyolr``).

    Attributes
    ----------
    formula : str
    levels : tuple
        The response's categories, lowest first.
    names : tuple of str
        Slopes (R's names, e.g. ``stypeH``) then thresholds (``"low|mid"``, ...), as R's
        ``coef()``.
    coef : numpy.ndarray
    vcov : numpy.ndarray
    n_slopes : int
    df_residual : float
        Design df minus the number of slopes (R's ``df.residual`` of a svyolr).
    design_df : float
    deviance : float
        ``2 * (minus the weighted log-likelihood) / mean(weight)`` (R's ``deviance``).
    n : int
        Rows in the fit (positive weight).
    iterations : int
    converged : bool
    level : float
    n_dropped : int
        Rows with positive weight left out because a model variable was missing
        (``na="drop"``).
    """

    formula: str
    levels: tuple[Hashable, ...]
    names: tuple[str, ...]
    coef: np.ndarray
    vcov: np.ndarray
    n_slopes: int
    df_residual: float
    design_df: float
    deviance: float
    n: int
    iterations: int
    converged: bool
    level: float
    model: ModelFrame = field(repr=False)
    n_dropped: int = 0

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: ``term, kind ("slope"/"threshold"), estimate, se, t,
        p_value, ci_lower, ci_upper, df`` (t on the residual df)."""
        ci = self.conf_int(self.level)
        kinds = ["slope"] * self.n_slopes + ["threshold"] * (len(self.names) - self.n_slopes)
        return pd.DataFrame({
            "term": list(self.names), "kind": kinds, "estimate": np.array(self.coef),
            "se": self.se, "t": self.t, "p_value": self.p_value,
            "ci_lower": ci["ci_lower"].to_numpy(), "ci_upper": ci["ci_upper"].to_numpy(),
            "df": self.df_residual,
        })

    def odds_ratios(self, level: float | None = None) -> pd.DataFrame:
        """``exp(slope)`` with ``exp`` of its Wald t interval: the odds ratio of being in a
        higher category (``P(Y > k)``) per unit of the predictor, the same for every ``k``."""
        fr = self.to_frame().iloc[: self.n_slopes]
        ci = self.conf_int(self.level if level is None else level).iloc[: self.n_slopes]
        return pd.DataFrame({"term": fr["term"].to_list(),
                             "odds_ratio": np.exp(fr["estimate"].to_numpy()),
                             "ci_lower": np.exp(ci["ci_lower"].to_numpy()),
                             "ci_upper": np.exp(ci["ci_upper"].to_numpy())})

    def wald_test(self, term: str, *, df: float | None = None) -> WaldTest:
        """Wald test that the slopes of ``term`` are zero (R ``regTermTest`` on a svyolr:
        F on the residual df by default; ``df=float("inf")`` for chi-squared)."""
        cols = tuple(c - 1 for c in term_columns(self.model, term, "OLRResult.wald_test"))
        return wald_test_of(np.asarray(self.coef), np.asarray(self.vcov), cols, term,
                            self.df_residual if df is None else float(df))

    def summary(self) -> str:
        """A printable summary laid out as R's ``summary(svyolr)``."""
        fr = self.to_frame()
        dropped = f" ({self.n_dropped} incomplete row(s) dropped)" if self.n_dropped else ""
        lines = [f"Design-based ordinal logistic regression (R svyolr): {self.formula}",
                 f"Rows: {self.n}{dropped}; design df {self.design_df:g}; residual df "
                 f"{self.df_residual:g}", "", "Coefficients:"]
        body = fr.iloc[: self.n_slopes][["term", "estimate", "se", "t"]]
        body.columns = ["", "Value", "Std. Error", "t value"]
        lines.append(body.to_string(index=False))
        lines += ["", "Intercepts:"]
        th = fr.iloc[self.n_slopes:][["term", "estimate", "se", "t"]]
        th.columns = ["", "Value", "Std. Error", "t value"]
        lines.append(th.to_string(index=False))
        if not self.converged:
            lines.append("WARNING: the fit did not converge.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"OLRResult({self.formula!r}, n={self.n}, df_residual={self.df_residual:g})\n"
                + self.to_frame().to_string(index=False))

    def _repr_html_(self) -> str:
        return (f"<p><b>Ordinal logistic regression</b>: <code>{self.formula}</code> (residual "
                f"df {self.df_residual:g}; {self.level:.0%} CI)</p>"
                + self.to_frame().to_html(index=False))


def olr(
    design: SurveyDesign,
    formula: str,
    *,
    level: float = 0.95,
    tol: float = 1e-10,
    max_iter: int = 200,
    na: NaPolicy = "error",
) -> OLRResult:
    """Proportional-odds (ordinal) logistic regression on a survey design (R ``svyolr``).

    Parameters
    ----------
    design : SurveyDesign
        Linearised (raking/calibration-aware SEs) or with replicate weights.
    formula : str
        ``"response ~ predictors"``: the response a categorical column with at least three
        ordered categories (its declared order, lowest first; a Likert item), every one
        observed; predictors as in :func:`~delibpoll.glm` (no intercept is estimated: the
        thresholds take its place).
    level : float, default 0.95
    tol, max_iter : float, int
        Newton's method stops when the log-likelihood is within ``tol`` of its maximum.
    na : {"error", "drop"}, default "error"
        Rows with a missing model variable: an error naming the columns, or ``"drop"``: fit
        on the complete rows as R's ``svyolr`` (``na.omit``); the variance keeps the whole
        design (zero weight on the incomplete rows), the residual df is that of the complete
        rows' design (linearised) or of the full design (replicate designs, as R), and
        ``n_dropped`` reports the rows left out.

    Returns
    -------
    OLRResult
        ``to_frame()`` columns: ``term, kind, estimate, se, t, p_value, ci_lower, ci_upper,
        df``.

    Raises
    ------
    DelibpollError
        A response with fewer than three categories or an unobserved category, missing
        values with ``na="error"`` (the columns named), or a rank-deficient model matrix.

    Notes
    -----
    Maximises ``sum_i w_i log P(y_i)``, ``P(y_i = k) = expit(zeta_k - x_i'b) -
    expit(zeta_{k-1} - x_i'b)``. With ``H`` the Hessian of the negative log-likelihood on
    ``(b, zeta)``, the influence values are ``w_i s_i H^{-1}`` (``s_i`` the row's score) and
    their design variance is the covariance (R: ``svyrecvar(inffun, design)``). R's svyolr
    stops its BFGS search at ``reltol = 1e-8`` and takes a finite-difference Hessian, so its
    printed estimates are about 1e-3 from the optimum found here; run to convergence (as in
    the reference script) R agrees to 1e-6.

    Examples
    --------
    >>> import pandas as pd
    >>> import delibpoll as dp
    >>> df = pd.DataFrame({
    ...     "agree": pd.Categorical(list("LMHLMHMHHLLM"), categories=["L", "M", "H"],
    ...                             ordered=True),
    ...     "x": [0, 1, 2, 0, 0, 2, 1, 1, 2, 1, 0, 2]})
    >>> fit = dp.olr(dp.SurveyDesign(df), "agree ~ x")
    >>> fit.names
    ('x', 'L|M', 'M|H')
    """
    func = "olr"
    design = check_design(design, func)
    level = check_level(level, func)
    na = check_na(na, func)
    model = build_model(design.data, formula, func, numeric_response=False, na=na,
                        codes=design.column_codes)
    response = str(model.response)
    codes, levels = design.column_codes(response)
    w_design = np.asarray(design.weight_array, dtype=float)
    complete = model.complete
    if complete is not None:
        codes = np.where(complete, codes, 0)
    if len(levels) < 3:
        raise DelibpollError(
            f"{func} needs a response with at least 3 ordered categories; {response!r} has "
            f"{len(levels)} ({levels}). For two categories use glm(..., family='binomial')."
        )
    w = w_design if complete is None else np.where(complete, w_design, 0.0)
    counts = np.bincount(codes[w > 0], minlength=len(levels))
    if np.any(counts == 0):
        empty = [levels[k] for k in np.flatnonzero(counts == 0)]
        raise DelibpollError(
            f"{func}: categories {empty} of {response!r} have no respondents with positive "
            "weight, so their thresholds are not identified. Merge them with a neighbour or "
            "drop them from the categories."
        )
    if "(Intercept)" not in model.names:
        raise DelibpollError(f"{func}: the formula must not remove the intercept ('- 1' or '0').")
    keep = [j for j, nm in enumerate(model.names) if nm != "(Intercept)"]
    x = model.x[:, keep]
    # identification: the slopes must be identified beside the thresholds (intercept)
    alias = aliased_columns(model.x, w)
    if alias:
        raise DelibpollError(
            f"{func}: the model matrix is rank deficient: {[model.names[j] for j in alias]} "
            "are linear combinations of the other columns; drop or merge them."
        )
    q = len(levels) - 1
    pc = x.shape[1]
    fit = olr_fit(x, codes, w, len(levels), tol=tol, max_iter=max_iter)
    if not fit.converged:
        warnings.warn(
            f"{func}: Newton's method did not converge in {max_iter} iterations; the result "
            "is marked converged=False (a predictor may separate the categories).",
            ConvergenceWarning,
            stacklevel=2,
        )
    theta = np.concatenate([fit.beta, fit.zeta])
    reps = design.replicates
    if reps is None:
        scores = olr_scores(x, codes, len(levels), theta) * w[:, None]
        infl = scores @ np.linalg.inv(fit.hessian)
        vcov = _variance.linearized_vcov(infl, design.structure, design.lonely_psu,
                                         design.calibration)
    else:
        rw = np.asarray(reps.weights)
        if complete is not None:
            rw = rw * complete[:, None]
        thetas = np.empty((rw.shape[1], pc + q))
        bad = 0
        for r in range(rw.shape[1]):
            fr = olr_fit(x, codes, rw[:, r], len(levels), start=theta, tol=tol,
                         max_iter=max_iter)
            bad += not fr.converged
            thetas[r] = np.concatenate([fr.beta, fr.zeta])
        if bad:
            warnings.warn(f"{func}: {bad} replicate refit(s) did not converge.",
                          ConvergenceWarning, stacklevel=2)
        vcov = reps.variance(thetas, theta)
    names = tuple(model.names[j] for j in keep) + tuple(
        f"{levels[k]}|{levels[k + 1]}" for k in range(q)
    )
    design_df = (design.df if complete is None or reps is not None
                 else _variance.subset_df(w_design, design.structure, complete))
    n_dropped = 0 if complete is None else int(np.count_nonzero(~complete & (w_design > 0)))
    # R: 2 * value / mean(weights(design)) of the design it fits on (design[-nas, ]: the
    # complete rows, or every row with zero weight on the incomplete ones if calibrated)
    dev_mean = float(w.mean() if complete is None or design.is_calibrated
                     else w_design[complete].mean())
    return OLRResult(
        formula=formula, levels=tuple(levels), names=names, coef=theta, vcov=vcov,
        n_slopes=pc, df_residual=design_df - pc, design_df=design_df, n_dropped=n_dropped,
        deviance=2 * fit.value / dev_mean, n=int((w > 0).sum()),
        iterations=fit.iterations, converged=fit.converged, level=level, model=model,
    )
