"""Tier 1 (informed) against Tier 3 (uninformed): :func:`compare_tiers`, with the
before/after decomposition and the composition adjustment (Tier 1 raked to Tier 3's profile)
and its replicate variance (inference layer).

Part of :mod:`delibpoll.deliberative`.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._ci import t_quantile
from .._display import frame_html
from .._format import p_value
from .._stats import kish_deff
from .._types import CIMethod, ItemKind, TierAdjustment, TierVariance, values
from .._validation import check_choice, check_level
from ..design import SurveyDesign, check_design
from ..estimation import mean, proportion
from ..exceptions import DelibpollError, DelibpollWarning, SmallSampleWarning, WeightingWarning
from ..weighting import calibrate, rake
from ._common import (
    NOTE,
    categories,
    conf_int_frame,
    frozen,
    indicators,
    item_kind,
    minimum_detectable_difference,
    t_test,
    welch_df,
)
from .balance import Balance
from .balance import balance as covariate_balance
from .paired import paired_change

__all__ = ["TierComparison", "compare_tiers"]

_VERB = {"raking": "raking to the profile", "entropy": "entropy calibration to the profile",
         "propensity": "propensity model"}


def _put_gap(
    frame: pd.DataFrame, name: str, gap: np.ndarray, se: np.ndarray, df: np.ndarray, level: float
) -> None:
    """Write ``name``, ``name_se``, ``name_ci_lower``, ``name_ci_upper`` and
    ``name_p_value`` (t on per-row df) into ``frame``."""
    q = np.array([t_quantile(level, float(d)) for d in np.broadcast_to(df, gap.shape)])
    frame[name] = gap
    frame[f"{name}_se"] = se
    frame[f"{name}_ci_lower"] = gap - q * se
    frame[f"{name}_ci_upper"] = gap + q * se
    frame[f"{name}_p_value"] = [
        float(t_test(np.array([g]), np.array([s_]), float(f))[0])
        for g, s_, f in zip(gap, se, np.broadcast_to(df, gap.shape), strict=True)
    ]


@dataclass(frozen=True)
class TierComparison:
    """Tier 1 (informed) against Tier 3 (uninformed) for one question."""

    variable: str
    kind: ItemKind
    level: float
    n_informed: int
    n_uninformed: int
    note: str
    adjustment: Mapping[str, Any]
    _frame: pd.DataFrame = field(repr=False)
    _vcov: Mapping[str, np.ndarray] = field(repr=False, default_factory=dict)
    _df: tuple[float, float] = field(repr=False, default=(float("nan"), float("nan")))
    balance: Balance | None = None
    """With ``adjust_for``: covariate balance of Tier 1 against Tier 3 before and after the
    adjustment (:func:`~delibpoll.deliberative.balance`: ASMD per covariate category, Kish
    effective size), on the covariates' own (unmerged) categories."""

    @property
    def vcov(self) -> Mapping[str, np.ndarray]:
        """Each tier's covariance of its shares (or mean): ``{"informed": V_1,
        "uninformed": V_3}``, read-only arrays in category order."""
        return self._vcov

    @property
    def tier_df(self) -> tuple[float, float]:
        """The design degrees of freedom of Tier 1's and Tier 3's estimates."""
        return self._df

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Confidence intervals of the ``difference`` (informed - uninformed) at ``level``
        (default: the comparison's level, giving exactly ``ci_lower``/``ci_upper`` of
        :meth:`to_frame`): ``difference -/+ t(level, df) se`` with each row's
        Welch-Satterthwaite ``df``.

        Parameters
        ----------
        level : float, optional
            Confidence level in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Columns ``ci_lower``, ``ci_upper``, indexed by ``category`` (None for a
            numeric item).
        """
        return conf_int_frame(self._frame, "difference", self.level if level is None else level,
                              "TierComparison.conf_int", index="category")

    def to_frame(self) -> pd.DataFrame:
        """Columns: ``category``, ``informed``, ``informed_ci_lower``, ``informed_ci_upper``,
        ``uninformed``, ``uninformed_ci_lower``, ``uninformed_ci_upper``, ``difference``,
        ``se``, ``df``, ``ci_lower``, ``ci_upper``, ``p_value``, ``cohens_h``,
        ``cohens_h_ci_lower``, ``cohens_h_ci_upper``, ``mdd``; with ``before``:
        ``informed_before`` (+ CI), ``deliberation_change`` (+ se, CI, p), ``baseline_gap``
        (+ se, CI, p); with ``equivalence_margin``: ``p_equivalence``; with ``adjust_for``:
        ``adjusted_difference`` (+ se, CI, p), ``adjusted_baseline_gap`` (+ se, CI, mdd),
        ``n_eff_adjusted``; and ``comparison`` (always "descriptive, non-randomised")."""
        return self._frame.copy()

    def __repr__(self) -> str:
        cols = [c for c in ("category", "informed", "uninformed", "difference", "ci_lower",
                            "ci_upper", "p_value", "mdd") if c in self._frame]
        return (
            f"TierComparison({self.variable}: Tier 1 n={self.n_informed}, Tier 3 "
            f"n={self.n_uninformed})\n{self.note}\n" + self._frame[cols].to_string(index=False)
        )

    def _repr_html_(self) -> str:
        """The comparison in fixed notation, p-values as "<0.001", with its note."""
        cap = f"{self.variable}: {self.note}"
        return frame_html(self._frame, caption=cap,
                          formats={c: p_value for c in self._frame.columns
                                   if c.startswith("p_") or c.endswith("p_value")})


@dataclass(frozen=True)
class _TierEstimates:
    """One tier's shares (or mean) from :func:`~delibpoll.proportion` / :func:`~delibpoll.mean`."""

    est: np.ndarray
    vcov: np.ndarray
    df: float
    n: int
    deff: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray


