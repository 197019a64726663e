"""Quantiles and medians with design-based confidence intervals, as R ``svyquantile``."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ._ci import t_quantile
from ._quantiles import QRULES, quantile_sorted, woodruff_probabilities
from ._ratios import domain_summary, grouped_ratios, make_domains, variable_values
from ._types import NaPolicy, QuantileCI, QuantileRule, values
from ._validation import check_level, check_na
from .design import SurveyDesign, check_design
from .exceptions import DelibpollError

__all__ = ["QuantileEstimate", "median", "quantile"]

_CI_METHODS = values(QuantileCI)
_ZERO_ONE = np.array([[0.0], [1.0]])


@dataclass(frozen=True)
class QuantileEstimate:
    """Quantiles with confidence intervals and standard errors (R ``svyquantile``).

    Attributes
    ----------
    variable : str
    by : tuple of str
        Domain columns (empty for the whole population).
    probabilities : tuple of float
    qrule : str
    ci_method : str
    level : float
    labels : tuple
        Row keys in order: ``(domain, probability)`` with ``by``, else the probability.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, median
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0, 5.0], "w": [1.0, 1.0, 1.0, 1.0, 4.0]})
    >>> median(SurveyDesign(df, weights="w"), "y").estimate_of(0.5)
    4.0
    """

    variable: str
    by: tuple[str, ...]
    probabilities: tuple[float, ...]
    qrule: QuantileRule
    ci_method: QuantileCI
    level: float
    labels: tuple[Hashable, ...]
    _columns: Mapping[str, Any] = field(repr=False)
    _call: Mapping[str, Any] = field(repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_call", MappingProxyType(dict(self._call)))
        cols = {}
        for k, v in self._columns.items():
            if isinstance(v, np.ndarray):
                v = np.array(v, copy=True)
                v.flags.writeable = False
            else:
                v = tuple(v)
            cols[k] = v
        object.__setattr__(self, "_columns", MappingProxyType(cols))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_columns"] = dict(self._columns)
        state["_call"] = dict(self._call)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame, one row per (domain,) probability.

        Columns: ``variable``, the ``by`` columns, ``quantile`` (the probability),
        ``estimate``, ``se`` (R's: the CI width over ``2 t(df)``), ``ci_lower``, ``ci_upper``,
        ``df``, ``n`` (respondents with non-zero weight and an answer).
        """
        return pd.DataFrame({k: np.array(v) if isinstance(v, np.ndarray) else list(v)
                             for k, v in self._columns.items()})

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals at ``level`` (as :meth:`Estimate.conf_int`).

        A quantile's interval is not ``estimate ± q se``: the Woodruff and score ends are
        data values found through the design at that level, so the estimate is recomputed
        with :func:`quantile` (same design, variable, rule, interval type, ``df`` and
        ``na``) at ``level``: the numbers are those ``quantile(..., level=level)`` gives.

        Parameters
        ----------
        level : float, default 0.95
            Confidence level in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Columns ``ci_lower`` and ``ci_upper``, indexed by :attr:`labels`.

        Examples
        --------
        >>> import pandas as pd
        >>> from delibpoll import SurveyDesign, quantile
        >>> df = pd.DataFrame({"y": [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]})
        >>> est = quantile(SurveyDesign(df), "y", 0.5)
        >>> est.conf_int(0.5).values.tolist()  # the 95% interval is (1, 6)
        [[3.0, 5.0]]
        """
        level = check_level(level, "QuantileEstimate.conf_int")
        if not self._call:
            raise DelibpollError(
                "This QuantileEstimate does not hold its design; recompute it with "
                "quantile(..., level=...)."
            )
        again = quantile(self._call["design"], self.variable, self.probabilities,
                         by=list(self.by) or None, ci_method=self.ci_method, qrule=self.qrule,
                         level=level, df=self._call["df"], na=self._call["na"])
        index: pd.Index
        if self.by:
            keys: list[tuple[Any, ...]] = []
            for key in self.labels:
                pair: tuple[Any, Any] = key  # type: ignore[assignment]
                dom = pair[0] if isinstance(pair[0], tuple) else (pair[0],)
                keys.append((*dom, pair[1]))
            index = pd.MultiIndex.from_tuples(keys, names=[*self.by, "quantile"])
        else:
            index = pd.Index(self.labels, name="quantile")
        fr = again.to_frame()
        return pd.DataFrame({"ci_lower": fr["ci_lower"].to_numpy(),
                             "ci_upper": fr["ci_upper"].to_numpy()}, index=index)

    def row_of(self, label: Hashable) -> int:
        """Position of the row ``label`` (a probability, or ``(domain, probability)``)."""
        for i, lab in enumerate(self.labels):
            if lab == label:
                return i
        raise DelibpollError(
            f"Row key {label!r} is not among the quantile's rows. Available keys: "
            f"{list(self.labels)}."
        )

    def estimate_of(self, label: Hashable) -> float:
        """The quantile of row ``label`` (see :meth:`row_of`)."""
        return float(self._columns["estimate"][self.row_of(label)])

    def se_of(self, label: Hashable) -> float:
        """The standard error of row ``label``."""
        return float(self._columns["se"][self.row_of(label)])

    def ci_of(self, label: Hashable) -> tuple[float, float]:
        """The confidence interval of row ``label``."""
        i = self.row_of(label)
        return float(self._columns["ci_lower"][i]), float(self._columns["ci_upper"][i])

    def __repr__(self) -> str:
        by = f" by {', '.join(self.by)}" if self.by else ""
        return (f"QuantileEstimate({self.variable}{by}, qrule={self.qrule!r}, "
                f"ci_method={self.ci_method!r}, level={self.level})\n"
                + self.to_frame().to_string(index=False))

    def _repr_html_(self) -> str:
        by = f" by {', '.join(self.by)}" if self.by else ""
        return (f"<p><b>Quantiles of {self.variable}{by}</b> ({self.level:.0%} CI, "
                f"{self.ci_method})</p>" + self.to_frame().to_html(index=False))


def _numeric(design: SurveyDesign, variable: str, na: NaPolicy, func: str
             ) -> tuple[np.ndarray, np.ndarray]:
    s, valid, _ = variable_values(design, variable, na, func)
    if isinstance(s.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
    ):
        raise DelibpollError(
            f"{func} needs a numeric variable, but '{variable}' has dtype {s.dtype}. Convert "
            "the column to numbers first (quantiles of categories are not defined)."
        )
    x = np.where(valid, s.to_numpy(dtype=float, na_value=np.nan), 0.0)
    if not np.all(np.isfinite(x)):
        raise DelibpollError(f"Variable '{variable}' has infinite values; {func} needs finite ones.")
    return x, valid


def _probabilities(quantiles: object, func: str) -> tuple[float, ...]:
    if isinstance(quantiles, int | float | np.floating) and not isinstance(quantiles, bool):
        quantiles = (quantiles,)
    try:
        probs = tuple(float(q) for q in quantiles)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        probs = ()
    if not probs or not all(0 <= q <= 1 for q in probs):
        raise DelibpollError(
            f"The 'quantiles' parameter of {func} must be probabilities in [0, 1] (a number or "
            f"a sequence of them, e.g. (0.25, 0.5, 0.75)); got {quantiles!r}."
        )
    return probs


def _indicator_means(design: SurveyDesign, ind: np.ndarray, dom: np.ndarray, n_dom: int,
                     valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per domain, the estimated share of rows with ``ind`` and its SE (R ``svymean`` of the
    0/1 variable on the domain's subset; calibration-aware, or from the replicates)."""
    est, vcov, _ = grouped_ratios(design, ind.astype(np.int64), _ZERO_ONE, dom, n_dom, valid)
    return est, np.sqrt(np.clip(np.diag(vcov), 0, None))


