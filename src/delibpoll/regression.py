"""Design-based generalised linear models (R ``svyglm``), predictions, Wald tests of terms,
odds ratios and predictive margins (R ``svypredmeans``).

The coefficients solve the survey-weighted score equations by R's IRLS
(:mod:`delibpoll._glm`); their variance is the sandwich ``A V(U) A`` with ``V(U)`` the design
variance of the score totals: linearised with the design's strata, PSUs and fpc after
removing what the raking or calibration explains (as R's ``svyrecvar`` on a raked design),
or from refits on the replicate weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import overload

import numpy as np
import pandas as pd
from scipy import stats

from . import _variance
from ._arrays import read_only
from ._ci import t_quantile, two_sided_p
from ._formula import ModelFrame, build_model, new_matrix, term_columns
from ._glm import (
    FAMILIES,
    Family,
    aliased_columns,
    glm_influence,
    irls,
    profile_interval,
    row_groups,
    small_blas,
)
from ._types import GLMCIMethod, GLMFamily, NaPolicy, PredictType, values
from ._validation import check_level, check_na
from .design import SurveyDesign, check_design
from .exceptions import ConvergenceWarning, DelibpollError, DelibpollWarning

__all__ = [
    "GLMByResult",
    "GLMPrediction",
    "GLMResult",
    "PredictiveMargins",
    "WaldTest",
    "glm",
    "predictive_margins",
]

_STARS = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."), (1.0, " "))


def _dropped(n: int) -> str:
    """The note on rows left out for missing values (na="drop") in a printed summary."""
    return f" ({n} incomplete row(s) dropped)" if n else ""


def _aligned(x: np.ndarray, digits: int = 6) -> list[str]:
    """Numbers with a common number of decimals (``digits`` significant for the largest), so
    that a printed column lines up at the decimal point, as R's ``printCoefmat``."""
    finite = np.abs(x[np.isfinite(x)])
    top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    decimals = int(min(10, max(0, digits - 1 - np.floor(np.log10(top)))))
    return [f"{v:.{decimals}f}" for v in x]


# ---------------------------------------------------------------------- result objects
@dataclass(frozen=True)
class WaldTest:
    """Wald test that the coefficients of a term are all zero (R ``regTermTest``).

    Attributes
    ----------
    term : str
    chisq : float
        ``b' V^{-1} b`` over the term's coefficients.
    f : float
        ``chisq / df_num`` (NaN for the chi-squared form).
    df_num : int
        Number of coefficients tested.
    df_den : float
        Denominator df of the F test (the model's residual df; ``inf`` for the chi-squared
        form).
    p_value : float
    """

    term: str
    chisq: float
    f: float
    df_num: int
    df_den: float
    p_value: float

    def to_frame(self) -> pd.DataFrame:
        """One row: ``term, chisq, f, df_num, df_den, p_value``."""
        return pd.DataFrame([{"term": self.term, "chisq": self.chisq, "f": self.f,
                              "df_num": self.df_num, "df_den": self.df_den,
                              "p_value": self.p_value}])

    def __repr__(self) -> str:
        if np.isfinite(self.df_den):
            return (f"Wald test for {self.term}: F = {self.f:.6g} on {self.df_num} and "
                    f"{self.df_den:g} df, p = {self.p_value:.4g}")
        return (f"Wald test for {self.term}: Chisq = {self.chisq:.6g} on {self.df_num} df, "
                f"p = {self.p_value:.4g}")


def wald_test_of(coef: np.ndarray, vcov: np.ndarray, cols: tuple[int, ...], term: str,
                 df_den: float) -> WaldTest:
    """The Wald statistic of the coefficients ``cols`` (R ``regTermTest(method="Wald")``)."""
    idx = np.asarray(cols)
    b = coef[idx]
    v = vcov[np.ix_(idx, idx)]
    chisq = float(b @ np.linalg.solve(v, b))
    k = len(idx)
    if np.isfinite(df_den):
        f = chisq / k
        p = float(stats.f.sf(f, k, df_den)) if df_den > 0 else float("nan")
        return WaldTest(term, chisq, f, k, float(df_den), p)
    return WaldTest(term, chisq, float("nan"), k, float("inf"), float(stats.chi2.sf(chisq, k)))