def _tier_estimates(
    design: SurveyDesign,
    column: str,
    cats: list[Hashable] | None,
    mask: np.ndarray | None,
    level: float = 0.95,
    ci_method: CIMethod = "logit",
) -> _TierEstimates:
    """Shares (or the mean) of ``column`` among rows in ``mask`` with an answer, through the
    package's one estimation path: :func:`~delibpoll.proportion` (the caller's ``ci_method``)
    for categorical items, with every category of ``cats`` declared, and
    :func:`~delibpoll.mean` (t interval) for numeric ones. Rows outside ``mask`` stay in the
    design as a domain (their answer is set missing, ``na="drop"``), as R's ``subset``."""
    s = design.column(column)
    valid = s.notna().to_numpy()
    if mask is not None:
        valid = valid & mask
    n = int((valid & (design.weight_array != 0)).sum())
    if n == 0:
        raise DelibpollError(f"No respondents with an answer to '{column}'.")
    if cats is not None:
        values = pd.Series(
            pd.Categorical(s.astype(object).where(valid, None), categories=cats),
            index=s.index,
        )
    else:
        values = pd.Series(
            np.where(valid, pd.to_numeric(s, errors="coerce").to_numpy(dtype=float,
                                                                       na_value=np.nan),
                     np.nan),
            index=s.index,
        )
    work = design.with_columns({column: values})
    if cats is not None:
        res = proportion(work, column, level=level, ci_method=ci_method, na="drop")
    else:
        res = mean(work, column, level=level, na="drop")
    fr = res.to_frame()
    return _TierEstimates(
        est=fr["estimate"].to_numpy(dtype=float),
        vcov=np.array(res.vcov, dtype=float),
        df=float(fr["df"].iloc[0]),
        n=n,
        deff=fr["deff"].to_numpy(dtype=float),
        ci_lower=fr["ci_lower"].to_numpy(dtype=float),
        ci_upper=fr["ci_upper"].to_numpy(dtype=float),
    )


def _collapse_rule(
    informed: SurveyDesign, uninformed: SurveyDesign, covariates: Sequence[str], min_cell: int
) -> dict[str, dict[Hashable, Hashable]]:
    """Merge each covariate's categories with fewer than ``min_cell`` Tier 1 respondents into
    the next category (in category order; the last merges backwards)."""
    rules: dict[str, dict[Hashable, Hashable]] = {}
    for cov in covariates:
        cats = categories([informed.column(cov), uninformed.column(cov)], [cov, cov])
        counts = informed.column(cov).value_counts()
        groups: list[list[Hashable]] = []
        current: list[Hashable] = []
        for c in cats:
            current.append(c)
            if sum(int(counts.get(x, 0)) for x in current) >= min_cell:
                groups.append(current)
                current = []
        if current:
            if groups:
                groups[-1].extend(current)
            else:
                groups.append(current)
        mapping = {}
        for g in groups:
            label = g[0] if len(g) == 1 else " / ".join(str(x) for x in g)
            for c in g:
                mapping[c] = label
        rules[cov] = mapping
    return rules


def _model_matrix(designs: Sequence[SurveyDesign], covariates: Sequence[str]) -> list[np.ndarray]:
    """Main-effects model matrices (intercept, then indicators of every category but the
    first of each covariate, categories in the order of both designs) of each design."""
    parts: list[list[np.ndarray]] = [[np.ones((d.n, 1))] for d in designs]
    for cov in covariates:
        cats = categories([d.column(cov) for d in designs], [cov] * len(designs))
        for part, d in zip(parts, designs, strict=True):
            part.append(indicators(d.column(cov), cats)[:, 1:])
    return [np.hstack(p) for p in parts]


