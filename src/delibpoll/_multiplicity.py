"""Multiplicity-adjusted p-values (Holm, Bonferroni, Benjamini-Hochberg).

The same numbers as statsmodels' ``multipletests`` (tested against it), computed here
because its Holm branch runs a full garbage collection on every call, which made a banner
with letters on 50 questions spend most of its time in ``gc.collect``.
"""

from __future__ import annotations

import numpy as np

from ._types import Adjust, values

#: The adjustments proper (``values(Adjust)`` without ``"none"``).
METHODS: tuple[str, ...] = tuple(m for m in values(Adjust) if m != "none")

#: How each adjustment is named for readers (reports, notes).
_NAMES = {"none": "no", "holm": "Holm", "bonferroni": "Bonferroni",
          "fdr_bh": "Benjamini-Hochberg"}


def adjust_name(method: str) -> str:
    """The reader's name of an adjustment method (``"holm"`` -> ``"Holm"``).

    >>> adjust_name("fdr_bh")
    'Benjamini-Hochberg'
    """
    return _NAMES.get(method, method)


def adjust_pvalues(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values of one family of tests, in the order given (no NaNs).

    ``none``: the p-values unchanged (a copy). ``bonferroni``: ``min(1, m p)``. ``holm``: step-down, the i-th smallest p-value becomes
    ``max_{j <= i} (m - j + 1) p_(j)``. ``fdr_bh``: step-up, the i-th smallest becomes
    ``min_{j >= i} m p_(j) / j``. All are capped at 1.

    Examples
    --------
    >>> adjust_pvalues(np.array([0.01, 0.04, 0.03]), "holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust_pvalues(np.array([0.01, 0.04, 0.03]), "fdr_bh").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(p, dtype=float)
    m = p.size
    if m == 0 or method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.asarray(np.minimum(1.0, p * m))
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    i = np.arange(1, m + 1)
    if method == "holm":
        adj = np.maximum.accumulate((m - i + 1) * ranked)
    elif method == "fdr_bh":
        adj = np.minimum.accumulate((m * ranked / i)[::-1])[::-1]
    else:
        raise ValueError(f"unknown adjustment {method!r}; use one of {METHODS}")
    out = np.empty(m)
    out[order] = np.minimum(1.0, adj)
    return out
