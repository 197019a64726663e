"""Tests for delibpoll._hadamard: R's survey:::hadamard matrices, size by size.

Reference: tests/reference/r/hadamard.R (data/hadamard_sizes.csv: R's matrix for n = 1..64,
100, 128, 200) and brr.R (data/hadamard_20.csv). R 4.2, survey 4.1.1. Exact (0/1 entries).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delibpoll._hadamard import hadamard


def test_every_recorded_size_equals_r(ref: Any) -> None:
    """The precooked, Paley and doubled constructions give R's very matrix (exact)."""
    sizes = ref.data("hadamard_sizes.csv")
    for n, order, bits in sizes.itertuples(index=False):
        ours = hadamard(int(n))
        assert ours.shape == (order, order), n
        assert "".join(map(str, ours.ravel())) == bits, n


def test_brr_matrix_of_20_strata_equals_r(ref: Any) -> None:
    theirs = ref.data("hadamard_20.csv").to_numpy()
    np.testing.assert_array_equal(hadamard(20), theirs)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=400))
def test_hadamard_property(n: int) -> None:
    """+-1 form H'H = order * I, more rows than strata, first row all 1 (the unused row; R's
    precooked order-28 matrix does not have a first column of 1s)."""
    h = hadamard(n)
    assert h.shape[0] > n
    pm = 2 * h.astype(np.int64) - 1
    np.testing.assert_array_equal(pm.T @ pm, h.shape[0] * np.eye(h.shape[0], dtype=np.int64))
    assert (h[0] == 1).all()


@pytest.mark.parametrize("n", [1, 3])
def test_smallest_is_r_order_4(n: int) -> None:
    assert hadamard(n).shape == (4, 4)