def _logistic_irls(x: np.ndarray, y: np.ndarray, w: np.ndarray, func: str) -> np.ndarray:
    """Weighted maximum-likelihood logistic coefficients by iteratively reweighted least
    squares (Newton-Raphson): the point estimates of R ``svyglm(family=quasibinomial())``
    with the same weights. Converged when the largest coefficient change is below 1e-10."""
    keep = w > 0
    x, y, w = x[keep], y[keep], w[keep]
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        eta = np.clip(x @ beta, -30, 30)
        p = 1.0 / (1.0 + np.exp(-eta))
        h = (x * (w * p * (1 - p))[:, None]).T @ x
        g = x.T @ (w * (y - p))
        try:
            step = np.linalg.solve(h, g)
        except np.linalg.LinAlgError:
            raise DelibpollError(
                f"{func}: the propensity model of 'in Tier 1' on the adjustment covariates "
                "cannot be fitted (a covariate category is constant or collinear with others). "
                "Drop or merge that covariate, or use method='raking'."
            ) from None
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            return beta
    warnings.warn(
        f"{func}: the propensity model did not converge in 100 iterations (a covariate "
        "category may separate the tiers); the odds weights are unreliable. Merge small "
        "categories (raise min_cell) or use method='raking'.",
        WeightingWarning, stacklevel=4,
    )
    return beta


def _propensity_weights(
    x1: np.ndarray, x3: np.ndarray, w1: np.ndarray, w3: np.ndarray, func: str
) -> np.ndarray:
    """Tier 1's weights times the odds ``(1 - p) / p`` of being in Tier 3, ``p`` the fitted
    probability of being in Tier 1 from a logistic model fitted to both tiers stacked (Tier 1
    with weights ``w1``, Tier 3 with ``w3``)."""
    x = np.vstack([x1, x3])
    y = np.concatenate([np.ones(len(x1)), np.zeros(len(x3))])
    beta = _logistic_irls(x, y, np.concatenate([w1, w3]), func)
    return np.asarray(w1 * np.exp(-(x1 @ beta)))


def _reweight(
    inf_d: SurveyDesign, un_d: SurveyDesign, cov_cols: list[str], method: TierAdjustment,
    func: str = "compare_tiers",
) -> SurveyDesign:
    """Tier 1 adjusted to Tier 3's covariate profile by ``method``. Raking and entropy
    calibration act on the design (its replicates, if any, re-weighted one by one);
    propensity weights are taken as fixed weights."""
    if method == "propensity":
        x1, x3 = _model_matrix([inf_d, un_d], cov_cols)
        w = _propensity_weights(x1, x3, inf_d.weight_array, un_d.weight_array, func)
        return inf_d.with_fixed_weights(w)
    targets = un_d.profile(cov_cols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DelibpollWarning)
        if method == "entropy":
            return calibrate(inf_d, targets, method="raking", max_iter=2000,
                             on_nonconvergence="warn")
        return rake(inf_d, targets, max_iter=2000, on_nonconvergence="warn")


