"""Weighted means of derived per-person columns, and their gaps between subgroups
(inference layer, private module).

The knowledge, dynamics, attrition and control-group analyses estimate means of columns they
derive per person (a knowledge score, a gain, a squared deviation). They all go through
:func:`~delibpoll._ratios.ratio_estimates` - the package's one linearised (or replicate)
variance, clustered by the design's PSUs and calibration-aware - and t intervals on R's
design (or domain) df. The names here are public within :mod:`delibpoll.deliberative`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._ci import t_quantile, two_sided_p
from .._ratios import domain_df, ratio_estimates
from ..design import SurveyDesign
from ..exceptions import DelibpollError

__all__ = ["group_gaps", "mean_rows", "weighted_means"]


def _as_matrices(y: np.ndarray, valid: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``y`` as an n x K float matrix and ``valid`` as an n x K boolean one (a vector is
    one column; ``valid`` None is all True, a vector applies to every column)."""
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    v = np.ones_like(y, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    if v.ndim == 1:
        v = np.repeat(v[:, None], y.shape[1], axis=1)
    return y, v


def weighted_means(
    design: SurveyDesign, y: np.ndarray, valid: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means of the columns of ``y`` (n x K) over the rows where ``valid`` (n x K,
    default all) holds, and their covariance (R ``svymean`` of each column on its subset, as
    a domain: the other rows stay in the design)."""
    y, v = _as_matrices(y, valid)
    den = v.astype(float)
    est, vcov, _ = ratio_estimates(design, np.where(v, y, 0.0), den)
    return est, vcov


def mean_rows(
    design: SurveyDesign,
    names: Sequence[str],
    y: np.ndarray,
    level: float,
    valid: np.ndarray | None = None,
) -> pd.DataFrame:
    """A frame with one row per column of ``y``: ``measure``, ``estimate``, ``se``,
    ``ci_lower``, ``ci_upper``, ``df``, ``p_value`` (t test of 0), ``n``; the df is R's
    ``degf`` of the rows used (the domain's PSUs minus strata)."""
    y, v = _as_matrices(y, valid)
    est, vcov = weighted_means(design, y, v)
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    w = design.weight_array
    rows = []
    for j, name in enumerate(names):
        mask = v[:, j] & (w != 0)
        dfj = domain_df(design, mask)
        q = t_quantile(level, dfj)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = float(two_sided_p(np.array([est[j] / se[j]]), dfj)[0]) if se[j] > 0 else float("nan")
        rows.append({"measure": name, "estimate": est[j], "se": se[j],
                     "ci_lower": est[j] - q * se[j], "ci_upper": est[j] + q * se[j],
                     "df": dfj, "p_value": p, "n": int(mask.sum())})
    return pd.DataFrame(rows)


def group_gaps(
    design: SurveyDesign,
    names: Sequence[str],
    y: np.ndarray,
    by: str,
    level: float,
    func: str,
) -> pd.DataFrame:
    """Means of each column of ``y`` by the categories of ``by`` (R ``svyby(..., svymean,
    covmat=TRUE)``) and each group's gap to the first (reference) group with its SE from the
    joint covariance (R ``svycontrast``: ``v_g + v_ref - 2 c_{g,ref}``, non-zero when the
    groups share clusters), t on the design df.

    Returns a frame with ``measure``, ``by``, ``group``, ``estimate``, ``se``, ``n``,
    ``reference``, ``gap``, ``gap_se``, ``gap_ci_lower``, ``gap_ci_upper``, ``gap_p_value``,
    ``df``.
    """
    if by not in design.columns:
        raise DelibpollError(
            f"The 'by' parameter of {func} must be a column of the design; got {by!r}. "
            f"Available columns: {list(design.columns)}."
        )
    codes, cats = design.column_codes(by)
    if len(cats) < 2:
        raise DelibpollError(
            f"The 'by' column {by!r} of {func} needs at least two groups to compare; it has "
            f"{len(cats)}."
        )
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    n, k = y.shape
    g = len(cats)
    member = codes[:, None] == np.arange(g)[None, :]  # n x G
    # column order: measure-major, group-minor
    num = np.repeat(y, g, axis=1) * np.tile(member, (1, k))
    den = np.tile(member.astype(float), (1, k))
    est, vcov, _ = ratio_estimates(design, num, den)
    dfree = design.df
    q = t_quantile(level, dfree)
    w = design.weight_array
    rows = []
    for j, name in enumerate(names):
        r = j * g
        for h in range(g):
            i = j * g + h
            gap = est[i] - est[r]
            var = vcov[i, i] + vcov[r, r] - 2 * vcov[i, r]
            gse = float(np.sqrt(max(var, 0.0)))
            p = (float(two_sided_p(np.array([gap / gse]), dfree)[0]) if gse > 0 and h > 0
                 else float("nan"))
            rows.append({
                "measure": name, "by": by, "group": cats[h],
                "estimate": est[i], "se": float(np.sqrt(max(vcov[i, i], 0.0))),
                "n": int((member[:, h] & (w != 0)).sum()), "reference": cats[0],
                "gap": gap if h > 0 else float("nan"), "gap_se": gse if h > 0 else float("nan"),
                "gap_ci_lower": gap - q * gse if h > 0 else float("nan"),
                "gap_ci_upper": gap + q * gse if h > 0 else float("nan"),
                "gap_p_value": p, "df": dfree,
            })
    return pd.DataFrame(rows)
