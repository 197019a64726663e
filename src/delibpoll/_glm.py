"""Model fitting on plain arrays: R's ``glm.fit`` (IRLS) and the proportional-odds logistic
model of R's ``svyolr`` (kernel layer).

Nothing here knows about designs: the API modules (:mod:`delibpoll.glm`,
:mod:`delibpoll.olr`) pass the model matrix, the response and the sampling weights, and turn
the per-row influence values returned here into design-based variances with
:mod:`delibpoll._variance` (or refit on replicate weights).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg, special, stats

from ._types import GLMFamily

__all__ = [
    "FAMILIES",
    "Family",
    "IRLSFit",
    "OLRFit",
    "RowGroups",
    "aliased_columns",
    "glm_influence",
    "irls",
    "fmm_spline",
    "olr_fit",
    "olr_scores",
    "profile_interval",
    "row_groups",
    "small_blas",
]

_EPS = float(np.finfo(float).eps)
_THRESH = 30.0

# Model matrices up to this many elements are fitted with one BLAS thread (below).
SMALL_BLAS = 4_000_000
_CONTROLLER: list[Any] = []


@contextlib.contextmanager
def small_blas(n_elements: int) -> Iterator[None]:
    """Run the block with one BLAS thread when the model matrix is small.

    A fit makes dozens of dense products of an ``n x p`` model matrix (IRLS's Gram
    matrices, the influence values, the calibration sweeps of the variance). Up to a few
    million elements one thread does each in well under a millisecond, and OpenBLAS's worker
    threads cost more than they save: waking and joining them takes longer than the product,
    and several-fold longer when the cores are busy (the glm benchmark, n = 4,000 x 26 on 2
    busy cores: 31 ms with the default threads, 7 ms with one). Larger matrices keep the
    default threads. threadpoolctl's controller is made once (it inspects the loaded
    libraries, ~1 ms); switching the limit costs ~10 us. The limit is process-wide while the
    block runs, as every BLAS thread setting is.
    """
    if n_elements > SMALL_BLAS:
        yield
        return
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    with _CONTROLLER[0].limit(limits=1, user_api="blas"):
        yield


@dataclass(frozen=True)
class Family:
    """An exponential family with its canonical link, as R's family objects (``binomial``
    is R's ``quasibinomial`` and ``poisson`` R's ``quasipoisson``: the same estimates and
    design-based SEs, no check that the response is a count)."""

    name: GLMFamily
    link: str

    def linkfun(self, mu: np.ndarray) -> np.ndarray:
        if self.name == "gaussian":
            return mu
        if self.name == "binomial":
            return np.asarray(np.log(mu / (1 - mu)))
        return np.asarray(np.log(mu))

    def linkinv(self, eta: np.ndarray) -> np.ndarray:
        if self.name == "gaussian":
            return eta
        if self.name == "binomial":
            # R's C logit_linkinv: exp clamped to [eps, 1/eps] beyond |eta| = 30 (the
            # clamps select nothing when every |eta| <= 30: the same values, fewer passes)
            if eta.size and -_THRESH <= eta.min() and eta.max() <= _THRESH:
                tmp = np.exp(eta)
                return np.asarray(tmp / (1 + tmp))
            with np.errstate(over="ignore"):
                tmp = np.where(eta < -_THRESH, _EPS,
                               np.where(eta > _THRESH, 1 / _EPS, np.exp(eta)))
            return np.asarray(tmp / (1 + tmp))
        with np.errstate(over="ignore"):
            return np.asarray(np.maximum(np.exp(eta), _EPS))

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        if self.name == "gaussian":
            return np.ones_like(eta)
        if self.name == "binomial":
            if eta.size and -_THRESH <= eta.min() and eta.max() <= _THRESH:
                e = np.exp(eta)
                return np.asarray(e / (1 + e) ** 2)
            e = np.exp(np.clip(eta, -_THRESH, _THRESH))
            return np.asarray(np.where(np.abs(eta) > _THRESH, _EPS, e / (1 + e) ** 2))
        with np.errstate(over="ignore"):
            return np.asarray(np.maximum(np.exp(eta), _EPS))

    def variance(self, mu: np.ndarray) -> np.ndarray:
        if self.name == "gaussian":
            return np.ones_like(mu)
        if self.name == "binomial":
            return np.asarray(mu * (1 - mu))
        return mu

    def dev_resids(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        if self.name == "gaussian":
            return np.asarray(wt * (y - mu) ** 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.name == "binomial":
                one = y == 1
                if np.all(one | (y == 0)):
                    # a 0/1 response: y log(y/mu) + (1-y) log((1-y)/(1-mu)) is log(1/mu)
                    # or log(1/(1-mu)), the other term 0: the same values in one pass
                    return np.asarray(2 * wt * np.log(1 / np.where(one, mu, 1 - mu)))
                a = np.where(y > 0, y * np.log(y / mu), 0.0)
                b = np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
                return np.asarray(2 * wt * (a + b))
            r = np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)
        return np.asarray(2 * wt * r)

    def mustart(self, y: np.ndarray, wt: np.ndarray) -> np.ndarray:
        if self.name == "binomial":
            return np.asarray((wt * y + 0.5) / (wt + 1))
        if self.name == "poisson":
            return np.asarray(y + 0.1)
        return y

    def valid_mu(self, mu: np.ndarray) -> bool:
        if self.name == "binomial":
            return bool(np.all(np.isfinite(mu) & (mu > 0) & (mu < 1)))
        if self.name == "poisson":
            return bool(np.all(np.isfinite(mu) & (mu > 0)))
        return bool(np.all(np.isfinite(mu)))


FAMILIES: dict[str, Family] = {
    "gaussian": Family("gaussian", "identity"),
    "binomial": Family("binomial", "logit"),
    "poisson": Family("poisson", "log"),
}


@dataclass(frozen=True)
class IRLSFit:
    """The result of :func:`irls`: coefficients, linear predictor and fitted means, the
    final working weights (``prior * mu.eta^2 / V(mu)``), the deviance (with the prior weights
    given), the number of iterations, and whether the deviance criterion was met."""

    coef: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    working_weights: np.ndarray
    deviance: float
    iterations: int
    converged: bool


@dataclass(frozen=True)
class RowGroups:
    """Rows of a model matrix grouped by their values: ``x == rows[index]`` exactly.

    A model matrix of categorical predictors repeats few distinct rows (the benchmark's 5
    margins: 1,244 distinct rows of 4,000). Every product of a fit is a sum over rows of a
    per-row weight times a function of the row's values, so it can be summed per group
    first (``np.bincount``) and taken over the distinct rows: ``X' W X = R' diag(W_g) R``
    and ``X' W z = R' (W z)_g`` with ``W_g`` the group sums. The same sums in another order:
    equal to rounding."""

    rows: np.ndarray
    index: np.ndarray

    def sums(self, v: np.ndarray) -> np.ndarray:
        """Per-group sums of the per-row values ``v``."""
        return np.bincount(self.index, weights=v, minlength=self.rows.shape[0])


def row_groups(x: np.ndarray, max_share: float = 0.5,
               key: np.ndarray | None = None) -> RowGroups | None:
    """The distinct rows of ``x`` when they are at most ``max_share`` of its rows (else
    None: grouping would not pay). ``key``: an integer per row, equal exactly for equal rows
    (the model frame's ``row_key``, from category codes). Without it rows are keyed by a
    fixed random projection and the grouping is checked exactly (``x == rows[index]``;
    None when the check fails)."""
    n, p = x.shape
    if p == 0 or n < 2:
        return None
    exact = key is not None
    if key is None:
        key = x @ np.random.default_rng(20261208).random(p)
        if not np.all(np.isfinite(key)):
            return None
    _, first, index = np.unique(key, return_index=True, return_inverse=True)
    if len(first) > max_share * n:
        return None
    rows = x[first]
    if not exact and not np.array_equal(rows[index], x):
        return None
    return RowGroups(rows=rows, index=index.astype(np.intp, copy=False))


def aliased_columns(x: np.ndarray, w: np.ndarray, tol: float = 1e-7,
                    groups: RowGroups | None = None) -> list[int]:
    """Columns of ``x`` that are (numerically) linear combinations of earlier columns on the
    rows with positive weight, by R's rule (``qr(x, tol = 1e-7)``, LINPACK dqrdc2: a column
    whose part orthogonal to the columns kept so far is below ``tol`` times its own norm).
    ``groups`` (:func:`row_groups` of ``x``) sums the Gram matrix over the distinct rows."""
    if groups is not None:
        wg = groups.sums(np.where(w > 0, w, 0.0))
        xg = groups.rows[wg > 0] * np.sqrt(wg[wg > 0])[:, None]
    else:
        xg = x[w > 0] * np.sqrt(w[w > 0])[:, None]
    # fast path: the Cholesky factor of the Gram matrix holds the norms of the orthogonal
    # parts; well above the tolerance no column is aliased (the loop below would agree)
    norms = np.sqrt(np.einsum("ij,ij->j", xg, xg))
    if np.all(norms > 0):
        try:
            chol = np.linalg.cholesky((xg.T @ xg) / np.outer(norms, norms))
            if np.all(np.diag(chol) > 1e-4):
                return []
        except np.linalg.LinAlgError:
            pass
    xs = x[w > 0] * np.sqrt(w[w > 0])[:, None]
    kept: list[int] = []
    out: list[int] = []
    q = np.zeros((xs.shape[0], 0))
    for j in range(xs.shape[1]):
        col = xs[:, j]
        norm = float(np.linalg.norm(col))
        resid = col - q @ (q.T @ col) if q.shape[1] else col
        resid = resid - q @ (q.T @ resid) if q.shape[1] else resid  # re-orthogonalise
        rn = float(np.linalg.norm(resid))
        if norm == 0 or rn < tol * norm:
            out.append(j)
            continue
        kept.append(j)
        q = np.column_stack([q, resid / rn])
    return out


def _wls(x: np.ndarray, z: np.ndarray, ww: np.ndarray) -> np.ndarray:
    """Weighted least squares ``argmin sum ww (z - x b)^2``: the normal equations by Cholesky
    with the columns equilibrated and one step of iterative refinement (as accurate as a
    QR solve for the model matrices here, and several times faster); least squares by SVD
    when the Gram matrix is not numerically positive definite."""
    xw = x * ww[:, None]
    gram = x.T @ xw
    scale = np.sqrt(np.diag(gram))
    if not np.all(scale > 0):
        sw = np.sqrt(ww)
        return np.asarray(np.linalg.lstsq(x * sw[:, None], z * sw, rcond=None)[0])
    g = gram / np.outer(scale, scale)
    try:
        chol = np.linalg.cholesky(g)
    except np.linalg.LinAlgError:
        sw = np.sqrt(ww)
        return np.asarray(np.linalg.lstsq(x * sw[:, None], z * sw, rcond=None)[0])

    def solve(rhs: np.ndarray) -> np.ndarray:
        # both triangular solves in one LAPACK call (potrs)
        return np.asarray(linalg.cho_solve((chol, True), rhs / scale,
                                           check_finite=False) / scale)

    b = solve(xw.T @ z)
    return np.asarray(b + solve(xw.T @ (z - x @ b)))


def irls(
    x: np.ndarray,
    y: np.ndarray,
    prior: np.ndarray,
    family: Family,
    *,
    start: np.ndarray | None = None,
    epsilon: float = 1e-12,
    max_iter: int = 100,
    offset: np.ndarray | None = None,
    eta_start: np.ndarray | None = None,
    groups: RowGroups | None = None,
) -> IRLSFit:
    """R's ``glm.fit``: iteratively reweighted least squares with prior weights ``prior``.

    Starts from R's ``mustart`` (or from the coefficients ``start``, or the linear predictor
    ``eta_start``), stops when ``|dev - dev_old| / (|dev| + 0.1) < epsilon`` (R's rule; R's
    default epsilon is 1e-8), and halves a step whose deviance is not finite or whose fitted
    means leave the family's range, as R does. ``offset`` is added to the linear predictor
    (R ``glm.fit(offset=)``). Rows with zero prior weight do not enter the fit. ``groups``
    (:func:`row_groups` of ``x``) solves each weighted least-squares step on the distinct
    rows (the working weights and weighted working responses summed per group): the same
    normal equations, equal to rounding."""
    good = prior > 0
    all_good = bool(good.all())
    if all_good:  # no copies
        xg, yg, pg = x, y, prior
    else:
        xg, yg, pg = x[good], y[good], prior[good]
    off: np.ndarray | float = (0.0 if offset is None else np.asarray(offset, float)
                               if all_good else np.asarray(offset, float)[good])
    gidx = (np.zeros(0, dtype=np.intp) if groups is None
            else groups.index if all_good else groups.index[good])

    def linear(c: np.ndarray) -> np.ndarray:
        lin = xg @ c if groups is None else np.take(groups.rows @ c, gidx)
        return np.asarray(lin if offset is None else lin + off)  # x + 0.0 is x

    # without an offset, once eta comes from coefficients it is constant in each group, and
    # so are mu, mu.eta and V(mu): the working weights and responses are summed per group
    # from the groups' prior-weight sums P_g and sum p y (PY_g), not row by row
    grouped = groups is not None and offset is None
    if grouped:
        assert groups is not None
        n_groups = groups.rows.shape[0]
        p_g = np.bincount(gidx, weights=pg, minlength=n_groups)
        py_g = np.bincount(gidx, weights=pg * yg, minlength=n_groups)
    eta_g: np.ndarray | None = None
    mu_g: np.ndarray | None = None

    def move(c: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray,
                                     np.ndarray]:
        """Group-level eta and mu (or None), then row-level eta (None-free) and mu."""
        if grouped:
            assert groups is not None
            e_g = groups.rows @ c
            m_g = family.linkinv(e_g)
            return e_g, m_g, np.take(e_g, gidx), np.take(m_g, gidx)
        e = linear(c)
        return None, None, e, family.linkinv(e)

    coef_old: np.ndarray | None = None
    if eta_start is not None:
        eta = np.asarray(eta_start, dtype=float)
        eta = eta if all_good else eta[good]
        mu = family.linkinv(eta)
    elif start is None:
        mu = family.mustart(yg, pg)
        eta = family.linkfun(mu)
    else:
        coef_old = np.asarray(start, dtype=float)
        eta_g, mu_g, eta, mu = move(coef_old)
    devold = float(np.sum(family.dev_resids(yg, mu, pg)))
    converged = False
    coef = np.zeros(x.shape[1]) if coef_old is None else coef_old
    it = 0
    dev = devold
    for it in range(1, max_iter + 1):  # noqa: B007  (the count is returned)
        if groups is None:
            mu_eta = family.mu_eta(eta)
            z = (eta if offset is None else eta - off) + (yg - mu) / mu_eta
            coef = _wls(xg, z, np.sqrt(pg * mu_eta**2 / family.variance(mu)) ** 2)
        else:
            n_groups = groups.rows.shape[0]
            if eta_g is not None and mu_g is not None:
                mu_eta_g = family.mu_eta(eta_g)
                c_g = mu_eta_g**2 / family.variance(mu_g)
                wsum = c_g * p_g
                zsum = c_g * (p_g * eta_g + (py_g - p_g * mu_g) / mu_eta_g)
            else:
                mu_eta = family.mu_eta(eta)
                z = (eta if offset is None else eta - off) + (yg - mu) / mu_eta
                ww = np.sqrt(pg * mu_eta**2 / family.variance(mu)) ** 2
                wsum = np.bincount(gidx, weights=ww, minlength=n_groups)
                zsum = np.bincount(gidx, weights=ww * z, minlength=n_groups)
            sel = wsum > 0
            if sel.all():
                coef = _wls(groups.rows, zsum / wsum, wsum)
            else:
                coef = _wls(groups.rows[sel], zsum[sel] / wsum[sel], wsum[sel])
        eta_g, mu_g, eta, mu = move(coef)
        dev = float(np.sum(family.dev_resids(yg, mu, pg)))
        halvings = 0
        while (not np.isfinite(dev) or not family.valid_mu(mu if mu_g is None else mu_g)) \
                and coef_old is not None:
            halvings += 1
            if halvings > max_iter:
                break
            coef = (coef + coef_old) / 2
            eta_g, mu_g, eta, mu = move(coef)
            dev = float(np.sum(family.dev_resids(yg, mu, pg)))
        if abs(dev - devold) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        devold = dev
        coef_old = coef
    lin = x @ coef if groups is None else (groups.rows @ coef)[groups.index]
    eta_all = lin if offset is None else lin + np.asarray(offset, dtype=float)
    mu_all = family.linkinv(eta_all)
    mu_eta_all = family.mu_eta(eta_all)
    ww = prior * mu_eta_all**2 / family.variance(mu_all)
    return IRLSFit(coef=coef, eta=eta_all, mu=mu_all, working_weights=ww, deviance=dev,
                   iterations=it, converged=converged)


def glm_influence(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, fit: IRLSFit, family: Family,
    groups: RowGroups | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(U A, A)``: the influence values of the coefficients for a design sum (R
    ``svyglm``: ``U = X * resid_working * working_weights``, ``A = (X' W X)^{-1}``) with the
    sampling weights ``w`` as prior weights (rescaling them cancels in ``U A``). ``groups``
    (:func:`row_groups` of ``x``): ``X' W X`` and ``X A`` over the distinct rows."""
    mu_eta = family.mu_eta(fit.eta)
    var = family.variance(fit.mu)
    ww = w * mu_eta**2 / var
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(w > 0, w * mu_eta * (y - fit.mu) / var, 0.0)
    if groups is None:
        a = np.linalg.inv(x.T @ (x * ww[:, None]))
        return (x * score[:, None]) @ a, a
    r = groups.rows
    a = np.linalg.inv(r.T @ (r * groups.sums(np.where(w > 0, ww, 0.0))[:, None]))
    infl = np.take(r @ a, groups.index, axis=0)
    infl *= score[:, None]
    return infl, a


