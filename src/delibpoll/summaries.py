"""Ratios, variances and weighted tables (R ``svyratio``, ``svyvar``, ``svytable``)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._ci import t_quantiles
from ._ratios import domain_summary, make_domains, ratio_estimates
from ._types import NaPolicy
from ._validation import check_level, check_na
from .design import SurveyDesign, check_design
from .estimation import Estimate
from .exceptions import DelibpollError

__all__ = ["means", "ratio", "std_dev", "table", "variance"]


def _names(value: str | Sequence[str], param: str, func: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise DelibpollError(
        f"The '{param}' parameter of {func} must be a column name or a list of column names; "
        f"got {value!r}."
    )


def _numeric_block(design: SurveyDesign, cols: list[str], param: str, func: str,
                   na: NaPolicy) -> tuple[np.ndarray, np.ndarray]:
    design.check_columns(cols, param)
    out = np.zeros((design.n, len(cols)))
    valid = np.ones(design.n, dtype=bool)
    for j, c in enumerate(cols):
        s = design.column(c)
        if isinstance(s.dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
        ):
            raise DelibpollError(
                f"{func} needs numeric variables, but '{c}' has dtype {s.dtype}. Convert it to "
                "numbers first."
            )
        v = s.to_numpy(dtype=float, na_value=np.nan)
        miss = np.isnan(v)
        if miss.any() and na == "error":
            raise DelibpollError(
                f"Variable '{c}' has {int(miss.sum())} missing value(s). Pass na='drop' to "
                "leave those rows out of this estimate."
            )
        if np.isinf(v).any():
            raise DelibpollError(f"Variable '{c}' has infinite values; {func} needs finite ones.")
        valid &= ~miss
        out[:, j] = np.where(miss, 0.0, v)
    return out, valid


def _estimate(design: SurveyDesign, statistic: Any, variable: str, names: list[str],
              by_cols: list[str], domains: Any, est: np.ndarray, vcov: np.ndarray,
              valid: np.ndarray, level: float, n_missing: int) -> Estimate:
    k = len(names)
    ns, dfs, _ = domain_summary(design, domains.codes, domains.count, valid)
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    df_k = np.repeat(dfs, k)
    q = t_quantiles(level, df_k)
    cols: dict[str, Any] = {"variable": names * domains.count}
    for i, col in enumerate(by_cols):
        cols[col] = [lab[i] if isinstance(lab, tuple) else lab
                     for lab in domains.labels for _ in names]
    cols.update(estimate=est, se=se, ci_lower=est - q * se, ci_upper=est + q * se, df=df_k,
                n=np.repeat(ns, k))
    labels: list[Hashable] = ([(lab, nm) for lab in domains.labels for nm in names]
                              if by_cols else list(names))
    return Estimate(statistic=statistic, variable=variable, by=tuple(by_cols), level=level,
                    ci_method=None, labels=tuple(labels), vcov=vcov, design_df=design.df,
                    n_missing=n_missing, _columns=cols)


def ratio(
    design: SurveyDesign,
    numerator: str | Sequence[str],
    denominator: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na: NaPolicy = "error",
) -> Estimate:
    """Ratios of weighted totals ``Y / X`` with linearised or replicate SEs (R ``svyratio``).

    Parameters
    ----------
    design : SurveyDesign
    numerator, denominator : str or list of str
        Numeric columns; every numerator is divided by every denominator (names
        ``"y/x"``, the numerator varying fastest, as R).
    by : str or list of str, optional
        Domain columns (R ``svyby(..., svyratio)``; ``separate=TRUE`` per stratum is
        ``by=<strata column>``).
    level : float, default 0.95
    na : {"error", "drop"}
        With "drop", rows missing any of the variables are left out.

    Returns
    -------
    Estimate
        ``statistic="ratio"``; ``to_frame()`` columns ``variable`` (``"y/x"``), by columns,
        ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``df``, ``n``; ``vcov`` the joint
        covariance of all ratios (domain-major).

    Notes
    -----
    ``R = sum w y / sum w x``; its influence values are ``(y - R x) / X``, whose design
    variance (strata, clusters, fpc, raking or calibration residuals) is the ratio's. On
    replicate designs each replicate's ratio is recomputed. Intervals are ``R -/+ t(df) SE``
    on the design (domain) df; R's ``confint(svyratio)`` uses the normal quantile unless
    given ``df = degf(design)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, ratio
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 3.0], "x": [2.0, 2.0, 4.0], "w": [1.0, 2.0, 1.0]})
    >>> ratio(SurveyDesign(df, weights="w"), "y", "x").estimate_of("y/x")
    0.8
    """
    func = "ratio"
    design = check_design(design, func)
    level = check_level(level, func)
    na = check_na(na, func)
    nums = _names(numerator, "numerator", func)
    dens = _names(denominator, "denominator", func)
    by_cols = [] if by is None else _names(by, "by", func)
    block, valid = _numeric_block(design, nums + dens, "numerator", func, na)
    domains = make_domains(design, by_cols, func)
    dmat = np.zeros((design.n, domains.count))
    dmat[np.arange(design.n), domains.codes] = 1.0
    dmat *= valid[:, None]
    y, x = block[:, : len(nums)], block[:, len(nums):]
    num_cols, den_cols, names = [], [], []
    for g in range(domains.count):
        for j, dn in enumerate(dens):
            for i, nm in enumerate(nums):
                num_cols.append(y[:, i] * dmat[:, g])
                den_cols.append(x[:, j] * dmat[:, g])
                if g == 0:
                    names.append(f"{nm}/{dn}")
    est, vcov, _ = ratio_estimates(design, np.column_stack(num_cols), np.column_stack(den_cols))
    return _estimate(design, "ratio", "/".join([",".join(nums), ",".join(dens)]), names,
                     by_cols, domains, est, vcov, valid, level, int((~valid).sum()))


def means(
    design: SurveyDesign,
    variables: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na: NaPolicy = "error",
) -> Estimate:
    """Means of several numeric variables at once, overall or by domain, with their joint
    covariance (R ``svymean(~a + b)``, ``svyby(~a + b, ~g, svymean, covmat = TRUE)``).

    The joint covariance is what a comparison of two questions needs: ``contrast(est,
    {"A - B": {("Female", "a"): 1, ("Female", "b"): -1}})`` gets the SE of "support for A
    minus support for B" right (the two answers come from the same people). A 0/1 column's
    mean is a proportion (with a t interval; :func:`~delibpoll.proportion` gives the other
    interval methods one question at a time).

    Parameters
    ----------
    design : SurveyDesign
    variables : str or list of str
        Numeric (or 0/1, boolean) columns.
    by : str or list of str, optional
        Domain columns (crossed).
    level : float, default 0.95
    na : {"error", "drop"}
        With "drop", rows missing any of the variables are left out of every mean (R's
        ``na.rm = TRUE`` on the formula ``~a + b``), so all means share the same rows.

    Returns
    -------
    Estimate
        ``statistic="mean"``; labels ``variable`` (no ``by``) or ``(domain, variable)``
        (domain-major); ``to_frame()`` columns ``variable``, by columns, ``estimate``,
        ``se``, ``ci_lower``, ``ci_upper`` (t on the domain's df), ``df``, ``n``; ``vcov``
        the joint covariance of every mean in every domain.

    Notes
    -----
    Each mean is the ratio ``sum w y 1[g] / sum w 1[g]``; the joint covariance is the
    design covariance of their influence values (strata, clusters, fpc, raking or
    calibration residuals), or the replicate covariance. R's ``svyby(covmat = TRUE)`` fails
    on raked and calibrated linearised designs in survey 4.1.1; the values here equal the
    equivalent ``svyratio(covmat = TRUE)`` there (tests/reference/SPEC_16.md section 4).

    Examples
    --------
    >>> import pandas as pd
    >>> import delibpoll as dp
    >>> df = pd.DataFrame({"a": [1, 0, 1, 1, 0, 1], "b": [0, 0, 1, 1, 0, 0],
    ...                    "sex": ["F", "F", "F", "M", "M", "M"]})
    >>> est = dp.means(dp.SurveyDesign(df), ["a", "b"], by="sex")
    >>> est.labels[:2], round(est.estimate_of(("F", "a")), 4)
    ((('F', 'a'), ('F', 'b')), 0.6667)
    >>> diff = dp.contrast(est, {"F: a - b": {("F", "a"): 1, ("F", "b"): -1}})
    >>> round(float(diff.to_frame()["estimate"].iloc[0]), 4)
    0.3333
    """
    func = "means"
    design = check_design(design, func)
    level = check_level(level, func)
    na = check_na(na, func)
    names = _names(variables, "variables", func)
    by_cols = [] if by is None else _names(by, "by", func)
    block, valid = _numeric_block(design, names, "variables", func, na)
    domains = make_domains(design, by_cols, func)
    dmat = np.zeros((design.n, domains.count))
    dmat[np.arange(design.n), domains.codes] = 1.0
    dmat *= valid[:, None]
    num_cols, den_cols = [], []
    for g in range(domains.count):
        for i in range(len(names)):
            num_cols.append(block[:, i] * dmat[:, g])
            den_cols.append(dmat[:, g])
    est, vcov, _ = ratio_estimates(design, np.column_stack(num_cols), np.column_stack(den_cols))
    return _estimate(design, "mean", ",".join(names), names, by_cols, domains, est, vcov,
                     valid, level, int((~valid).sum()))


def variance(
    design: SurveyDesign,
    variable: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na: NaPolicy = "error",
) -> Estimate:
    """Population variance (and covariances) of numeric variables with SEs (R ``svyvar``).

    Named ``variance`` (not ``var``) so that it shadows neither a builtin nor numpy/pandas'
    ``var``, which compute unweighted or frequency-weighted variances.

    Parameters
    ----------
    design : SurveyDesign
    variable : str or list of str
        One column (its variance), or several (every entry of their covariance matrix,
        named ``"a:b"``, column-major as R).
    by : str or list of str, optional
        Domain columns.
    level : float, default 0.95
    na : {"error", "drop"}

    Returns
    -------
    Estimate
        ``statistic="variance"``; the columns of :func:`ratio`.

    Notes
    -----
    Linearised designs (R ``svyvar.survey.design``): with ``n`` the rows of non-zero weight
    and ``xbar`` the weighted mean, ``s2 = svymean((x - xbar)^2 n/(n-1))``, and its SE is
    that mean's (``xbar`` taken as fixed). Replicate designs: the weighted variance times
    ``n/(n-1)`` (``n`` all the domain's rows) recomputed on each replicate, as R.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, variance
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 6.0]})
    >>> round(variance(SurveyDesign(df), "y").estimate_of("y"), 10)  # sample variance, n - 1
    4.6666666667
    """
    func = "variance"
    design = check_design(design, func)
    level = check_level(level, func)
    na = check_na(na, func)
    names_in = _names(variable, "variable", func)
    by_cols = [] if by is None else _names(by, "by", func)
    xs, valid = _numeric_block(design, names_in, "variable", func, na)
    domains = make_domains(design, by_cols, func)
    p = len(names_in)
    pairs = [(i, j) for j in range(p) for i in range(p)]  # column-major, as R's matrix
    names = ([names_in[0]] if p == 1 else [f"{names_in[i]}:{names_in[j]}" for i, j in pairs])
    if p == 1:
        pairs = [(0, 0)]
    w = design.weight_array
    reps = design.replicates
    n_dom = domains.count
    est = np.zeros(n_dom * len(pairs))
    if reps is None:
        num_cols, den_cols = [], []
        for g in range(n_dom):
            rows = valid & (domains.codes == g)
            wg = np.where(rows, w, 0.0)
            n = np.count_nonzero(wg)
            with np.errstate(invalid="ignore", divide="ignore"):
                xbar = (wg @ xs) / wg.sum()
            dev = np.where(rows[:, None], xs - xbar, 0.0)
            for i, j in pairs:
                num_cols.append(dev[:, i] * dev[:, j] * n / (n - 1) if n > 1
                                else np.full(design.n, np.nan))
                den_cols.append(rows.astype(float))
        est, vcov, _ = ratio_estimates(design, np.column_stack(num_cols),
                                       np.column_stack(den_cols))
    else:
        def values_for(wts: np.ndarray) -> np.ndarray:
            out = []
            for g in range(n_dom):
                rows = valid & (domains.codes == g)
                n = int(rows.sum())
                wg = wts[rows]
                xg = xs[rows]
                tot = wg.sum(axis=0)
                with np.errstate(invalid="ignore", divide="ignore"):
                    xbar = (wg.T @ xg) / tot[:, None]  # (R, p)
                    for i, j in pairs:
                        di = xg[:, i][:, None] - xbar[:, i][None, :]
                        dj = xg[:, j][:, None] - xbar[:, j][None, :]
                        out.append((wg * di * dj).sum(axis=0) / tot * n / (n - 1))
            return np.column_stack(out)

        est = values_for(w[:, None])[0]
        thetas = values_for(reps.weights)
        vcov = reps.variance(thetas, est)
    return _estimate(design, "variance", ",".join(names_in), names, by_cols, domains, est,
                     vcov, valid, level, int((~valid).sum()))


def std_dev(
    design: SurveyDesign,
    variable: str,
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na: NaPolicy = "error",
) -> Estimate:
    """Population standard deviation: ``sqrt`` of :func:`variance`, SE by the delta method
    (``se(s2) / (2 s)``; R reports no SE for it). The CI is the square root of the
    variance's CI ends (clipped at 0).

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, std_dev
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 6.0]})
    >>> round(std_dev(SurveyDesign(df), "y").estimate_of("y"), 6)
    2.160247
    """
    if not isinstance(variable, str):
        raise DelibpollError(
            f"The 'variable' parameter of std_dev must be one column name; got {variable!r}."
        )
    v = variance(design, variable, by=by, level=level, na=na)
    frame = v.to_frame()
    s2 = frame["estimate"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(s2)
        jac = 1 / (2 * sd)
    cols: dict[str, Any] = {c: frame[c].tolist() for c in frame.columns
                            if c not in ("estimate", "se", "ci_lower", "ci_upper", "df", "n")}
    cols.update(estimate=sd, se=frame["se"].to_numpy() * jac,
                ci_lower=np.sqrt(np.clip(frame["ci_lower"].to_numpy(), 0, None)),
                ci_upper=np.sqrt(frame["ci_upper"].to_numpy()),
                df=frame["df"].to_numpy(), n=frame["n"].to_numpy())
    return Estimate(statistic="variance", variable=f"sd({variable})", by=v.by, level=v.level,
                    ci_method=None, labels=v.labels,
                    vcov=np.asarray(v.vcov) * np.outer(jac, jac), design_df=v.design_df,
                    n_missing=v.n_missing, _columns=cols)


def table(
    design: SurveyDesign,
    row: str,
    col: str | None = None,
    *,
    ntotal: float | None = None,
    rounded: bool = False,
) -> pd.DataFrame | pd.Series:
    """Weighted counts of one variable or a two-way table (R ``svytable``).

    Parameters
    ----------
    design : SurveyDesign
    row : str
        A column (categories in the package's one order; missing values left out).
    col : str, optional
        A second column: the table is ``row`` x ``col``.
    ntotal : float, optional
        Rescale the table to sum to ``ntotal`` (R ``Ntotal=`` as one number).
    rounded : bool, default False
        Round the cells to whole numbers (R ``round = TRUE``, half to even; not named
        ``round``, which would shadow the builtin).

    Returns
    -------
    pandas.Series or pandas.DataFrame
        Sums of the weights per category (per cell), all categories present (empty ones 0).
        These are estimated population counts without SEs: for SEs use
        :func:`~delibpoll.total` of a categorical variable.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, table
    >>> df = pd.DataFrame({"a": ["x", "y", "x"], "b": ["u", "u", "v"], "w": [1.0, 2.0, 3.0]})
    >>> table(SurveyDesign(df, weights="w"), "a", "b").to_numpy().tolist()
    [[1.0, 3.0], [2.0, 0.0]]
    """
    func = "table"
    design = check_design(design, func)
    cols = [row] if col is None else [row, col]
    for c in cols:
        if not isinstance(c, str):
            raise DelibpollError(f"{func} takes column names (str); got {c!r}.")
    design.check_columns(cols, "row" if col is None else "row/col")
    if ntotal is not None and (isinstance(ntotal, bool) or not isinstance(ntotal, int | float)
                               or not np.isfinite(ntotal) or ntotal <= 0):
        raise DelibpollError(
            f"The 'ntotal' parameter of {func} must be a positive number; got {ntotal!r}."
        )
    w = design.weight_array
    codes = [design.column_codes(c) for c in cols]
    ok = np.ones(design.n, dtype=bool)
    for code, _ in codes:
        ok &= code >= 0
    shape = tuple(len(cats) for _, cats in codes)
    flat = codes[0][0] if col is None else codes[0][0] * shape[1] + codes[1][0]
    counts = np.bincount(flat[ok], weights=w[ok], minlength=int(np.prod(shape)))
    if ntotal is not None:
        counts = counts * ntotal / counts.sum()
    if rounded:
        counts = np.round(counts)
    if col is None:
        return pd.Series(counts, index=pd.Index(codes[0][1], name=row), name="weighted_count")
    return pd.DataFrame(counts.reshape(shape), index=pd.Index(codes[0][1], name=row),
                        columns=pd.Index(codes[1][1], name=col))
