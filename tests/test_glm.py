"""Tests for delibpoll._glm's fast paths: fits summed over a model matrix's distinct rows
(RowGroups), the binomial link and deviance without their clamp passes, and one BLAS thread
for small model matrices.

References: each fast path against the general computation it replaces, written out here
(the plain IRLS on every row, R's clamped ``logit_linkinv``/``mu.eta`` and the two-term
binomial deviance of ``binomial()$dev.resids``). Tolerances: grouped fits 1e-11 relative
(the same sums in another order; IRLS coefficients are well-conditioned here, cond < 1e3);
the link and deviance fast paths are exact (the same floating-point operations). The glm
results against R svyglm are in tests/test_regression.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from delibpoll._glm import (
    FAMILIES,
    SMALL_BLAS,
    aliased_columns,
    glm_influence,
    irls,
    row_groups,
    small_blas,
)

REL = 1e-11


def _dummies(codes: np.ndarray, k: int) -> np.ndarray:
    return (codes[:, None] == np.arange(1, k)[None, :]).astype(float)


@st.composite
def categorical_models(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A model matrix of 1-3 categorical predictors (few distinct rows), a 0/1 response and
    positive weights (some zero), seeded from the drawn integer."""
    seed = draw(st.integers(0, 2**31 - 1))
    n = draw(st.integers(100, 400))
    sizes = draw(st.lists(st.integers(2, 3), min_size=1, max_size=3))  # <= 27 distinct rows
    rng = np.random.default_rng(seed)
    blocks = [np.ones((n, 1))]
    for k in sizes:
        codes = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])  # every level
        blocks.append(_dummies(rng.permutation(codes), k))
    x = np.hstack(blocks)
    eta = x @ rng.normal(scale=0.5, size=x.shape[1])
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    w = rng.uniform(0.5, 2.0, n)
    w[rng.random(n) < draw(st.sampled_from([0.0, 0.1]))] = 0.0
    return x, y, w


def _close(a: np.ndarray, b: np.ndarray, rel: float = REL) -> None:
    scale = np.maximum(np.abs(b), np.max(np.abs(b)) * 1e-3)
    assert np.max(np.abs(a - b) / scale) <= rel


@settings(max_examples=40, deadline=None)
@given(model=categorical_models(), family=st.sampled_from(["binomial", "poisson", "gaussian"]))
def test_grouped_fit_equals_the_fit_on_every_row(
    model: tuple[np.ndarray, np.ndarray, np.ndarray], family: str
) -> None:
    x, y, w = model
    fam = FAMILIES[family]
    groups = row_groups(x)
    assert groups is not None
    assert np.array_equal(groups.rows[groups.index], x)  # the grouping is exact
    assert len(groups.rows) == len(np.unique(x, axis=0))
    if np.linalg.matrix_rank(x[w > 0]) < x.shape[1]:
        assert aliased_columns(x, w, groups=groups) == aliased_columns(x, w)
        return
    assert aliased_columns(x, w, groups=groups) == aliased_columns(x, w) == []
    prior = w / w.mean()
    with np.errstate(over="ignore"):
        plain = irls(x, y, prior, fam, epsilon=1e-12)
    # a separated fit drifts towards infinite coefficients: its digits mean nothing
    assume(plain.converged and np.max(np.abs(plain.coef)) < 10)
    grouped = irls(x, y, prior, fam, epsilon=1e-12, groups=groups)
    assert grouped.iterations == plain.iterations
    assert grouped.converged == plain.converged
    _close(grouped.coef, plain.coef)
    _close(grouped.mu, plain.mu)
    _close(grouped.working_weights, plain.working_weights)
    assert grouped.deviance == pytest.approx(plain.deviance, rel=REL)
    infl_p, a_p = glm_influence(x, y, w, plain, fam)
    infl_g, a_g = glm_influence(x, y, w, plain, fam, groups=groups)
    _close(a_g, a_p)
    _close(infl_g, infl_p)
    # a start, an offset and a linear-predictor start (replicate refits, profiles)
    off = np.linspace(-0.2, 0.2, len(y))
    for kw in ({"start": plain.coef * 0.9}, {"offset": off}, {"eta_start": plain.eta}):
        a = irls(x, y, prior, fam, epsilon=1e-12, **kw)  # type: ignore[arg-type]
        b = irls(x, y, prior, fam, epsilon=1e-12, groups=groups, **kw)  # type: ignore[arg-type]
        _close(b.coef, a.coef)


def test_row_groups_only_when_they_pay_and_exact_keys() -> None:
    rng = np.random.default_rng(3)
    n = 200
    numeric = np.column_stack([np.ones(n), rng.normal(size=n)])
    assert row_groups(numeric) is None  # every row distinct: no grouping
    codes = rng.integers(0, 3, n)
    x = np.column_stack([np.ones(n), _dummies(codes, 3)])
    by_projection = row_groups(x)
    by_key = row_groups(x, key=codes)
    assert by_projection is not None and by_key is not None
    for g in (by_projection, by_key):
        assert g.rows.shape == (3, 3)
        assert np.array_equal(g.rows[g.index], x)
    assert row_groups(np.ones((5, 0))) is None
    assert row_groups(np.full((4, 2), np.nan)) is None


def test_binomial_link_and_deviance_fast_paths_are_exact() -> None:
    fam = FAMILIES["binomial"]
    eps = np.finfo(float).eps
    rng = np.random.default_rng(5)
    eta = np.concatenate([rng.uniform(-30, 30, 500), [-30.0, 30.0, 0.0]])
    # R's C logit_linkinv and logit_mu_eta with their clamps written out
    tmp = np.where(eta < -30, eps, np.where(eta > 30, 1 / eps, np.exp(eta)))
    assert np.array_equal(fam.linkinv(eta), tmp / (1 + tmp))
    e = np.exp(np.clip(eta, -30, 30))
    assert np.array_equal(fam.mu_eta(eta), np.where(np.abs(eta) > 30, eps, e / (1 + e) ** 2))
    # beyond |eta| = 30 the clamps apply
    far = np.array([-40.0, 0.5, 40.0])
    assert fam.linkinv(far)[0] == eps / (1 + eps)
    assert fam.mu_eta(far)[2] == eps
    mu = fam.linkinv(eta)
    y = (rng.random(len(eta)) < 0.5).astype(float)
    wt = rng.uniform(0.1, 3, len(eta))
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(y > 0, y * np.log(y / mu), 0.0)
        b = np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
    assert np.array_equal(fam.dev_resids(y, mu, wt), 2 * wt * (a + b))
    # a proportion response takes the two-term formula
    yp = rng.uniform(0, 1, len(eta))
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(yp > 0, yp * np.log(yp / mu), 0.0)
        b = np.where(yp < 1, (1 - yp) * np.log((1 - yp) / (1 - mu)), 0.0)
    assert np.array_equal(fam.dev_resids(yp, mu, wt), 2 * wt * (a + b))


def test_small_blas_limits_threads_only_for_small_matrices() -> None:
    from threadpoolctl import threadpool_info

    def blas_threads() -> list[int]:
        return [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]

    before = blas_threads()
    with small_blas(4000 * 26):
        assert all(t == 1 for t in blas_threads())
    assert blas_threads() == before
    with small_blas(SMALL_BLAS + 1):
        assert blas_threads() == before
    with pytest.raises(ValueError), small_blas(10):  # the limit is undone on an error
        raise ValueError
    assert blas_threads() == before
