"""Design-based estimation: proportions, means and totals, overall and by domain.

Every estimate here is a ratio (or a total) of weighted sums, so one kernel serves all of
them (:mod:`delibpoll._ratios`): it builds the numerator and denominator columns for every
domain and category at once, computes the estimates, and gets their joint covariance from
the linearised influence values (or, on replicate designs, from the replicate weights).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ._arrays import read_only
from ._ci import CI_METHODS, NOTE_NO_DF, proportion_cis_noted, t_quantiles
from ._display import frame_html
from ._format import count, percent
from ._ratios import (
    Domains,
    cell_route,
    domain_summary,
    grouped_estimate,
    grouped_ratios,
    make_domains,
    numeric_estimate,
    ratio_columns,
    ratio_estimates,
    variable_codes,
    variable_values,
)
from ._types import CIMethod, MeanOrTotal, NaPolicy, Statistic
from ._validation import check_by, check_categories, check_choice, check_level, check_na
from ._variance import warn_single_psu
from .design import SurveyDesign, check_design
from .exceptions import DelibpollError, DelibpollWarning, DomainWarning

__all__ = ["CIMethod", "Estimate", "NaPolicy", "mean", "proportion", "total"]


@dataclass(frozen=True)
class Estimate:
    """Estimates with standard errors, confidence intervals and their joint covariance.

    Attributes
    ----------
    statistic : {"proportion", "mean", "total"}
    variable : str
    by : tuple of str
        Domain columns (empty for whole-population estimates).
    level : float
        Confidence level of the intervals.
    ci_method : str or None
        CI method for proportions; None for means and totals (t intervals).
    labels : tuple
        Row keys in order: the category (proportions without ``by``), the domain label
        (means and totals with ``by``; a tuple when several ``by`` columns are crossed),
        ``(domain, category)`` (proportions with ``by``), or the variable name.
    vcov : numpy.ndarray
        Joint covariance matrix of all the estimates, in ``labels`` order.
    design_df : float
        Degrees of freedom of the whole design (R ``degf``).
    n_missing : int
        Rows left out because ``variable`` was missing (``na="drop"``).

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, mean
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 6.0], "g": ["a", "a", "b", "b"]})
    >>> est = mean(SurveyDesign(df), "y", by="g")
    >>> est.estimate_of("b"), round(est.se_of("b"), 4)
    (4.5, 1.2247)
    >>> est.conf_int(0.9).round(3).loc["b"].tolist() == (
    ...     mean(SurveyDesign(df), "y", by="g", level=0.9).to_frame()
    ...     .set_index("g").loc["b", ["ci_lower", "ci_upper"]].round(3).tolist())
    True
    """

    statistic: Statistic
    variable: str
    by: tuple[str, ...]
    level: float
    ci_method: CIMethod | None
    labels: tuple[Hashable, ...]
    vcov: np.ndarray
    design_df: float
    n_missing: int
    _columns: Mapping[str, Any] = field(repr=False)
    # what the intervals need beyond the columns (R's nrow of each subset; on replicate
    # designs the logit-scale centre and SE), so that conf_int recomputes them at any level
    _ci_inputs: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # immutable in fact: read-only arrays, read-only mappings of read-only columns
        object.__setattr__(self, "vcov", read_only(self.vcov))
        object.__setattr__(self, "_columns", MappingProxyType(
            {k: read_only(v) if isinstance(v, np.ndarray) else tuple(v)
             for k, v in self._columns.items()}
        ))
        object.__setattr__(self, "_ci_inputs", MappingProxyType(
            {k: read_only(v) for k, v in self._ci_inputs.items()}
        ))

    def __getstate__(self) -> dict[str, Any]:
        # mapping proxies do not pickle: plain dicts of the same read-only values
        state = {k: v for k, v in self.__dict__.items() if k != "_frame"}
        state["_columns"] = dict(self._columns)
        state["_ci_inputs"] = dict(self._ci_inputs)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    @cached_property
    def _frame(self) -> pd.DataFrame:
        # built on first use: many estimates in a batch are only read through vcov/labels
        return pd.DataFrame({k: np.array(v) if isinstance(v, np.ndarray) else list(v)
                             for k, v in self._columns.items()})

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame, one row per estimate.

        Columns: ``variable`` (the estimated variable; left out when a ``by`` column has that
        name), the ``by`` columns, ``category`` (proportions only), ``estimate``, ``se``,
        ``ci_lower``, ``ci_upper``, ``df``, ``deff`` (design effect against simple random
        sampling with replacement, R ``deff="replace"``), ``n`` (unweighted respondents in
        the domain with a non-missing answer), ``n_eff`` (``p(1-p)/var`` for proportions,
        ``n/deff`` for means and totals), ``ci_note`` (empty for the usual interval; else
        why the interval is not: see :func:`proportion`).
        """
        return self._frame.copy()

    def row_of(self, label: Hashable) -> int:
        """Position of the row ``label`` in :attr:`labels` (and in :attr:`vcov`).

        ``label`` is an element of :attr:`labels` (a category, a domain label, a
        ``(domain, category)`` tuple, or the variable name), or a domain label alone when
        that domain has a single row.

        Raises
        ------
        DelibpollError
            No such row; the message lists the available keys.
        """
        labels = self.labels
        for i, lab in enumerate(labels):
            if lab == label:
                return i
        # a domain label alone when each domain has one row (means, totals)
        matches = [i for i, lab in enumerate(labels) if isinstance(lab, tuple) and lab[0] == label]
        if len(matches) == 1:
            return matches[0]
        raise DelibpollError(
            f"Row key {label!r} is not among the estimate's rows. Available keys: {list(labels)}. "
            "For proportions by domain use (domain, category) tuples."
        )

    def estimate_of(self, label: Hashable) -> float:
        """The point estimate of the row ``label`` (see :meth:`row_of`)."""
        return float(self._columns["estimate"][self.row_of(label)])

    def se_of(self, label: Hashable) -> float:
        """The standard error of the row ``label`` (see :meth:`row_of`)."""
        return float(self._columns["se"][self.row_of(label)])

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals at ``level``, recomputed from the stored estimates, standard
        errors, degrees of freedom and CI method (as statsmodels' ``conf_int``).

        The numbers are those :func:`proportion`, :func:`mean` or :func:`total` give when
        called with that ``level`` (the same code computes them).

        Parameters
        ----------
        level : float, default 0.95
            Confidence level in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Columns ``ci_lower`` and ``ci_upper``, indexed by :attr:`labels`.
        """
        level = check_level(level, "Estimate.conf_int")
        cols = self._columns
        est, se, df = cols["estimate"], cols["se"], cols["df"]
        if self.ci_method is None:
            lo, hi = _t_intervals(est, se, df, level)
        else:
            if "n_rows" not in self._ci_inputs:
                raise DelibpollError(
                    "This Estimate does not hold what its intervals need; recompute it with "
                    "proportion(..., level=...)."
                )
            rep_logit = None
            if "logit_centre" in self._ci_inputs:
                rep_logit = (self._ci_inputs["logit_centre"], self._ci_inputs["logit_se"])
            lo, hi, _ = _proportion_intervals(
                est, se, df, np.asarray(cols["n"]), self._ci_inputs["n_rows"], level,
                self.ci_method, rep_logit,
            )
        return pd.DataFrame({"ci_lower": lo, "ci_upper": hi}, index=_label_index(self.labels))

    @property
    def estimates(self) -> pd.Series:
        """The point estimates as a Series indexed by ``labels`` (a fresh copy)."""
        return pd.Series(
            self._frame["estimate"].to_numpy(copy=True), index=_label_index(self.labels),
            name="estimate",
        )

    def __repr__(self) -> str:
        by = f" by {', '.join(self.by)}" if self.by else ""
        head = f"Estimate({self.statistic} of {self.variable}{by}, level={self.level}"
        if self.ci_method:
            head += f", ci_method={self.ci_method!r}"
        return head + ")\n" + self._frame.to_string(index=False)

    def _repr_html_(self) -> str:
        """The estimates in fixed notation: proportions in %, bases with separators."""
        by = f" by {', '.join(self.by)}" if self.by else ""
        cap = (f"{self.statistic.capitalize()} of {self.variable}{by} ({percent(self.level)} "
               f"CI{', ' + self.ci_method if self.ci_method else ''})")
        formats: dict[str, Any] = {"n": count}
        if self.statistic == "proportion":
            formats |= {c: (lambda v: percent(v, 1)) for c in ("estimate", "se", "ci_lower", "ci_upper")}
        return frame_html(self._frame, caption=cap, formats=formats)


def _t_intervals(
    est: np.ndarray, se: np.ndarray, df: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """``est -/+ t(level, df) se`` (means and totals, R ``confint``)."""
    q = t_quantiles(level, df)
    return est - q * se, est + q * se


def _proportion_intervals(
    est: np.ndarray,
    se: np.ndarray,
    df: np.ndarray,
    n: np.ndarray,
    n_rows: np.ndarray,
    level: float,
    ci_method: CIMethod,
    rep_logit: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The intervals and notes of shares (see :func:`proportion`): ``n`` respondents and
    ``n_rows`` (R's nrow of the subset) per estimate; ``rep_logit`` the replicate logit-scale
    centre and SE (R's svyciprop on a replicate design), or None."""
    with np.errstate(divide="ignore", invalid="ignore"):
        # the quasibinomial dispersion (Pearson residuals) of a 0/1 variable is n/(n-1)
        phi = np.where(n > 1, n / (n - 1), np.nan)
    lo, hi, notes = proportion_cis_noted(est, se, df, level, ci_method, n_rows=n_rows, phi=phi,
                                         n=n)
    if rep_logit is not None:
        inner = (est > 0) & (est < 1) & (notes == "")
        q = t_quantiles(level, df)
        eta, se_eta = rep_logit
        lo = np.where(inner, 1 / (1 + np.exp(-(eta - q * se_eta))), lo)
        hi = np.where(inner, 1 / (1 + np.exp(-(eta + q * se_eta))), hi)
    return lo, hi, notes


def _label_index(labels: Sequence[Hashable]) -> pd.Index:
    if labels and all(isinstance(lab, tuple) for lab in labels):
        return pd.MultiIndex.from_tuples(list(labels))  # type: ignore[arg-type]
    return pd.Index(list(labels))


# ---------------------------------------------------------------------- validation helpers


def _domain_weighted_var(
    w: np.ndarray, y: np.ndarray, codes: np.ndarray, count: int, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per domain, R ``svyvar`` of ``y`` on the domain's subset (weighted variance times
    n / (n - 1), two-pass) and the domain's weight total; NaN variance below 2 respondents."""
    inset = valid & (w != 0)
    if inset.all():  # every row: no compacted copies, one row-sized buffer
        d, wi, yi = codes, w, y
    else:
        d, wi, yi = codes[inset], w[inset], y[inset]
    del inset
    n = np.bincount(d, minlength=count)
    wsum = np.bincount(d, weights=wi, minlength=count)
    with np.errstate(divide="ignore", invalid="ignore"):
        buf = np.multiply(wi, yi)
        mu = np.bincount(d, weights=buf, minlength=count) / wsum
        # wi * (yi - mu[d]) ** 2, in place
        np.take(mu, d, out=buf)
        np.subtract(yi, buf, out=buf)
        np.square(buf, out=buf)
        buf *= wi
        ss = np.bincount(d, weights=buf, minlength=count)
        del buf
        var = np.where(n >= 2, ss / wsum * n / (n - 1), np.nan)
    return var, wsum


def _warn_domains(domains: Domains, ns: list[int], dfs: list[float], func: str,
                  stacklevel: int = 3) -> None:
    empty = [domains.labels[g] for g in range(domains.count) if ns[g] == 0]
    if empty:
        warnings.warn(
            f"{func}: domain(s) {empty} of {domains.columns} have no respondents with an "
            "answer; their rows are NaN.",
            DomainWarning,
            stacklevel=stacklevel,
        )
    for g in range(domains.count):
        if ns[g] > 0 and dfs[g] == 0 and domains.columns:
            warn_single_psu(f"{domains.columns}={domains.labels[g]!r}")


# ---------------------------------------------------------------------- proportion
def proportion(
    design: SurveyDesign,
    variable: str,
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    ci_method: CIMethod = "logit",
    na: NaPolicy = "error",
) -> Estimate:
    """Weighted proportion of each category of ``variable``, overall or by domain.

    Parameters
    ----------
    design : SurveyDesign
    variable : str
        Treated as categorical whatever its dtype: one row per category (all declared
        categories of a categorical, in their order; otherwise the sorted distinct values,
        so a 0/1 column gives rows for 0 and 1).
    by : str or list of str, optional
        Domain columns; several are crossed (as R ``svyby``). Domains keep the full design
        (zero weight outside the domain), never filtered rows.
    level : float, default 0.95
    ci_method : {"logit", "likelihood", "asin", "beta", "mean", "xlogit", "wilson"}
        As R ``svyciprop``; ``"beta"`` is Korn-Graubard, ``"mean"`` the Wald interval,
        ``"wilson"`` the Wilson score interval on the effective sample size (see Notes).
    na : {"error", "drop"}
        Missing values raise an error (default) or are left out of this estimate only.

    Returns
    -------
    Estimate
        ``to_frame()`` columns: by columns, ``category``, ``estimate``, ``se``,
        ``ci_lower``, ``ci_upper``, ``df``, ``deff``, ``n``, ``n_eff``, ``ci_note``.

    Notes
    -----
    The estimate of category ``c`` in domain ``d`` is ``sum_d w 1[y=c] / sum_d w``. Its
    standard error is Taylor-linearised with the design's strata, PSUs and fpc, after
    removing the part explained by any raking or calibration (as R ``svyrecvar``). The df of
    a domain is its number of PSUs minus strata (R ``degf`` of the domain's subset), and the
    CI uses t quantiles on that df. ``n_eff = p(1-p)/var``. Wilson:
    ``(p + z^2/(2 n_eff) ± z sqrt(p(1-p)/n_eff + z^2/(4 n_eff^2))) / (1 + z^2/n_eff)`` with
    ``z`` the t quantile on the df.

    No share gets an interval of zero width. When its standard error is 0 the ``ci_note``
    column says why: a share of 0 or 1 gets, with ``"beta"`` and ``"wilson"``, the NCHS
    data-presentation interval (effective sample size = ``n``; note
    ``"SE 0 (p=0/1): NCHS n_eff=n"``) and NaN limits with the other methods (as R's
    ``svyciprop``; note ``"SE 0 (p=0/1): no CI"``); a domain inside one PSU (df 0) gets NaN
    (``"df 0: no CI"``); a share fixed exactly by the weighting keeps SE 0 and the point as
    its interval (``"SE 0: fixed by weighting"``).

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, proportion
    >>> df = pd.DataFrame({"q": ["yes", "no", "yes", "yes"], "w": [1.0, 1.0, 2.0, 1.0]})
    >>> proportion(SurveyDesign(df, weights="w"), "q").to_frame()["estimate"].round(3).tolist()
    [0.2, 0.8]
    """
    func = "proportion"
    design = check_design(design, func)
    level = check_level(level, func)
    check_choice(ci_method, "ci_method", func, CI_METHODS)
    na = check_na(na, func)
    by_cols = check_by(by, func)
    # on the cell route the design's compact codes go into the table's key as they are
    routed = design.replicates is None and cell_route(design) is not None
    codes, cats = variable_codes(design, variable, na, func, compact=routed)
    valid = codes >= 0
    n_missing = int(design.n - np.count_nonzero(valid))
    check_categories(variable, cats)
    domains = make_domains(design, by_cols, func, compact=routed)
    n_cat = len(cats)
    n_dom = domains.count
    rep_logit: tuple[np.ndarray, np.ndarray] | None = None
    reps = design.replicates
    summary = None
    if reps is None:
        est, vcov, _, summary = grouped_estimate(design, codes, np.eye(n_cat), domains.codes,
                                                 n_dom, valid, coded_missing=True)
    else:
        num, den = ratio_columns(codes, np.eye(n_cat), domains.codes, n_dom, valid)
        est, vcov, _ = ratio_estimates(design, num, den)
        if ci_method in ("logit", "likelihood"):
            if ci_method == "likelihood":
                raise DelibpollError(
                    "ci_method='likelihood' is not available on replicate-weight designs; use "
                    "'logit' (R's svyglm on the replicates) or 'beta'."
                )
            # as R's svyciprop on a replicate design: the quasibinomial intercept is refitted
            # on every replicate and its replicate variance gives the logit-scale SE
            rep_logit = reps.logit_ci_parts(design.weight_array, num, den, est)
    if summary is None:
        summary = domain_summary(design, np.asarray(domains.codes, dtype=np.int64), n_dom,
                                 valid)
    return shares_estimate(
        variable=variable, domains=domains, cats=cats, est=est, vcov=vcov, summary=summary,
        level=level, ci_method=ci_method, n_missing=n_missing, design_df=design.df,
        rep_logit=rep_logit,
    )


def shares_estimate(
    *,
    variable: str,
    domains: Domains,
    cats: Sequence[Hashable],
    est: np.ndarray,
    vcov: np.ndarray,
    summary: tuple[np.ndarray, np.ndarray, np.ndarray],
    level: float,
    ci_method: CIMethod,
    n_missing: int,
    design_df: float,
    rep_logit: tuple[np.ndarray, np.ndarray] | None = None,
) -> Estimate:
    """The :class:`Estimate` of :func:`proportion` from its parts: the shares (domain-major)
    and their vcov, the per-domain ``(n, df, n_rows)`` (R's nrow of the domain's subset), and
    on replicate designs the logit-scale centre and SE. Shared by the row-level design and
    the table of group sums (:mod:`delibpoll.cells`)."""
    func = "proportion"
    by_cols = list(domains.columns)
    cats = list(cats)
    n_cat = len(cats)
    n_dom = domains.count
    var = np.diag(vcov).copy()
    se = np.sqrt(np.clip(var, 0, None))
    ns_d, dfs_d, nrows_d = summary
    _warn_domains(domains, ns_d.tolist(), dfs_d.tolist(), func, stacklevel=4)
    n_k = np.repeat(ns_d, n_cat)
    df_k = np.repeat(dfs_d, n_cat)
    with np.errstate(divide="ignore", invalid="ignore"):
        # for a 0/1 variable the weighted variance in the domain is p(1-p) exactly, so R's
        # svyvar is p(1-p) n/(n-1) and the SRS variance p(1-p)/(n-1)
        pq = est * (1 - est)
        vsrs = np.where(n_k > 1, pq / (n_k - 1), np.nan)
        deff = np.where(vsrs > 0, var / vsrs, np.nan)
        # a share fixed by calibration has variance at rounding level: n_eff is infinite
        tiny = var <= (1e-12 * np.sqrt(pq)) ** 2
        n_eff = np.where(tiny & (est > 0) & (est < 1), np.inf,
                         np.where(var > 0, pq / var, np.nan))
    n_rows = np.repeat(nrows_d, n_cat)
    lo, hi, notes = _proportion_intervals(est, se, df_k, n_k, n_rows, level, ci_method, rep_logit)
    ci_inputs = {"n_rows": n_rows}
    if rep_logit is not None:
        ci_inputs.update(logit_centre=rep_logit[0], logit_se=rep_logit[1])
    cols: dict[str, Any] = {}
    if variable not in by_cols:
        cols["variable"] = [variable] * len(est)
    labels: list[Hashable]
    if by_cols:
        for i, col in enumerate(by_cols):
            cols[col] = [
                (lab[i] if isinstance(lab, tuple) else lab)
                for lab in domains.labels for _ in range(n_cat)
            ]
        labels = [(lab, c) for lab in domains.labels for c in cats]
    else:
        labels = list(cats)
    cols["category"] = cats * n_dom
    cols.update(estimate=est, se=se, ci_lower=lo, ci_upper=hi, df=df_k, deff=deff, n=n_k,
                n_eff=n_eff, ci_note=notes)
    return Estimate(
        statistic="proportion",
        variable=variable,
        by=tuple(by_cols),
        level=level,
        ci_method=ci_method,
        labels=tuple(labels),
        vcov=vcov,
        design_df=design_df,
        n_missing=n_missing,
        _columns=cols,
        _ci_inputs=ci_inputs,
    )


# ---------------------------------------------------------------------- mean and total
def _numeric(s: pd.Series, variable: str, func: str) -> np.ndarray:
    if isinstance(s.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
    ):
        raise DelibpollError(
            f"{func} needs a numeric variable, but '{variable}' has dtype {s.dtype}. Use "
            "proportion() for categorical variables, or convert the column to numbers."
        )
    return s.to_numpy(dtype=float, na_value=np.nan)


def _mean_or_total(
    design: SurveyDesign,
    variable: str,
    by: str | Sequence[str] | None,
    level: float,
    na: NaPolicy,
    statistic: MeanOrTotal,
) -> Estimate:
    func = statistic
    design = check_design(design, func)
    level = check_level(level, func)
    na = check_na(na, func)
    by_cols = check_by(by, func)
    s, valid, n_missing = variable_values(design, variable, na, func)
    if statistic == "total" and (isinstance(s.dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))):
        return _category_total(design, variable, by_cols, level, na)
    yv = _numeric(s, variable, func)
    del s
    all_valid = bool(valid.all())
    if not all_valid:
        yv = np.where(valid, yv, 0.0)
    if not np.all(np.isfinite(yv)):
        raise DelibpollError(f"Variable '{variable}' has infinite values; {func} needs finite ones.")
    if not valid.any():
        raise DelibpollError(f"Variable '{variable}' has no non-missing values to estimate from.")
    first = float(yv[int(np.argmax(valid))])
    if all_valid:
        constant = float(yv.min()) == float(yv.max())
    else:
        constant = bool(np.all((yv == first) | ~valid))
    if constant:
        warnings.warn(
            f"Variable '{variable}' is constant ({first:g}): its standard error is 0 and "
            "its design effect undefined.",
            DelibpollWarning,
            stacklevel=3,
        )
    domains = make_domains(design, by_cols, func)
    # from the table of group sums (sums of y, w y, w^2 y, w^2 y^2 per cell x domain) when
    # the design allows; else the distinct values are the answer patterns (a 0-10 scale has
    # 11: group sums again; a continuous variable goes row by row inside grouped_ratios)
    routed = numeric_estimate(design, yv, domains.codes, domains.count, valid,
                              totals=statistic == "total")
    if routed is not None:
        est, vcov, (ns_d, dfs_d, _) = routed
    else:
        uniq, pattern = np.unique(yv, return_inverse=True)
        est, vcov, _ = grouped_ratios(design, pattern.ravel(), uniq[:, None], domains.codes,
                                      domains.count, valid, totals=statistic == "total")
        if statistic == "total":
            empty = np.bincount(domains.codes[valid], minlength=domains.count) == 0
            est = np.where(empty, np.nan, est)
        ns_d, dfs_d, _ = domain_summary(design, domains.codes, domains.count, valid)
    svar, wsum = _domain_weighted_var(design.weight_array, yv, domains.codes, domains.count, valid)
    return numeric_estimate_of(
        statistic=statistic, variable=variable, domains=domains, est=est, vcov=vcov, n=ns_d,
        df=dfs_d, svar=svar, wsum=wsum, level=level, n_missing=n_missing, design_df=design.df,
    )


