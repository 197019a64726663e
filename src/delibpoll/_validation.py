"""Validation helpers shared by the public functions (base layer).

Messages name the parameter, the bad value and the fix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .exceptions import DelibpollError

__all__ = ["WEIGHT_RANGE", "validate_weights"]

#: Weights must lie in this range so that their squares (in every variance) neither
#: underflow to 0 nor overflow.
WEIGHT_RANGE = (1e-100, 1e100)


def validate_weights(values: pd.Series | np.ndarray, what: str) -> np.ndarray:
    s = pd.Series(values)
    if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
        raise DelibpollError(f"The {what} must be numeric; got dtype {s.dtype}.")
    w = s.to_numpy(dtype=float, na_value=np.nan)
    n_nan = int(np.isnan(w).sum())
    if n_nan:
        raise DelibpollError(
            f"The {what} has {n_nan} missing value(s); every row needs a weight. "
            "Impute them or remove those rows before building the design."
        )
    n_inf = int((~np.isfinite(w)).sum())
    if n_inf:
        raise DelibpollError(f"The {what} has {n_inf} infinite value(s); weights must be finite.")
    n_bad = int((w <= 0).sum())
    if n_bad:
        raise DelibpollError(
            f"The {what} has {n_bad} zero or negative value(s) (min {w.min():.6g}); sampling "
            "weights must be positive. Drop those rows or give them a positive weight."
        )
    lo, hi = float(w.min()), float(w.max())
    if lo < WEIGHT_RANGE[0] or hi > WEIGHT_RANGE[1]:
        # variances sum squared weights: beyond this range they underflow to 0 or overflow
        raise DelibpollError(
            f"The {what} ranges from {lo:.6g} to {hi:.6g}; weights must lie between "
            f"{WEIGHT_RANGE[0]:g} and {WEIGHT_RANGE[1]:g} so that their squares (in every "
            "variance) neither underflow to 0 nor overflow. Multiply them by a constant "
            "(estimates of means and shares do not change; totals scale with it)."
        )
    return w
