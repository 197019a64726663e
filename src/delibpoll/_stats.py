"""Small formulas shared across the package (base layer)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .exceptions import DelibpollError

__all__ = ["kish_deff", "kish_deff_unchecked", "kish_n_eff_by_group"]


def kish_deff(w: np.ndarray | pd.Series) -> float:
    """Kish design effect of a set of weights: ``n * sum(w^2) / sum(w)^2``.

    Examples
    --------
    >>> kish_deff([1.0, 1.0, 1.0, 1.0])
    1.0
    >>> round(kish_deff([1.0, 3.0]), 3)
    1.25
    """
    try:
        arr = np.asarray(w, dtype=float)
    except (TypeError, ValueError):
        raise DelibpollError(
            f"The 'w' parameter of kish_deff must be numeric weights; got {type(w).__name__} "
            "with non-numeric values. Pass a 1-D array or Series of weights."
        ) from None
    if arr.ndim != 1 or len(arr) == 0:
        raise DelibpollError(
            f"The 'w' parameter of kish_deff must be a non-empty 1-D set of weights; got shape "
            f"{arr.shape}. Pass one weight per respondent."
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or not arr.sum() > 0:
        bad = arr[~np.isfinite(arr) | (arr < 0)]
        raise DelibpollError(
            "The 'w' parameter of kish_deff must hold finite weights >= 0 with a positive sum; "
            f"got {int(len(bad))} missing, infinite or negative value(s) (e.g. {bad[:3].tolist()}) "
            f"and sum {float(np.nansum(arr)):.6g}. Drop or fix those weights first."
        )
    return kish_deff_unchecked(arr)


def kish_deff_unchecked(arr: np.ndarray) -> float:
    """The Kish design effect formula of :func:`kish_deff` without its checks, for weights
    already validated (or legitimately negative, as linear calibration's GREG weights)."""
    return float(len(arr) * np.sum(arr**2) / np.sum(arr) ** 2)


def kish_n_eff_by_group(
    w: np.ndarray, codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group ``g`` of ``codes`` (0..n_groups-1): the unweighted count, the sum of weights
    and the Kish effective size ``(sum w)^2 / sum w^2`` (``n / kish_deff``; 0 for an empty
    group), each with one ``bincount``.

    Examples
    --------
    >>> import numpy as np
    >>> n, wsum, n_eff = kish_n_eff_by_group(np.array([1.0, 3.0, 2.0]), np.array([0, 0, 1]), 3)
    >>> n.tolist(), wsum.tolist(), n_eff.tolist()
    ([2, 1, 0], [4.0, 2.0, 0.0], [1.6, 1.0, 0.0])
    """
    n = np.bincount(codes, minlength=n_groups)
    wsum = np.bincount(codes, weights=w, minlength=n_groups)
    w2 = np.bincount(codes, weights=w * w, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(n > 0, wsum**2 / w2, 0.0)
    return n, wsum, n_eff