def numeric_estimate_of(
    *,
    statistic: MeanOrTotal,
    variable: str,
    domains: Domains,
    est: np.ndarray,
    vcov: np.ndarray,
    n: np.ndarray,
    df: np.ndarray,
    svar: np.ndarray,
    wsum: np.ndarray,
    level: float,
    n_missing: int,
    design_df: float,
) -> Estimate:
    """The :class:`Estimate` of :func:`mean` or :func:`total` from its parts: estimates and
    vcov by domain, per domain ``n``, df, R's ``svyvar`` of the variable in the domain
    (``svar``, for the design effect) and the domain's weight total. Shared by the row-level
    design and the table of group sums (:mod:`delibpoll.cells`)."""
    func = statistic
    by_cols = list(domains.columns)
    ns_d, dfs_d = n, df
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    _warn_domains(domains, ns_d.tolist(), dfs_d.tolist(), func, stacklevel=5)
    var = np.diag(vcov)
    with np.errstate(divide="ignore", invalid="ignore"):
        vsrs = svar / ns_d if statistic == "mean" else svar * wsum**2 / ns_d
        deff = np.where(vsrs > 0, var / vsrs, np.nan)
        n_eff = np.where(deff > 0, ns_d / deff, np.nan)
    cols: dict[str, Any] = {}
    if variable not in by_cols:
        cols["variable"] = [variable] * len(est)
    if by_cols:
        for i, col in enumerate(by_cols):
            cols[col] = [lab[i] if isinstance(lab, tuple) else lab for lab in domains.labels]
    # a mean or total with SE 0 (a constant variable, or fixed by weighting) keeps the point
    # as its interval, as R's confint, and says so; no df gives no interval
    notes = np.where(~np.isfinite(est), "",
                     np.where(~(dfs_d > 0), NOTE_NO_DF, np.where(se == 0, "SE 0", "")))
    lo, hi = _t_intervals(est, se, dfs_d, level)
    cols.update(estimate=est, se=se, ci_lower=lo, ci_upper=hi, df=dfs_d,
                deff=deff, n=ns_d, n_eff=n_eff, ci_note=notes.astype(object))
    labels = list(domains.labels) if by_cols else [variable]
    return Estimate(
        statistic=statistic,
        variable=variable,
        by=tuple(by_cols),
        level=level,
        ci_method=None,
        labels=tuple(labels),
        vcov=vcov,
        design_df=design_df,
        n_missing=n_missing,
        _columns=cols,
    )


