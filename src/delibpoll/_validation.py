"""Validation helpers shared by the public functions (base layer).

Messages name the parameter, the bad value and the fix.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._types import NaPolicy, values
from .exceptions import DelibpollError, DelibpollWarning

__all__ = [
    "WEIGHT_RANGE", "check_choice", "check_int", "check_level", "check_na", "validate_weights",
]

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


def check_level(level: object, func: str) -> float:
    """A confidence level in (0, 1), as a float."""
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise DelibpollError(
            f"The 'level' parameter of {func} must be a float in (0, 1). Got {level!r} instead."
            + (" Use 0.95 for a 95% interval." if isinstance(level, int | float) and level > 1 else "")
        )
    return float(level)


def check_na(na: object, func: str) -> NaPolicy:
    """The ``na`` policy of an estimate: ``"error"`` or ``"drop"`` (:data:`NaPolicy`)."""
    words = values(NaPolicy)
    if na not in words:
        raise DelibpollError(
            f"The 'na' parameter of {func} must be {' or '.join(map(repr, words))}; got {na!r}."
        )
    return "error" if na == "error" else "drop"


def check_int(value: object, name: str, func: str, minimum: int = 1) -> int:
    """An integer (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise DelibpollError(
            f"The '{name}' parameter of {func} must be an integer >= {minimum}; got {value!r}."
        )
    return int(value)


def check_choice(value: object, name: str, func: str, choices: Sequence[str]) -> str:
    """One of the words of a vocabulary (``choices = values(SomeLiteral)``)."""
    if not isinstance(value, str) or value not in choices:
        raise DelibpollError(
            f"The '{name}' parameter of {func} must be one of {list(choices)}; got {value!r}."
        )
    return value


def check_by(by: object, func: str) -> list[str]:
    """The ``by`` parameter of an estimate as a list of column names (``[]`` for None)."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    if isinstance(by, Sequence) and len(by) > 0 and all(isinstance(b, str) for b in by):
        return list(by)
    raise DelibpollError(
        f"The 'by' parameter of {func} must be a column name or a list of column names; "
        f"got {by!r}."
    )


def check_missing(variable: str, n_missing: int, na: NaPolicy) -> None:
    """Refuse ``n_missing`` missing values of ``variable`` unless ``na="drop"``."""
    if n_missing and na == "error":
        raise DelibpollError(
            f"Variable '{variable}' has {n_missing} missing value(s). Pass na='drop' to leave "
            "those rows out of this estimate (the result reports how many), or recode them "
            "to a category such as \"Don't know\" to keep them in the base."
        )


def check_bounds(bounds: object, method: str, func: str) -> tuple[float, float]:
    """Calibration bounds on ``g`` (new weight / starting weight) as ``(L, U)`` with
    ``0 <= L < 1 < U``; ``(-inf, inf)`` for None, which ``method="logit"`` refuses."""
    if bounds is None:
        if method == "logit":
            raise DelibpollError(
                f"{func}(method='logit') is bounded raking and needs bounds=(L, U) with "
                "L < 1 < U, for example bounds=(0.3, 3)."
            )
        return -np.inf, np.inf
    try:
        if isinstance(bounds, str) or len(bounds) != 2:  # type: ignore[arg-type]
            raise ValueError
        lo, hi = float(bounds[0]), float(bounds[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        raise DelibpollError(
            f"The 'bounds' parameter of {func} must be a pair (L, U); got {bounds!r}."
        ) from None
    if not (lo < 1 < hi) or lo < 0:
        raise DelibpollError(
            f"The 'bounds' parameter of {func} must satisfy 0 <= L < 1 < U; got {bounds!r}. "
            "Bounds are on g = new weight / starting weight, so they must contain 1."
        )
    return lo, hi


def check_categories(variable: str, cats: Sequence[object]) -> None:
    """Refuse a categorical ``variable`` with no answers; warn when it has one category
    (at the caller of the estimate that calls this)."""
    if len(cats) == 0:
        raise DelibpollError(f"Variable '{variable}' has no non-missing values to estimate from.")
    if len(cats) == 1:
        warnings.warn(
            f"Variable '{variable}' is constant ({cats[0]!r}): its proportion is 1 with "
            "standard error 0.",
            DelibpollWarning,
            stacklevel=3,
        )
