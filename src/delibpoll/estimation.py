"""Design-based estimation: proportions, means and totals, overall and by domain.

Every estimate here is a ratio (or a total) of weighted sums, so one routine serves all of
them: it builds the numerator and denominator columns for every domain and category at
once, computes the estimates, and gets their joint covariance from the linearised influence
values (or, on replicate designs, from the replicate weights).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ._ci import CI_METHODS, NOTE_NO_DF, CIMethod, proportion_cis_noted, t_quantiles
from ._variance import (
    domain_average_factors,
    domain_df,
    grouped_linearizer,
    grouped_vcov,
    linearized_vcov,
    warn_single_psu,
)
from .exceptions import DelibpollError, DelibpollWarning, DomainWarning

if TYPE_CHECKING:
    from .design import SurveyDesign

__all__ = ["CIMethod", "Estimate", "NaPolicy", "mean", "proportion", "total"]

NaPolicy = Literal["error", "drop"]
Statistic = Literal["proportion", "mean", "total"]


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
    """

    statistic: Statistic
    variable: str
    by: tuple[str, ...]
    level: float
    ci_method: str | None
    labels: tuple[Hashable, ...]
    vcov: np.ndarray
    design_df: float
    n_missing: int
    _columns: Mapping[str, Any] = field(repr=False)

    def __post_init__(self) -> None:
        # immutable in fact: read-only arrays, read-only mapping of read-only columns
        object.__setattr__(self, "vcov", read_only(self.vcov))
        object.__setattr__(self, "_columns", MappingProxyType(
            {k: read_only(v) if isinstance(v, np.ndarray) else tuple(v)
             for k, v in self._columns.items()}
        ))

    @cached_property
    def _frame(self) -> pd.DataFrame:
        # built on first use: many estimates in a batch are only read through vcov/labels
        return pd.DataFrame({k: np.array(v) if isinstance(v, np.ndarray) else list(v)
                             for k, v in self._columns.items()})

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame, one row per estimate.

        Columns: the ``by`` columns, ``category`` (proportions only), ``estimate``, ``se``,
        ``ci_lower``, ``ci_upper``, ``df``, ``deff`` (design effect against simple random
        sampling with replacement, R ``deff="replace"``), ``n`` (unweighted respondents in
        the domain with a non-missing answer), ``n_eff`` (``p(1-p)/var`` for proportions,
        ``n/deff`` for means and totals), ``ci_note`` (empty for the usual interval; else
        why the interval is not: see :func:`proportion`).
        """
        return self._frame.copy()

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
        by = f" by {', '.join(self.by)}" if self.by else ""
        return (
            f"<p><b>{self.statistic.capitalize()} of {self.variable}{by}</b> "
            f"({self.level:.0%} CI{', ' + self.ci_method if self.ci_method else ''})</p>"
            + self._frame.to_html(index=False)
        )


def read_only(a: Any) -> np.ndarray:
    """A read-only copy of ``a`` (results hand out arrays that cannot be edited)."""
    out = np.array(a, copy=True)
    out.flags.writeable = False
    return out


def _label_index(labels: Sequence[Hashable]) -> pd.Index:
    if labels and all(isinstance(lab, tuple) for lab in labels):
        return pd.MultiIndex.from_tuples(list(labels))  # type: ignore[arg-type]
    return pd.Index(list(labels))


# ---------------------------------------------------------------------- validation helpers
def check_design(design: object, func: str) -> SurveyDesign:
    from .design import SurveyDesign

    if not isinstance(design, SurveyDesign):
        raise DelibpollError(
            f"{func} needs a SurveyDesign as its first argument; got {type(design).__name__}. "
            "Build one with delibpoll.SurveyDesign(df, weights=...)."
        )
    return design


def check_level(level: object, func: str) -> float:
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise DelibpollError(
            f"The 'level' parameter of {func} must be a float in (0, 1). Got {level!r} instead."
            + (" Use 0.95 for a 95% interval." if isinstance(level, int | float) and level > 1 else "")
        )
    return float(level)


def _check_na(na: object, func: str) -> NaPolicy:
    if na not in ("error", "drop"):
        raise DelibpollError(
            f"The 'na' parameter of {func} must be 'error' or 'drop'; got {na!r}."
        )
    return "error" if na == "error" else "drop"


def _by_list(by: str | Sequence[str] | None, func: str) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    if isinstance(by, Sequence) and all(isinstance(b, str) for b in by) and len(by) > 0:
        return list(by)
    raise DelibpollError(
        f"The 'by' parameter of {func} must be a column name or a list of column names; "
        f"got {by!r}."
    )


def category_codes(s: pd.Series) -> tuple[np.ndarray, list[Hashable]]:
    """Codes (-1 missing) and categories: declared order for categoricals, else sorted."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64), list(s.cat.categories)
    codes, uniques = pd.factorize(s, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64), [u.item() if hasattr(u, "item") else u for u in uniques]


