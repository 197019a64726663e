"""Deliberative-poll comparisons: the same people before and after deliberation, and the
informed (Tier 1) against the uninformed public (Tier 3).

Every comparison between tiers here is *descriptive and non-randomised*: Tier 1 is a small,
self-selected group, so a gap between tiers mixes the effect of deliberation with who took
part. The functions separate the two as far as the data allow (before/after decomposition,
composition adjustment) and never call a non-significant gap "agreement": agreement is only
claimed through an equivalence test against a stated margin.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._ci import CI_METHODS, CIMethod, t_quantile, two_sided_p
from ._multiplicity import adjust_pvalues
from ._variance import domain_df
from .design import SurveyDesign
from .estimation import (
    category_codes,
    check_design,
    check_level,
    mean,
    proportion,
    ratio_estimates,
)
from .exceptions import DelibpollError, DelibpollWarning, SmallSampleWarning, WeightingWarning
from .targets import Targets
from .weighting import kish_deff, rake

__all__ = [
    "PairedChange",
    "QuestionComparison",
    "Representativeness",
    "TierComparison",
    "compare_questions",
    "compare_tiers",
    "minimum_detectable_difference",
    "paired_change",
    "representativeness",
]

ItemKind = Literal["categorical", "numeric"]
NOTE = (
    "Descriptive, non-randomised comparison: Tier 1 participants were not randomly assigned "
    "to deliberate, so gaps between tiers mix the effect of deliberation with who took part."
)


# ---------------------------------------------------------------------- helpers
def item_kind(series: Sequence[pd.Series], kind: ItemKind | None) -> ItemKind:
    """Categorical for categorical/object/bool columns and numeric 0/1 columns."""
    if kind is not None:
        if kind not in ("categorical", "numeric"):
            raise DelibpollError(f"The 'kind' parameter must be 'categorical' or 'numeric'; got {kind!r}.")
        return kind
    for s in series:
        if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(s):
            return "categorical"
        if not pd.api.types.is_numeric_dtype(s):
            return "categorical"
    values = pd.concat([s.dropna() for s in series])
    if len(values) and set(np.unique(values.to_numpy(dtype=float))) <= {0.0, 1.0}:
        return "categorical"
    return "numeric"


def _categories(series: Sequence[pd.Series], names: Sequence[str]) -> list[Hashable]:
    declared = [list(s.cat.categories) for s in series if isinstance(s.dtype, pd.CategoricalDtype)]
    if len(declared) == len(series) and declared:
        first = declared[0]
        for other, name in zip(declared[1:], names[1:], strict=True):
            if set(other) != set(first):
                only_a = [c for c in first if c not in other]
                only_b = [c for c in other if c not in first]
                raise DelibpollError(
                    f"'{names[0]}' and '{name}' have different category sets: {only_a} only in "
                    f"the first, {only_b} only in the second. Recode them to the same "
                    "categories before comparing."
                )
        return first
    sets = [set(category_codes(s)[1]) for s in series]
    union = sorted(set().union(*sets), key=lambda v: (str(type(v)), v))
    for s_set, name in zip(sets, names, strict=True):
        missing = [c for c in union if c not in s_set]
        if missing and len(series) > 1:
            warnings.warn(
                f"Categories {missing} do not occur in '{name}'; their share there is 0.",
                DelibpollWarning,
                stacklevel=3,
            )
    return union


def _indicators(s: pd.Series, cats: Sequence[Hashable]) -> np.ndarray:
    out = np.zeros((len(s), len(cats)))
    vals = s.astype(object).to_numpy()
    # missing values (None, NaN, pandas NA of nullable dtypes) match no category; pd.NA
    # would otherwise make the comparison itself NA
    present = ~s.isna().to_numpy()
    for j, c in enumerate(cats):
        out[:, j] = np.array([bool(ok) and bool(v == c) for v, ok in zip(vals, present, strict=True)],
                             dtype=float)
    return out


def _frozen(value: Any) -> Any:
    """A read-only view of a result's contents: mappings become ``MappingProxyType``, lists
    tuples, arrays read-only copies (result objects are immutable in fact)."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, np.ndarray):
        arr = value.copy()
        arr.flags.writeable = False
        return arr
    return value


