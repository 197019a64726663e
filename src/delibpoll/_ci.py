"""Confidence intervals for proportions, each as R ``svyciprop`` computes it (plus Wilson)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import optimize, stats

from ._types import CIMethod, values

#: The proportion CI methods, in their declared order (``values(CIMethod)``).
CI_METHODS: tuple[str, ...] = values(CIMethod)


@lru_cache(maxsize=4096)
def t_quantile(level: float, df: float) -> float:
    """Two-sided t quantile ``qt(1 - (1 - level) / 2, df)``; normal when df is infinite."""
    if not np.isfinite(df):
        return float(stats.norm.ppf(1 - (1 - level) / 2))
    if df <= 0 or np.isnan(df):
        return float("nan")
    return float(stats.t.ppf(1 - (1 - level) / 2, df))


def two_sided_p(t: np.ndarray, df: float) -> np.ndarray:
    """Two-sided p-values of t statistics on ``df`` degrees of freedom (normal when df is
    infinite, NaN when df is not positive)."""
    t = np.asarray(t, dtype=float)
    if np.isfinite(df) and df > 0:
        return np.asarray(2 * stats.t.sf(np.abs(t), df))
    if not np.isfinite(df):
        return np.asarray(2 * stats.norm.sf(np.abs(t)))
    return np.full_like(t, np.nan)


def _beta_ci(p: float, se: float, df: float, level: float, n_rows: float) -> tuple[float, float]:
    """Korn-Graubard interval as ``svyciprop(method="beta")``: the effective n scaled by the
    ratio of t quantiles on ``n_rows - 1`` and on the design df."""
    alpha = 1 - level
    n_eff = p * (1 - p) / se**2
    if np.isfinite(df) and df > 0:
        ratio = stats.t.ppf(alpha / 2, n_rows - 1) / stats.t.ppf(alpha / 2, df)
    elif not np.isfinite(df):
        ratio = stats.t.ppf(alpha / 2, n_rows - 1) / stats.norm.ppf(alpha / 2)
    else:
        return float("nan"), float("nan")
    n_eff = n_eff * ratio**2
    lo = stats.beta.ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)
    hi = stats.beta.ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))
    return float(lo), float(hi)


def _kl(p: float, mu: float) -> float:
    return float(p * np.log(p / mu) + (1 - p) * np.log((1 - p) / (1 - mu)))


def _likelihood_ci(p: float, se: float, q: float, n_rows: float, phi: float) -> tuple[float, float]:
    """Profile-likelihood interval of the quasibinomial intercept model, as ``svyciprop``.

    R profiles the deviance ``D(mu) - D(p) = 2 N KL(p || mu)`` (N the rows of the design,
    prior weights normalised to mean 1) scaled by the dispersion ``phi``, and cuts it at
    ``q^2 * lambda`` with ``lambda = var(p) N / (p (1 - p))`` (sandwich over naive variance of
    the intercept). The limits solve ``KL(p || mu) = phi q^2 var(p) / (2 p (1 - p))``;
    R interpolates a spline through profile points, so agreement is to about 1e-3.
    """
    if not np.isfinite(q) or not np.isfinite(phi) or phi <= 0:
        return float("nan"), float("nan")
    target = phi * q * q * se * se / (2 * p * (1 - p))

    def f(mu: float) -> float:
        return _kl(p, mu) - target

    eps = 1e-15
    lo = optimize.brentq(f, eps, p, xtol=1e-14) if f(eps) > 0 else 0.0
    hi = optimize.brentq(f, p, 1 - eps, xtol=1e-14) if f(1 - eps) > 0 else 1.0
    return float(lo), float(hi)


def t_quantiles(level: float, df: np.ndarray) -> np.ndarray:
    """:func:`t_quantile` of every element of ``df``."""
    df = np.asarray(df, dtype=float)
    uniq, inv = np.unique(df, return_inverse=True)
    return np.array([t_quantile(level, float(d)) for d in uniq])[inv.ravel()].reshape(df.shape)


# ci_note values: why an interval is not the usual one (empty string: the usual interval)
NOTE_FIXED = "SE 0: fixed by weighting"
NOTE_NCHS = "SE 0 (p=0/1): NCHS n_eff=n"
NOTE_EDGE = "SE 0 (p=0/1): no CI"
NOTE_NO_DF = "df 0: no CI"


def _edge_interval(p: float, n: float, df: float, level: float, method: str) -> tuple[float, float]:
    """The NCHS data-presentation rule for a share of 0 or 1 (variance 0): the effective
    sample size is the number of respondents ``n``; Korn-Graubard (``beta``, with R's df
    adjustment ``n (t_{n-1} / t_df)^2``) or Wilson (``wilson``, z the t quantile on df)."""
    alpha = 1 - level
    if not (n >= 2 and df > 0):
        return float("nan"), float("nan")
    if method == "beta":
        q_df = stats.t.ppf(alpha / 2, df) if np.isfinite(df) else stats.norm.ppf(alpha / 2)
        n_eff = n * (stats.t.ppf(alpha / 2, n - 1) / q_df) ** 2
        if p <= 0:
            return 0.0, float(stats.beta.ppf(1 - alpha / 2, 1, n_eff))
        return float(stats.beta.ppf(alpha / 2, n_eff, 1)), 1.0
    z2 = t_quantile(level, df) ** 2
    bound = float((z2 / n) / (1 + z2 / n))
    return (0.0, bound) if p <= 0 else (1.0 - bound, 1.0)


def proportion_cis(
    p: np.ndarray,
    se: np.ndarray,
    df: np.ndarray,
    level: float,
    method: str,
    *,
    n_rows: np.ndarray,
    phi: np.ndarray,
    n: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """CIs for proportions ``p`` with linearised standard errors ``se``, each as R
    ``svyciprop`` (plus Wilson), element by element; see :func:`proportion_cis_noted`."""
    lo, hi, _ = proportion_cis_noted(p, se, df, level, method, n_rows=n_rows, phi=phi, n=n)
    return lo, hi


def proportion_cis_noted(
    p: np.ndarray,
    se: np.ndarray,
    df: np.ndarray,
    level: float,
    method: str,
    *,
    n_rows: np.ndarray,
    phi: np.ndarray,
    n: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CIs for proportions ``p`` with linearised standard errors ``se``, each as R
    ``svyciprop`` (plus Wilson), element by element, and a note per interval.

    Parameters
    ----------
    df : design degrees of freedom of each estimate, for the t quantile.
    n_rows : R's ``nrow(design)`` of each (sub)design, used by ``beta`` and ``likelihood``.
    phi : dispersion of the quasibinomial fit (``likelihood`` only): the svyvar of the
        Pearson residuals, which for a 0/1 variable is ``n / (n - 1)``.
    n : respondents behind each estimate (the NCHS rule for shares of 0 or 1); without it
        those shares get NaN limits.

    An interval of zero width is never given for an estimated share. When the standard error
    is 0 (up to rounding):

    * the share is 0 or 1: ``beta`` and ``wilson`` follow the NCHS data-presentation rule
      (effective sample size = ``n``), note ``NOTE_NCHS``; the other methods give NaN, as
      R does for ``asin``, ``beta`` and ``xlogit`` (note ``NOTE_EDGE``);
    * the domain has no degrees of freedom (it lies in one PSU): NaN, note ``NOTE_NO_DF``;
    * otherwise the weighting (or the strata) fixes the share exactly: the interval is the
      point, note ``NOTE_FIXED``.

    A non-finite estimate or SE gets NaN limits and no note.
    """
    p = np.asarray(p, dtype=float)
    se = np.asarray(se, dtype=float)
    df = np.asarray(df, dtype=float)
    q = t_quantiles(level, df)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pq = p * (1 - p)
        finite = np.isfinite(p) & np.isfinite(se)
        edge = finite & ((p <= 0.0) | (p >= 1.0))
        tiny = finite & ~edge & (se <= 1e-12 * np.sqrt(np.clip(pq, 0, None)))
        no_df = ~(df > 0)
        point = edge | tiny
        if method == "mean":
            lo, hi = p - q * se, p + q * se
        elif method in ("logit", "xlogit"):
            eta = np.log(p / (1 - p))
            se_eta = se / pq
            lo = 1.0 / (1.0 + np.exp(-(eta - q * se_eta)))
            hi = 1.0 / (1.0 + np.exp(-(eta + q * se_eta)))
        elif method == "asin":
            ang = np.arcsin(np.sqrt(p))
            se_ang = se / (2 * np.sqrt(pq))
            lo, hi = np.sin(ang - q * se_ang) ** 2, np.sin(ang + q * se_ang) ** 2
        elif method == "wilson":
            n_eff = pq / se**2
            z2 = q * q
            denom = 1 + z2 / n_eff
            centre = (p + z2 / (2 * n_eff)) / denom
            half = q / denom * np.sqrt(pq / n_eff + z2 / (4 * n_eff**2))
            lo, hi = centre - half, centre + half
        elif method in ("beta", "likelihood"):
            lo, hi = np.full(p.shape, np.nan), np.full(p.shape, np.nan)
            for k in np.flatnonzero(~point & finite):
                if method == "beta":
                    lo[k], hi[k] = _beta_ci(float(p[k]), float(se[k]), float(df[k]), level,
                                            float(n_rows[k]))
                else:
                    lo[k], hi[k] = _likelihood_ci(float(p[k]), float(se[k]), float(q[k]),
                                                  float(n_rows[k]), float(phi[k]))
        else:
            raise ValueError(method)  # pragma: no cover - validated by callers
    lo = np.array(lo, dtype=float)
    hi = np.array(hi, dtype=float)
    notes = np.full(p.shape, "", dtype=object)
    fixed = tiny & ~no_df
    lo[fixed] = p[fixed]
    hi[fixed] = p[fixed]
    notes[fixed] = NOTE_FIXED
    lo[point & ~fixed] = np.nan
    hi[point & ~fixed] = np.nan
    notes[finite & no_df] = NOTE_NO_DF
    edge_df = edge & ~no_df
    notes[edge_df] = NOTE_EDGE
    if method in ("beta", "wilson") and n is not None:
        n_arr = np.broadcast_to(np.asarray(n, dtype=float), p.shape)
        for k in np.flatnonzero(edge_df):
            lo[k], hi[k] = _edge_interval(float(p[k]), float(n_arr[k]), float(df[k]), level,
                                          method)
            if np.isfinite(lo[k]):
                notes[k] = NOTE_NCHS
    lo[~finite] = np.nan
    hi[~finite] = np.nan
    notes[~finite] = ""
    return lo, hi, notes
