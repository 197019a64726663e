"""Small formulas shared across the package (base layer)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .exceptions import DelibpollError

__all__ = ["kish_deff", "kish_deff_unchecked"]


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
