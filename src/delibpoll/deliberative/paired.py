"""Before and after deliberation, the same people: :func:`paired_change` (inference layer).

Part of :mod:`delibpoll.deliberative`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .._ci import t_quantile, two_sided_p
from .._display import frame_html
from .._format import count, p_value
from .._ratios import domain_df, ratio_estimates
from .._types import CIMethod, ItemKind, values
from .._validation import check_choice, check_level
from ..design import SurveyDesign, check_design
from ..estimation import proportion
from ..exceptions import DelibpollError, DelibpollWarning, SmallSampleWarning
from ._common import categories, conf_int_frame, indicators, item_kind

__all__ = ["PairedChange", "paired_change"]


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


def _share_changed(
    design: SurveyDesign, changed: np.ndarray, valid: np.ndarray, level: float,
    ci_method: CIMethod,
) -> pd.Series:
    """The share of pairs whose answer changed, with its CI, by :func:`proportion` (the one
    estimation path: the pairs are a domain, the CI the caller's method, never zero-width)."""
    name = "changed"
    while name in design.columns:
        name = "_" + name
    col = pd.Series(
        pd.Categorical(np.where(changed > 0, "changed", "same"), categories=["changed", "same"]),
        index=design.index,
    ).where(valid)
    est = proportion(design.with_columns({name: col}), name, level=level,
                     ci_method=ci_method, na="drop")
    fr = est.to_frame()
    return fr[fr["category"] == "changed"].iloc[0]


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

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Confidence intervals of the ``change`` at ``level`` (default: the result's level,
        giving exactly ``ci_lower``/``ci_upper`` of :meth:`to_frame`):
        ``change -/+ t(level, df) se`` on the design df of the pairs.

        Parameters
        ----------
        level : float, optional
            Confidence level in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Columns ``ci_lower``, ``ci_upper``; indexed by ``category`` for categorical
            items.
        """
        return conf_int_frame(self._frame, "change", self.level if level is None else level,
                              "PairedChange.conf_int",
                              index="category" if self.kind == "categorical" else None)

    def to_frame(self) -> pd.DataFrame:
        """Columns: ``category`` (categorical items), ``before``, ``after``, ``change``,
        ``se``, ``ci_lower``, ``ci_upper``, ``df``, ``p_value``, ``n_pairs``, ``n_excluded``,
        and for numeric items ``t_paired``, ``p_paired_t``, ``wilcoxon``, ``p_wilcoxon``,
        ``standardised_change``."""
        return self._frame.copy()

    def __repr__(self) -> str:
        return (
            f"PairedChange({self.before} -> {self.after}, {self.kind}, n_pairs={self.n_pairs}, "
            f"excluded={self.n_excluded}; {self.test}: p={p_value(self.test_p_value)})\n"
            + self._frame.to_string(index=False)
        )

    def _repr_html_(self) -> str:
        """The paired change in fixed notation, p-values as "<0.001"."""
        cap = (f"{self.before} \u2192 {self.after}: {self.test}, p = {p_value(self.test_p_value)}; "
               f"{count(self.n_pairs)} pairs")
        return frame_html(self._frame, caption=cap,
                          formats={c: p_value for c in self._frame.columns if c.startswith("p_")})


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
    check_choice(ci_method, "ci_method", func, values(CIMethod))
    design.check_columns([before, after], "before/after")
    b = design.column(before)
    a = design.column(after)
    valid = (b.notna() & a.notna()).to_numpy()
    n_pairs = int(valid.sum())
    n_excluded = int((~valid).sum())
    if n_pairs < 2:
        raise DelibpollError(
            f"paired_change needs at least 2 people with both '{before}' and '{after}'; "
            f"found {n_pairs}."
        )
    k = item_kind([b, a], kind)
    w = design.weight_array
    dfree = domain_df(design, valid)
    q = t_quantile(level, dfree)
    vmask = valid.astype(float)[:, None]
    if k == "categorical":
        cats = categories([b, a], [before, after])
        yb = indicators(b, cats) * vmask
        ya = indicators(a, cats) * vmask
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
        bi = np.argmax(indicators(b, cats), axis=1)
        ai = np.argmax(indicators(a, cats), axis=1)
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