def _replicate_adjusted_se(
    inf_c: SurveyDesign,
    un_c: SurveyDesign,
    cov_cols: list[str],
    variable: str,
    after: str,
    before: str | None,
    cats: list[Hashable] | None,
    mask: np.ndarray | None,
    gap_after: np.ndarray,
    gap_before: np.ndarray | None,
    n_replicates: int,
    rng: np.random.Generator | int | None,
    method: TierAdjustment = "raking",
) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int]]:
    """Replicate SEs of the composition-adjusted gaps, on the package's replicate machinery.

    Each tier keeps its full design: a design that carries replicate weights uses them;
    otherwise :meth:`SurveyDesign.with_replicates` builds R's ``type="bootstrap"`` replicates
    (PSUs resampled within strata, fpc honoured, the design's weighting log - e.g. Tier 3's
    raking - replayed on every replicate). The tiers are independent samples, so the variance
    is the sum of two parts: Tier 1's replicate variance of the adjusted estimate with
    Tier 3's profile fixed (the raking to the profile re-run on each Tier 1 replicate), plus
    Tier 3's replicate variance of the gap when its profile and share are re-estimated on
    each Tier 3 replicate and Tier 1's full sample is re-raked to that profile. Each part
    uses its own replicates' scale and ``rscales`` (R ``svrVar``). The same holds for every
    ``method``: raking and entropy calibration are re-run on each replicate through the
    design; the propensity model is re-fitted on each replicate's weights (Tier 1's with
    Tier 3's full weights, then Tier 3's with Tier 1's full weights)."""
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def with_reps(d: SurveyDesign) -> SurveyDesign:
        if d.replicates is not None:
            return d
        return d.with_replicates("bootstrap", n_replicates=n_replicates, rng=gen)

    inf_r, un_r = with_reps(inf_c), with_reps(un_c)
    columns = [after] + ([before] if before else [])
    plain = inf_c.without_replicates()
    num1 = [_answer_columns(plain, c, cats, mask) for c in columns]
    x1, x3 = _model_matrix([inf_c, un_c], cov_cols)
    if method == "propensity":
        reps1_ = inf_r.replicates
        if reps1_ is None:  # pragma: no cover - with_reps always gives replicates
            raise AssertionError("Tier 1 replicate design without replicates")
        w3_full = un_c.weight_array
        w_full = _propensity_weights(x1, x3, plain.weight_array, w3_full, "compare_tiers")
        thetas: list[list[np.ndarray]] = [[] for _ in columns]
        for r in range(reps1_.n_replicates):
            w_r = _propensity_weights(x1, x3, reps1_.weights[:, r], w3_full, "compare_tiers")
            for j, (num, den) in enumerate(num1):
                with np.errstate(divide="ignore", invalid="ignore"):
                    thetas[j].append((w_r @ num) / (w_r @ den))
        v1 = [
            np.diag(reps1_.variance(np.array(thetas[j]), (w_full @ num) / (w_full @ den)))
            for j, (num, den) in enumerate(num1)
        ]
    else:
        raked_r = _reweight(inf_r, un_c, cov_cols, method)
        v1 = [np.diag(_tier_estimates(raked_r, c, cats, mask).vcov) for c in columns]
    # Tier 3's part
    reps3 = un_r.replicates
    if reps3 is None:  # with_reps always gives a replicate design
        raise AssertionError("Tier 3 replicate design without replicates")  # pragma: no cover
    num3, den3 = _answer_columns(un_c, variable, cats, None)
    e3_rep = reps3.estimates(num3, den3)
    gaps: list[list[np.ndarray]] = [[] for _ in columns]
    for r in range(reps3.n_replicates):
        rep_design = un_c.with_fixed_weights(reps3.weights[:, r])
        try:
            if method == "propensity":
                w_r = _propensity_weights(x1, x3, plain.weight_array, reps3.weights[:, r],
                                          "compare_tiers")
            else:
                w_r = _reweight(plain, rep_design, cov_cols, method).weight_array
        except DelibpollError as exc:
            raise DelibpollError(
                f"compare_tiers: Tier 3 replicate {r + 1} gives no weight to a category of "
                f"the adjustment covariates, so Tier 1 cannot be raked to its profile ({exc}). "
                "Raise min_cell to merge small categories, or use variance='fixed'."
            ) from None
        for j, (num, den) in enumerate(num1):
            with np.errstate(divide="ignore", invalid="ignore"):
                gaps[j].append((w_r @ num) / (w_r @ den) - e3_rep[r])
    full = [gap_after] + ([gap_before] if gap_before is not None else [])
    ses = [
        np.sqrt(np.clip(v1[j] + np.diag(reps3.variance(np.array(gaps[j]), full[j])), 0, None))
        for j in range(len(columns))
    ]
    reps1 = inf_r.replicates
    n1 = 0 if reps1 is None else reps1.n_replicates
    return ses[0], (ses[1] if before else None), (n1, reps3.n_replicates)