def _category_total(
    design: SurveyDesign, variable: str, by_cols: list[str], level: float, na: NaPolicy
) -> Estimate:
    """Estimated population count of each category (R ``svytotal`` of a factor)."""
    func = "total"
    codes, cats = variable_codes(design, variable, na, func)
    valid = codes >= 0
    domains = make_domains(design, by_cols, func)
    n_cat, n_dom = len(cats), domains.count
    est, vcov, _ = grouped_ratios(design, np.where(valid, codes, 0), np.eye(n_cat),
                                  domains.codes, n_dom, valid, totals=True)
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    ns_d, dfs_d, _ = domain_summary(design, domains.codes, n_dom, valid)
    df_k = np.repeat(dfs_d, n_cat)
    lo, hi = _t_intervals(est, se, df_k, level)
    cols: dict[str, Any] = {}
    if variable not in by_cols:
        cols["variable"] = [variable] * len(est)
    for i, col in enumerate(by_cols):
        cols[col] = [(lab[i] if isinstance(lab, tuple) else lab)
                     for lab in domains.labels for _ in range(n_cat)]
    cols["category"] = cats * n_dom
    cols.update(estimate=est, se=se, ci_lower=lo, ci_upper=hi, df=df_k,
                n=np.repeat(ns_d, n_cat))
    labels: list[Hashable] = ([(lab, c) for lab in domains.labels for c in cats]
                              if by_cols else list(cats))
    return Estimate(statistic="total", variable=variable, by=tuple(by_cols), level=level,
                    ci_method=None, labels=tuple(labels), vcov=vcov, design_df=design.df,
                    n_missing=int(design.n - np.count_nonzero(valid)), _columns=cols)