@dataclass(frozen=True)
class GLMPrediction:
    """Predictions of a fitted model for new rows, with design-based standard errors.

    Attributes
    ----------
    type : {"link", "response"}
    estimate : numpy.ndarray
        ``x'b`` (link) or ``linkinv(x'b)`` (response).
    vcov : numpy.ndarray
        ``X V X'`` (link), or by the delta method ``D X V X' D`` with ``D = diag(mu.eta)``.
    """

    type: PredictType
    estimate: np.ndarray
    vcov: np.ndarray
    index: pd.Index

    def __post_init__(self) -> None:
        object.__setattr__(self, "estimate", read_only(self.estimate, dtype=float))
        object.__setattr__(self, "vcov", read_only(self.vcov, dtype=float))

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the predictions."""
        return np.asarray(np.sqrt(np.clip(np.diag(self.vcov), 0, None)))

    def to_frame(self) -> pd.DataFrame:
        """Columns ``estimate`` and ``se``, indexed as the new data."""
        return pd.DataFrame({"estimate": np.array(self.estimate), "se": self.se},
                            index=self.index)

    def __repr__(self) -> str:
        return f"GLMPrediction(type={self.type!r})\n" + self.to_frame().to_string()


class CoefficientTable:
    """What a fitted model's result shares (GLMResult, OLRResult): read-only ``coef`` and
    ``vcov``, and from them standard errors, t statistics on ``df_residual``, p-values and
    Wald intervals. The subclasses are frozen dataclasses with the fields ``names``,
    ``coef``, ``vcov`` and ``df_residual``."""

    names: tuple[str, ...]
    coef: np.ndarray
    vcov: np.ndarray
    df_residual: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "coef", read_only(self.coef, dtype=float))
        object.__setattr__(self, "vcov", read_only(self.vcov, dtype=float))

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the coefficients."""
        return np.asarray(np.sqrt(np.clip(np.diag(self.vcov), 0, None)))

    @property
    def t(self) -> np.ndarray:
        """``coef / se``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(self.coef / self.se)

    @property
    def p_value(self) -> np.ndarray:
        """Two-sided p-values of :attr:`t` on :attr:`df_residual`."""
        return two_sided_p(self.t, self.df_residual)

    def conf_int(self, level: float = 0.95, *, df: float | None = None) -> pd.DataFrame:
        """Wald intervals ``coef ± q se`` (R ``confint(fit)``).

        Parameters
        ----------
        level : float, default 0.95
        df : float, optional
            Degrees of freedom of the t quantile ``q``: the residual df by default (R's
            default); ``float("inf")`` for normal quantiles (R ``confint(fit, ddf = Inf)``,
            ``confint.default``).

        Returns
        -------
        pandas.DataFrame
            Columns ``ci_lower`` and ``ci_upper``, indexed by the coefficient names.
        """
        level = check_level(level, f"{type(self).__name__}.conf_int")
        q = t_quantile(level, self.df_residual if df is None else float(df))
        return pd.DataFrame({"ci_lower": self.coef - q * self.se,
                             "ci_upper": self.coef + q * self.se},
                            index=pd.Index(self.names, name="term"))


@dataclass(frozen=True)
class GLMResult(CoefficientTable):
    """A design-based GLM (R ``svyglm``).

    Attributes
    ----------
    formula : str
    family : {"gaussian", "binomial", "poisson"}
        ``binomial`` is R's ``quasibinomial`` (non-integer weights are fine) and ``poisson``
        R's ``quasipoisson``; the estimates and SEs are R's for either spelling.
    link : str
    names : tuple of str
        Coefficient names as R writes them (``(Intercept)``, ``stypeH``, ``ell:stypeM``).
    coef : numpy.ndarray
    vcov : numpy.ndarray
        Design-based covariance of the coefficients.
    df_residual : float
        Design df + 1 - number of coefficients (R's ``df.residual`` of a svyglm); t
        statistics, p-values, intervals and Wald F tests use it.
    design_df : float
    dispersion : float
        R's ``summary()$dispersion``: the design-based variance of the Pearson residuals
        (replicate designs: their weighted mean square).
    dispersion_se : float
        Its standard error (NaN on replicate designs, as R gives none).
    deviance : float
        With the sampling weights rescaled to mean 1 (R's ``deviance()``).
    n : int
        Rows in the fit (positive weight).
    n_dropped : int
        Rows (with positive weight in the fit's domain) left out because a model variable was
        missing (``na="drop"``; R's ``length(fit$na.action)``).
    iterations : int
        IRLS iterations of the full-sample fit.
    converged : bool
        Whether IRLS met its criterion (a :class:`~delibpoll.ConvergenceWarning` was issued
        otherwise).
    boundary : bool
        Fitted probabilities numerically 0 or 1 (binomial) or rates numerically 0 (poisson):
        perfect or quasi-complete separation; the coefficients concerned are not finite in
        truth and their SEs are meaningless (a warning was issued).
    level : float
        Level of the intervals in :meth:`to_frame`.
    """

    formula: str
    family: GLMFamily
    link: str
    names: tuple[str, ...]
    coef: np.ndarray
    vcov: np.ndarray
    df_residual: float
    design_df: float
    dispersion: float
    dispersion_se: float
    deviance: float
    n: int
    iterations: int
    converged: bool
    boundary: bool
    level: float
    design: SurveyDesign = field(repr=False)
    model: ModelFrame = field(repr=False)
    reference: Mapping[str, Hashable] = field(repr=False, default_factory=dict)
    n_dropped: int = 0
    fit_weights: np.ndarray | None = field(repr=False, default=None)
    control: tuple[float, int] = field(repr=False, default=(1e-12, 100))
    weight_mean: float = field(repr=False, default=1.0)
    model_rows: int = field(repr=False, default=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fit_weights is not None:
            object.__setattr__(self, "fit_weights", read_only(self.fit_weights, dtype=float))

    def conf_int(self, level: float = 0.95, *, df: float | None = None,
                 method: GLMCIMethod = "wald") -> pd.DataFrame:
        """Confidence intervals of the coefficients (R ``confint(fit)``).

        Parameters
        ----------
        level : float, default 0.95
        df : float, optional
            Degrees of freedom: the residual df by default (R's default ``ddf``);
            ``float("inf")`` for normal quantiles (R ``ddf = Inf``, ``confint.default``).
        method : {"wald", "likelihood"}, default "wald"
            ``"wald"``: ``coef ± t(df) se``. ``"likelihood"``: R's ``method =
            "likelihood"``, the profile-likelihood interval whose tail is rescaled by each
            coefficient's design effect ``lambda = V_design / V_model`` (see Notes).

        Returns
        -------
        pandas.DataFrame
            Columns ``ci_lower`` and ``ci_upper``, indexed by the coefficient names.

        Notes
        -----
        Likelihood: with ``a = (1 - level) / 2`` the tail is ``alpha = Phi(t_a(df)
        sqrt(lambda))``; the coefficient is fixed on a grid of ``zmax / 5`` standard
        errors each way (``zmax = sqrt(F_{1, n - p}`` upper ``alpha / 2`` quantile), the
        others refitted, and ``z = ± sqrt((D_fixed - D) / dispersion)`` interpolated by R's
        ``spline`` to ``z = ± Phi^{-1}(alpha)``. On a replicate design the dispersion is the
        weighted mean square of the Pearson residuals; survey 4.1.1 uses n times that there
        (see :attr:`dispersion`), so its profile never reaches the cutoff and it returns NA.
        """
        if method == "wald":
            return super().conf_int(level, df=df)
        if method != "likelihood":
            raise DelibpollError(
                f"The 'method' parameter of GLMResult.conf_int must be 'wald' or "
                f"'likelihood'; got {method!r}."
            )
        level = check_level(level, "GLMResult.conf_int")
        if not 0.5 <= self.dispersion <= 2:
            warnings.warn(
                f"GLMResult.conf_int(method='likelihood'): the dispersion is "
                f"{self.dispersion:.3g}. R's likelihood interval, reproduced here, divides the "
                "deviance by the dispersion and also widens its tail by the design effect "
                "V_design / V_model, which contains the dispersion again, so far from 1 the "
                "interval is much too wide. Use the Wald interval (method='wald').",
                DelibpollWarning,
                stacklevel=2,
            )
        ddf = self.df_residual if df is None else float(df)
        if not ddf > 0:
            raise DelibpollError(
                f"GLMResult.conf_int(method='likelihood') needs a positive residual df; this "
                f"fit has {ddf:g}."
            )
        w = (np.asarray(self.design.weight_array, dtype=float) if self.fit_weights is None
             else np.asarray(self.fit_weights))
        fam = FAMILIES[self.family]
        x, y = self.model.x, self.model.y
        assert y is not None
        prior = w / self.weight_mean
        coef = np.asarray(self.coef)
        eta = x @ coef
        ww = prior * fam.mu_eta(eta) ** 2 / fam.variance(fam.linkinv(eta))
        naive = np.linalg.inv(x.T @ (x * ww[:, None]))
        lam = np.diag(self.vcov) / np.diag(naive)
        a = (1 - level) / 2
        q = stats.norm.ppf(a) if np.isinf(ddf) else stats.t.ppf(a, ddf)
        alpha = stats.norm.cdf(q * np.sqrt(lam)) / 2
        # R's n in zmax is NROW of the model frame: a calibrated design's domain keeps its
        # zero-weight rows, other designs' subsets drop them
        n_p = (self.model_rows or int(np.count_nonzero(w > 0))) - len(coef)
        tol, max_iter = self.control
        lo = np.empty(len(coef))
        hi = np.empty(len(coef))
        for i in range(len(coef)):
            # sqrt of F(1, n - p)'s upper alpha quantile (R's qf), via t for tiny alpha
            zmax = float(stats.t.isf(alpha[i] / 2, n_p))
            try:
                lo[i], hi[i] = profile_interval(
                    x, y, prior, fam, coef, i, float(self.se[i]), 2 * alpha[i],
                    self.dispersion, self.deviance, zmax, epsilon=tol, max_iter=max_iter)
            except ValueError:
                raise DelibpollError(
                    f"GLMResult.conf_int(method='likelihood'): profiling {self.names[i]!r} "
                    "found a better fit than the estimate, so the fit had not converged; "
                    "refit with a smaller tol."
                ) from None
        return pd.DataFrame({"ci_lower": lo, "ci_upper": hi},
                            index=pd.Index(self.names, name="term"))


    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: ``term, estimate, se, t, p_value, ci_lower, ci_upper, df``
        (intervals at :attr:`level`, t on the residual df)."""
        ci = self.conf_int(self.level)
        return pd.DataFrame({
            "term": list(self.names), "estimate": np.array(self.coef), "se": self.se,
            "t": self.t, "p_value": self.p_value, "ci_lower": ci["ci_lower"].to_numpy(),
            "ci_upper": ci["ci_upper"].to_numpy(), "df": self.df_residual,
        })

    def odds_ratios(self, level: float | None = None) -> pd.DataFrame:
        """Odds ratios ``exp(coef)`` with ``exp`` of the Wald t interval (binomial only).

        Returns
        -------
        pandas.DataFrame
            Columns ``term, odds_ratio, ci_lower, ci_upper`` (the intercept row is the odds
            at the reference levels).

        Raises
        ------
        DelibpollError
            The family is not binomial.
        """
        if self.family != "binomial":
            raise DelibpollError(
                f"odds_ratios needs a binomial model; this one is {self.family}. For a log "
                "link, exp(conf_int()) gives rate ratios."
            )
        ci = self.conf_int(self.level if level is None else level)
        return pd.DataFrame({"term": list(self.names), "odds_ratio": np.exp(self.coef),
                             "ci_lower": np.exp(ci["ci_lower"].to_numpy()),
                             "ci_upper": np.exp(ci["ci_upper"].to_numpy())})

    # ------------------------------------------------------------------ inference
    def wald_test(self, term: str, *, df: float | None = None) -> WaldTest:
        """Wald test that every coefficient of ``term`` is zero (R ``regTermTest``).

        Parameters
        ----------
        term : str
            A term of the formula (``"stype"``, or ``"ell:stype"`` for only the interaction
            coefficients).
        df : float, optional
            Denominator df of the F test: the residual df by default (R's default);
            ``float("inf")`` gives the chi-squared test (R ``df = Inf``).
        """
        cols = term_columns(self.model, term, "GLMResult.wald_test")
        return wald_test_of(np.asarray(self.coef), np.asarray(self.vcov), cols, term,
                            self.df_residual if df is None else float(df))

    def predict(self, newdata: pd.DataFrame, *, type: PredictType = "link") -> GLMPrediction:
        """Predictions for new rows with design-based SEs (R ``predict(fit, newdata,
        se.fit = TRUE)``).

        Parameters
        ----------
        newdata : pandas.DataFrame
            The predictor columns of the model (categories among those fitted).
        type : {"link", "response"}
            The linear predictor, or the mean (SE by the delta method).
        """
        if type not in values(PredictType):
            raise DelibpollError(
                f"The 'type' parameter of GLMResult.predict must be 'link' or 'response'; got "
                f"{type!r}."
            )
        x = new_matrix(self.model, newdata, "GLMResult.predict")
        eta = x @ self.coef
        v = x @ self.vcov @ x.T
        if type == "link":
            return GLMPrediction("link", eta, v, newdata.index)
        fam = FAMILIES[self.family]
        d = fam.mu_eta(eta)
        return GLMPrediction("response", fam.linkinv(eta), v * np.outer(d, d), newdata.index)

    # ------------------------------------------------------------------ display
    def summary(self) -> str:
        """A printable summary laid out as R's ``summary(svyglm)``."""
        est, se, t, p = np.array(self.coef), self.se, self.t, self.p_value
        est_s, se_s = _aligned(est), _aligned(se)
        rows = []
        for i, name in enumerate(self.names):
            star = next(s for cut, s in _STARS if p[i] <= cut) if np.isfinite(p[i]) else ""
            pv = "< 2e-16" if p[i] < 2e-16 else f"{p[i]:.3g}"
            rows.append([name, est_s[i], se_s[i], f"{t[i]:.3f}", pv, star])
        head = ["", "Estimate", "Std. Error", "t value", "Pr(>|t|)", ""]
        widths = [max(len(r[j]) for r in [head, *rows]) for j in range(6)]
        lines = [
            f"Design-based GLM (R svyglm): {self.family} family, {self.link} link",
            f"Formula: {self.formula}",
            f"Design: {self.design!r}",
            f"Rows: {self.n}{_dropped(self.n_dropped)}; design df {self.design_df:g}; "
            f"residual df {self.df_residual:g}",
            "",
            "Coefficients:",
        ]
        for r in [head, *rows]:
            cells = [r[0].ljust(widths[0])] + [r[j].rjust(widths[j]) for j in range(1, 5)]
            lines.append(" ".join(cells) + " " + r[5])
        lines += ["---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1", "",
                  f"(Dispersion parameter for {self.family} family taken to be "
                  f"{self.dispersion:.6g})", "",
                  f"Number of Fisher Scoring iterations: {self.iterations}"]
        if not self.converged:
            lines.append("WARNING: the fit did not converge.")
        if self.boundary:
            lines.append("WARNING: fitted values at the boundary (separation).")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"GLMResult({self.formula!r}, family={self.family!r}, n={self.n}, "
                f"df_residual={self.df_residual:g})\n" + self.to_frame().to_string(index=False))

    def _repr_html_(self) -> str:
        return (f"<p><b>Design-based GLM</b>: <code>{self.formula}</code> ({self.family}, "
                f"{self.link} link; residual df {self.df_residual:g}; {self.level:.0%} CI)</p>"
                + self.to_frame().to_html(index=False))


@dataclass(frozen=True)
class GLMByResult:
    """One :class:`GLMResult` per domain (``glm(..., by=)``, as R ``svyby(..., svyglm)``).

    Attributes
    ----------
    by : str
    fits : mapping
        Domain label -> its fit, in category order.
    """

    by: str
    fits: Mapping[Hashable, GLMResult]

    def __getitem__(self, label: Hashable) -> GLMResult:
        if label not in self.fits:
            raise DelibpollError(
                f"{label!r} is not a domain of this fit; domains: {list(self.fits)}."
            )
        return self.fits[label]

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.fits)

    def __len__(self) -> int:
        return len(self.fits)

    def to_frame(self) -> pd.DataFrame:
        """The domains' :meth:`GLMResult.to_frame` stacked, with the ``by`` column first."""
        parts = []
        for label, fit in self.fits.items():
            fr = fit.to_frame()
            fr.insert(0, self.by, [label] * len(fr))
            parts.append(fr)
        return pd.concat(parts, ignore_index=True)

    def __repr__(self) -> str:
        return f"GLMByResult(by={self.by!r}, {len(self.fits)} domains)\n" + \
            self.to_frame().to_string(index=False)

    def _repr_html_(self) -> str:
        return (f"<p><b>Design-based GLM by {self.by}</b></p>"
                + self.to_frame().to_html(index=False))


# ---------------------------------------------------------------------- fitting
def _all_weights(design: SurveyDesign) -> np.ndarray:
    """The design's weights as floats (every row)."""
    return np.asarray(design.weight_array, dtype=float)


def _check_family(family: object, func: str) -> Family:
    if family not in FAMILIES:
        hint = ""
        if family in ("quasibinomial", "quasipoisson"):
            hint = f" Use {str(family).removeprefix('quasi')!r}: it is R's {family}."
        raise DelibpollError(
            f"The 'family' parameter of {func} must be one of {list(values(GLMFamily))}; "
            f"got {family!r}.{hint}"
        )
    return FAMILIES[str(family)]


def _check_response(y: np.ndarray, w: np.ndarray, fam: Family, name: str, func: str) -> None:
    yg = y[w > 0]
    if fam.name == "binomial" and np.any((yg < 0) | (yg > 1)):
        raise DelibpollError(
            f"A binomial model in {func} needs a response in [0, 1] (0/1 or a proportion); "
            f"{name!r} ranges over [{yg.min():g}, {yg.max():g}]."
        )
    if fam.name == "poisson" and np.any(yg < 0):
        raise DelibpollError(
            f"A poisson model in {func} needs a non-negative response; {name!r} has negative "
            "values."
        )


def _pearson_dispersion(
    design: SurveyDesign, y: np.ndarray, mu: np.ndarray, fam: Family, w: np.ndarray,
    infl: np.ndarray | None = None,
) -> tuple[float, float, np.ndarray | None]:
    """R's ``summary.svyglm`` dispersion: ``svyvar`` of the Pearson residuals (linearised),
    or their weighted mean square (replicate designs). With the coefficients' influence
    values ``infl`` (linearised designs) both variances come from one linearised variance
    of the stacked columns (the same sums, one pass of the calibration sweeps): returns
    ``(dispersion, its SE, the coefficients' vcov)``; the vcov is None without ``infl``."""
    pos = w > 0
    # R's residuals.svyglm: the prior weights divided by the sampling weights (both rescaled)
    # are 1, so the Pearson residuals carry no weight
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(pos, (y - mu) / np.sqrt(fam.variance(mu)), 0.0)
    def coef_vcov() -> np.ndarray | None:
        return None if infl is None else _variance.linearized_vcov(
            infl, design.structure, design.lonely_psu, design.calibration)

    if design.replicates is not None:
        return float(np.sum(w * r**2) / np.sum(w)), float("nan"), coef_vcov()
    n = int(pos.sum())
    if n < 2:
        return float("nan"), float("nan"), coef_vcov()
    total = float(w.sum())
    xbar = float(w @ r) / total
    z = np.where(pos, (r - xbar) ** 2 * n / (n - 1), 0.0)
    s2 = float(w @ z) / total
    d_infl = (w * (z - s2) / total)[:, None]
    stacked = d_infl if infl is None else np.column_stack([infl, d_infl])
    v = _variance.linearized_vcov(stacked, design.structure, design.lonely_psu,
                                  design.calibration)
    return (s2, float(np.sqrt(max(v[-1, -1], 0.0))),
            None if infl is None else np.ascontiguousarray(v[:-1, :-1]))


def _fit(
    design: SurveyDesign,
    model: ModelFrame,
    fam: Family,
    w: np.ndarray,
    design_df: float,
    formula: str,
    level: float,
    tol: float,
    max_iter: int,
    reference: Mapping[str, Hashable],
    func: str,
    label: str = "",
    n_dropped: int = 0,
    weight_mean: float | None = None,
    model_rows: int = 0,
) -> GLMResult:
    assert model.y is not None
    x, y = model.x, model.y
    where = f" in domain {label}" if label else ""
    if not np.any(w > 0):
        raise DelibpollError(f"{func}: no rows with positive weight{where}.")
    _check_response(y, w, fam, str(model.response), func)
    # the distinct rows of a model matrix of categorical predictors: every product of the
    # fit, the influence values and the replicate refits summed over them (_glm.RowGroups)
    groups = row_groups(x, key=model.row_key)
    alias = aliased_columns(x, w, groups=groups)
    if alias:
        names = [model.names[j] for j in alias]
        raise DelibpollError(
            f"{func}: the model matrix{where} is rank deficient: {names} are linear "
            "combinations of the other columns (an empty category, a predictor constant in "
            "the data, or collinear predictors), so their coefficients are not identified. "
            "Drop or merge them (R's svyglm would report them as NA)."
        )
    # R rescales the sampling weights to mean 1 before glm() drops incomplete rows
    if weight_mean is None:
        weight_mean = float(w.mean()) if not n_dropped else float(np.mean(design.weight_array))
    prior = w / weight_mean
    fit = irls(x, y, prior, fam, epsilon=tol, max_iter=max_iter, groups=groups)
    if not fit.converged:
        warnings.warn(
            f"{func}: IRLS did not converge{where} in {max_iter} iterations (tolerance "
            f"{tol:g}); the result is marked converged=False. Check for separation or raise "
            "max_iter.",
            ConvergenceWarning,
            stacklevel=3,
        )
    pos = w > 0
    boundary = False
    if fam.name == "binomial":
        eps = 10 * np.finfo(float).eps
        boundary = bool(np.any(((fit.mu < eps) | (fit.mu > 1 - eps)) & pos))
        what = "fitted probabilities numerically 0 or 1 occurred"
    elif fam.name == "poisson":
        boundary = bool(np.any((fit.mu < 10 * np.finfo(float).eps) & pos))
        what = "fitted rates numerically 0 occurred"
    if boundary:
        warnings.warn(
            f"{func}: {what}{where}: a predictor separates the outcome (perfect or "
            "quasi-complete separation), so some coefficients are infinite in truth and their "
            "estimates and SEs are meaningless. The result is marked boundary=True; merge "
            "categories or drop the separating predictor.",
            DelibpollWarning,
            stacklevel=3,
        )
    reps = design.replicates
    if reps is None:
        infl, _ = glm_influence(x, y, w, fit, fam, groups=groups)
        disp, disp_se, vcov_lin = _pearson_dispersion(design, y, fit.mu, fam, w, infl)
        assert vcov_lin is not None
        vcov = vcov_lin
    else:
        rw = np.asarray(reps.weights) * (pos[:, None] if label or n_dropped else 1.0)
        betas = np.empty((rw.shape[1], x.shape[1]))
        bad = 0
        for r in range(rw.shape[1]):
            wr = rw[:, r]
            fr = irls(x, y, wr / wr.sum(), fam, start=fit.coef, epsilon=tol,
                      max_iter=max_iter, groups=groups)
            bad += not fr.converged
            betas[r] = fr.coef
        if bad:
            warnings.warn(
                f"{func}: {bad} replicate refit(s){where} did not converge; the replicate "
                "variance includes them as they stopped.",
                ConvergenceWarning,
                stacklevel=3,
            )
        vcov = reps.variance(betas, fit.coef)
        disp, disp_se, _ = _pearson_dispersion(design, y, fit.mu, fam, w)
    if n_dropped and reps is None:
        # R's residuals.svyglm multiplies the Pearson residuals by sqrt(prior / pweight) with
        # the prior weights rescaled over every row (before na.omit) and the design's weights
        # over the rows of design[-nas, ] (a calibrated design keeps them all, with weight 0):
        # the dispersion R reports is scaled by the ratio of those two means
        w0 = np.asarray(design.weight_array, dtype=float)
        kept = w > 0
        ratio = (float(w0[kept].sum() / w0.sum()) if design.is_calibrated
                 else float(w0[kept].mean() / w0.mean()))
        disp, disp_se = disp * ratio, disp_se * ratio
    return GLMResult(
        formula=formula, family=fam.name, link=fam.link, names=model.names, coef=fit.coef,
        vcov=vcov, df_residual=design_df + 1 - x.shape[1], design_df=design_df,
        dispersion=disp, dispersion_se=disp_se,
        deviance=float(np.sum(fam.dev_resids(y[pos], fit.mu[pos], prior[pos]))),
        n=int(pos.sum()), iterations=fit.iterations, converged=fit.converged,
        boundary=boundary, level=level, design=design, model=model, reference=dict(reference),
        n_dropped=n_dropped, fit_weights=w, control=(tol, max_iter), weight_mean=weight_mean,
        model_rows=model_rows,
    )


@overload
def glm(
    design: SurveyDesign, formula: str, *, family: GLMFamily = ..., by: None = ...,
    reference: Mapping[str, Hashable] | None = ..., level: float = ..., tol: float = ...,
    max_iter: int = ..., na: NaPolicy = ...,
) -> GLMResult: ...


@overload
def glm(
    design: SurveyDesign, formula: str, *, family: GLMFamily = ..., by: str,
    reference: Mapping[str, Hashable] | None = ..., level: float = ..., tol: float = ...,
    max_iter: int = ..., na: NaPolicy = ...,
) -> GLMByResult: ...


def glm(
    design: SurveyDesign,
    formula: str,
    *,
    family: GLMFamily = "gaussian",
    by: str | None = None,
    reference: Mapping[str, Hashable] | None = None,
    level: float = 0.95,
    tol: float = 1e-12,
    max_iter: int = 100,
    na: NaPolicy = "error",
) -> GLMResult | GLMByResult:
    """Fit a generalised linear model to a survey design (R ``svyglm``).

    Parameters
    ----------
    design : SurveyDesign
        Linearised (strata, PSUs, fpc; raked or calibrated: the SEs account for it) or with
        replicate weights (each replicate is refitted).
    formula : str
        ``"response ~ predictors"`` (formulaic / Wilkinson syntax: ``a + b``, ``a * b``,
        ``a:b``, ``C(x)``; names with dots in backticks, ``\\`sch.wide\\```). String and
        categorical predictors get treatment contrasts with the first category as the
        reference (declared order of a categorical, else sorted: R's factor levels).
    family : {"gaussian", "binomial", "poisson"}
        ``binomial``: logit link, R's ``quasibinomial`` (a 0/1 or proportion response; no
        warning for non-integer weights). ``poisson``: log link, R's ``quasipoisson``.
    by : str, optional
        Fit the model in each domain of this column (R ``svyby(..., svyglm)``): the rows
        outside the domain get zero weight (never dropped), and the df is the domain's.
    reference : mapping, optional
        ``{column: level}``: the reference category of a predictor (R ``relevel``).
    level : float, default 0.95
        Level of the intervals in ``to_frame()``; :meth:`GLMResult.conf_int` gives others.
    tol, max_iter : float, int
        IRLS stops when the relative change of the deviance is below ``tol`` (R's
        ``glm.control(epsilon=)``; R's default 1e-8 stops earlier, 1e-12 reproduces this).
    na : {"error", "drop"}, default "error"
        Rows with a missing value in a model variable: an error naming the columns, or
        ``"drop"``: fit on the complete rows, as R's ``svyglm`` (``na.action = na.omit``).
        The variance keeps the whole design (the incomplete rows get zero weight, as a
        domain); the residual df is that of the complete rows' design (linearised) or of the
        full design (replicate designs, as R); ``n_dropped`` on the result says how many rows
        were left out.

    Returns
    -------
    GLMResult or GLMByResult
        ``to_frame()`` columns: ``term, estimate, se, t, p_value, ci_lower, ci_upper, df``.

    Raises
    ------
    DelibpollError
        Unknown family or columns, missing values in model variables with ``na="error"``
        (the columns and counts named), a response outside the family's range, or a
        rank-deficient model matrix (the aliased columns named).

    Warns
    -----
    ConvergenceWarning
        IRLS did not converge (the result has ``converged=False``).
    DelibpollWarning
        Fitted probabilities of 0 or 1 (separation; ``boundary=True``).

    Notes
    -----
    The weights are sampling weights (not frequency weights). The coefficients solve
    ``sum_i w_i x_i (y_i - mu_i) mu'_i / V(mu_i) = 0``; with ``A = (X' W X)^{-1}`` and the
    influence values ``U_i A``, ``U_i = w_i x_i (y_i - mu_i) mu'_i / V(mu_i)``, the covariance
    is the design variance of the totals of ``U A`` (R: ``svyrecvar(U A, design)``; on a
    replicate design ``svrVar`` of the replicate refits). t statistics use the residual df
    ``design df + 1 - p`` (R).

    Examples
    --------
    >>> import pandas as pd
    >>> import delibpoll as dp
    >>> df = pd.DataFrame({"y": [1.0, 3.0, 2.0, 5.0, 4.0, 6.0],
    ...                    "x": [0.0, 1.0, 1.0, 2.0, 2.0, 3.0]})
    >>> fit = dp.glm(dp.SurveyDesign(df), "y ~ x")
    >>> fit.names, [round(float(b), 4) for b in fit.coef]  # least squares: 9.5 / 5.5 = 1.7273
    (('(Intercept)', 'x'), [0.9091, 1.7273])
    """
    func = "glm"
    design = check_design(design, func)
    level = check_level(level, func)
    fam = _check_family(family, func)
    if not (isinstance(tol, float | int) and 0 < tol < 1):
        raise DelibpollError(f"The 'tol' parameter of glm must be in (0, 1); got {tol!r}.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise DelibpollError(
            f"The 'max_iter' parameter of glm must be a positive integer; got {max_iter!r}."
        )
    na = check_na(na, func)
    ref = dict(reference or {})
    model = build_model(design.data, formula, func, reference=ref, na=na,
                        codes=design.column_codes)
    w = np.asarray(design.weight_array, dtype=float)
    reps = design.replicates
    complete = model.complete
    if complete is not None:
        w = np.where(complete, w, 0.0)
    # one BLAS thread for a small model matrix: see _glm.small_blas
    with small_blas(model.x.size):
        if by is None:
            n_drop = 0 if complete is None else int(np.count_nonzero(~complete & (_all_weights(design) > 0)))
            df_fit = (design.df if complete is None or reps is not None
                      else _variance.subset_df(_all_weights(design), design.structure, complete))
            return _fit(design, model, fam, w, df_fit, formula, level, float(tol), max_iter,
                        ref, func, n_dropped=n_drop)
        if not isinstance(by, str):
            raise DelibpollError(f"The 'by' parameter of glm must be a column name; got {by!r}.")
        design.check_columns([by], "by")
        codes, cats = design.column_codes(by)
        if np.any(codes < 0):
            raise DelibpollError(
                f"The 'by' column {by!r} of glm has missing values; recode them to a category."
            )
        fits: dict[Hashable, GLMResult] = {}
        w0 = _all_weights(design)
        for g, lab in enumerate(cats):
            mask = codes == g
            fit_mask = mask if complete is None else mask & complete
            # replicate designs: R's svyglm takes the df of the domain's design, with or without
            # incomplete rows (SPEC_16 2.10)
            df_g = (reps.domain_df(mask) if reps is not None
                    else _variance.subset_df(w0, design.structure, fit_mask))
            n_drop = 0 if complete is None else int(np.count_nonzero(mask & ~complete & (w0 > 0)))
            # R fits svyglm on subset(design, domain): a calibrated linearised design keeps
            # every row (weight 0 outside), others keep the domain's rows, and R rescales the
            # weights to mean 1 over the rows it keeps (deviance, likelihood intervals)
            keeps_all = reps is None and design.is_calibrated
            in_dom = mask & (w0 > 0)
            scale_mean = float(w0[in_dom].mean()) if not keeps_all and in_dom.any() else None
            rows = (int(np.count_nonzero(complete)) if complete is not None else design.n) \
                if keeps_all else 0
            fits[lab] = _fit(design, model, fam, np.where(fit_mask, w0, 0.0), df_g, formula,
                             level, float(tol), max_iter, ref, func, label=f"{by}={lab!r}",
                             n_dropped=n_drop, weight_mean=scale_mean, model_rows=rows)
        return GLMByResult(by=by, fits=fits)


# ---------------------------------------------------------------------- predictive margins
@dataclass(frozen=True)
class PredictiveMargins:
    """Predictive margins of a categorical variable (R ``svypredmeans``).

    The margin of category ``g`` is the weighted mean over the whole sample of every row's
    predicted mean with the variable set to ``g`` (the other predictors as observed).

    Attributes
    ----------
    variable : str
    labels : tuple
        The categories, in the package's category order.
    estimate : numpy.ndarray
    vcov : numpy.ndarray
        ``var_mean + var_model``: the design covariance of the means of the predicted values
        (taken as fixed) plus the coefficients' part ``D' V D``.
    var_mean, var_model : numpy.ndarray
        The two parts (R's ``attr(, "parts")``).
    df : float
        Design df (used by :meth:`conf_int`).
    """

    variable: str
    labels: tuple[Hashable, ...]
    estimate: np.ndarray
    vcov: np.ndarray
    var_mean: np.ndarray
    var_model: np.ndarray
    df: float
    level: float

    def __post_init__(self) -> None:
        for name in ("estimate", "vcov", "var_mean", "var_model"):
            object.__setattr__(self, name, read_only(getattr(self, name), dtype=float))

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the margins."""
        return np.asarray(np.sqrt(np.clip(np.diag(self.vcov), 0, None)))

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """``estimate ± t(df) se`` on the design df (as the package's means)."""
        level = check_level(level, "PredictiveMargins.conf_int")
        q = t_quantile(level, self.df)
        return pd.DataFrame({"ci_lower": self.estimate - q * self.se,
                             "ci_upper": self.estimate + q * self.se},
                            index=pd.Index(self.labels, name=self.variable))

    def to_frame(self) -> pd.DataFrame:
        """Columns: the variable, ``estimate, se, ci_lower, ci_upper, df``."""
        ci = self.conf_int(self.level)
        return pd.DataFrame({self.variable: list(self.labels),
                             "estimate": np.array(self.estimate), "se": self.se,
                             "ci_lower": ci["ci_lower"].to_numpy(),
                             "ci_upper": ci["ci_upper"].to_numpy(), "df": self.df})

    def __repr__(self) -> str:
        return (f"PredictiveMargins({self.variable})\n"
                + self.to_frame().to_string(index=False))

    def _repr_html_(self) -> str:
        return (f"<p><b>Predictive margins of {self.variable}</b></p>"
                + self.to_frame().to_html(index=False))


def predictive_margins(fit: GLMResult, variable: str) -> PredictiveMargins:
    """Predictive margins (marginal means) of a categorical variable (R ``svypredmeans``).

    Parameters
    ----------
    fit : GLMResult
        The adjustment model. If ``variable`` is not among its predictors the model is
        refitted with ``+ variable`` added (as R's ``svypredmeans(adjustmodel, ~group)``).
    variable : str
        A categorical column of the design.

    Returns
    -------
    PredictiveMargins
        ``to_frame()`` columns: ``variable, estimate, se, ci_lower, ci_upper, df``.

    Notes
    -----
    ``m_g = sum_i w_i mu_i(g) / sum_i w_i`` with ``mu_i(g)`` the prediction for row ``i``
    with ``variable = g``. ``Var = V_mean + D' V D``: ``V_mean`` is the design (or replicate)
    covariance of the means of the columns ``mu(g)``, ``V`` the coefficients' covariance
    and ``D[:, g] = sum_i w_i mu'(eta_i(g)) x_i(g) / sum_i w_i``. R lists the categories in
    order of first appearance in the data; here they are in category order.

    Examples
    --------
    >>> import pandas as pd
    >>> import delibpoll as dp
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 2.0, 4.0, 3.0, 5.0],
    ...                    "g": ["a", "a", "b", "b", "c", "c"], "x": [0, 1, 0, 1, 0, 1]})
    >>> pm = dp.predictive_margins(dp.glm(dp.SurveyDesign(df), "y ~ x"), "g")
    >>> [round(float(m), 3) for m in pm.estimate]
    [1.5, 3.0, 4.0]
    """
    func = "predictive_margins"
    if not isinstance(fit, GLMResult):
        raise DelibpollError(
            f"{func} needs a GLMResult (from delibpoll.glm) as 'fit'; got {type(fit).__name__}."
        )
    design = fit.design
    if not isinstance(variable, str):
        raise DelibpollError(
            f"The 'variable' parameter of {func} must be a column name; got {variable!r}."
        )
    design.check_columns([variable], "variable")
    if variable == fit.model.response:
        raise DelibpollError(f"{func}: {variable!r} is the response of the model.")
    if variable not in fit.model.variables:
        lhs, rhs = fit.formula.split("~", 1)
        name = variable if variable.isidentifier() else f"`{variable}`"
        fit = glm(design, f"{lhs.strip()} ~ {rhs.strip()} + {name}", family=fit.family,
                  reference=fit.reference, level=fit.level,
                  na="error" if fit.model.complete is None else "drop")
    if variable not in fit.model.categories:
        raise DelibpollError(
            f"{func} needs a categorical variable; {variable!r} is numeric in the model. "
            "Convert it to a pandas Categorical (or strings)."
        )
    cats = fit.model.categories[variable]
    fam = FAMILIES[fit.family]
    w = np.asarray(design.weight_array, dtype=float)
    # rows the fit left out (na="drop") are left out of the margins too (R: the model's design)
    rows = (np.arange(design.n) if fit.model.complete is None
            else np.flatnonzero(fit.model.complete))
    w = np.where(np.isin(np.arange(design.n), rows), w, 0.0)
    total = float(w.sum())
    preds = fit.model.variables[1:]
    data = design.select(list(preds)).iloc[rows]
    mus = np.zeros((design.n, len(cats)))
    dmat = np.empty((len(fit.names), len(cats)))
    for g, lab in enumerate(cats):
        nd = data.copy()
        nd[variable] = pd.Categorical([lab] * len(rows), categories=list(cats))
        x = new_matrix(fit.model, nd, func)
        eta = x @ fit.coef
        mus[rows, g] = fam.linkinv(eta)
        dmat[:, g] = x.T @ (w[rows] * fam.mu_eta(eta)) / total
    est = w @ mus / total
    reps = design.replicates
    if reps is None:
        infl = w[:, None] * (mus - est[None, :]) / total
        v_mean = _variance.linearized_vcov(infl, design.structure, design.lonely_psu,
                                           design.calibration)
    else:
        inside = np.zeros((design.n, 1))
        inside[rows] = 1.0
        v_mean = reps.ratio_vcov(mus, np.broadcast_to(inside, mus.shape), est)
    v_model = dmat.T @ np.asarray(fit.vcov) @ dmat
    return PredictiveMargins(variable=variable, labels=tuple(cats), estimate=est,
                             vcov=v_mean + v_model, var_mean=v_mean, var_model=v_model,
                             df=design.df if fit.model.complete is None else fit.design_df,
                             level=fit.level)