def _answer_columns(
    design: SurveyDesign, column: str, cats: list[Hashable] | None, mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator columns of the shares (or mean) of ``column`` over rows in
    ``mask`` with an answer."""
    s = design.column(column)
    valid = s.notna().to_numpy()
    if mask is not None:
        valid = valid & mask
    vm = valid.astype(float)[:, None]
    if cats is not None:
        return indicators(s, cats) * vm, np.repeat(vm, len(cats), axis=1)
    y = np.where(valid, pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan), 0.0)
    return y[:, None], vm


def compare_tiers(
    informed: SurveyDesign,
    uninformed: SurveyDesign,
    variable: str,
    *,
    before: str | None = None,
    after: str | None = None,
    adjust_for: Sequence[str] | None = None,
    method: TierAdjustment = "raking",
    balance_threshold: float = 0.1,
    equivalence_margin: float | None = None,
    level: float = 0.95,
    kind: ItemKind | None = None,
    ci_method: CIMethod = "logit",
    min_cell: int = 5,
    variance: TierVariance = "fixed",
    n_replicates: int = 200,
    rng: np.random.Generator | int | None = None,
) -> TierComparison:
    """Compare informed (Tier 1) with uninformed (Tier 3) answers to one question.

    Parameters
    ----------
    informed, uninformed : SurveyDesign
        Tier 1 (clustered by discussion group if known) and the weighted Tier 3 design.
    variable : str
        Tier 3's column.
    after, before : str, optional
        Tier 1's columns after (default ``variable``) and before deliberation.
    adjust_for : list of str, optional
        Categorical covariates present in both tiers. Tier 1 is reweighted to Tier 3's
        weighted profile on them by ``method`` and the gaps are recomputed; the balance
        before and after is in :attr:`TierComparison.balance`.
    method : {"raking", "propensity", "entropy"}, default "raking"
        How Tier 1 is adjusted. ``"raking"``: :func:`~delibpoll.rake` to Tier 3's weighted
        margins, categories with fewer than ``min_cell`` Tier 1 respondents merged with the
        next category first. ``"propensity"``: a logistic model of "in Tier 1" against "in
        Tier 3" on the covariates' main effects, fitted by weighted maximum likelihood (our
        IRLS; the point estimates of R ``svyglm(family=quasibinomial())``) to both tiers
        stacked, Tier 1 with its weights and Tier 3 with its design weights; Tier 1's weights
        are multiplied by the odds ``(1 - p) / p``. ``"entropy"``: entropy balancing, i.e.
        :func:`~delibpoll.calibrate` with ``method="raking"`` to Tier 3's weighted share of
        every covariate category, met exactly. For ``"propensity"`` and ``"entropy"`` only
        categories with no Tier 1 respondent are merged (``min_cell`` is not used).
    balance_threshold : float, default 0.1
        With ``adjust_for``: the ASMD above which a covariate category counts as not balanced
        after the adjustment (:func:`~delibpoll.deliberative.balance`'s ``threshold``).
    equivalence_margin : float, optional
        Margin for a TOST equivalence test (``p_equivalence``): agreement is shown only when
        the 90% CI of the difference lies within ± the margin.
    ci_method : str, default "logit"
        CI rule for each tier's shares (``informed_ci_*``, ``uninformed_ci_*``,
        ``informed_before_ci_*``): the shares and their intervals come from
        :func:`~delibpoll.proportion` with this ``ci_method`` (the same default as
        ``proportion`` and ``banner``), so a share has one CI across a report. Means of
        numeric items come from :func:`~delibpoll.mean` (t interval).
    variance : {"fixed", "bootstrap"}
        For adjusted gaps: treat the Tier 3 profile as fixed (the SE of the adjusted Tier 1
        estimate is calibration-aware), or use replicate weights of both tiers with their
        full designs: a design's own replicate weights when it has them, else
        ``with_replicates("bootstrap", n_replicates=..., rng=rng)`` (R's
        ``as.svrepdesign(type="bootstrap")``: PSUs resampled within strata, fpc honoured,
        the design's weighting, e.g. Tier 3's raking, replayed per replicate). Tier 1's
        raking to the profile is re-run on each Tier 1 replicate; on each Tier 3 replicate
        the profile and the Tier 3 share are re-estimated and Tier 1 is re-raked to that
        profile. The two independent parts of the variance are added.
    n_replicates : int, default 200
        Bootstrap replicates per tier for ``variance="bootstrap"`` (an integer >= 2; not
        used for a design that carries replicate weights).

    Notes
    -----
    ``difference = informed - uninformed``, ``se = sqrt(se_1^2 + se_3^2)`` from each tier's
    own design, Welch-Satterthwaite ``df = (v_1 + v_3)^2 / (v_1^2/df_1 + v_3^2/df_3)``.
    Cohen's ``h = 2 asin(sqrt(p_1)) - 2 asin(sqrt(p_3))`` with delta-method variance
    ``v_1 / (p_1 (1-p_1)) + v_3 / (p_3 (1-p_3))``. ``mdd`` is
    :func:`minimum_detectable_difference` at 80% power with the estimates' design effects.
    With ``before``, Tier 1 is restricted to people who answered both times, so
    ``difference = deliberation_change + baseline_gap`` exactly.

    The estimand of every adjustment is Tier 1's answer had Tier 1 had the public's (Tier
    3's weighted) distribution of the covariates: the ATT-style reweighting of Tier 1 to the
    target group Tier 3. It removes composition differences on those covariates only, is
    descriptive, and is not a causal effect of deliberation. Propensity weighting balances
    the covariates only as far as the main-effects model fits (the balance is reported);
    raking and entropy calibration meet the margins exactly. With ``variance="fixed"``
    the propensity weights are taken as fixed (not accounting for the fitted model); use
    ``variance="bootstrap"`` to re-fit the model on every replicate. The adjusted
    ``adjusted_baseline_gap`` (before deliberation) is the placebo check: a composition
    adjustment that works should leave little gap before deliberation.
    """
    func = "compare_tiers"
    informed = check_design(informed, func)
    uninformed = check_design(uninformed, func)
    level = check_level(level, func)
    check_choice(ci_method, "ci_method", func, values(CIMethod))
    check_choice(variance, "variance", func, values(TierVariance))
    check_choice(method, "method", func, values(TierAdjustment))
    if (isinstance(balance_threshold, bool) or not isinstance(balance_threshold, int | float)
            or not balance_threshold > 0):
        raise DelibpollError(
            "The 'balance_threshold' parameter of compare_tiers must be a positive number "
            f"(an ASMD, e.g. 0.1). Got {balance_threshold!r} instead."
        )
    if (isinstance(n_replicates, bool) or not isinstance(n_replicates, int | np.integer)
            or n_replicates < 2):
        raise DelibpollError(
            "The 'n_replicates' parameter of compare_tiers must be an integer >= 2 (the "
            f"number of bootstrap replicates, e.g. 200). Got {n_replicates!r} instead."
        )
    if rng is not None and (isinstance(rng, bool)
                            or not isinstance(rng, np.random.Generator | int | np.integer)):
        raise DelibpollError(
            "The 'rng' parameter of compare_tiers must be a numpy Generator or an integer "
            f"seed. Got {type(rng).__name__} instead."
        )
    after = after or variable
    uninformed.check_columns([variable], "variable")
    informed.check_columns([after] + ([before] if before else []), "after/before")
    cols_1 = [informed.column(after)] + ([informed.column(before)] if before else [])
    k = item_kind(cols_1 + [uninformed.column(variable)], kind)
    cats: list[Hashable] | None = None
    if k == "categorical":
        names = [after] + ([before] if before else []) + [variable]
        cats = categories(cols_1 + [uninformed.column(variable)], names)
    mask = None
    if before:
        mask = (informed.column(before).notna() & informed.column(after).notna()).to_numpy()
    t1 = _tier_estimates(informed, after, cats, mask, level, ci_method)
    t3 = _tier_estimates(uninformed, variable, cats, None, level, ci_method)
    e1, v1, df1, n1, deff1 = t1.est, t1.vcov, t1.df, t1.n, t1.deff
    e3, v3, df3, n3, deff3 = t3.est, t3.vcov, t3.df, t3.n, t3.deff
    if n1 < 30:
        warnings.warn(
            f"compare_tiers: Tier 1 has {n1} respondents for '{after}'; the design-based "
            "t intervals are approximate with so few people (and fewer clusters).",
            SmallSampleWarning,
            stacklevel=2,
        )
    se1 = np.sqrt(np.clip(np.diag(v1), 0, None))
    se3 = np.sqrt(np.clip(np.diag(v3), 0, None))
    diff = e1 - e3
    se = np.sqrt(se1**2 + se3**2)
    dfw = welch_df(se1**2, df1, se3**2, df3)
    qw = np.array([t_quantile(level, d) for d in dfw])
    frame = pd.DataFrame(
        {
            "category": cats if cats is not None else [None],
            "informed": e1,
            "informed_ci_lower": t1.ci_lower,
            "informed_ci_upper": t1.ci_upper,
            "uninformed": e3,
            "uninformed_ci_lower": t3.ci_lower,
            "uninformed_ci_upper": t3.ci_upper,
            "difference": diff,
            "se": se,
            "df": dfw,
            "ci_lower": diff - qw * se,
            "ci_upper": diff + qw * se,
            "p_value": [float(t_test(np.array([d]), np.array([s]), f)[0]) for d, s, f in zip(diff, se, dfw, strict=True)],
        }
    )
    if k == "categorical":
        p1 = np.clip(e1, 1e-12, 1 - 1e-12)
        p3 = np.clip(e3, 1e-12, 1 - 1e-12)
        h = 2 * np.arcsin(np.sqrt(e1)) - 2 * np.arcsin(np.sqrt(e3))
        se_h = np.sqrt(se1**2 / (p1 * (1 - p1)) + se3**2 / (p3 * (1 - p3)))
        frame["cohens_h"] = h
        frame["cohens_h_ci_lower"] = h - qw * se_h
        frame["cohens_h_ci_upper"] = h + qw * se_h
        pooled = np.clip((e1 * n1 + e3 * n3) / (n1 + n3), 0.01, 0.99)
        frame["mdd"] = [
            minimum_detectable_difference(
                n1, n3, p=float(pp),
                deff_informed=float(d1) if np.isfinite(d1) and d1 > 0 else 1.0,
                deff_uninformed=float(d3) if np.isfinite(d3) and d3 > 0 else 1.0,
            )
            for pp, d1, d3 in zip(pooled, deff1, deff3, strict=True)
        ]
    else:
        sd3 = np.sqrt(se3**2 * n3 / (deff3 if np.isfinite(deff3[0]) and deff3[0] > 0 else 1.0))
        frame["cohens_h"] = np.nan
        frame["cohens_h_ci_lower"] = np.nan
        frame["cohens_h_ci_upper"] = np.nan
        z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
        frame["mdd"] = z * np.sqrt(se1**2 + se3**2)
        frame["standardised_difference"] = diff / sd3
    if equivalence_margin is not None:
        if not equivalence_margin > 0:
            raise DelibpollError(
                f"The 'equivalence_margin' parameter must be positive; got {equivalence_margin!r}."
            )
        m = float(equivalence_margin)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_lo = (diff + m) / se
            t_hi = (diff - m) / se
        p_lo = stats.t.sf(t_lo, dfw)
        p_hi = stats.t.cdf(t_hi, dfw)
        frame["p_equivalence"] = np.maximum(p_lo, p_hi)
    adjustment: dict[str, Any] = {}
    bal: Balance | None = None
    if before:
        tb = _tier_estimates(informed, before, cats, mask, level, ci_method)
        eb, vb, dfb = tb.est, tb.vcov, tb.df
        seb = np.sqrt(np.clip(np.diag(vb), 0, None))
        frame["informed_before"] = eb
        frame["informed_before_ci_lower"] = tb.ci_lower
        frame["informed_before_ci_upper"] = tb.ci_upper
        pc = paired_change(informed, before, after, level=level, kind=k, ci_method=ci_method)
        pcf = pc.to_frame()
        frame["deliberation_change"] = e1 - eb
        frame["deliberation_change_se"] = pcf["se"].to_numpy()
        frame["deliberation_change_ci_lower"] = pcf["ci_lower"].to_numpy()
        frame["deliberation_change_ci_upper"] = pcf["ci_upper"].to_numpy()
        frame["deliberation_change_p_value"] = pcf["p_value"].to_numpy()
        _put_gap(frame, "baseline_gap", eb - e3, np.sqrt(seb**2 + se3**2),
                 welch_df(seb**2, dfb, se3**2, df3), level)
    if adjust_for:
        adjustment = _adjusted(
            informed, uninformed, variable, after, before, cats, mask, list(adjust_for),
            min_cell, level, frame, e3, se3, df3, n3, deff3, variance, n_replicates, rng,
            method, float(balance_threshold),
        )
        bal = adjustment.pop("balance")
    frame["comparison"] = "descriptive, non-randomised"
    return TierComparison(
        variable=variable,
        kind=k,
        level=level,
        n_informed=n1,
        n_uninformed=n3,
        note=NOTE,
        adjustment=frozen(adjustment),
        _frame=frame,
        _vcov=frozen({"informed": v1, "uninformed": v3}),
        _df=(float(df1), float(df3)),
        balance=bal,
    )


def _adjusted(
    informed: SurveyDesign,
    uninformed: SurveyDesign,
    variable: str,
    after: str,
    before: str | None,
    cats: list[Hashable] | None,
    mask: np.ndarray | None,
    covariates: list[str],
    min_cell: int,
    level: float,
    frame: pd.DataFrame,
    e3: np.ndarray,
    se3: np.ndarray,
    df3: float,
    n3: int,
    deff3: np.ndarray,
    variance: TierVariance,
    n_replicates: int,
    rng: np.random.Generator | int | None,
    method: TierAdjustment = "raking",
    balance_threshold: float = 0.1,
) -> dict[str, Any]:
    for cov in covariates:
        for design, tier in ((informed, "Tier 1"), (uninformed, "Tier 3")):
            if cov not in design.columns:
                raise DelibpollError(
                    f"Adjustment covariate '{cov}' is missing from {tier}; adjust only for "
                    "covariates measured in both tiers."
                )
            if design.column(cov).isna().any():
                raise DelibpollError(
                    f"Adjustment covariate '{cov}' has missing values in {tier}; recode them "
                    "to a category first."
                )
    rules = _collapse_rule(informed, uninformed, covariates,
                           min_cell if method == "raking" else 1)
    names = {cov: f"_adj_{cov}" for cov in covariates}

    def collapsed(d: SurveyDesign) -> SurveyDesign:
        return d.with_columns(
            {names[c]: d.column(c).astype(object).map(rules[c]) for c in covariates}
        )

    inf_c = collapsed(informed)
    un_c = collapsed(uninformed)

    def adjusted_estimates(inf_d: SurveyDesign, un_d: SurveyDesign) -> tuple[np.ndarray, ...]:
        raked = _reweight(inf_d, un_d, [names[c] for c in covariates], method)
        ta = _tier_estimates(raked, after, cats, mask)
        ea, va, dfa = ta.est, ta.vcov, ta.df
        out = [ea, va, np.array([dfa]), raked.weight_array]
        if before:
            tb_ = _tier_estimates(raked, before, cats, mask)
            eb, vb, dfb = tb_.est, tb_.vcov, tb_.df
            out += [eb, vb, np.array([dfb])]
        t3_ = _tier_estimates(un_d, variable, cats, None)
        e3_, v3_ = t3_.est, t3_.vcov
        out += [e3_, v3_]
        return tuple(out)

    res = adjusted_estimates(inf_c, un_c)
    ea, va, dfa, w_adj = res[0], res[1], float(res[2][0]), res[3]
    n_eff = float(len(w_adj) / kish_deff(w_adj)) if len(w_adj) else float("nan")
    n1 = informed.n
    if n_eff < 0.3 * n1:
        warnings.warn(
            f"compare_tiers: after reweighting Tier 1 to Tier 3's profile on {covariates} "
            f"(method={method!r}), "
            f"the effective sample size is {n_eff:.1f} of {n1}; the adjusted comparison rests "
            "on very few people. Adjust for fewer covariates or raise min_cell.",
            WeightingWarning,
            stacklevel=3,
        )
    sea = np.sqrt(np.clip(np.diag(va), 0, None))
    adj = ea - e3
    ase = np.sqrt(sea**2 + se3**2)
    adf = welch_df(sea**2, dfa, se3**2, df3)
    boot_se_diff = boot_se_gap = None
    n_reps_used: tuple[int, int] = (0, 0)
    if variance == "bootstrap":
        boot_se_diff, boot_se_gap, n_reps_used = _replicate_adjusted_se(
            inf_c, un_c, [names[c] for c in covariates], variable, after, before, cats, mask,
            ea - e3, (res[4] - e3) if before else None, n_replicates, rng, method,
        )
        ase = boot_se_diff
    _put_gap(frame, "adjusted_difference", adj, ase, adf, level)
    if before:
        eb, vb, dfb = res[4], res[5], float(res[6][0])
        seb = np.sqrt(np.clip(np.diag(vb), 0, None))
        gse = boot_se_gap if boot_se_gap is not None else np.sqrt(seb**2 + se3**2)
        _put_gap(frame, "adjusted_baseline_gap", eb - e3, gse,
                 welch_df(seb**2, dfb, se3**2, df3), level)
        if cats is not None:
            deff_adj = float(n1 / n_eff) if n_eff > 0 else 1.0
            frame["adjusted_baseline_gap_mdd"] = [
                minimum_detectable_difference(
                    n1, n3, p=float(np.clip(p, 0.01, 0.99)), deff_informed=deff_adj,
                    deff_uninformed=float(d3) if np.isfinite(d3) and d3 > 0 else 1.0,
                )
                for p, d3 in zip(e3, deff3, strict=True)
            ]
    frame["n_eff_adjusted"] = n_eff
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeightingWarning)  # re-issued below as compare_tiers'
        bal = covariate_balance(informed, uninformed, covariates,
                                adjusted=informed.with_fixed_weights(w_adj),
                                threshold=balance_threshold)
    if not bal.balanced:
        bf = bal.to_frame()
        worst = bf[bf["asmd_after"] > bal.threshold]
        shown = ", ".join(f"{r.covariate}={r.category} ({r.asmd_after:.2f})"
                          for r in worst.head(5).itertuples())
        warnings.warn(
            f"compare_tiers: after the adjustment (method={method!r}) {len(worst)} covariate "
            f"categories still differ from Tier 3 by an ASMD above {bal.threshold}: {shown}. "
            "The adjusted gap still contains composition differences on them"
            + (" (categories merged by min_cell are not balanced one by one; lower min_cell "
               "or use method='entropy')" if method == "raking" else "") + ".",
            WeightingWarning, stacklevel=3,
        )
    return {
        "balance": bal,
        "method": method,
        "estimand": (
            "Tier 1's answers reweighted to Tier 3's weighted covariate profile "
            "(ATT-style, Tier 3 the target group); descriptive, not causal"
        ),
        "covariates": covariates,
        "min_cell": min_cell,
        "collapsed": {c: {str(k): str(v) for k, v in r.items() if k != v} for c, r in rules.items()},
        "n_eff": n_eff,
        "variance": (
            "Tier 3 profile treated as fixed" if variance == "fixed"
            else (
                f"replicate weights ({n_reps_used[0]} of Tier 1, {n_reps_used[1]} of Tier 3): "
                f"Tier 1's {_VERB[method]} re-run on each Tier 1 replicate, and Tier 3's "
                "profile and share re-estimated on each Tier 3 replicate (its own weighting "
                f"replayed) with Tier 1's {_VERB[method]} re-run against it"
            )
        ),
    }
