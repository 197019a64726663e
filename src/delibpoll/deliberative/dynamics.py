"""Group dynamics of small-group discussion: :func:`group_dynamics` (inference layer).

The Deliberative Poll literature checks that discussion in small groups does not push groups
to extremes or to the views of a few: how alike opinions are within groups before and after
(the intra-class correlation), whether the spread of opinion shrinks overall and within
groups, and whether people moved towards where the rest of their group started. Part of
:mod:`delibpoll.deliberative`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .._ci import t_quantile, two_sided_p
from .._ratios import ratio_estimates
from .._validation import check_level
from ..design import SurveyDesign, check_design
from ..exceptions import DelibpollError
from ._means import mean_rows

__all__ = ["GroupDynamics", "group_dynamics", "icc1"]


def icc1(y: np.ndarray, groups: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """One-way ANOVA intra-class correlation ICC(1) of ``y`` within ``groups`` (unweighted).

    ``ICC(1) = (MSB - MSW) / (MSB + (n_0 - 1) MSW)`` with ``n_0 = (N - sum n_g^2 / N) /
    (G - 1)`` (the average group size adjusted for unequal sizes; Donner 1986), ``F = MSB /
    MSW`` on ``(G - 1, N - G)`` df and the F-based interval of Shrout and Fleiss (1979):
    ``F_L = F / F_{1-a/2}``, ``F_U = F F_{1-a/2}(N - G, G - 1)``, bounds
    ``(F_X - 1) / (F_X + n_0 - 1)``.

    Parameters
    ----------
    y : numpy.ndarray
        The answers.
    groups : numpy.ndarray
        Integer group codes, same length.
    level : float, default 0.95

    Returns
    -------
    dict
        ``icc``, ``ci_lower``, ``ci_upper``, ``f``, ``df1``, ``df2``, ``p_value``, ``n0``,
        ``msb``, ``msw``, ``groups``.

    Examples
    --------
    >>> import numpy as np
    >>> r = icc1(np.array([1., 2, 3, 5, 6, 7]), np.array([0, 0, 0, 1, 1, 1]))
    >>> round(r["icc"], 4)   # MSB 24, MSW 1, n0 3: (24 - 1) / (24 + 2)
    0.8846
    """
    y = np.asarray(y, dtype=float)
    _, g = np.unique(groups, return_inverse=True)
    n_g = np.bincount(g)
    big_n, k = len(y), len(n_g)
    if k < 2 or big_n - k < 1:
        nan = float("nan")
        return {"icc": nan, "ci_lower": nan, "ci_upper": nan, "f": nan, "df1": float(k - 1),
                "df2": float(big_n - k), "p_value": nan, "n0": nan, "msb": nan, "msw": nan,
                "groups": float(k)}
    means = np.bincount(g, weights=y) / n_g
    grand = y.mean()
    msb = float(np.sum(n_g * (means - grand) ** 2) / (k - 1))
    msw = float(np.sum((y - means[g]) ** 2) / (big_n - k))
    n0 = float((big_n - np.sum(n_g**2) / big_n) / (k - 1))
    df1, df2 = float(k - 1), float(big_n - k)
    icc = (msb - msw) / (msb + (n0 - 1) * msw) if msb + (n0 - 1) * msw > 0 else float("nan")
    f = msb / msw if msw > 0 else float("inf")
    a = 1 - level
    fl = f / stats.f.ppf(1 - a / 2, df1, df2)
    fu = f * stats.f.ppf(1 - a / 2, df2, df1)
    return {"icc": float(icc), "ci_lower": float((fl - 1) / (fl + n0 - 1)),
            "ci_upper": float((fu - 1) / (fu + n0 - 1)), "f": float(f), "df1": df1, "df2": df2,
            "p_value": float(stats.f.sf(f, df1, df2)), "n0": n0, "msb": msb, "msw": msw,
            "groups": float(k)}


@dataclass(frozen=True)
class GroupDynamics:
    """Group dynamics of one question (see :func:`group_dynamics`)."""

    before: str
    after: str
    group: str
    level: float
    n_pairs: int
    n_groups: int
    note: str
    _frame: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per ``quantity``: ``icc_before``, ``icc_after`` (ICC(1), F-based CI, F
        test p), ``icc_change``; ``variance_before``, ``variance_after``,
        ``variance_change``, ``sd_before``, ``sd_after`` (overall spread, design-based SE and
        CI); ``within_variance_before``, ``within_variance_after``,
        ``within_variance_change`` (pooled within groups); ``movement_slope`` (change on the
        rest of the group's starting mean). Columns ``quantity``, ``estimate``, ``se``,
        ``ci_lower``, ``ci_upper``, ``df``, ``p_value``, ``method``."""
        return self._frame.copy()

    def __repr__(self) -> str:
        return (f"GroupDynamics({self.before} -> {self.after} in {self.n_groups} groups '"
                f"{self.group}', n_pairs={self.n_pairs})\n"
                + self._frame.drop(columns="method").to_string(index=False))


