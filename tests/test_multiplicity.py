"""Tests for delibpoll._multiplicity against statsmodels' ``multipletests`` (the outside
reference) and the textbook definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from delibpoll._multiplicity import METHODS, adjust_pvalues

pvalues = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=40)


@settings(max_examples=60)
@given(p=pvalues, method=st.sampled_from(METHODS))
def test_equals_statsmodels(p: list[float], method: str) -> None:
    """Same adjusted p-values as statsmodels to 1e-12, ties and zeros included."""
    arr = np.array(p)
    np.testing.assert_allclose(adjust_pvalues(arr, method), multipletests(arr, method=method)[1],
                               rtol=1e-12, atol=1e-15)


@settings(max_examples=100)
@given(p=pvalues, method=st.sampled_from(METHODS))
def test_invariants(p: list[float], method: str) -> None:
    """Adjusted >= raw, at most 1, and monotone in the raw p-values."""
    arr = np.array(p)
    adj = adjust_pvalues(arr, method)
    assert np.all(adj >= arr - 1e-15) and np.all(adj <= 1.0)
    order = np.argsort(arr, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-15)


def test_textbook_values() -> None:
    """Holm on (0.01, 0.02, 0.03, 0.04): 4 x 0.01, then max(0.04, 3 x 0.02) ... ; BH on
    (0.01, 0.02, 0.03, 0.04): every value is 0.04 (4 x 0.04 / 4 bounds them all)."""
    p = np.array([0.04, 0.01, 0.03, 0.02])
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), [0.06, 0.04, 0.06, 0.06])
    np.testing.assert_allclose(adjust_pvalues(p, "fdr_bh"), [0.04, 0.04, 0.04, 0.04])
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni"), [0.16, 0.04, 0.12, 0.08])
    assert adjust_pvalues(np.array([]), "holm").size == 0
    with pytest.raises(ValueError, match="unknown adjustment"):
        adjust_pvalues(p, "sidak")


def test_vocabulary_is_adjust_and_none_is_identity() -> None:
    """METHODS are the words of _types.Adjust but "none", which leaves p-values unchanged."""
    from delibpoll._types import Adjust, values

    assert ("none", *METHODS) == values(Adjust)
    p = np.array([0.04, 0.01, 0.03])
    out = adjust_pvalues(p, "none")
    np.testing.assert_array_equal(out, p)
    assert out is not p


def test_every_adjustment_has_a_reader_name() -> None:
    """Reports name the method as readers know it, not by its option word."""
    from delibpoll._multiplicity import adjust_name
    from delibpoll._types import Adjust, values

    assert {m: adjust_name(m) for m in values(Adjust)} == {
        "none": "no", "holm": "Holm", "bonferroni": "Bonferroni",
        "fdr_bh": "Benjamini-Hochberg"}
