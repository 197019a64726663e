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


def test_order_36_is_plackett_burmans_cyclic_design(ref: Any) -> None:
    """R's 36 x 36 matrix (hadamard_sizes.csv, n = 35) is generated, entry for entry, from
    Plackett and Burman's published 36-run generator (Biometrika 1946, their table: signs
    -+-+++---+++++-+++--+----+-+-++--+-), which is all the module keeps of it."""
    sizes = ref.data("hadamard_sizes.csv")
    bits = sizes.loc[sizes["n"] == 35, "bits"].iloc[0]
    r36 = np.array([int(c) for c in bits], dtype=np.int8).reshape(36, 36)
    published = "-+-+++---+++++-+++--+----+-+-++--+-"
    gen = "".join("1" if c == "+" else "0" for c in published)
    from delibpoll._hadamard import _PB36, _plackett_burman

    assert _PB36 == gen
    np.testing.assert_array_equal(_plackett_burman(gen), r36)


def test_order_28_is_not_paley_ii(ref: Any) -> None:
    """Why the 28 stays embedded: R's matrix is not equivalent to the Paley II matrix of
    q = 13 (conference matrix from the quadratic residues mod 13, tensored), by an invariant
    of Hadamard equivalence: the counts of |sum over columns of the product of 4 rows|."""
    from itertools import combinations

    sizes = ref.data("hadamard_sizes.csv")
    bits = sizes.loc[sizes["n"] == 27, "bits"].iloc[0]
    r28 = 2 * np.array([int(c) for c in bits]).reshape(28, 28) - 1
    q = 13
    res = {(i * i) % q for i in range(1, q)}
    chi = np.array([[0 if (j - i) % q == 0 else (1 if (j - i) % q in res else -1)
                     for j in range(q)] for i in range(q)])
    s = np.zeros((14, 14), dtype=int)
    s[0, 1:] = 1
    s[1:, 0] = 1
    s[1:, 1:] = chi
    p2 = np.kron(s, [[1, 1], [1, -1]]) + np.kron(np.eye(14, dtype=int), [[1, -1], [-1, -1]])
    np.testing.assert_array_equal(p2.T @ p2, 28 * np.eye(28))

    def profile(m: np.ndarray) -> dict[int, int]:
        out: dict[int, int] = {}
        for rows in combinations(range(28), 4):
            v = abs(int(np.prod(m[list(rows)], axis=0).sum()))
            out[v] = out.get(v, 0) + 1
        return out

    assert profile(r28) == {4: 18098, 12: 2337, 20: 40}
    assert profile(p2) == {4: 18200, 12: 2184, 20: 91}