def mean(
    design: SurveyDesign,
    variable: str,
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na: NaPolicy = "error",
) -> Estimate:
    """Weighted mean of a numeric variable, overall or by domain (R ``svymean``/``svyby``).

    The CI is ``estimate ± t(df) * se`` with the design (or domain) df.

    Returns
    -------
    Estimate
        ``to_frame()`` columns: by columns, ``estimate``, ``se``, ``ci_lower``,
        ``ci_upper``, ``df``, ``deff``, ``n``, ``n_eff`` (``n / deff``).

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, mean
    >>> df = pd.DataFrame({"trust": [2, 8, 6, 4], "w": [1.0, 1.0, 2.0, 1.0]})
    >>> float(mean(SurveyDesign(df, weights="w"), "trust").to_frame()["estimate"].iloc[0])
    5.2
    """
    return _mean_or_total(design, variable, by, level, na, "mean")


def total(
    design: SurveyDesign,
    variable: str,
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na: NaPolicy = "error",
) -> Estimate:
    """Weighted total of a numeric variable, or the estimated population count of each
    category of a categorical one, overall or by domain (R ``svytotal``, of a factor too).

    A categorical variable (a pandas categorical, text or other non-numeric column; a 0/1
    number is numeric) gives one row per category, as :func:`proportion`, with the joint
    covariance of the counts.

    Returns
    -------
    Estimate
        Same columns as :func:`mean` (numeric); for a categorical variable ``variable``, by
        columns, ``category``, ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``df``,
        ``n``.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, total
    >>> df = pd.DataFrame({"x": [1, 0, 1], "w": [10.0, 20.0, 30.0]})
    >>> float(total(SurveyDesign(df, weights="w"), "x").to_frame()["estimate"].iloc[0])
    40.0
    >>> df["sex"] = ["F", "M", "F"]
    >>> total(SurveyDesign(df, weights="w"), "sex").estimates.to_dict()
    {'F': 40.0, 'M': 20.0}
    """
    return _mean_or_total(design, variable, by, level, na, "total")