def group_dynamics(
    design: SurveyDesign,
    before: str,
    after: str,
    *,
    group: str | None = None,
    level: float = 0.95,
) -> GroupDynamics:
    """How alike discussion groups were before and after deliberation, for one question.

    Parameters
    ----------
    design : SurveyDesign
        Tier 1, one row per participant. The discussion group is ``group``, or the design's
        cluster ids (``ids=``) when ``group`` is not given.
    before, after : str
        Numeric answers (a score, a 0-10 scale, or 0/1) before and after.
    group : str, optional
        The discussion-group column (default: the design's ``ids``).
    level : float, default 0.95

    Returns
    -------
    GroupDynamics

    Notes
    -----
    Only people with both answers (and in a group of two or more) are used.

    * **ICC(1)**, unweighted, as the literature uses it: :func:`icc1` (one-way ANOVA with
      ``n_0`` for unequal group sizes, F test that it is 0, Shrout-Fleiss F interval).
      ``icc_change`` is descriptive (no SE).
    * **Spread overall**: ``variance`` is R's ``svyvar``: ``v = sum w (y - ybar)^2 / sum w *
      n / (n - 1)``, its SE the linearised SE of the mean of ``(y - ybar)^2 n / (n - 1)``
      (the design's clusters and calibration respected). Before and after are estimated
      jointly, so ``variance_change`` has the SE of a paired difference. ``sd`` is
      ``sqrt(v)`` with delta-method SE ``se_v / (2 sd)``.
    * **Spread within groups**: the weighted mean of squared deviations from one's own
      group's weighted mean times ``n / (n - G)`` (the ANOVA ``MSW`` with equal weights),
      SE as for ``svyvar`` (group means treated as fixed).
    * **Movement towards the group**: the design-based slope (R ``svyglm(change ~ m)``) of
      each person's change on ``m``, the weighted mean starting answer of the *rest* of
      their group. Discussion groups are assigned at random in a Deliberative Poll, so
      without group influence the slope is 0 in expectation; a positive slope says people
      moved towards where the rest of their group started. Leaving oneself out avoids the
      pull of regression to the mean, which otherwise makes the slope positive by
      construction. t test on the design df minus 1 (as ``svyglm``).

    All of these describe the deliberating sample; none is a randomised comparison.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, group_dynamics
    >>> df = pd.DataFrame({"g": [1, 1, 1, 2, 2, 2], "pre": [1, 2, 3, 5, 6, 7],
    ...                    "post": [2, 2, 3, 5, 5, 6]})
    >>> res = group_dynamics(SurveyDesign(df), "pre", "post", group="g")
    >>> round(float(res.to_frame().set_index("quantity").loc["icc_before", "estimate"]), 4)
    0.8846
    """
    func = "group_dynamics"
    design = check_design(design, func)
    level = check_level(level, func)
    design.check_columns([before, after], "before/after")
    gcol = group if group is not None else design.ids
    if gcol is None:
        raise DelibpollError(
            f"{func} needs the discussion group: pass group='<column>' or build the design "
            "with ids='<group column>'."
        )
    design.check_columns([gcol], "group")
    b = pd.to_numeric(design.column(before), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    a = pd.to_numeric(design.column(after), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    for name, raw, num in ((before, design.column(before), b), (after, design.column(after), a)):
        if (raw.notna().to_numpy() & np.isnan(num)).any():
            raise DelibpollError(
                f"{func} needs numeric answers in '{name}' (a score or scale); it has "
                "non-numeric values. Score the answers first."
            )
    codes, _ = design.column_codes(gcol)
    w = design.weight_array
    valid0 = ~np.isnan(b) & ~np.isnan(a) & (codes >= 0) & (w != 0)
    size = np.bincount(codes[valid0], minlength=int(codes.max()) + 1)
    valid = valid0 & (size[np.where(codes >= 0, codes, 0)] >= 2)
    n = int(valid.sum())
    groups_used = np.unique(codes[valid])
    if n < 3 or len(groups_used) < 2:
        raise DelibpollError(
            f"{func} needs at least two groups of two or more people with both '{before}' and "
            f"'{after}'; found {n} people in {len(groups_used)} groups."
        )
    g = codes[valid]
    rows = []
    icc = {}
    for which, y in (("before", b), ("after", a)):
        r = icc1(y[valid], g, level)
        icc[which] = r["icc"]
        rows.append({"quantity": f"icc_{which}", "estimate": r["icc"], "se": float("nan"),
                     "ci_lower": r["ci_lower"], "ci_upper": r["ci_upper"], "df": r["df2"],
                     "p_value": r["p_value"],
                     "method": f"ICC(1), one-way ANOVA, n0={r['n0']:.4g}, F({r['df1']:.0f}, "
                               f"{r['df2']:.0f})={r['f']:.4g}"})
    rows.append({"quantity": "icc_change", "estimate": icc["after"] - icc["before"],
                 "se": float("nan"), "ci_lower": float("nan"), "ci_upper": float("nan"),
                 "df": float("nan"), "p_value": float("nan"), "method": "descriptive"})
    b0 = np.where(valid, b, 0.0)
    a0 = np.where(valid, a, 0.0)
    wv = np.where(valid, w, 0.0)
    # overall spread (svyvar), jointly before and after
    mb, ma = np.sum(wv * b0) / wv.sum(), np.sum(wv * a0) / wv.sum()
    c = n / (n - 1)
    vb, va = (b0 - mb) ** 2 * c, (a0 - ma) ** 2 * c
    n_gr = len(groups_used)
    cw = n / (n - n_gr)
    gsum_b = np.bincount(codes[valid], weights=(wv * b0)[valid], minlength=len(size))
    gsum_a = np.bincount(codes[valid], weights=(wv * a0)[valid], minlength=len(size))
    gw = np.bincount(codes[valid], weights=wv[valid], minlength=len(size)).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        gm_b, gm_a = gsum_b / gw, gsum_a / gw
    cc = np.where(codes >= 0, codes, 0)
    wb = np.where(valid, (b0 - gm_b[cc]) ** 2 * cw, 0.0)
    wa = np.where(valid, (a0 - gm_a[cc]) ** 2 * cw, 0.0)
    spread = mean_rows(
        design,
        ["variance_before", "variance_after", "variance_change", "within_variance_before",
         "within_variance_after", "within_variance_change"],
        np.column_stack([vb, va, va - vb, wb, wa, wa - wb]), level, valid,
    )
    spread["method"] = ["svyvar", "svyvar", "paired difference of svyvar",
                        "pooled within-group variance", "pooled within-group variance",
                        "paired difference"]
    for which, i in (("before", 0), ("after", 1)):
        v, se = float(spread["estimate"].iloc[i]), float(spread["se"].iloc[i])
        sd = float(np.sqrt(v))
        q = t_quantile(level, float(spread["df"].iloc[i]))
        sse = se / (2 * sd) if sd > 0 else float("nan")
        rows.append({"quantity": f"sd_{which}", "estimate": sd, "se": sse,
                     "ci_lower": sd - q * sse, "ci_upper": sd + q * sse,
                     "df": float(spread["df"].iloc[i]), "p_value": float("nan"),
                     "method": "sqrt(svyvar), delta-method SE"})
    spread = spread.rename(columns={"measure": "quantity"}).drop(columns="n")
    spread.loc[~spread["quantity"].str.endswith("change"), "p_value"] = float("nan")
    # movement towards the rest of the group's starting mean
    with np.errstate(divide="ignore", invalid="ignore"):
        loo = np.where(valid, (gsum_b[cc] - wv * b0) / (gw[cc] - wv), 0.0)
    loo = np.where(valid & np.isfinite(loo), loo, 0.0)
    d = a0 - b0
    xbar = np.sum(wv * loo) / wv.sum()
    dbar = np.sum(wv * d) / wv.sum()
    xc = np.where(valid, loo - xbar, 0.0)
    num = (xc * (d - dbar))[:, None]
    den = (xc**2)[:, None]
    slope, vs, _ = ratio_estimates(design, num, den)
    s_se = float(np.sqrt(max(vs[0, 0], 0.0)))
    dfs = float(mean_rows(design, ["x"], d, level, valid)["df"].iloc[0]) - 1
    q = t_quantile(level, dfs)
    rows.append({"quantity": "movement_slope", "estimate": float(slope[0]), "se": s_se,
                 "ci_lower": float(slope[0]) - q * s_se, "ci_upper": float(slope[0]) + q * s_se,
                 "df": dfs,
                 "p_value": float(two_sided_p(np.array([slope[0] / s_se]), dfs)[0])
                 if s_se > 0 else float("nan"),
                 "method": "svyglm slope of change on the rest of the group's starting mean"})
    frame = pd.concat([pd.DataFrame(rows[:3]), spread, pd.DataFrame(rows[3:])],
                      ignore_index=True)
    frame = frame[["quantity", "estimate", "se", "ci_lower", "ci_upper", "df", "p_value", "method"]]
    note = ("Descriptive: ICCs, spreads and the movement slope describe the deliberating "
            "sample; discussion groups are compared with each other, not with people who did "
            "not deliberate.")
    return GroupDynamics(before=before, after=after, group=str(gcol), level=level, n_pairs=n,
                         n_groups=n_gr, note=note, _frame=frame)
