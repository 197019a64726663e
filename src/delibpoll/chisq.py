"""Rao-Scott tests of independence in two-way tables (R ``svychisq``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ._display import frame_html
from ._format import p_value
from ._ratios import grouped_ratios, ratio_estimates
from ._types import ChisqStatistic, NaPolicy, values
from ._validation import check_na
from .design import SurveyDesign, check_design
from .exceptions import DelibpollError

__all__ = ["ChisqResult", "ChisqStatistic", "chisq_test"]


@dataclass(frozen=True)
class ChisqResult:
    """Result of :func:`chisq_test`.

    Attributes
    ----------
    statistic : float
        ``"F"``: Pearson X^2 divided by the trace of the design-effect matrix (second-order
        Rao-Scott). ``"Chisq"``: Pearson X^2 of the weighted table scaled to the design's
        number of rows (all rows, also those with a missing answer), as R prints.
    df_num, df_den : float
        Numerator and denominator df (``"F"``: fractional ``d0`` and ``d0 * design df``;
        ``"Chisq"``: ``df_num = (r-1)(c-1)``, ``df_den`` infinite).
    p_value : float
    method : str
    pearson : float
        Pearson X^2 of the weighted table scaled to the design's number of rows (R).
    mean_deff : float
        Mean generalised design effect (mean eigenvalue of Delta) of the rows with both
        answers.
    """

    row: str
    col: str
    statistic: float
    df_num: float
    df_den: float
    p_value: float
    method: str
    pearson: float
    mean_deff: float

    def _repr_html_(self) -> str:
        """The test in fixed notation, the p-value as "<0.001"."""
        return frame_html(self.to_frame(), caption=f"Rao-Scott test of {self.row} by {self.col}",
                          formats={"p_value": p_value})

    def to_frame(self) -> pd.DataFrame:
        """One row: ``row, col, method, statistic, df_num, df_den, p_value, pearson,
        mean_deff``."""
        return pd.DataFrame(
            [
                {
                    "row": self.row,
                    "col": self.col,
                    "method": self.method,
                    "statistic": self.statistic,
                    "df_num": self.df_num,
                    "df_den": self.df_den,
                    "p_value": self.p_value,
                    "pearson": self.pearson,
                    "mean_deff": self.mean_deff,
                }
            ]
        )


def chisq_test(
    design: SurveyDesign,
    row: str,
    col: str,
    *,
    statistic: ChisqStatistic = "F",
    na: NaPolicy = "error",
) -> ChisqResult:
    """Rao-Scott test of independence of two categorical variables, as R ``svychisq``.

    Parameters
    ----------
    design : SurveyDesign
    row, col : str
        Categorical columns (categories that occur in the data are used).
    statistic : {"F", "Chisq", "Wald", "adjWald", "saddlepoint"}
        ``"F"`` (default): second-order Rao-Scott correction referred to an F distribution
        with fractional degrees of freedom ``d0`` and ``d0 * df``, where
        ``d0 = tr(Delta)^2 / tr(Delta^2)``. ``"Chisq"``: first-order correction, X^2 divided
        by the mean eigenvalue of Delta, referred to chi-square on ``(r-1)(c-1)`` df.
        ``"Wald"``: the design-based Wald test of ``Y_ij = N_ij - N_i. N_.j / N`` (cells
        not in the first row or column; covariance by the delta method), ``W / d`` on
        ``(d, nu)`` with ``d = (r-1)(c-1)`` and ``nu`` the number of PSUs minus strata (R:
        over all rows; replicate designs: the design df). ``"adjWald"``: ``W (nu - d + 1) /
        (d nu)`` on ``(d, nu - d + 1)``. ``"saddlepoint"``: Pearson's X^2 (the statistic)
        with a saddlepoint approximation to its distribution, a weighted sum of chi-squares
        with weights the eigenvalues of Delta (linearised designs: an F-like ratio with
        ``d0 nu`` denominator df), as R's ``pFsum`` / ``pchisqsum``; ``df_num`` and
        ``df_den`` are NaN (R reports none).
    na : {"error", "drop"}

    Notes
    -----
    Delta is the generalised design-effect matrix of the interaction contrasts: with ``p``
    the estimated cell proportions, ``V`` their design-based covariance and ``C`` the
    interaction contrasts orthogonalised against the main effects,
    ``Delta = (C' D^-1 C / n)^-1 C' D^-1 V D^-1 C`` with ``D = diag(p)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, chisq_test
    >>> df = pd.DataFrame({"a": list("xxyyxy" * 5), "b": list("uvuvvu" * 5)})
    >>> round(chisq_test(SurveyDesign(df), "a", "b").p_value, 3) <= 1
    True
    """
    d = check_design(design, "chisq_test")
    words = values(ChisqStatistic)
    if statistic not in words:
        raise DelibpollError(
            f"The 'statistic' parameter of chisq_test must be "
            f"{', '.join(map(repr, words[:-1]))} or {words[-1]!r}; got {statistic!r}."
        )
    na = check_na(na, "chisq_test")
    d.check_columns([row, col], "row/col")
    rc, rcats = d.column_codes(row)
    cc, ccats = d.column_codes(col)
    missing = (rc < 0) | (cc < 0)
    if missing.any() and na == "error":
        raise DelibpollError(
            f"chisq_test: {int(missing.sum())} row(s) have a missing '{row}' or '{col}'. Pass "
            "na='drop' to leave them out, or recode them to a category."
        )
    valid = ~missing
    # categories that occur (R's factor() drops unused levels)
    r_used = np.unique(rc[valid])
    c_used = np.unique(cc[valid])
    nr, nc = len(r_used), len(c_used)
    if nr < 2 or nc < 2:
        raise DelibpollError(
            f"chisq_test needs at least two categories in each variable; '{row}' has {nr} and "
            f"'{col}' has {nc} with respondents."
        )
    rmap = np.full(len(rcats), -1)
    rmap[r_used] = np.arange(nr)
    cmap = np.full(len(ccats), -1)
    cmap[c_used] = np.arange(nc)
    cell = np.where(valid, rmap[np.maximum(rc, 0)] + nr * cmap[np.maximum(cc, 0)], 0)
    # the shares of the nr x nc cells among valid rows, and their joint covariance
    p, v, _ = grouped_ratios(d, cell, np.eye(nr * nc), np.zeros(d.n, dtype=np.int64), 1, valid)
    # as R's svychisq: the table is scaled to all rows of the design (N = nrow of the model
    # matrix with na.pass), also when answers are missing; the F statistic and every p-value
    # do not depend on N, the Pearson X^2 ("Chisq" statistic) does
    big_n = float(d.n)
    n_valid = float(valid.sum())
    nu = d.df
    # model matrices on the grid, rows varying fastest (as R's expand.grid)
    gr = np.tile(np.arange(nr), nc)
    gc = np.repeat(np.arange(nc), nr)
    x1 = [np.ones(nr * nc)]
    x1 += [(gr == i).astype(float) for i in range(1, nr)]
    x1 += [(gc == j).astype(float) for j in range(1, nc)]
    x1m = np.column_stack(x1)
    inter = np.column_stack(
        [((gr == i) & (gc == j)).astype(float) for j in range(1, nc) for i in range(1, nr)]
    )
    beta = np.linalg.lstsq(x1m, inter, rcond=None)[0]
    cmat = inter - x1m @ beta
    inv_p = np.where(p == 0, 0.0, 1.0 / np.where(p == 0, 1.0, p))
    idm = np.diag(inv_p)
    denom = cmat.T @ (idm / big_n) @ cmat
    numr = cmat.T @ idm @ v @ idm @ cmat
    delta = np.linalg.solve(denom, numr)
    tr = float(np.trace(delta))
    d0 = tr**2 / float(np.trace(delta @ delta))
    table = big_n * p.reshape(nc, nr).T
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        x2 = float(np.sum((table - expected) ** 2 / expected))
    # Delta scales with N; the design effect is that of the valid rows
    mean_deff_n = float(np.mean(np.diag(delta)))
    mean_deff = mean_deff_n * n_valid / big_n
    if statistic in ("Wald", "adjWald"):
        return _wald(d, row, col, statistic, cell, nr, nc, valid, x2, mean_deff)
    if statistic == "saddlepoint":
        eig = np.real(np.linalg.eigvals(delta))
        if d.replicates is None:
            pval = _p_fsum(x2, eig, d0 * _nu_all(d))
        else:
            pval = _p_chisqsum(x2, eig)
        return ChisqResult(
            row=row, col=col, statistic=x2, df_num=float("nan"), df_den=float("nan"),
            p_value=pval, method="Pearson's X^2: saddlepoint approximation", pearson=x2,
            mean_deff=mean_deff,
        )
    if statistic == "F":
        stat = x2 / tr
        pval = float(stats.f.sf(stat, d0, d0 * nu)) if nu > 0 else float("nan")
        return ChisqResult(
            row=row, col=col, statistic=stat, df_num=d0, df_den=d0 * nu, p_value=pval,
            method="Rao-Scott second-order (F)", pearson=x2, mean_deff=mean_deff,
        )
    k = delta.shape[1]
    pval = float(stats.chi2.sf(x2 / mean_deff_n, k))
    return ChisqResult(
        row=row, col=col, statistic=x2, df_num=float(k), df_den=float("inf"), p_value=pval,
        method="Rao-Scott first-order (chi-square)", pearson=x2, mean_deff=mean_deff,
    )


def _nu_all(d: SurveyDesign) -> float:
    """R svychisq's ``nu``: PSUs minus strata over every row (linearised; not ``degf``'s
    count of PSUs with weight), or the design df of a replicate design."""
    if d.replicates is not None:
        return float(d.df)
    st = d.structure
    return float(len(st.psu_stratum) - len(st.n_psu_h))


def _wald(d: SurveyDesign, row: str, col: str, statistic: str, cell: np.ndarray, nr: int,
          nc: int, valid: np.ndarray, x2: float, mean_deff: float) -> ChisqResult:
    """R svychisq's ``Wald`` and ``adjWald``: the cell totals ``N_ij`` with their design
    covariance, ``Y = N_ij - N_i. N_.j / N`` and its delta-method covariance, ``W = Y_u'
    V_uu^{-1} Y_u`` over the cells outside the first row and column."""
    ind = np.zeros((d.n, nr * nc))
    ind[np.flatnonzero(valid), cell[valid]] = 1.0
    t, vt, _ = ratio_estimates(d, ind, None)
    tab = t.reshape(nc, nr).T  # cells rows fastest, as R's interaction(rows, cols)
    rows_t, cols_t, n_t = tab.sum(axis=1), tab.sum(axis=0), float(tab.sum())
    gr = np.tile(np.arange(nr), nc)
    gc = np.repeat(np.arange(nc), nr)
    y = t - rows_t[gr] * cols_t[gc] / n_t
    # d Y_ij / d N_kl = 1[ij = kl] - (1[k = i] N_.j + 1[l = j] N_i.) / N + N_i. N_.j / N^2
    jac = (np.eye(nr * nc)
           - ((gr[:, None] == gr[None, :]) * cols_t[gc][:, None]
              + (gc[:, None] == gc[None, :]) * rows_t[gr][:, None]) / n_t
           + (rows_t[gr] * cols_t[gc] / n_t**2)[:, None])
    v = jac @ vt @ jac.T
    use = np.flatnonzero((gr > 0) & (gc > 0))
    w = float(y[use] @ np.linalg.solve(v[np.ix_(use, use)], y[use]))
    k = (nr - 1) * (nc - 1)
    nu = _nu_all(d)
    if statistic == "Wald":
        stat, ddf = w / k, nu
    else:
        ddf = nu - k + 1
        stat = w * ddf / (k * nu)
    pval = float(stats.f.sf(stat, k, ddf)) if ddf > 0 else float("nan")
    return ChisqResult(
        row=row, col=col, statistic=stat, df_num=float(k), df_den=float(ddf), p_value=pval,
        method=("Design-based Wald test of association" if statistic == "Wald"
                else "Design-based adjusted Wald test of association"),
        pearson=x2, mean_deff=mean_deff,
    )


def _saddle(x: float, lam: np.ndarray) -> float:
    """R survey's ``saddle(x, lambda)``: the saddlepoint (Lugannani-Rice) upper tail of
    ``sum lambda_i chi2_1`` at ``x``; NaN when the saddlepoint is within 1e-4 of 0."""
    from scipy import optimize

    d = float(np.max(lam))
    lam = lam / d
    x = x / d

    def k0(z: float) -> float:
        return float(-np.sum(np.log(1 - 2 * z * lam)) / 2)

    def k1(z: float) -> float:
        return float(np.sum(lam / (1 - 2 * z * lam)))

    def k2(z: float) -> float:
        return float(2 * np.sum(lam**2 / (1 - 2 * z * lam) ** 2))

    if np.any(lam < 0):
        lmin = float(np.max(1 / (2 * lam[lam < 0]))) * 0.99999
    elif x > float(lam.sum()):
        lmin = -0.01
    else:
        lmin = -len(lam) / (2 * x)
    lmax = float(np.min(1 / (2 * lam[lam > 0]))) * 0.99999
    zeta = float(optimize.brentq(lambda z: k1(z) - x, lmin, lmax, xtol=1e-14))
    if abs(zeta) < 1e-4:
        return float("nan")
    w = np.sign(zeta) * np.sqrt(2 * (zeta * x - k0(zeta)))
    v = zeta * np.sqrt(k2(zeta))
    return float(stats.norm.sf(w + np.log(v / w) / w))


def _satterthwaite(a: np.ndarray) -> tuple[float, float]:
    tr = float(np.mean(a))
    tr2 = float(np.mean(a**2)) / tr**2
    return tr * tr2, len(a) / tr2


def _p_fsum(x: float, a: np.ndarray, ddf: float) -> float:
    """R survey's ``pFsum(x, rep(1, k), a, ddf, lower.tail = FALSE, method =
    "saddlepoint")``: the tail of ``sum a_i chi2_1 / (chi2_ddf / ddf)`` at ``x``, with the
    denominator's chi-square entering as ``floor(ddf)`` terms of weight ``-x / ddf`` (R's
    ``rep``); Satterthwaite's F when the saddlepoint fails."""
    scale, ndf = _satterthwaite(a)
    rval = float(stats.f.sf(x / ndf / scale, ndf, ddf))
    lam = np.concatenate([a, np.full(int(ddf), -x / ddf)])
    s = _saddle(0.0, lam)
    return rval if np.isnan(s) else s


def _p_chisqsum(x: float, a: np.ndarray) -> float:
    """R survey's ``pchisqsum(x, rep(1, k), a, lower.tail = FALSE, method = "saddlepoint")``
    (replicate designs); Satterthwaite's chi-square when the saddlepoint fails."""
    scale, ndf = _satterthwaite(a)
    s = _saddle(x, a)
    return float(stats.chi2.sf(x / scale, ndf)) if np.isnan(s) else s
