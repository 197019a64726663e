"""Read-only arrays for result objects (base layer)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["read_only"]


def read_only(a: Any, dtype: DTypeLike | None = None) -> np.ndarray:
    """A read-only copy of ``a``: results hand out arrays that cannot be edited.

    Examples
    --------
    >>> x = read_only([1, 2], dtype=float)
    >>> x.flags.writeable, x.dtype.name
    (False, 'float64')
    """
    out = np.array(a, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out
