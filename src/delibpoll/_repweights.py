"""Replicate weights as values: the weight matrix, its variance multipliers and the
variance formulas on arrays, as R's ``svrVar`` (values layer).

``V = scale * sum_r rscales_r (theta_r - c)(theta_r - c)'`` with ``c`` the full-sample
estimate (``mse=True``) or the mean of the replicate estimates (default). Building replicate
weights is :mod:`delibpoll._replicate_build`; replaying a weighting step on them is
:func:`delibpoll._replay.replay_replicates`. Nothing here takes a design.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ._types import ReplicateType
from .exceptions import DomainWarning

__all__ = ["ReplicateWeights", "replicate_rank"]

# R's glm.control() and the thresholds of its C logit link (family.c)
_GLM_EPSILON = 1e-8
_GLM_MAXIT = 25
_DBL_EPSILON = float(np.finfo(float).eps)
_THRESH = 30.0


def replicate_rank(mat: np.ndarray, tol: float = 1e-5) -> int:
    """Numerical rank of ``mat`` by R's rule (``qr(mat, tol = 1e-5)$rank``, LINPACK dqrdc2).

    dqrdc2 takes the columns in order and drops one when the norm of its part orthogonal to
    the columns kept so far is below ``tol`` times its own norm. Those residual norms are the
    pivots of a Cholesky factorisation of the Gram matrix ``mat' mat``: when every pivot
    passes (the usual case for bootstrap replicates) the rank is the number of columns, from
    one Cholesky; otherwise the columns are screened in order, in blocks. With more columns
    than rows the rule is applied to the rows (the rank is the same; only the treatment of
    nearly dependent columns can differ from R's)."""
    rows, cols = mat.shape
    if rows == 0 or cols == 0:
        return 0
    if cols > rows:
        mat = mat.T
    gram = mat.T @ mat
    norm2 = np.diag(gram).copy()
    if np.all(norm2 > 0):
        try:
            chol = np.linalg.cholesky(gram)
        except np.linalg.LinAlgError:
            pass
        else:
            if np.all(np.diag(chol) ** 2 >= tol * tol * norm2):
                return int(gram.shape[0])
    return _screened_rank(gram, norm2, tol)


def _screened_rank(gram: np.ndarray, norm2: np.ndarray, tol: float, block: int = 64) -> int:
    """dqrdc2's rule on a Gram matrix: keep column j when its squared residual on the kept
    columns is at least ``tol**2`` times its squared norm; blocks of columns at a time."""
    from scipy.linalg import solve_triangular

    p = gram.shape[0]
    kept: list[int] = []
    chol = np.zeros((0, 0))
    for start in range(0, p, block):
        idx = np.arange(start, min(start + block, p))
        if kept:
            x = solve_triangular(chol, gram[np.ix_(np.asarray(kept), idx)], lower=True)
            schur = gram[np.ix_(idx, idx)] - x.T @ x
        else:
            x = np.zeros((0, len(idx)))
            schur = gram[np.ix_(idx, idx)].copy()
        work = schur.copy()
        new: list[int] = []
        for a in range(len(idx)):
            piv = work[a, a]
            if norm2[idx[a]] > 0 and piv > 0 and piv >= tol * tol * norm2[idx[a]]:
                new.append(a)
                v = work[a] / np.sqrt(piv)
                work -= np.outer(v, v)
        if new:
            sel = np.asarray(new)
            l21 = x[:, sel].T
            l22 = np.linalg.cholesky(schur[np.ix_(sel, sel)])
            k = len(kept)
            grown = np.zeros((k + len(sel), k + len(sel)))
            grown[:k, :k] = chol
            grown[k:, :k] = l21
            grown[k:, k:] = l22
            chol = grown
            kept.extend(int(i) for i in idx[sel])
    return len(kept)


# ---------------------------------------------------------------------- R's glm, intercept only
def _logit_linkinv(eta: np.ndarray) -> np.ndarray:
    """R's C ``logit_linkinv``: exp clamped to [eps, 1/eps] beyond |eta| = 30."""
    with np.errstate(over="ignore"):
        tmp = np.where(eta < -_THRESH, _DBL_EPSILON,
                       np.where(eta > _THRESH, 1 / _DBL_EPSILON, np.exp(eta)))
    return np.asarray(tmp / (1 + tmp))


def _logit_mu_eta(eta: np.ndarray) -> np.ndarray:
    """R's C ``logit_mu_eta``: eps beyond |eta| = 30."""
    with np.errstate(over="ignore"):
        e = np.exp(np.clip(eta, -_THRESH, _THRESH))
    return np.where(np.abs(eta) > _THRESH, _DBL_EPSILON, e / (1 + e) ** 2)


def _deviance(p: np.ndarray, mu: np.ndarray, total: float) -> np.ndarray:
    """Binomial deviance of 0/1 data with weighted mean ``p`` and prior-weight sum ``total``
    at a constant fitted ``mu`` (R ``binomial_dev_resids`` summed)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log(1 / mu), 0.0)
        b = np.where(p < 1, (1 - p) * np.log(1 / (1 - mu)), 0.0)
    return np.asarray(2 * total * (a + b))


def _irls_intercept(
    p: np.ndarray, eta: np.ndarray, devold: np.ndarray, total: float
) -> np.ndarray:
    """R ``glm.fit`` of ``y ~ 1`` (quasibinomial) from ``eta``, vectorised over fits.

    With one constant column the weighted least-squares step of IRLS is
    ``eta + (p - mu) / mu.eta(eta)``; the loop stops as R's does, when the relative change
    of the deviance is below ``epsilon = 1e-8`` (at most 25 iterations). For ``0 < p < 1``
    this converges to ``logit(p)``; for ``p`` 0 or 1 it stops where R stops (about -20)."""
    shape = np.shape(eta)
    eta = np.array(eta, dtype=float, copy=True).ravel()
    p = np.asarray(p, dtype=float).ravel()
    devold = np.array(devold, dtype=float, copy=True).ravel()
    active = np.flatnonzero(np.isfinite(p) & np.isfinite(eta))
    for _ in range(_GLM_MAXIT):
        if active.size == 0:
            break
        e = eta[active]
        new = e + (p[active] - _logit_linkinv(e)) / _logit_mu_eta(e)
        dev = _deviance(p[active], _logit_linkinv(new), total)
        eta[active] = new
        done = np.abs(dev - devold[active]) / (np.abs(dev) + 0.1) < _GLM_EPSILON
        devold[active] = dev
        active = active[~done]
    return eta.reshape(shape)


def _glm_logit_full(y: np.ndarray, pw: np.ndarray) -> float:
    """R ``glm(y ~ 1, weights = pw, family = quasibinomial)`` coefficient (``pw`` with mean 1,
    started from R's ``mustart = (pw y + 0.5) / (pw + 1)``)."""
    good = pw > 0
    y, pw = y[good], pw[good]
    total = float(pw.sum())
    if total <= 0:
        return float("nan")
    p = float(pw @ y) / total
    mu0 = (pw * y + 0.5) / (pw + 1)
    eta0 = np.log(mu0 / (1 - mu0))
    devold = float(np.sum(2 * pw * np.where(y > 0, np.log(1 / mu0), np.log(1 / (1 - mu0)))))
    mu_eta = _logit_mu_eta(eta0)
    mu_i = _logit_linkinv(eta0)
    z = eta0 + (y - mu_i) / mu_eta
    wls = pw * mu_eta**2 / (mu_i * (1 - mu_i))
    eta1 = float(wls @ z / wls.sum())
    dev1 = float(_deviance(np.array([p]), _logit_linkinv(np.array([eta1])), total)[0])
    if abs(dev1 - devold) / (abs(dev1) + 0.1) < _GLM_EPSILON:
        return eta1
    out = _irls_intercept(np.array([p]), np.array([eta1]), np.array([dev1]), total)
    return float(out[0])


# ---------------------------------------------------------------------- replicate weights
@dataclass(frozen=True, eq=False)
class ReplicateWeights:
    """Replicate weights of a design (analysis weights, one column per replicate).

    Built by :meth:`SurveyDesign.with_replicates` or from columns of the data
    (``SurveyDesign(..., repweights=...)``); not constructed directly.

    Attributes
    ----------
    weights : numpy.ndarray
        ``(n, R)`` analysis replicate weights, rows in data order (R ``weights(design,
        "analysis")``).
    type : ReplicateType
        ``"jk1"``, ``"jkn"``, ``"bootstrap"``, ``"subbootstrap"``, or the ``rep_type`` given.
    scale : float
        Overall multiplier of the replicate variance.
    rscales : numpy.ndarray
        ``(R,)`` per-replicate multipliers.
    mse : bool
        Centre the variance at the full-sample estimate (True) or at the mean of the
        replicate estimates (False, R's default).
    """

    weights: np.ndarray
    type: ReplicateType
    scale: float
    rscales: np.ndarray
    mse: bool
    _df_cache: dict[bytes, float] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )  # private memo of domain_df (derived values only)

    def __post_init__(self) -> None:
        # immutable in fact: the arrays are read-only copies (a float array that is already
        # read-only and owns its data, as the package's builders and replays hand over, is
        # kept as it is: copying 500 replicate columns costs more than the rest of a step)
        for name in ("weights", "rscales"):
            arr = getattr(self, name)
            if not (
                isinstance(arr, np.ndarray) and arr.dtype == np.float64
                and not arr.flags.writeable and arr.base is None
            ):
                arr = np.array(arr, dtype=float, copy=True)
                arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    @cached_property
    def df(self) -> float:
        """Rank of the replicate weights minus 1 (R ``degf`` for replicate designs)."""
        return float(replicate_rank(self.weights) - 1)

    @property
    def n_replicates(self) -> int:
        """Number of replicates (columns of :attr:`weights`)."""
        return int(self.weights.shape[1])

    def domain_df(self, mask: np.ndarray) -> float:
        """R ``degf(design[mask, ])``: rank of the domain's replicate weights minus 1.

        R's subset of a replicate design drops the other rows, so a domain's df counts the
        replicates that vary within it (the PSUs it touches, for a jackknife)."""
        if bool(mask.all()):
            return self.df
        key = np.packbits(mask).tobytes()
        hit = self._df_cache.get(key)
        if hit is None:
            hit = float(replicate_rank(self.weights[mask]) - 1) if mask.any() else float("nan")
            if len(self._df_cache) > 256:
                self._df_cache.clear()
            self._df_cache[key] = hit
        return hit

    def column_sums(self, values: np.ndarray) -> np.ndarray:
        """(R x K) replicate-weighted sums ``W' values`` of the columns of ``values`` (n x K),
        as ``(values' W)'``: for few columns against many replicates that product runs about
        three times faster than ``W' values`` (the weights are read in their stored order)."""
        return np.asarray(np.asarray(values, dtype=float).T @ self.weights).T

    def estimates(self, num: np.ndarray, den: np.ndarray | None) -> np.ndarray:
        """Replicate estimates (R x K) of ratios ``sum w num / sum w den`` (totals if None).

        A replicate that gives a ratio's denominator no weight yields NaN for it."""
        top = self.column_sums(num)
        if den is None:
            return np.asarray(top)
        bottom = self.column_sums(den)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.where(bottom != 0, top / bottom, np.nan))

    def variance(self, thetas: np.ndarray, full: np.ndarray) -> np.ndarray:
        """R ``svrVar``: covariance of replicate estimates ``thetas`` (R x K).

        Replicates with a NaN estimate are left out of that estimate's variance (R drops
        them with ``na.omit``, per ``svyby`` domain); covariances use the replicates where
        both estimates exist."""
        sq = np.sqrt(self.rscales)[:, None]
        finite = np.isfinite(thetas)
        if finite.all():
            centre = full if self.mse else thetas[self.rscales > 0].mean(axis=0)
            dev = (thetas - centre) * sq
            return np.asarray(self.scale * dev.T @ dev)
        use = finite & (self.rscales > 0)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(use, thetas, 0.0).sum(axis=0) / use.sum(axis=0)
        centre = np.asarray(full, dtype=float) if self.mse else mean
        dev = np.where(finite, thetas - centre, 0.0) * sq
        v = np.asarray(self.scale * dev.T @ dev)
        none = ~finite.any(axis=0)
        v[none, :] = np.nan
        v[:, none] = np.nan
        return v

    def ratio_vcov(
        self, num: np.ndarray, den: np.ndarray | None, est: np.ndarray
    ) -> np.ndarray:
        """Replicate covariance of ``sum w num / sum w den`` (totals when ``den`` is None).

        Parameters
        ----------
        num, den : numpy.ndarray
            ``(n, K)`` numerators and denominators of the ratios (``den`` None: totals).
        est : numpy.ndarray
            ``(K,)`` full-sample estimates (the centre with ``mse``).
        """
        thetas = self.estimates(num, den)
        _warn_dropped(thetas, est)
        return self.variance(thetas, est)

    def logit_ci_parts(
        self, full_weights: np.ndarray, num: np.ndarray, den: np.ndarray, est: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Centre and standard error on the logit scale, as R ``svyciprop(method="logit")``
        on a replicate design (``svyglm`` with ``quasibinomial``, refitted on each replicate).

        Returns ``(beta0, se)``, each ``(K,)``: the full-sample intercept and the replicate
        standard error of the replicate intercepts (svrVar centred at their mean, or at
        ``beta0`` with ``mse``). Each fit is R's IRLS, so a replicate whose proportion is 0
        or 1 enters with the intercept R's ``glm.fit`` stops at, not with an infinite one.
        ``full_weights`` are the design's full-sample weights (n,)."""
        w = full_weights
        k = num.shape[1]
        beta0 = np.full(k, np.nan)
        for j in range(k):
            rows = den[:, j] > 0
            if not (0 < est[j] < 1) or not rows.any():
                continue
            wd = w[rows]
            beta0[j] = _glm_logit_full(num[rows, j], wd / wd.mean())
        tot = self.column_sums(den)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_rep = np.where(tot != 0, self.column_sums(num) / tot, np.nan)
        start = np.broadcast_to(beta0, p_rep.shape)
        dev0 = _deviance(p_rep, _logit_linkinv(start), 1.0)
        betas = _irls_intercept(p_rep, start, dev0, 1.0)
        betas = np.where(np.isfinite(start), betas, np.nan)
        v = self.variance(betas, beta0)
        return beta0, np.sqrt(np.clip(np.diag(v), 0, None))


def _warn_dropped(thetas: np.ndarray, est: np.ndarray) -> None:
    bad = ~np.isfinite(thetas) & np.isfinite(np.asarray(est))[None, :]
    if bad.any():
        n_rep = int(bad.any(axis=1).sum())
        warnings.warn(
            f"{n_rep} replicate(s) give no weight to some domain (its replicate estimate is "
            "0/0); they are left out of that domain's variance, as R's svrVar does. The "
            "domain is too small for these replicates: treat its standard error with care.",
            DomainWarning,
            stacklevel=4,
        )


