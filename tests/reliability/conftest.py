"""Shared helpers of the reliability suite (tests/reliability/).

The suite feeds bad or awkward inputs to every public function and the CLI and asserts the
exact outcome class: a clear :class:`delibpoll.DelibpollError` naming the problem, a marked
result (a warning of the package's own classes), or the correct value. Every public function
is also checked never to modify its inputs (``unchanged``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pytest


def _same(a: Any, b: Any, path: str = "input") -> None:
    """Deep comparison including dtypes, index, column order and ``attrs``."""
    if isinstance(a, pd.DataFrame):
        assert isinstance(b, pd.DataFrame), path
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_flags=True)
        assert list(a.columns) == list(b.columns), f"{path}: column order changed"
        _same(a.attrs, b.attrs, f"{path}.attrs")
        for col in a.columns:
            _same(a[col].attrs, b[col].attrs, f"{path}[{col!r}].attrs")
    elif isinstance(a, pd.Series):
        assert isinstance(b, pd.Series), path
        pd.testing.assert_series_equal(a, b, check_exact=True)
        _same(a.attrs, b.attrs, f"{path}.attrs")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, f"{path}: dtype changed"
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{path}: keys changed"
        for k in a:
            _same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), f"{path}: length changed"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b or (a != a and b != b), f"{path}: {a!r} became {b!r}"


@contextmanager
def _unchanged(*objects: Any) -> Iterator[None]:
    before = [copy.deepcopy(o) for o in objects]
    yield
    for i, (old, new) in enumerate(zip(before, objects, strict=True)):
        _same(old, new, f"argument {i}")


@pytest.fixture
def unchanged() -> Callable[..., Any]:
    """``with unchanged(df, targets): fn(df, targets)`` fails if any argument was modified."""
    return _unchanged