def _score_ends(design: SurveyDesign, x: np.ndarray, dom: np.ndarray, n_dom: int,
                valid: np.ndarray, subset_rows: list[np.ndarray], p: float, df: np.ndarray,
                level: float) -> list[tuple[float, float]]:
    """The proportions R's ``ffullerCI`` passes to the quantile rule: the roots of
    ``svymean(1[x > theta] - (1 - p)) / SE = -/+ t`` (a step function of theta), each mapped
    to the unweighted share of the subset's rows at or below it."""
    uniq = [np.unique(x[rows]) for rows in subset_rows]
    bounds = []
    for rows in subset_rows:
        xs = x[rows]
        q1, q3 = np.quantile(xs, [0.25, 0.75])
        iqr = q3 - q1
        bounds.append((xs.min() + iqr / 100, xs.max() - iqr / 100))

    def stat(k_idx: np.ndarray) -> np.ndarray:
        # theta in [u_k, u_{k+1}): the share of rows above theta, per domain
        theta = np.array([u[min(k, len(u) - 1)] for u, k in zip(uniq, k_idx, strict=True)])
        above = valid & (x > theta[dom])
        m, se = _indicator_means(design, above, dom, n_dom, valid)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray((m - (1 - p)) / se)

    out_lo: list[float] = [np.nan] * n_dom
    out_hi: list[float] = [np.nan] * n_dom
    for sign, out in ((1.0, out_lo), (-1.0, out_hi)):
        qlim = np.array([sign * t_quantile(level, d) for d in df])
        # gap k holds theta in [u_k, u_{k+1}); search the first gap inside the bracket where
        # stat - qlim < 0 (stat decreases in theta)
        lo_k = np.array([int(np.searchsorted(u, b[0], side="right")) - 1
                         for u, b in zip(uniq, bounds, strict=True)])
        hi_k = np.array([int(np.searchsorted(u, b[1], side="right")) - 1
                         for u, b in zip(uniq, bounds, strict=True)])
        lo_k = np.maximum(lo_k, 0)
        a, b = lo_k.copy(), hi_k.copy()  # f(a) > 0, f(b) < 0 (R's uniroot needs the sign change)
        while np.any(b - a > 1):
            mid = (a + b) // 2
            f_mid = stat(mid) - qlim
            active = b - a > 1
            pos = f_mid > 0
            a, b = np.where(active & pos, mid, a), np.where(active & ~pos, mid, b)
        fa, fb = stat(a) - qlim, stat(b) - qlim
        for g in range(n_dom):
            u = uniq[g]
            # the root sits at the jump u[b]; Brent returns the side with the smaller |f|
            k = a[g] if abs(fa[g]) < abs(fb[g]) else b[g]
            below = u[k] if k >= 0 else -np.inf
            out[g] = float(np.mean(x[subset_rows[g]] <= below))
    return list(zip(out_lo, out_hi, strict=True))