@dataclass(frozen=True)
class Domains:
    codes: np.ndarray  # (n,) domain index
    labels: list[Hashable]  # per domain: scalar (one by) or tuple (several); [None] if no by
    columns: list[str]

    @property
    def count(self) -> int:
        return len(self.labels)


def domain_matrix(codes: np.ndarray, count: int, valid: np.ndarray) -> np.ndarray:
    """(n x count) indicator of each row's domain, zero for rows not in the base."""
    dmat = np.zeros((len(codes), count))
    dmat[np.arange(len(codes)), codes] = 1.0
    dmat *= valid[:, None]
    return dmat


MAX_DOMAINS = 1_000  # crossed by= columns: each declared combination is a row (and a vcov block)


def make_domains(design: SurveyDesign, by: list[str], func: str) -> Domains:
    n = design.n
    if not by:
        return Domains(np.zeros(n, dtype=np.int64), [None], [])
    design._check_columns(by, "by")
    codes_list = []
    cats_list = []
    for col in by:
        c, cats = design._column_codes(col)
        n_missing = int((c < 0).sum())
        if n_missing:
            raise DelibpollError(
                f"The 'by' column '{col}' of {func} has {n_missing} missing value(s). Domains "
                "must cover every row: recode missing values to a category such as "
                "'Not known' before estimating."
            )
        codes_list.append(c)
        cats_list.append(cats)
    if len(by) == 1:
        return Domains(codes_list[0], cats_list[0], by)
    n_domains = 1
    for cats in cats_list:
        n_domains *= len(cats)  # Python int: exact, never wraps
    if n_domains > MAX_DOMAINS:
        sizes = " x ".join(f"{col} ({len(cats)})" for col, cats in zip(by, cats_list, strict=True))
        raise DelibpollError(
            f"The 'by' columns of {func} cross into {n_domains:,} domains ({sizes}), more than "
            f"the {MAX_DOMAINS:,} delibpoll reports (every combination of the declared "
            "categories is a domain). Cross fewer columns, or combine them into one column "
            "holding only the combinations you need."
        )
    code = np.zeros(n, dtype=np.int64)
    labels: list[Hashable] = [()]
    for c, cats in zip(codes_list, cats_list, strict=True):
        code = code * len(cats) + c
        labels = [lab + (cat,) for lab in labels for cat in cats]  # type: ignore[operator]
    return Domains(code, labels, by)


def variable_values(
    design: SurveyDesign, variable: str, na: NaPolicy, func: str
) -> tuple[pd.Series, np.ndarray, int]:
    _check_variable(design, variable, func)
    s = design._data[variable]
    missing = s.isna().to_numpy()
    n_missing = int(missing.sum())
    _check_missing(variable, n_missing, na)
    return s, ~missing, n_missing


def _check_variable(design: SurveyDesign, variable: object, func: str) -> None:
    if not isinstance(variable, str):
        hint = (
            f" The data has a column {variable!r}, but delibpoll needs text column names: "
            "rename them first, e.g. df.columns = df.columns.map(str)."
            if variable in design.data.columns
            else ""
        )
        raise DelibpollError(
            f"The 'variable' parameter of {func} must be a column name (str); got "
            f"{variable!r}.{hint}"
        )
    design._check_columns([variable], "variable")