# ---------------------------------------------------------------------- profile likelihood
def fmm_spline(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """R's ``spline(method = "fmm")`` evaluated at ``xout``: the interpolating cubic spline
    of Forsythe, Malcolm and Moler (end third derivatives from the cubics through the first
    and last four points), as R's C ``fmm_spline`` and ``spline_eval``. ``x`` increasing."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    b = np.zeros(n)
    c = np.zeros(n)
    d = np.zeros(n)
    if n < 3:
        slope = (y[1] - y[0]) / (x[1] - x[0]) if n == 2 else 0.0
        b[:] = slope
    else:
        nm1 = n - 1
        d[0] = x[1] - x[0]
        c[1] = (y[1] - y[0]) / d[0]
        for i in range(1, nm1):
            d[i] = x[i + 1] - x[i]
            b[i] = 2.0 * (d[i - 1] + d[i])
            c[i + 1] = (y[i + 1] - y[i]) / d[i]
            c[i] = c[i + 1] - c[i]
        b[0] = -d[0]
        b[nm1] = -d[n - 2]
        c[0] = c[nm1] = 0.0
        if n > 3:
            c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
            c[nm1] = c[n - 2] / (x[nm1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4])
            c[0] = c[0] * d[0] * d[0] / (x[3] - x[0])
            c[nm1] = -c[nm1] * d[n - 2] * d[n - 2] / (x[nm1] - x[n - 4])
        for i in range(1, n):
            t = d[i - 1] / b[i - 1]
            b[i] = b[i] - t * d[i - 1]
            c[i] = c[i] - t * c[i - 1]
        c[nm1] = c[nm1] / b[nm1]
        for i in range(n - 2, -1, -1):
            c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
        b[nm1] = (y[nm1] - y[n - 2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2.0 * c[nm1])
        for i in range(nm1):
            b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
            d[i] = (c[i + 1] - c[i]) / d[i]
            c[i] = 3.0 * c[i]
        c[nm1] = 3.0 * c[nm1]
        d[nm1] = d[n - 2]
    u = np.asarray(xout, dtype=float)
    idx = np.clip(np.searchsorted(x, u, side="right") - 1, 0, n - 1)
    dx = u - x[idx]
    return np.asarray(y[idx] + dx * (b[idx] + dx * (c[idx] + dx * d[idx])))


def profile_interval(
    x: np.ndarray,
    y: np.ndarray,
    prior: np.ndarray,
    family: Family,
    coef: np.ndarray,
    which: int,
    se: float,
    alpha: float,
    dispersion: float,
    deviance: float,
    zmax: float,
    *,
    epsilon: float = 1e-12,
    max_iter: int = 100,
    max_steps: int = 10,
) -> tuple[float, float]:
    """The profile-likelihood interval of coefficient ``which`` as R survey's
    ``confint.svyglm(method = "likelihood")`` computes it (its ``MASSprofile_glm`` and
    ``confint_profile``).

    From the estimate, steps of ``zmax / 5`` standard errors down and up (at most
    ``max_steps - 1`` each way, stopping once ``|z| >= zmax``) refit the model with the
    coefficient fixed (an offset); ``z = sign * sqrt((deviance_fixed - deviance) /
    dispersion)``. The ends are where R's interpolating spline of ``z`` against the
    coefficient (``spline``, 3 points per profile point, then linear ``approx``) crosses
    ``qnorm(alpha)`` and ``qnorm(1 - alpha)``, ``alpha`` being the design-effect-scaled tail
    (R's ``unscaled_level``). NaN when the profile does not reach a cutoff (R's ``NA``).

    Raises
    ------
    ValueError
        A fixed-coefficient fit has a deviance below the fit's by more than 0.001 times the
        dispersion (the fit had not converged; R stops with the same check).
    """
    keep = np.array([j for j in range(x.shape[1]) if j != which], dtype=np.int64)
    xi = x[:, keep]
    base_eta = x @ coef
    delta = zmax / 5
    zs = [0.0]
    bs = [float(coef[which])]
    for sgn in (-1.0, 1.0):
        step = 0
        z = 0.0
        lp = base_eta
        while True:
            step += 1
            if not (step < max_steps and abs(z) < zmax):
                break
            bi = float(coef[which]) + sgn * step * delta * se
            off = x[:, which] * bi
            if xi.shape[1]:
                fm = irls(xi, y, prior, family, epsilon=epsilon, max_iter=max_iter,
                          offset=off, eta_start=lp)
                lp = xi @ fm.coef + off
                dev = fm.deviance
            else:
                mu = family.linkinv(off)
                good = prior > 0
                dev = float(np.sum(family.dev_resids(y[good], mu[good], prior[good])))
                lp = off
            zz = (dev - deviance) / dispersion
            if zz <= -0.001:
                raise ValueError("profiling found a better fit: the fit had not converged")
            z = sgn * float(np.sqrt(max(zz, 0.0)))
            zs.append(z)
            bs.append(bi)
    order = np.argsort(zs, kind="stable")
    bx = np.asarray(bs)[order]
    zy = np.asarray(zs)[order]
    # R's spline() sorts by x (ties averaged) and evaluates at 3 n equally spaced points
    bx_u, inv = np.unique(bx, return_inverse=True)
    zy_u = np.bincount(inv, weights=zy) / np.bincount(inv)
    grid = np.linspace(bx_u[0], bx_u[-1], 3 * len(bx))
    sz = fmm_spline(bx_u, zy_u, grid)
    # approx(sp$y, sp$x, xout = cutoff): linear, sorted by sp$y, NA outside its range
    o = np.argsort(sz, kind="stable")
    sy, sx = sz[o], grid[o]
    sy_u, inv2 = np.unique(sy, return_inverse=True)
    sx_u = np.bincount(inv2, weights=sx) / np.bincount(inv2)
    cut = float(stats.norm.ppf(alpha))
    out = []
    for c in (cut, -cut):
        if sy_u[0] <= c <= sy_u[-1]:
            out.append(float(np.interp(c, sy_u, sx_u)))
        else:
            out.append(float("nan"))
    return out[0], out[1]


# ---------------------------------------------------------------------- proportional odds
@dataclass(frozen=True)
class OLRFit:
    """Proportional-odds logistic fit: slopes ``beta``, thresholds ``zeta``, the Hessian of
    the negative weighted log-likelihood on ``(beta, zeta)``, the minimum of that function,
    Newton iterations and convergence."""

    beta: np.ndarray
    zeta: np.ndarray
    hessian: np.ndarray
    value: float
    iterations: int
    converged: bool


def _olr_parts(
    x: np.ndarray, y: np.ndarray, n_levels: int, theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: upper and lower cumulative arguments, their logistic densities and derivatives
    (0 at an infinite end), the probability of the observed category, and the design rows
    ``A`` (of the upper argument) and ``C`` (of the lower) as (n x p) matrices."""
    pc = x.shape[1]
    q = n_levels - 1
    beta, zeta = theta[:pc], theta[pc:]
    eta = x @ beta if pc else np.zeros(len(y))
    n = len(y)
    upper = y < q  # y in 0..q; upper threshold zeta[y] exists when y < q
    lower = y > 0
    a = np.where(upper, zeta[np.minimum(y, q - 1)] - eta, np.inf)
    c = np.where(lower, zeta[np.maximum(y - 1, 0)] - eta, -np.inf)
    fa = np.where(upper, special.expit(np.where(upper, a, 0.0)), 1.0)
    fc = np.where(lower, special.expit(np.where(lower, c, 0.0)), 0.0)
    prob = fa - fc
    da = np.where(upper, fa * (1 - fa), 0.0)
    dc = np.where(lower, fc * (1 - fc), 0.0)
    rows = np.arange(n)
    amat = np.zeros((n, pc + q))
    cmat = np.zeros((n, pc + q))
    amat[:, :pc] = -x
    cmat[:, :pc] = -x
    amat[rows[upper], pc + y[upper]] = 1.0
    cmat[rows[lower], pc + y[lower] - 1] = 1.0
    amat[~upper] = 0.0
    cmat[~lower] = 0.0
    # derivatives of the densities: f' = f (1 - 2F)
    d2a = da * (1 - 2 * fa)
    d2c = dc * (1 - 2 * fc)
    ga = da / prob
    gc = dc / prob
    return prob, ga, gc, d2a / prob, d2c / prob, np.stack([amat, cmat])


def olr_scores(x: np.ndarray, y: np.ndarray, n_levels: int, theta: np.ndarray) -> np.ndarray:
    """(n x p) gradients of each row's log-likelihood ``log P(y_i)`` on ``(beta, zeta)``
    (unweighted)."""
    _, ga, gc, _, _, ac = _olr_parts(x, y, n_levels, theta)
    return np.asarray(ac[0] * ga[:, None] - ac[1] * gc[:, None])


def _olr_value_grad_hess(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, n_levels: int, theta: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    prob, ga, gc, ha, hc, ac = _olr_parts(x, y, n_levels, theta)
    if np.any(prob <= 0):
        return float("inf"), np.zeros_like(theta), np.eye(len(theta))
    amat, cmat = ac
    value = -float(w @ np.log(prob))
    grad = -(amat.T @ (w * ga) - cmat.T @ (w * gc))
    # Hessian of log P = A'A (f'_a/P - g_a^2) + C'C (-f'_c/P - g_c^2) + (A'C + C'A) g_a g_c
    caa = w * (ha - ga**2)
    ccc = w * (-hc - gc**2)
    cac = w * ga * gc
    h = (amat.T @ (amat * caa[:, None]) + cmat.T @ (cmat * ccc[:, None])
         + amat.T @ (cmat * cac[:, None]) + cmat.T @ (amat * cac[:, None]))
    return value, grad, -h


def olr_fit(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    n_levels: int,
    *,
    start: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> OLRFit:
    """Maximise ``sum_i w_i log P(y_i)`` of the proportional-odds model
    ``P(y <= k) = expit(zeta_k - x' beta)`` by Newton's method with step halving.

    ``y`` holds category codes ``0..n_levels-1`` (every level observed with positive
    weight), ``x`` the model matrix without intercept. Starts from ``beta = 0`` and the
    weighted cumulative logits (or from ``start``); stops when the Newton decrement
    ``g' H^{-1} g / 2`` is below ``tol`` (the log-likelihood is within ``tol`` of its
    maximum) and the step is below ``1e-10`` relative."""
    good = w > 0
    xg, yg, wg = x[good], y[good], w[good]
    pc = x.shape[1]
    if start is None:
        cum = np.cumsum(np.bincount(yg, weights=wg, minlength=n_levels))[:-1] / wg.sum()
        theta = np.concatenate([np.zeros(pc), np.log(cum / (1 - cum))])
    else:
        theta = np.asarray(start, dtype=float).copy()
    value, grad, hess = _olr_value_grad_hess(xg, yg, wg, n_levels, theta)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007  (the count is returned)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        decrement = float(grad @ step) / 2
        if not np.isfinite(decrement) or decrement < 0:
            step = grad * 1e-3  # Hessian not positive definite: a small gradient step
        t = 1.0
        while True:
            cand = theta - t * step
            cv, cg, ch = _olr_value_grad_hess(xg, yg, wg, n_levels, cand)
            if np.isfinite(cv) and cv <= value + 1e-12 * abs(value):
                break
            t /= 2
            if t < 1e-12:
                break
        if t < 1e-12:  # no step improves the log-likelihood
            converged = bool(0 <= decrement < tol)
            break
        small = np.max(np.abs(t * step)) <= 1e-10 * max(1.0, float(np.max(np.abs(theta))))
        theta, value, grad, hess = cand, cv, cg, ch
        if 0 <= decrement < tol and small:
            converged = True
            break
    return OLRFit(beta=theta[:pc], zeta=theta[pc:], hessian=hess, value=value,
                  iterations=it, converged=converged)