def _t_test(est: np.ndarray, se: np.ndarray, df: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return two_sided_p(est / se, df)


def _zero_se_pvalues(
    change: np.ndarray, se: np.ndarray, df: float, labels: list[str], before: str, after: str
) -> np.ndarray:
    """Design-based t p-values of the changes, with the degenerate cases defined: SE exactly
    0 with change 0 means no pair's answer moved in or out (every change is 0), so there is
    no evidence of change, p = 1 (as exact McNemar with no discordant pairs); SE 0 with a
    non-zero change (every pair moved the same way) makes t = c / 0 undefined: NaN, said
    once with a :class:`DelibpollWarning`."""
    zero = ~(se > 0)
    p = np.where(zero & (change == 0), 1.0, np.nan)
    ok = ~zero
    if ok.any():
        p[ok] = two_sided_p(change[ok] / se[ok], df)
    flagged = zero & (change != 0)
    if flagged.any():
        which = [lab for lab, z in zip(labels, flagged, strict=True) if z]
        warnings.warn(
            f"paired_change: every pair has the same non-zero change from '{before}' to "
            f"'{after}' for {', '.join(which)} (standard error 0), so the design-based t test "
            "is undefined there: its p-value (and the paired t and standardised change of a "
            "numeric item) is NaN. The exact tests (McNemar, Stuart-Maxwell, Wilcoxon) still "
            "apply.",
            DelibpollWarning,
            stacklevel=3,
        )
    return p


def _welch_df(v1: np.ndarray, df1: float, v2: np.ndarray, df2: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((v1 + v2) ** 2 / (v1**2 / df1 + v2**2 / df2))


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
        float(_t_test(np.array([g]), np.array([s_]), float(f))[0])
        for g, s_, f in zip(gap, se, np.broadcast_to(df, gap.shape), strict=True)
    ]


@dataclass(frozen=True)
class WaldTest:
    """Result of :func:`adjusted_wald` (internal)."""

    wald: float
    statistic: float
    df_num: float
    df_den: float
    p_value: float


def adjusted_wald(d: np.ndarray, vcov: np.ndarray, design_df: float) -> WaldTest:
    """Design-based Wald test that ``d = 0`` given its covariance, with R's design-df
    correction (``svychisq(statistic="adjWald")``): ``W = d' V^- d``, ``p`` = rank of ``V``,
    ``F = W (nu - p + 1) / (nu p)`` referred to ``F(p, nu - p + 1)``, ``nu`` the design df.

    The one Wald test of this module (the omnibus tier comparison and representativeness).
    ``V`` is inverted by ``solve``, or by a pseudo-inverse on its rank when it is singular
    (a category no one chose in either sample). With ``nu - p + 1 <= 0`` (fewer design df
    than tested contrasts) the test is undefined: NaN with a :class:`SmallSampleWarning`.
    """
    d = np.asarray(d, dtype=float)
    v = np.asarray(vcov, dtype=float)
    if len(d) == 0 or not np.all(np.isfinite(v)) or not np.all(np.isfinite(d)):
        return WaldTest(float("nan"), float("nan"), float(len(d)), float("nan"), float("nan"))
    p_ = int(np.linalg.matrix_rank(v)) if len(d) else 0
    if p_ == 0:
        # no sampling variance at all: defined only when there is no difference either
        same = bool(np.allclose(d, 0.0, atol=1e-12))
        return WaldTest(0.0 if same else float("inf"), 0.0 if same else float("inf"),
                        0.0, float(design_df), 1.0 if same else 0.0)
    if p_ == len(d):
        w = float(d @ np.linalg.solve(v, d))
    else:
        w = float(d @ np.linalg.pinv(v) @ d)
    den = float(design_df) - p_ + 1
    if not den > 0:
        warnings.warn(
            f"A design-based Wald test of {p_} contrasts needs more than {p_ - 1} design "
            f"degrees of freedom; the design has {design_df:.4g}, so the test is undefined "
            "(NaN). Merge categories or test one category at a time.",
            SmallSampleWarning,
            stacklevel=3,
        )
        return WaldTest(w, float("nan"), float(p_), den, float("nan"))
    f_stat = w * den / (float(design_df) * p_)
    return WaldTest(w, f_stat, float(p_), den, float(stats.f.sf(f_stat, p_, den)))


def _check_ci_method(ci_method: object, func: str) -> None:
    if not isinstance(ci_method, str) or ci_method not in CI_METHODS:
        raise DelibpollError(
            f"The 'ci_method' parameter of {func} must be one of {list(CI_METHODS)}; got "
            f"{ci_method!r} instead."
        )


def minimum_detectable_difference(
    n_informed: float,
    n_uninformed: float,
    *,
    p: float = 0.5,
    deff_informed: float = 1.0,
    deff_uninformed: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Smallest difference in proportions a two-sided test detects with the given power.

    ``MDD = (z_{1-alpha/2} + z_{power}) * sqrt(p (1 - p) (deff_1 / n_1 + deff_3 / n_3))``.

    Examples
    --------
    >>> round(minimum_detectable_difference(100, 4000), 3)
    0.142
    """
    for name, v in (("n_informed", n_informed), ("n_uninformed", n_uninformed)):
        if not v > 0:
            raise DelibpollError(f"The '{name}' parameter must be positive; got {v!r}.")
    if not (0 < p < 1 and 0 < alpha < 1 and 0 < power < 1):
        raise DelibpollError("p, alpha and power must each lie in (0, 1).")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(z * np.sqrt(p * (1 - p) * (deff_informed / n_informed + deff_uninformed / n_uninformed)))


# ---------------------------------------------------------------------- paired change
@dataclass(frozen=True)
class PairedChange:
    """Before/after change for the same people (see :func:`paired_change`)."""

    before: str
    after: str
    kind: ItemKind
    level: float
    n_pairs: int
    n_excluded: int
    share_changed: float
    share_changed_ci: tuple[float, float]
    test: str
    test_statistic: float
    test_df: float
    test_p_value: float
    _turnover: pd.DataFrame = field(repr=False)
    _turnover_unweighted: pd.DataFrame = field(repr=False)
    _frame: pd.DataFrame = field(repr=False)

    @property
    def turnover(self) -> pd.DataFrame:
        """Weighted before x after table (a copy; empty for numeric items)."""
        return self._turnover.copy()

    @property
    def turnover_unweighted(self) -> pd.DataFrame:
        """Unweighted before x after counts (a copy; empty for numeric items)."""
        return self._turnover_unweighted.copy()

    def to_frame(self) -> pd.DataFrame:
        """Columns: ``category`` (categorical items), ``before``, ``after``, ``change``,
        ``se``, ``ci_lower``, ``ci_upper``, ``df``, ``p_value``, ``n_pairs``, ``n_excluded``,
        and for numeric items ``t_paired``, ``p_paired_t``, ``wilcoxon``, ``p_wilcoxon``,
        ``standardised_change``."""
        return self._frame.copy()

    def __repr__(self) -> str:
        return (
            f"PairedChange({self.before} -> {self.after}, {self.kind}, n_pairs={self.n_pairs}, "
            f"excluded={self.n_excluded}; {self.test}: p={self.test_p_value:.4g})\n"
            + self._frame.to_string(index=False)
        )

    def _repr_html_(self) -> str:
        return f"<p><b>{self.before} → {self.after}</b> ({self.test})</p>" + self._frame.to_html(index=False)


def paired_change(
    design: SurveyDesign,
    before: str,
    after: str,
    *,
    level: float = 0.95,
    kind: ItemKind | None = None,
    ci_method: CIMethod = "logit",
) -> PairedChange:
    """Change between answers given before and after deliberation by the same people.

    Parameters
    ----------
    design : SurveyDesign
        Tier 1, ideally with the discussion group as cluster (``ids="group_id"``), so that
        the standard errors respect that people in a group influence each other.
    before, after : str
        Columns with the answers before and after.
    kind : {"categorical", "numeric"}, optional
        Default: categorical for categorical/object/bool and 0/1 columns, else numeric.
    ci_method : str, default "logit"
        Interval for the share who changed, a proportion like any other: computed by
        :func:`~delibpoll.proportion` over the pairs, with its CI methods.

    Returns
    -------
    PairedChange

    Notes
    -----
    Categorical items: for each category ``c`` the per-person difference
    ``d_i = 1[after_i = c] - 1[before_i = c]`` is averaged with the design weights; its
    design-based SE (linearised, clustered) gives the CI (t on the design df of the pairs) and
    the p-value. Item-level tests, unweighted, as statsmodels computes them: exact McNemar
    (``mcnemar(table, exact=True)``) for binary items, Stuart-Maxwell
    (``SquareTable(table).homogeneity()``) for more categories. Numeric items: the weighted
    mean change with its design-based CI, plus scipy's paired t test (``ttest_rel``) and
    Wilcoxon signed-rank test (``wilcoxon(d, zero_method="wilcox", correction=False,
    method="auto")``), and the standardised change (mean change / SD of the changes,
    weighted). Pairs with a missing side are excluded and counted.
    """
    func = "paired_change"
    design = check_design(design, func)
    level = check_level(level, func)
    if not isinstance(ci_method, str) or ci_method not in CI_METHODS:
        raise DelibpollError(
            f"The 'ci_method' parameter of {func} must be one of {list(CI_METHODS)}. "
            f"Got {ci_method!r} instead."
        )
    design._check_columns([before, after], "before/after")
    b = design._data[before]
    a = design._data[after]
    valid = (b.notna() & a.notna()).to_numpy()
    n_pairs = int(valid.sum())
    n_excluded = int((~valid).sum())
    if n_pairs < 2:
        raise DelibpollError(
            f"paired_change needs at least 2 people with both '{before}' and '{after}'; "
            f"found {n_pairs}."
        )
    k = item_kind([b, a], kind)
    w = design._w
    dfree = domain_df(design, valid)
    q = t_quantile(level, dfree)
    vmask = valid.astype(float)[:, None]
    if k == "categorical":
        cats = _categories([b, a], [before, after])
        yb = _indicators(b, cats) * vmask
        ya = _indicators(a, cats) * vmask
        den = np.repeat(vmask, len(cats), axis=1)
        num = np.hstack([yb, ya, ya - yb])
        est, vcov, _ = ratio_estimates(design, num, np.hstack([den, den, den]))
        m = len(cats)
        change = est[2 * m :]
        se = np.sqrt(np.clip(np.diag(vcov)[2 * m :], 0, None))
        p = _zero_se_pvalues(change, se, dfree, [f"category {c!r}" for c in cats], before, after)
        frame = pd.DataFrame(
            {
                "category": cats,
                "before": est[:m],
                "after": est[m : 2 * m],
                "change": change,
                "se": se,
                "ci_lower": change - q * se,
                "ci_upper": change + q * se,
                "df": dfree,
                "p_value": p,
                "n_pairs": n_pairs,
                "n_excluded": n_excluded,
            }
        )
        bi = np.argmax(_indicators(b, cats), axis=1)
        ai = np.argmax(_indicators(a, cats), axis=1)
        table = np.zeros((m, m))
        wtable = np.zeros((m, m))
        for i in np.flatnonzero(valid):
            table[bi[i], ai[i]] += 1
            wtable[bi[i], ai[i]] += w[i]
        idx = pd.Index(cats, name=f"{before} (before)")
        cols = pd.Index(cats, name=f"{after} (after)")
        turnover_u = pd.DataFrame(table.astype(int), index=idx, columns=cols)
        turnover_w = pd.DataFrame(wtable, index=idx, columns=cols)
        from statsmodels.stats.contingency_tables import SquareTable, mcnemar

        if m == 2:
            res = mcnemar(table, exact=True)
            test, stat, tdf, tp = "exact McNemar", float(res.statistic), 1.0, float(res.pvalue)
        else:
            used = (table.sum(axis=0) + table.sum(axis=1)) > 0
            sub = table[np.ix_(used, used)]
            if sub.sum() == np.trace(sub):
                # nobody changed category: no discordant pairs, so no evidence of change
                # (as exact McNemar gives p = 1 with b = c = 0)
                test, stat, tdf, tp = "Stuart-Maxwell", 0.0, float(max(sub.shape[0] - 1, 0)), 1.0
            else:
                with warnings.catch_warnings():
                    # statsmodels warns when the Stuart-Maxwell covariance is singular (e.g. a
                    # category nobody left); it then uses a generalised inverse, as we report
                    warnings.simplefilter("ignore")
                    res = SquareTable(sub, shift_zeros=False).homogeneity()
                test, stat, tdf, tp = "Stuart-Maxwell", float(res.statistic), float(res.df), float(res.pvalue)
        if n_pairs < 10:
            warnings.warn(
                f"paired_change: only {n_pairs} pairs; the design-based CIs are unreliable. "
                f"Rely on the exact test ({test}).",
                SmallSampleWarning,
                stacklevel=2,
            )
        changed_num = ((bi != ai) & valid).astype(float)[:, None]
    else:
        bv = pd.to_numeric(b, errors="coerce").to_numpy(dtype=float)
        av = pd.to_numeric(a, errors="coerce").to_numpy(dtype=float)
        bv0 = np.where(valid, bv, 0.0)
        av0 = np.where(valid, av, 0.0)
        num = np.column_stack([bv0, av0, av0 - bv0])
        est, vcov, _ = ratio_estimates(design, num, np.repeat(vmask, 3, axis=1))
        change = est[2:3]
        se = np.sqrt(np.clip(np.diag(vcov)[2:3], 0, None))
        p = _zero_se_pvalues(change, se, dfree, ["the mean"], before, after)
        d = (av - bv)[valid]
        wv = w[valid]
        mean_d = float(np.sum(wv * d) / wv.sum())
        sd_d = float(np.sqrt(np.sum(wv * (d - mean_d) ** 2) / wv.sum() * len(d) / (len(d) - 1)))
        if np.all(d == d[0]):
            # every pair changed by the same amount c: the paired t statistic is c / 0
            # (no change at all: no evidence of change, p = 1)
            t_stat = float("nan")
            t_p = 1.0 if d[0] == 0 else float("nan")
        else:
            tt = stats.ttest_rel(av[valid], bv[valid])
            t_stat, t_p = float(tt.statistic), float(tt.pvalue)
        if np.all(d == 0):
            wil_stat, wil_p = float("nan"), 1.0
        else:
            wil = stats.wilcoxon(d, zero_method="wilcox", correction=False, method="auto")
            wil_stat, wil_p = float(wil.statistic), float(wil.pvalue)
        frame = pd.DataFrame(
            {
                "before": est[:1],
                "after": est[1:2],
                "change": change,
                "se": se,
                "ci_lower": change - q * se,
                "ci_upper": change + q * se,
                "df": dfree,
                "p_value": p,
                "n_pairs": n_pairs,
                "n_excluded": n_excluded,
                "t_paired": t_stat,
                "p_paired_t": t_p,
                "wilcoxon": wil_stat,
                "p_wilcoxon": wil_p,
                "standardised_change": mean_d / sd_d if sd_d > 0 else float("nan"),
            }
        )
        stat = float(change[0] / se[0]) if se[0] > 0 else float("nan")
        test, tdf, tp = "design-based t", dfree, float(p[0])
        turnover_u = pd.DataFrame()
        turnover_w = pd.DataFrame()
        changed_num = ((av != bv) & valid).astype(float)[:, None]
    changed = _share_changed(design, changed_num[:, 0], valid, level, ci_method)
    return PairedChange(
        before=before,
        after=after,
        kind=k,
        level=level,
        n_pairs=n_pairs,
        n_excluded=n_excluded,
        share_changed=float(changed["estimate"]),
        share_changed_ci=(float(changed["ci_lower"]), float(changed["ci_upper"])),
        test=test,
        test_statistic=stat,
        test_df=tdf,
        test_p_value=tp,
        _turnover=turnover_w,
        _turnover_unweighted=turnover_u,
        _frame=frame,
    )


# ---------------------------------------------------------------------- tiers
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
        return f"<p><b>{self.variable}</b>: {self.note}</p>" + self._frame.to_html(index=False)


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
    s = design._data[column]
    valid = s.notna().to_numpy()
    if mask is not None:
        valid = valid & mask
    n = int((valid & (design._w != 0)).sum())
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
    work = _with_columns(design, {column: values})
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
        cats = _categories([informed._data[cov], uninformed._data[cov]], [cov, cov])
        counts = informed._data[cov].value_counts()
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
    uses its own replicates' scale and ``rscales`` (R ``svrVar``)."""
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def with_reps(d: SurveyDesign) -> SurveyDesign:
        if d._replicates is not None:
            return d
        return d.with_replicates("bootstrap", n_replicates=n_replicates, rng=gen)

    inf_r, un_r = with_reps(inf_c), with_reps(un_c)
    profile = un_c.profile(cov_cols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DelibpollWarning)
        raked_r = rake(inf_r, profile, max_iter=2000, on_nonconvergence="warn")
    columns = [after] + ([before] if before else [])
    v1 = [np.diag(_tier_estimates(raked_r, c, cats, mask).vcov) for c in columns]
    # Tier 3's part
    reps3 = un_r.replicates
    if reps3 is None:  # with_reps always gives a replicate design
        raise AssertionError("Tier 3 replicate design without replicates")  # pragma: no cover
    plain = inf_c.without_replicates()
    num1 = [_answer_columns(plain, c, cats, mask) for c in columns]
    num3, den3 = _answer_columns(un_c, variable, cats, None)
    e3_rep = reps3.estimates(num3, den3)
    gaps: list[list[np.ndarray]] = [[] for _ in columns]
    for r in range(reps3.n_replicates):
        rep_design = un_c.with_fixed_weights(reps3.weights[:, r])
        try:
            targets_r = rep_design.profile(cov_cols)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DelibpollWarning)
                w_r = rake(plain, targets_r, max_iter=2000, on_nonconvergence="warn")._w
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
    s = design._data[column]
    valid = s.notna().to_numpy()
    if mask is not None:
        valid = valid & mask
    vm = valid.astype(float)[:, None]
    if cats is not None:
        return _indicators(s, cats) * vm, np.repeat(vm, len(cats), axis=1)
    y = np.where(valid, pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan), 0.0)
    return y[:, None], vm