def quantile(
    design: SurveyDesign,
    variable: str,
    quantiles: float | Sequence[float] = (0.5,),
    *,
    by: str | Sequence[str] | None = None,
    ci_method: QuantileCI = "mean",
    qrule: QuantileRule = "math",
    level: float = 0.95,
    df: float | None = None,
    na: NaPolicy = "error",
) -> QuantileEstimate:
    """Weighted quantiles with confidence intervals, overall or by domain (R ``svyquantile``).

    Parameters
    ----------
    design : SurveyDesign
    variable : str
        A numeric column.
    quantiles : float or sequence of float, default (0.5,)
        Probabilities in [0, 1].
    by : str or list of str, optional
        Domain columns (crossed), as R ``svyby(..., svyquantile)``.
    ci_method : {"mean", "beta", "xlogit", "asin", "score", "quantile"}, default "mean"
        R's ``interval.type``: ``"mean"`` is Woodruff's interval (R's default); ``"beta"``,
        ``"xlogit"`` and ``"asin"`` transform the Woodruff proportion interval; ``"score"``
        is the Francisco-Fuller test inversion (linearised designs only); ``"quantile"``
        takes the replicate variance of the replicate quantiles (replicate designs only).
    qrule : {"math", "school", "shahvaish", "hf1", ..., "hf9"}, default "math"
        R's ``qrule``: ``"math"`` is the smallest ``x`` with weighted ECDF ``>= p`` (R's
        default); ``"hf1"``-``"hf9"`` the weighted Hyndman-Fan types.
    level : float, default 0.95
    df : float, optional
        Degrees of freedom of the interval's t quantiles (R ``df=``; ``float("inf")`` for
        normal quantiles). Default: the design's (for a domain, its subset's) df.
    na : {"error", "drop"}

    Returns
    -------
    QuantileEstimate
        ``to_frame()`` columns: ``variable``, by columns, ``quantile``, ``estimate``,
        ``se``, ``ci_lower``, ``ci_upper``, ``df``, ``n``.

    Notes
    -----
    Woodruff: with ``q = Q(p)`` from the rule, ``m = svymean(x <= q)`` (the estimated share
    at ``q``, not ``p``) gets an interval ``m -/+ t(df) SE(m)`` whose ends are mapped back
    through the same rule, so the CI ends are data values (NaN when a proportion end falls
    outside [0, 1]). As R, ``se = (upper - lower) / (2 t(df))``. These are sampling weights,
    not frequency weights. The SE of ``m`` accounts for strata, clusters, fpc and raking or
    calibration, or comes from the replicate weights.

    References
    ----------
    Woodruff, R. S. (1952). Confidence intervals for medians and other position measures.
    JASA 47, 635-646. Francisco, C. A. and Fuller, W. A. (1991). Quantile estimation with a
    complex survey design. Annals of Statistics 19, 454-469.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, quantile
    >>> df = pd.DataFrame({"y": [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0]})
    >>> est = quantile(SurveyDesign(df), "y", (0.25, 0.5))  # R: 2 (NaN, 5) and 4 (2, 6)
    >>> est.to_frame()[["quantile", "estimate", "ci_lower", "ci_upper"]].values.tolist()
    [[0.25, 2.0, nan, 5.0], [0.5, 4.0, 2.0, 6.0]]
    """
    func = "quantile"
    design = check_design(design, func)
    level = check_level(level, func)
    na = check_na(na, func)
    probs = _probabilities(quantiles, func)
    if qrule not in QRULES:
        raise DelibpollError(
            f"The 'qrule' parameter of {func} must be one of {list(QRULES)}; got {qrule!r}."
        )
    if ci_method not in _CI_METHODS:
        raise DelibpollError(
            f"The 'ci_method' parameter of {func} must be one of {list(_CI_METHODS)}; got "
            f"{ci_method!r}."
        )
    reps = design.replicates
    if ci_method == "quantile" and reps is None:
        raise DelibpollError(
            "ci_method='quantile' takes the replicate variance of replicate quantiles; this "
            "design has no replicate weights. Use 'mean' (Woodruff) or 'score', or build "
            "replicates with design.with_replicates(...)."
        )
    if ci_method == "score" and reps is not None:
        raise DelibpollError(
            "ci_method='score' is for linearised designs (as R); on a replicate design use "
            "'mean' (Woodruff) or 'quantile'."
        )
    if df is not None and (isinstance(df, bool) or not isinstance(df, int | float)
                           or np.isnan(df) or df <= 0):
        raise DelibpollError(
            f"The 'df' parameter of {func} must be a positive number (or float('inf')); got "
            f"{df!r}."
        )
    by_cols = [by] if isinstance(by, str) else list(by or [])
    x, valid = _numeric(design, variable, na, func)
    if not valid.any():
        raise DelibpollError(f"Variable '{variable}' has no non-missing values to estimate from.")
    domains = make_domains(design, by_cols, func)
    dom, n_dom = domains.codes, domains.count
    w = design.weight_array
    if reps is None:
        # R keeps a linearised design's probabilities and returns weights as 1/prob, so its
        # quantile rules see 1/(1/w): the last bit decides exact hits C_k == p W
        with np.errstate(divide="ignore"):
            w = 1.0 / (1.0 / w)
    ns, dfs_dom, n_rows = domain_summary(design, dom, n_dom, valid)
    design_dfs = dfs_dom if (by_cols or not valid.all()) else np.full(n_dom, design.df)
    dfs = design_dfs if df is None else np.full(n_dom, float(df))
    # the rows of R's subset of each domain (a calibrated linearised design keeps them all)
    keep_all = reps is None and design.is_calibrated
    members = [np.flatnonzero(valid & (dom == g) & (w != 0)) for g in range(n_dom)]
    subset_rows = [np.flatnonzero(valid) if keep_all else np.flatnonzero(valid & (dom == g))
                   for g in range(n_dom)]
    orders = [rows[np.argsort(x[rows], kind="stable")] for rows in members]
    sorted_x = [x[o] for o in orders]
    sorted_w = [w[o] for o in orders]

    est = np.full((n_dom, len(probs)), np.nan)
    lo = np.full_like(est, np.nan)
    hi = np.full_like(est, np.nan)
    for j, p in enumerate(probs):
        for g in range(n_dom):
            if len(orders[g]):
                est[g, j] = quantile_sorted(sorted_x[g], sorted_w[g], p, qrule)
        if ci_method == "quantile":
            assert reps is not None
            rw = reps.weights
            for g in range(n_dom):
                if not len(orders[g]):
                    continue
                sub = rw[orders[g]]
                thetas = np.array([[quantile_sorted(sorted_x[g], sub[:, r], p, qrule)]
                                   for r in range(sub.shape[1])])
                v = float(reps.variance(thetas, np.array([est[g, j]]))[0, 0])
                half = t_quantile(level, dfs[g]) * np.sqrt(v)
                lo[g, j], hi[g, j] = est[g, j] - half, est[g, j] + half
            continue
        if ci_method == "score":
            ends = _score_ends(design, x, dom, n_dom, valid, subset_rows, p, dfs, level)
        else:
            ind = valid & (x <= np.nan_to_num(est[:, j], nan=-np.inf)[dom])
            m, se_m = _indicator_means(design, ind, dom, n_dom, valid)
            ends = [woodruff_probabilities(m[g], se_m[g], dfs[g], level, ci_method,
                                           n_rows=n_rows[g], design_df=design_dfs[g])
                    for g in range(n_dom)]
        for g in range(n_dom):
            if len(orders[g]):
                lo[g, j] = quantile_sorted(sorted_x[g], sorted_w[g], ends[g][0], qrule)
                hi[g, j] = quantile_sorted(sorted_x[g], sorted_w[g], ends[g][1], qrule)
    with np.errstate(invalid="ignore"):
        crit = np.array([t_quantile(level, d) for d in dfs])
        se = (hi - lo) / (2 * crit[:, None])
    k = len(probs)
    cols: dict[str, Any] = {}
    if variable not in by_cols:
        cols["variable"] = [variable] * (n_dom * k)
    for i, col in enumerate(by_cols):
        cols[col] = [lab[i] if isinstance(lab, tuple) else lab
                     for lab in domains.labels for _ in probs]
    cols.update(quantile=np.tile(np.array(probs), n_dom), estimate=est.ravel(), se=se.ravel(),
                ci_lower=lo.ravel(), ci_upper=hi.ravel(), df=np.repeat(dfs, k),
                n=np.repeat(ns, k))
    labels: list[Hashable] = ([(lab, p) for lab in domains.labels for p in probs]
                              if by_cols else list(probs))
    return QuantileEstimate(
        variable=variable, by=tuple(by_cols), probabilities=probs, qrule=qrule,
        ci_method=ci_method, level=level, labels=tuple(labels), _columns=cols,
        _call={"design": design, "df": df, "na": na},
    )


def median(
    design: SurveyDesign,
    variable: str,
    *,
    by: str | Sequence[str] | None = None,
    ci_method: QuantileCI = "mean",
    qrule: QuantileRule = "math",
    level: float = 0.95,
    df: float | None = None,
    na: NaPolicy = "error",
) -> QuantileEstimate:
    """The weighted median with its confidence interval: :func:`quantile` at 0.5.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, median
    >>> df = pd.DataFrame({"trust": [2, 8, 6, 4, 7], "g": ["a", "a", "b", "b", "b"]})
    >>> median(SurveyDesign(df), "trust", by="g").to_frame()["estimate"].tolist()
    [2.0, 6.0]
    """
    return quantile(design, variable, (0.5,), by=by, ci_method=ci_method, qrule=qrule,
                    level=level, df=df, na=na)
