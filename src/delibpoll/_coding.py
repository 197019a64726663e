"""Column coding: one function turns a column into integer codes (base layer).

The category order is documented once, here, and used everywhere (estimates, banners,
weighting cells, comparisons): the declared order of a pandas ``Categorical`` (as read from
SPSS/Stata value labels), otherwise the sorted distinct values. Missing values get code -1.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pandas as pd

__all__ = ["category_codes"]


def category_codes(s: pd.Series) -> tuple[np.ndarray, list[Hashable]]:
    """Integer codes (-1 for missing) and the categories they index.

    Categories: the declared order for categoricals, otherwise the sorted distinct values
    (numpy scalars as Python scalars).

    Examples
    --------
    >>> import pandas as pd
    >>> codes, cats = category_codes(pd.Series(["b", "a", None, "b"]))
    >>> codes.tolist(), cats
    ([1, 0, -1, 1], ['a', 'b'])
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.array.codes.astype(np.int64), s.cat.categories.tolist()
    codes, uniques = pd.factorize(s, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64), [u.item() if hasattr(u, "item") else u for u in uniques]