def _check_missing(variable: str, n_missing: int, na: NaPolicy) -> None:
    if n_missing and na == "error":
        raise DelibpollError(
            f"Variable '{variable}' has {n_missing} missing value(s). Pass na='drop' to leave "
            "those rows out of this estimate (the result reports how many), or recode them "
            "to a category such as \"Don't know\" to keep them in the base."
        )


def _variable_codes(
    design: SurveyDesign, variable: str, na: NaPolicy, func: str
) -> tuple[np.ndarray, list[Hashable]]:
    """Category codes of a categorical ``variable`` (-1 missing), with the ``na`` check."""
    _check_variable(design, variable, func)
    codes, cats = design._column_codes(variable)
    n_missing = int(np.count_nonzero(codes < 0))
    _check_missing(variable, n_missing, na)
    return codes, cats


# ---------------------------------------------------------------------- core
def ratio_estimates(
    design: SurveyDesign, num: np.ndarray, den: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates ``sum(w num) / sum(w den)`` (totals when ``den`` is None) and their vcov.

    Returns ``(estimates (K,), vcov (K, K), denominators (K,))``.
    """
    w = design._w
    if den is None:
        est = w @ num
        x = w[:, None] * num
        dsum = np.full(num.shape[1], w.sum())
    else:
        dsum = w @ den
        with np.errstate(divide="ignore", invalid="ignore"):
            est = (w @ num) / dsum
            # x = w (num - den est) / dsum, built in one buffer (large temporaries are slow)
            x = np.multiply(den, est[None, :])
            np.subtract(num, x, out=x)
            x *= w[:, None]
            x /= dsum[None, :]
        empty = ~(dsum > 0)
        if empty.any():
            est = np.where(empty, np.nan, est)
            x[:, empty] = 0.0
    if design._replicates is not None:
        vcov = design._replicates.ratio_vcov(num, den, est)
    else:
        vcov = linearized_vcov(design, x)
    if den is not None:
        empty = ~(dsum > 0)
        if empty.any():
            vcov[empty, :] = np.nan
            vcov[:, empty] = np.nan
    return est, vcov, dsum


# the grouped path builds a (groups x estimates) table; beyond this many groups the direct
# n x K computation is as cheap
MAX_GROUPS = 1024


def ratio_columns(
    pattern: np.ndarray,
    values: np.ndarray,
    domain_codes: np.ndarray,
    n_domains: int,
    valid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The n x K numerator and denominator columns of :func:`grouped_ratios` for
    :func:`ratio_estimates` (domain-major, column ``g * L + l``)."""
    n = len(pattern)
    n_val = values.shape[1]
    dmat = domain_matrix(domain_codes, n_domains, valid)
    rows = values[np.where(valid, pattern, 0)]
    num = (dmat[:, :, None] * rows[:, None, :]).reshape(n, n_domains * n_val)
    return num, np.repeat(dmat, n_val, axis=1)


def grouped_ratios(
    design: SurveyDesign,
    pattern: np.ndarray,
    values: np.ndarray,
    domain_codes: np.ndarray,
    n_domains: int,
    valid: np.ndarray,
    *,
    totals: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratios ``sum_d w values[pattern] / sum_d w`` over the valid rows of every domain
    (with ``totals=True`` the numerators ``sum_d w values[pattern]`` themselves).

    Each row's answer is coded by ``pattern`` (n,), an index into the rows of ``values``
    (P x L): for a categorical question ``pattern`` is the category code and ``values`` the
    identity, so the ratios are the category shares. Rows outside ``valid`` are left out of
    numerator and denominator. Returns ``(estimates, vcov, denominators)`` like
    :func:`ratio_estimates`, domain-major (estimate ``g * L + l``), computed from group-level
    sums when the design allows (no replicate weights, at most one calibration step) and
    from the n x K columns otherwise; both give the same numbers. With
    ``lonely_psu="average"`` each domain's variance is scaled by the strata present in it
    (:func:`~delibpoll._variance.domain_average_factors`), as R's ``svyby``; the covariance
    of two domains by the geometric mean of their factors.
    """
    est, vcov, dsum = _grouped_ratios(design, pattern, values, domain_codes, n_domains, valid,
                                      totals)
    # lonely_psu="average" scales each domain by the strata present in it, as R's svyby
    factors = domain_average_factors(design, domain_codes, n_domains, valid)
    if factors is not None:
        root = np.sqrt(np.repeat(factors, values.shape[1]))
        vcov = vcov * root[:, None] * root[None, :]
    return est, vcov, dsum


def _grouped_ratios(
    design: SurveyDesign,
    pattern: np.ndarray,
    values: np.ndarray,
    domain_codes: np.ndarray,
    n_domains: int,
    valid: np.ndarray,
    totals: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_pat, n_val = values.shape
    n_groups = n_domains * n_pat + 1
    lin = grouped_linearizer(design) if n_groups <= MAX_GROUPS else None
    if lin is None:
        num, den = ratio_columns(pattern, values, domain_codes, n_domains, valid)
        return ratio_estimates(design, num, None if totals else den)
    w = design._w
    u = np.where(valid, domain_codes * n_pat + pattern, n_groups - 1)
    wg = np.bincount(u, weights=w, minlength=n_groups)[:-1].reshape(n_domains, n_pat)
    g_idx = np.arange(n_domains)
    z = np.zeros((n_groups, n_domains * n_val))
    if totals:
        # z[(g, p), (g, l)] = values[p, l]; as ratio_estimates, the denominators are the
        # total weight
        z[:-1].reshape(n_domains, n_pat, n_domains, n_val)[g_idx, :, g_idx, :] = values
        vcov = grouped_vcov(lin, w, u, n_groups, z)
        return (wg @ values).ravel(), vcov, np.full(n_domains * n_val, w.sum())
    dsum = wg.sum(axis=1)
    empty = ~(dsum > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (wg @ values) / dsum[:, None]
        inv = np.where(empty, 0.0, 1.0 / dsum)
    est[empty] = np.nan
    # z[(g, p), (g, l)] = (values[p, l] - est[g, l]) / dsum[g]: block diagonal by domain
    blocks = (values[None, :, :] - np.where(empty[:, None], 0.0, est)[:, None, :]) * inv[:, None, None]
    z[:-1].reshape(n_domains, n_pat, n_domains, n_val)[g_idx, :, g_idx, :] = blocks
    vcov = grouped_vcov(lin, w, u, n_groups, z)
    if empty.any():
        bad = np.repeat(empty, n_val)
        vcov[bad, :] = np.nan
        vcov[:, bad] = np.nan
    return est.ravel(), vcov, np.repeat(dsum, n_val)


def domain_summary(
    design: SurveyDesign, domain_codes: np.ndarray, n_domains: int, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per domain: respondents with a non-zero weight and an answer (``n``), R's df of the
    domain's subset, and R's ``nrow`` of that subset (for ``beta``/``likelihood`` CIs)."""
    w = design._w
    inset = valid & (w != 0)
    d_in = domain_codes[inset]
    ns = np.bincount(d_in, minlength=n_domains)
    n_rows = np.bincount(domain_codes[valid], minlength=n_domains).astype(float)
    if design._replicates is None and design.is_calibrated:
        n_rows = np.full(n_domains, float(design.n))
    if design._replicates is not None:
        dfs = np.array([domain_df(design, (domain_codes == g) & valid) if ns[g] else np.nan
                        for g in range(n_domains)])
        return ns, dfs, n_rows
    st = design._structure
    n_psu = len(st.psu_stratum)
    h_count = len(st.n_psu_h)
    if n_psu == design.n and h_count == 1:
        dfs = ns - 1.0
    else:
        psus = np.unique(d_in * n_psu + st.psu[inset]) // n_psu
        strata = np.unique(d_in * h_count + st.stratum[inset]) // h_count
        dfs = (np.bincount(psus, minlength=n_domains)
               - np.bincount(strata, minlength=n_domains)).astype(float)
    dfs = np.where(ns > 0, dfs, np.nan)
    return ns, dfs, n_rows


def _domain_weighted_var(
    w: np.ndarray, y: np.ndarray, codes: np.ndarray, count: int, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per domain, R ``svyvar`` of ``y`` on the domain's subset (weighted variance times
    n / (n - 1), two-pass) and the domain's weight total; NaN variance below 2 respondents."""
    inset = valid & (w != 0)
    d, wi, yi = codes[inset], w[inset], y[inset]
    n = np.bincount(d, minlength=count)
    wsum = np.bincount(d, weights=wi, minlength=count)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.bincount(d, weights=wi * yi, minlength=count) / wsum
        ss = np.bincount(d, weights=wi * (yi - mu[d]) ** 2, minlength=count)
        var = np.where(n >= 2, ss / wsum * n / (n - 1), np.nan)
    return var, wsum


def _warn_domains(domains: Domains, ns: list[int], dfs: list[float], func: str) -> None:
    empty = [domains.labels[g] for g in range(domains.count) if ns[g] == 0]
    if empty:
        warnings.warn(
            f"{func}: domain(s) {empty} of {domains.columns} have no respondents with an "
            "answer; their rows are NaN.",
            DomainWarning,
            stacklevel=3,
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
    if ci_method not in CI_METHODS:
        raise DelibpollError(
            f"The 'ci_method' parameter of proportion must be one of {list(CI_METHODS)}; "
            f"got {ci_method!r}."
        )
    na = _check_na(na, func)
    by_cols = _by_list(by, func)
    codes, cats = _variable_codes(design, variable, na, func)
    valid = codes >= 0
    n_missing = int(design.n - np.count_nonzero(valid))
    if len(cats) == 0:
        raise DelibpollError(f"Variable '{variable}' has no non-missing values to estimate from.")
    if len(cats) == 1:
        warnings.warn(
            f"Variable '{variable}' is constant ({cats[0]!r}): its proportion is 1 with "
            "standard error 0.",
            DelibpollWarning,
            stacklevel=2,
        )
    domains = make_domains(design, by_cols, func)
    n_cat = len(cats)
    n_dom = domains.count
    rep_logit: tuple[np.ndarray, np.ndarray] | None = None
    if design._replicates is None:
        est, vcov, _ = grouped_ratios(design, codes, np.eye(n_cat), domains.codes, n_dom, valid)
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
            rep_logit = design._replicates.logit_ci_parts(design.weight_array, num, den, est)
    var = np.diag(vcov).copy()
    se = np.sqrt(np.clip(var, 0, None))
    ns_d, dfs_d, nrows_d = domain_summary(design, domains.codes, n_dom, valid)
    _warn_domains(domains, ns_d.tolist(), dfs_d.tolist(), func)
    n_k = np.repeat(ns_d, n_cat)
    df_k = np.repeat(dfs_d, n_cat)
    with np.errstate(divide="ignore", invalid="ignore"):
        # for a 0/1 variable the weighted variance in the domain is p(1-p) exactly, so R's
        # svyvar is p(1-p) n/(n-1) and the SRS variance p(1-p)/(n-1); the quasibinomial
        # dispersion (Pearson residuals) is n/(n-1)
        pq = est * (1 - est)
        vsrs = np.where(n_k > 1, pq / (n_k - 1), np.nan)
        phi = np.where(n_k > 1, n_k / (n_k - 1), np.nan)
        deff = np.where(vsrs > 0, var / vsrs, np.nan)
        # a share fixed by calibration has variance at rounding level: n_eff is infinite
        tiny = var <= (1e-12 * np.sqrt(pq)) ** 2
        n_eff = np.where(tiny & (est > 0) & (est < 1), np.inf,
                         np.where(var > 0, pq / var, np.nan))
    lo, hi, notes = proportion_cis_noted(est, se, df_k, level, ci_method,
                                         n_rows=np.repeat(nrows_d, n_cat), phi=phi, n=n_k)
    if rep_logit is not None:
        inner = (est > 0) & (est < 1) & (notes == "")
        q = t_quantiles(level, df_k)
        eta, se_eta = rep_logit
        lo = np.where(inner, 1 / (1 + np.exp(-(eta - q * se_eta))), lo)
        hi = np.where(inner, 1 / (1 + np.exp(-(eta + q * se_eta))), hi)
    cols: dict[str, Any] = {}
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
        design_df=design.df,
        n_missing=n_missing,
        _columns=cols,
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
    statistic: Literal["mean", "total"],
) -> Estimate:
    func = statistic
    design = check_design(design, func)
    level = check_level(level, func)
    na = _check_na(na, func)
    by_cols = _by_list(by, func)
    s, valid, n_missing = variable_values(design, variable, na, func)
    yv = _numeric(s, variable, func)
    yv = np.where(valid, yv, 0.0)
    if not np.all(np.isfinite(yv)):
        raise DelibpollError(f"Variable '{variable}' has infinite values; {func} needs finite ones.")
    vals = yv[valid]
    if len(vals) == 0:
        raise DelibpollError(f"Variable '{variable}' has no non-missing values to estimate from.")
    if np.all(vals == vals[0]):
        warnings.warn(
            f"Variable '{variable}' is constant ({vals[0]:g}): its standard error is 0 and "
            "its design effect undefined.",
            DelibpollWarning,
            stacklevel=3,
        )
    domains = make_domains(design, by_cols, func)
    # the distinct values are the answer patterns (a 0-10 scale has 11: the variance then
    # comes from group sums; a continuous variable goes row by row inside grouped_ratios)
    uniq, pattern = np.unique(yv, return_inverse=True)
    est, vcov, _ = grouped_ratios(design, pattern.ravel(), uniq[:, None], domains.codes,
                                  domains.count, valid, totals=statistic == "total")
    if statistic == "total":
        empty = np.bincount(domains.codes[valid], minlength=domains.count) == 0
        est = np.where(empty, np.nan, est)
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    ns_d, dfs_d, _ = domain_summary(design, domains.codes, domains.count, valid)
    _warn_domains(domains, ns_d.tolist(), dfs_d.tolist(), func)
    var = np.diag(vcov)
    svar, wsum = _domain_weighted_var(design._w, yv, domains.codes, domains.count, valid)
    with np.errstate(divide="ignore", invalid="ignore"):
        vsrs = svar / ns_d if statistic == "mean" else svar * wsum**2 / ns_d
        deff = np.where(vsrs > 0, var / vsrs, np.nan)
        n_eff = np.where(deff > 0, ns_d / deff, np.nan)
    q = t_quantiles(level, dfs_d)
    cols: dict[str, Any] = {}
    if by_cols:
        for i, col in enumerate(by_cols):
            cols[col] = [lab[i] if isinstance(lab, tuple) else lab for lab in domains.labels]
    # a mean or total with SE 0 (a constant variable, or fixed by weighting) keeps the point
    # as its interval, as R's confint, and says so; no df gives no interval
    notes = np.where(~np.isfinite(est), "",
                     np.where(~(dfs_d > 0), NOTE_NO_DF, np.where(se == 0, "SE 0", "")))
    cols.update(estimate=est, se=se, ci_lower=est - q * se, ci_upper=est + q * se, df=dfs_d,
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
        design_df=design.df,
        n_missing=n_missing,
        _columns=cols,
    )


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
    """Weighted total of a numeric variable, overall or by domain (R ``svytotal``).

    Returns
    -------
    Estimate
        Same columns as :func:`mean`.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, total
    >>> df = pd.DataFrame({"x": [1, 0, 1], "w": [10.0, 20.0, 30.0]})
    >>> float(total(SurveyDesign(df, weights="w"), "x").to_frame()["estimate"].iloc[0])
    40.0
    """
    return _mean_or_total(design, variable, by, level, na, "total")
