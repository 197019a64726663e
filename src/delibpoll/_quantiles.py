"""Weighted quantile rules and the Woodruff interval on plain arrays (kernel layer).

Each rule is R ``survey``'s ``qrule_*`` function (survey >= 4.1), written from its code:
``qs`` finds the last cumulative weight at or below ``p W``; ``math`` (= ``hf1``) is the
inverse of the weighted ECDF, ``school`` (= ``hf2``) averages on an exact hit, ``hf3`` to
``hf9`` are the weighted Hyndman-Fan rules and ``shahvaish`` Shah and Vaish's rule.
Cumulative sums are accumulated in extended precision, as R's ``cumsum`` and ``sum`` do, so
that exact hits (``C_k == p W``) are found where R finds them. Nothing here takes a design.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ._ci import t_quantile
from ._types import QuantileRule, values

__all__ = ["QRULES", "quantile_sorted", "woodruff_probabilities"]

QRULES: tuple[str, ...] = values(QuantileRule)


def _cumsum(w: np.ndarray) -> np.ndarray:
    """R's ``cumsum``: a long-double running sum, each element rounded to double."""
    return np.cumsum(w.astype(np.longdouble)).astype(float)


def _r_mean(w: np.ndarray) -> float:
    """R's ``mean``: long-double sum over n, refined by the mean of the residuals."""
    lw = w.astype(np.longdouble)
    s = lw.sum() / len(w)
    s += (lw - s).sum() / len(w)
    return float(s)


def _approx(xp: np.ndarray, fp: np.ndarray, v: float, constant: bool = False) -> float:
    """R ``approx(xp, fp, v, rule = 2)`` (linear, or ``method = "constant", f = 0``) at one
    point, with R's arithmetic (``y_i + (y_j - y_i) (v - x_i) / (x_j - x_i)``)."""
    n = len(xp)
    if v < xp[0]:
        return float(fp[0])
    if v > xp[-1]:
        return float(fp[-1])
    i = int(np.searchsorted(xp, v, side="right")) - 1
    i = min(max(i, 0), n - 1)
    j = min(i + 1, n - 1)
    if v == xp[j]:
        return float(fp[j])
    if v == xp[i]:
        return float(fp[i])
    if constant:
        return float(fp[i])
    return float(fp[i] + (fp[j] - fp[i]) * ((v - xp[i]) / (xp[j] - xp[i])))


def _qs(x: np.ndarray, cumw: np.ndarray, p: float) -> tuple[float, float, int, float, float]:
    """R's ``qs``: ``(qlow, qup, ilow (0-based), wlow, wup)``."""
    total = cumw[-1]
    hits = np.flatnonzero(cumw <= p * total)
    pos = int(hits[-1]) if hits.size else 0  # R's last() gives 1 when nothing is below
    nxt = pos if pos == len(x) - 1 else pos + 1
    return (float(x[pos]), float(x[nxt]), pos, p - cumw[pos] / total, cumw[nxt] / total - p)


def quantile_sorted(x: np.ndarray, w: np.ndarray, p: float, rule: str) -> float:
    """The ``p`` quantile of ``x`` (sorted ascending, ties in a stable order) with sampling
    weights ``w`` by R's ``qrule_<rule>``; rows of weight 0 are dropped first, as R. NaN when
    no row has weight or ``p`` is NaN."""
    if np.isnan(p):
        return float("nan")
    keep = w != 0
    if not keep.all():
        x, w = x[keep], w[keep]
    n = len(x)
    if n == 0:
        return float("nan")
    if rule in ("math", "hf1", "school", "hf2", "hf4"):
        qlow, qup, _, wlow, wup = _qs(x, _cumsum(w), p)
        if rule in ("math", "hf1"):
            return qlow if wlow == 0 else qup
        if rule in ("school", "hf2"):
            return (qlow + qup) / 2 if wlow == 0 else qup
        with np.errstate(divide="ignore", invalid="ignore"):
            gamma = wlow / (wup + wlow)
        return float(qlow * (1 - gamma) + qup * gamma)
    if rule == "hf3":
        ux, inv = np.unique(x, return_inverse=True)
        wu = np.bincount(inv.ravel(), weights=w, minlength=len(ux))
        qlow, qup, ilow, wlow, _ = _qs(ux, _cumsum(wu), p)
        return qlow if (wlow == 0 and (ilow + 1) % 2 == 0) else qup
    cumw = _cumsum(w)
    if rule == "shahvaish":
        wbar = w / _r_mean(w)
        pk = (_cumsum(wbar) + 0.5 - w / 2) / (n + 1)  # w, not wbar, as R's code
        # approx() orders the points by pk first (they need not be increasing here)
        by_pk = np.argsort(pk, kind="stable")
        return _approx(pk[by_pk], x[by_pk], p, constant=True)
    prev = np.concatenate([[0.0], cumw[:-1]])
    if rule == "hf5":
        pk = (cumw - w / 2) / cumw[-1]
    elif rule == "hf6":
        pk = cumw / (cumw[-1] + w[-1])
    elif rule == "hf7":
        pk = prev / cumw[n - 2] if n > 1 else prev
    elif rule == "hf8":
        pk = (prev * 1 / 3 + cumw * 2 / 3) / (cumw[-1] + w[-1] / 3)
    else:  # hf9
        pk = (prev * 3 / 8 + cumw * 5 / 8) / (cumw[-1] + w[-1] / 4)
    return _approx(pk, x, p)


def woodruff_probabilities(
    m: float, se: float, df: float, level: float, method: str, *, n_rows: float,
    design_df: float,
) -> tuple[float, float]:
    """The interval for the proportion ``m`` below the quantile that R's ``woodruffCI``
    maps back through the quantile rule: ``mean`` (``m -/+ t se``), ``xlogit`` (on the logit
    scale, delta method), ``asin`` (on ``asin(sqrt(m))``) or ``beta`` (Korn-Graubard with
    ``n_eff = m(1-m)/se^2 (qt(a/2, n_rows-1)/qt(a/2, design_df))^2``). An end outside
    ``[0, 1]`` (or NaN) is returned as NaN, as R."""
    alpha = 1 - level
    q = t_quantile(level, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "mean":
            lo, hi = m - q * se, m + q * se
        elif method == "xlogit":
            eta = np.log(m / (1 - m))
            se_eta = se / (m * (1 - m))
            lo, hi = (float(1 / (1 + np.exp(-(eta + s * q * se_eta)))) for s in (-1, 1))
        elif method == "asin":
            a = np.arcsin(np.sqrt(m))
            se_a = se / (2 * np.sqrt(m * (1 - m)))
            lo, hi = (float(np.sin(a + s * q * se_a) ** 2) for s in (-1, 1))
        else:  # beta
            n_eff = m * (1 - m) / se**2
            d_t = (stats.norm.ppf(alpha / 2) if not np.isfinite(design_df)
                   else stats.t.ppf(alpha / 2, design_df))
            n_eff = n_eff * (stats.t.ppf(alpha / 2, n_rows - 1) / d_t) ** 2
            lo = float(stats.beta.ppf(alpha / 2, n_eff * m, n_eff * (1 - m) + 1))
            hi = float(stats.beta.ppf(1 - alpha / 2, n_eff * m + 1, n_eff * (1 - m)))
    lo_f, hi_f = float(lo), float(hi)
    if np.isnan(lo_f) or lo_f < 0:
        lo_f = float("nan")
    if np.isnan(hi_f) or hi_f > 1:
        hi_f = float("nan")
    return lo_f, hi_f