def _share_changed(
    design: SurveyDesign, changed: np.ndarray, valid: np.ndarray, level: float,
    ci_method: CIMethod,
) -> pd.Series:
    """The share of pairs whose answer changed, with its CI, by :func:`proportion` (the one
    estimation path: the pairs are a domain, the CI the caller's method, never zero-width)."""
    name = "changed"
    while name in design._data.columns:
        name = "_" + name
    col = pd.Series(
        pd.Categorical(np.where(changed > 0, "changed", "same"), categories=["changed", "same"]),
        index=design._data.index,
    ).where(valid)
    est = proportion(_with_columns(design, {name: col}), name, level=level,
                     ci_method=ci_method, na="drop")
    fr = est.to_frame()
    return fr[fr["category"] == "changed"].iloc[0]


def _with_columns(design: SurveyDesign, extra: Mapping[str, pd.Series]) -> SurveyDesign:
    data = design._data.assign(**extra)
    return design._replace(data=data)


def compare_tiers(
    informed: SurveyDesign,
    uninformed: SurveyDesign,
    variable: str,
    *,
    before: str | None = None,
    after: str | None = None,
    adjust_for: Sequence[str] | None = None,
    equivalence_margin: float | None = None,
    level: float = 0.95,
    kind: ItemKind | None = None,
    ci_method: CIMethod = "logit",
    min_cell: int = 5,
    variance: Literal["fixed", "bootstrap"] = "fixed",
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
        Covariates present in both tiers. Tier 1 is raked to Tier 3's weighted profile on
        them (categories with fewer than ``min_cell`` Tier 1 respondents merged with the next
        category first) and the gaps are recomputed.
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
    """
    func = "compare_tiers"
    informed = check_design(informed, func)
    uninformed = check_design(uninformed, func)
    level = check_level(level, func)
    _check_ci_method(ci_method, func)
    if variance not in ("fixed", "bootstrap"):
        raise DelibpollError(
            f"The 'variance' parameter of compare_tiers must be 'fixed' or 'bootstrap'; got "
            f"{variance!r} instead."
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
    uninformed._check_columns([variable], "variable")
    informed._check_columns([after] + ([before] if before else []), "after/before")
    cols_1 = [informed._data[after]] + ([informed._data[before]] if before else [])
    k = item_kind(cols_1 + [uninformed._data[variable]], kind)
    cats: list[Hashable] | None = None
    if k == "categorical":
        names = [after] + ([before] if before else []) + [variable]
        cats = _categories(cols_1 + [uninformed._data[variable]], names)
    mask = None
    if before:
        mask = (informed._data[before].notna() & informed._data[after].notna()).to_numpy()
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
    dfw = _welch_df(se1**2, df1, se3**2, df3)
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
            "p_value": [float(_t_test(np.array([d]), np.array([s]), f)[0]) for d, s, f in zip(diff, se, dfw, strict=True)],
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
                 _welch_df(seb**2, dfb, se3**2, df3), level)
    if adjust_for:
        adjustment = _adjusted(
            informed, uninformed, variable, after, before, cats, mask, list(adjust_for),
            min_cell, level, frame, e3, se3, df3, n3, deff3, variance, n_replicates, rng,
        )
    frame["comparison"] = "descriptive, non-randomised"
    return TierComparison(
        variable=variable,
        kind=k,
        level=level,
        n_informed=n1,
        n_uninformed=n3,
        note=NOTE,
        adjustment=_frozen(adjustment),
        _frame=frame,
        _vcov=_frozen({"informed": v1, "uninformed": v3}),
        _df=(float(df1), float(df3)),
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
    variance: str,
    n_replicates: int,
    rng: np.random.Generator | int | None,
) -> dict[str, Any]:
    for cov in covariates:
        for design, tier in ((informed, "Tier 1"), (uninformed, "Tier 3")):
            if cov not in design._data.columns:
                raise DelibpollError(
                    f"Adjustment covariate '{cov}' is missing from {tier}; adjust only for "
                    "covariates measured in both tiers."
                )
            if design._data[cov].isna().any():
                raise DelibpollError(
                    f"Adjustment covariate '{cov}' has missing values in {tier}; recode them "
                    "to a category first."
                )
    rules = _collapse_rule(informed, uninformed, covariates, min_cell)
    names = {cov: f"_adj_{cov}" for cov in covariates}

    def collapsed(d: SurveyDesign) -> SurveyDesign:
        return _with_columns(
            d, {names[c]: d._data[c].astype(object).map(rules[c]) for c in covariates}
        )

    inf_c = collapsed(informed)
    un_c = collapsed(uninformed)

    def adjusted_estimates(inf_d: SurveyDesign, un_d: SurveyDesign) -> tuple[np.ndarray, ...]:
        targets = un_d.profile([names[c] for c in covariates])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DelibpollWarning)
            raked = rake(inf_d, targets, max_iter=2000, on_nonconvergence="warn")
        ta = _tier_estimates(raked, after, cats, mask)
        ea, va, dfa = ta.est, ta.vcov, ta.df
        out = [ea, va, np.array([dfa]), raked._w]
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
            f"compare_tiers: after reweighting Tier 1 to Tier 3's profile on {covariates}, "
            f"the effective sample size is {n_eff:.1f} of {n1}; the adjusted comparison rests "
            "on very few people. Adjust for fewer covariates or raise min_cell.",
            WeightingWarning,
            stacklevel=3,
        )
    sea = np.sqrt(np.clip(np.diag(va), 0, None))
    adj = ea - e3
    ase = np.sqrt(sea**2 + se3**2)
    adf = _welch_df(sea**2, dfa, se3**2, df3)
    boot_se_diff = boot_se_gap = None
    n_reps_used: tuple[int, int] = (0, 0)
    if variance == "bootstrap":
        boot_se_diff, boot_se_gap, n_reps_used = _replicate_adjusted_se(
            inf_c, un_c, [names[c] for c in covariates], variable, after, before, cats, mask,
            ea - e3, (res[4] - e3) if before else None, n_replicates, rng,
        )
        ase = boot_se_diff
    _put_gap(frame, "adjusted_difference", adj, ase, adf, level)
    if before:
        eb, vb, dfb = res[4], res[5], float(res[6][0])
        seb = np.sqrt(np.clip(np.diag(vb), 0, None))
        gse = boot_se_gap if boot_se_gap is not None else np.sqrt(seb**2 + se3**2)
        _put_gap(frame, "adjusted_baseline_gap", eb - e3, gse,
                 _welch_df(seb**2, dfb, se3**2, df3), level)
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
    return {
        "covariates": covariates,
        "min_cell": min_cell,
        "collapsed": {c: {str(k): str(v) for k, v in r.items() if k != v} for c, r in rules.items()},
        "n_eff": n_eff,
        "variance": (
            "Tier 3 profile treated as fixed" if variance == "fixed"
            else (
                f"replicate weights ({n_reps_used[0]} of Tier 1, {n_reps_used[1]} of Tier 3): "
                "Tier 1's raking to the profile re-run on each Tier 1 replicate, and Tier 3's "
                "profile and share re-estimated on each Tier 3 replicate (its own weighting "
                "replayed) with Tier 1 re-raked to it"
            )
        ),
    }


# ---------------------------------------------------------------------- many questions
@dataclass(frozen=True)
class QuestionComparison:
    """Tier comparisons for many questions with multiplicity control."""

    adjust: str
    alpha: float
    n_tests: int
    n_significant: int
    expected_false_positives: float
    note: str
    comparisons: Mapping[str, TierComparison]
    _frame: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per question and category: ``question``, the :func:`compare_tiers`
        columns, ``tested`` (whether the row is the question's test in the family),
        ``p_value_question``, ``p_adjusted``, ``significant``."""
        return self._frame.copy()

    def __repr__(self) -> str:
        return (
            f"QuestionComparison({self.n_tests} tests, {self.adjust}: {self.n_significant} "
            f"significant; {self.expected_false_positives:.2f} expected by chance at "
            f"alpha={self.alpha} without adjustment)\n{self.note}"
        )


def _omnibus(comp: TierComparison) -> float:
    """Adjusted Wald F test (:func:`adjusted_wald`) that the whole distribution is the same
    in both tiers: the first k - 1 share differences, covariance ``V_1 + V_3``, design df the
    Satterthwaite df of the summed covariance's trace,
    ``(tr V_1 + tr V_3)^2 / (tr(V_1)^2 / df_1 + tr(V_3)^2 / df_3)`` (for two categories the
    Welch df of the row's t test, so the F test is that t test squared)."""
    fr = comp._frame
    d = fr["difference"].to_numpy(dtype=float)
    if len(d) < 2:
        return float(fr["p_value"].iloc[0])
    v1, v3 = comp._vcov["informed"], comp._vcov["uninformed"]
    df1, df3 = comp._df
    tr1, tr3 = float(np.trace(v1)), float(np.trace(v3))
    with np.errstate(divide="ignore", invalid="ignore"):
        nu = (tr1 + tr3) ** 2 / (tr1**2 / df1 + tr3**2 / df3)
    v = v1 + v3
    return adjusted_wald(d[:-1], v[:-1, :-1], float(nu)).p_value


def compare_questions(
    informed: SurveyDesign,
    uninformed: SurveyDesign,
    questions: Sequence[str] | Mapping[str, tuple[str | None, str]],
    *,
    adjust: Literal["holm", "fdr_bh", "none"] = "holm",
    categories: Mapping[str, Hashable] | None = None,
    equivalence_margin: float | None = None,
    adjust_for: Sequence[str] | None = None,
    alpha: float = 0.05,
    level: float = 0.95,
    ci_method: CIMethod = "logit",
) -> QuestionComparison:
    """Compare the tiers on many questions with one test per question in the multiplicity
    family.

    Parameters
    ----------
    questions : list or mapping
        Tier 3 question names (Tier 1's post-deliberation columns named the same), or
        ``{question: (before, after)}`` with Tier 1's column names.
    adjust : {"holm", "fdr_bh", "none"}
        Multiplicity adjustment over the family (the numbers of statsmodels ``multipletests``).
    categories : mapping, optional
        ``{question: category}``: the category whose difference is the question's test.
        Binary items use category 1 / "Yes" when none is declared; other questions use an
        omnibus design-based Wald test that the whole distribution is the same in both
        tiers (``p_value_question``): R's adjusted Wald F (``svychisq`` ``"adjWald"``) on
        k - 1 and ``nu - k + 2`` df, ``nu`` the Satterthwaite df of the two tiers' summed
        covariance (dominated by Tier 1's few discussion groups). Numeric items use the difference in
        means.
    """
    if adjust not in ("holm", "fdr_bh", "none"):
        raise DelibpollError(f"The 'adjust' parameter must be 'holm', 'fdr_bh' or 'none'; got {adjust!r}.")
    items: list[tuple[str, str | None, str]]
    if isinstance(questions, Mapping):
        items = [(q, ba[0], ba[1]) for q, ba in questions.items()]
    else:
        items = [(q, None, q) for q in questions]
    if not items:
        raise DelibpollError("compare_questions needs at least one question.")
    cats = dict(categories or {})
    comps: dict[str, TierComparison] = {}
    frames = []
    pvals = []
    for q, before, after in items:
        comp = compare_tiers(
            informed, uninformed, q, before=before, after=after, adjust_for=adjust_for,
            equivalence_margin=equivalence_margin, level=level, ci_method=ci_method,
        )
        comps[q] = comp
        fr = comp.to_frame()
        fr.insert(0, "question", q)
        tested = np.zeros(len(fr), dtype=bool)
        declared = cats.get(q)
        if comp.kind == "numeric":
            p_q = float(fr["p_value"].iloc[0])
            tested[0] = True
        else:
            labels = list(fr["category"])
            if declared is None and len(labels) == 2:
                for cand in (1, "1", "Yes", "yes", True):
                    if cand in labels:
                        declared = cand
                        break
            if declared is not None:
                if declared not in labels:
                    raise DelibpollError(
                        f"Declared category {declared!r} of '{q}' is not among its categories {labels}."
                    )
                i = labels.index(declared)
                p_q = float(fr["p_value"].iloc[i])
                tested[i] = True
            else:
                p_q = _omnibus(comp)
                tested[:] = True
        fr["tested"] = tested
        fr["p_value_question"] = p_q
        pvals.append(p_q)
        frames.append(fr)
    pv = np.array(pvals)
    if adjust == "none":
        padj = pv
    else:
        padj = adjust_pvalues(np.nan_to_num(pv, nan=1.0), adjust)
    for fr, pa in zip(frames, padj, strict=True):
        fr["p_adjusted"] = np.where(fr["tested"], pa, np.nan)
        fr["significant"] = fr["tested"] & (fr["p_adjusted"] < alpha)
    frame = pd.concat(frames, ignore_index=True)
    n_sig = int(np.sum(padj < alpha))
    return QuestionComparison(
        adjust=adjust,
        alpha=alpha,
        n_tests=len(pv),
        n_significant=n_sig,
        expected_false_positives=len(pv) * alpha,
        note=NOTE,
        comparisons=MappingProxyType(dict(comps)),
        _frame=frame,
    )


# ---------------------------------------------------------------------- representativeness
@dataclass(frozen=True)
class Representativeness:
    """Sample profile against targets (see :func:`representativeness`)."""

    _tests: pd.DataFrame = field(repr=False)
    _frame: pd.DataFrame = field(repr=False)

    @property
    def tests(self) -> pd.DataFrame:
        """One row per margin and test: ``variable``, ``test``, ``statistic``, ``df_num``,
        ``df_den``, ``p_value`` (a copy)."""
        return self._tests.copy()

    def to_frame(self) -> pd.DataFrame:
        """Columns: ``variable``, ``category``, ``n``, ``unweighted_share``,
        ``weighted_share``, ``target_share``, ``difference`` (weighted - target),
        ``std_difference`` (difference / sqrt(target (1 - target)))."""
        return self._frame.copy()

    def __repr__(self) -> str:
        return "Representativeness\n" + self._frame.to_string(index=False) + "\n" + self._tests.to_string(index=False)


def representativeness(design: SurveyDesign, targets: Targets) -> Representativeness:
    """Each margin of ``targets``: the sample's unweighted and weighted shares against the
    target shares, with a goodness-of-fit test per variable.

    Joint margins (``"sex|age_group"``) are compared cell by cell: ``variable`` is the
    margin's name and ``category`` the tuple of the crossed categories, tested like any
    other margin. Rows with a missing value in a margin's variables are left out of that
    margin.

    ``targets`` may come from ``tier3.profile([...])`` to compare Tier 1 with
    Tier 3. Tests (``.tests``): Pearson chi-square of the unweighted counts against the
    target shares (scipy ``chisquare``), and a design-based Wald test of the weighted shares
    using their design covariance, scaled as R's ``adjWald``: ``F = W (nu - p + 1) / (nu p)``
    on ``(p, nu - p + 1)`` df, with ``p = k - 1`` and ``nu`` the design df.
    """
    design = check_design(design, "representativeness")
    if not isinstance(targets, Targets):
        raise DelibpollError("representativeness needs Targets (e.g. design.profile(...)).")
    rows = []
    tests = []
    for m in targets.margins:
        var = m.name
        design._check_columns(list(m.variables), "targets")
        cats = list(m.categories)
        if len(m.variables) == 1:
            s = design._data[m.variables[0]]
            valid = s.notna().to_numpy()
        else:
            # a joint margin: its cells are the combinations of the crossed variables
            parts = [design._data[v] for v in m.variables]
            valid = np.logical_and.reduce([p.notna().to_numpy() for p in parts])
            combos = list(zip(*[p.astype(object).to_numpy() for p in parts], strict=True))
            s = pd.Series([c if ok else None for c, ok in zip(combos, valid, strict=True)],
                          index=design._data.index, dtype=object)
        y = _indicators(s, cats)
        outside = valid & (y.sum(axis=1) == 0)
        if outside.any():
            extra = sorted({str(v) for v in s[outside]})
            raise DelibpollError(
                f"'{var}' has categories {extra} with no target; add them to the targets."
            )
        vm = valid.astype(float)[:, None]
        est, vcov, _ = ratio_estimates(design, y * vm, np.repeat(vm, len(cats), axis=1))
        n = y[valid].sum(axis=0)
        total = n.sum()
        for j, c in enumerate(cats):
            t = float(m.shares[j])
            rows.append(
                {
                    "variable": var, "category": c, "n": int(n[j]),
                    "unweighted_share": n[j] / total, "weighted_share": est[j],
                    "target_share": t, "difference": est[j] - t,
                    "std_difference": (est[j] - t) / np.sqrt(t * (1 - t)) if 0 < t < 1 else np.nan,
                }
            )
        expected = m.shares * total
        pearson = stats.chisquare(n, expected)
        wt = adjusted_wald((est - m.shares)[:-1], vcov[:-1, :-1], design.df)
        tests.append(
            {"variable": var, "test": "Pearson chi-square (unweighted counts)",
             "statistic": float(pearson.statistic), "df_num": float(len(cats) - 1),
             "df_den": float("inf"),
             "p_value": float(pearson.pvalue)}
        )
        tests.append(
            {"variable": var, "test": "design-based adjusted Wald F (weighted shares)",
             "statistic": wt.statistic, "df_num": wt.df_num, "df_den": wt.df_den,
             "p_value": wt.p_value}
        )
    return Representativeness(_tests=pd.DataFrame(tests), _frame=pd.DataFrame(rows))
