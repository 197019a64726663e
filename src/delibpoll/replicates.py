"""Replicate-weight designs: jackknife (JK1, JKn) and bootstrap (bootstrap, Rao-Wu
subbootstrap), as R ``as.svrepdesign``; user-supplied replicate weights as ``svrepdesign``.

Replicate weights are built from the design's *base* weights (before weighting) and the
design's weighting log is replayed on all replicate columns at once, so every replicate
carries the raking or calibration (the engine weights a cells x replicates matrix in one
pass). Estimates use the full-sample weights; variances come from the replicate estimates:
``V = scale * sum_r rscales_r (theta_r - c)(theta_r - c)'`` with ``c`` the full-sample
estimate (``mse=True``) or the mean of the replicate estimates (default), as R's ``svrVar``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from .exceptions import DelibpollError, DelibpollWarning, DomainWarning

if TYPE_CHECKING:
    from .design import SurveyDesign
    from .weighting import WeightingStep

__all__ = [
    "ReplicateMethod",
    "ReplicateType",
    "ReplicateWeights",
    "build_replicates",
    "user_replicates",
]

ReplicateMethod = Literal["jk1", "jkn", "bootstrap", "subbootstrap"]
METHODS: tuple[str, ...] = ("jk1", "jkn", "bootstrap", "subbootstrap")
ReplicateType = Literal[
    "jk1", "jkn", "bootstrap", "subbootstrap", "brr", "successive-difference", "acs", "jk2",
    "other",
]
REP_TYPES: tuple[str, ...] = (
    "jk1", "jkn", "bootstrap", "subbootstrap", "brr", "successive-difference", "acs", "jk2",
    "other",
)

# R's glm.control() and the thresholds of its C logit link (family.c)
_GLM_EPSILON = 1e-8
_GLM_MAXIT = 25
_DBL_EPSILON = float(np.finfo(float).eps)
_THRESH = 30.0


def _rank(mat: np.ndarray, tol: float = 1e-5) -> int:
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
    type : str
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
    type: str
    scale: float
    rscales: np.ndarray
    mse: bool
    _df_cache: dict[bytes, float] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )  # private memo of domain_df (derived values only)

    def __post_init__(self) -> None:
        # immutable in fact: the arrays are read-only copies
        for name in ("weights", "rscales"):
            arr = np.array(getattr(self, name), dtype=float, copy=True)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    @cached_property
    def df(self) -> float:
        """Rank of the replicate weights minus 1 (R ``degf`` for replicate designs)."""
        return float(_rank(self.weights) - 1)

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
            hit = float(_rank(self.weights[mask]) - 1) if mask.any() else float("nan")
            if len(self._df_cache) > 256:
                self._df_cache.clear()
            self._df_cache[key] = hit
        return hit

    def reweighted(self, step: WeightingStep) -> ReplicateWeights:
        """Replay a weighting step on every replicate column (one pass over the cells)."""
        new = step.apply(self.weights)
        return ReplicateWeights(
            weights=new, type=self.type, scale=self.scale, rscales=self.rscales, mse=self.mse
        )

    def estimates(self, num: np.ndarray, den: np.ndarray | None) -> np.ndarray:
        """Replicate estimates (R x K) of ratios ``sum w num / sum w den`` (totals if None).

        A replicate that gives a ratio's denominator no weight yields NaN for it."""
        wt = self.weights.T
        top = wt @ num
        if den is None:
            return np.asarray(top)
        bottom = wt @ den
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
        self, design: SurveyDesign, num: np.ndarray, den: np.ndarray | None, est: np.ndarray
    ) -> np.ndarray:
        """Replicate covariance of ``sum w num / sum w den`` (totals when ``den`` is None)."""
        thetas = self.estimates(num, den)
        _warn_dropped(thetas, est)
        return self.variance(thetas, est)

    def logit_ci_parts(
        self, design: SurveyDesign, num: np.ndarray, den: np.ndarray, est: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Centre and standard error on the logit scale, as R ``svyciprop(method="logit")``
        on a replicate design (``svyglm`` with ``quasibinomial``, refitted on each replicate).

        Returns ``(beta0, se)``, each ``(K,)``: the full-sample intercept and the replicate
        standard error of the replicate intercepts (svrVar centred at their mean, or at
        ``beta0`` with ``mse``). Each fit is R's IRLS, so a replicate whose proportion is 0
        or 1 enters with the intercept R's ``glm.fit`` stops at, not with an infinite one."""
        w = design._w
        k = num.shape[1]
        beta0 = np.full(k, np.nan)
        for j in range(k):
            rows = den[:, j] > 0
            if not (0 < est[j] < 1) or not rows.any():
                continue
            wd = w[rows]
            beta0[j] = _glm_logit_full(num[rows, j], wd / wd.mean())
        wt = self.weights.T
        tot = wt @ den
        with np.errstate(divide="ignore", invalid="ignore"):
            p_rep = np.where(tot != 0, (wt @ num) / tot, np.nan)
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


# ---------------------------------------------------------------------- building replicates
def _psu_order(design: SurveyDesign) -> np.ndarray:
    """PSU codes in R's order: strata by first appearance, PSUs by first appearance."""
    st = design._structure
    n_psu = len(st.psu_stratum)
    first = np.full(n_psu, len(st.psu), dtype=np.int64)
    np.minimum.at(first, st.psu, np.arange(len(st.psu)))
    h_first = np.full(len(st.n_psu_h), len(st.psu), dtype=np.int64)
    np.minimum.at(h_first, st.psu_stratum, first)
    return np.lexsort((first, h_first[st.psu_stratum]))


def _stratum_label(design: SurveyDesign, h: int) -> object:
    if design.strata is None:
        return "(all)"
    row = int(np.flatnonzero(design._structure.stratum == h)[0])
    return design._data[design.strata].iloc[row]


def _check_n_replicates(method: str, n_replicates: object) -> int:
    if n_replicates is None:
        raise DelibpollError(
            f"with_replicates('{method}') needs n_replicates, the number of bootstrap "
            "replicates (for example n_replicates=500)."
        )
    if (
        isinstance(n_replicates, bool)
        or not isinstance(n_replicates, int | np.integer)
        or n_replicates < 2
    ):
        raise DelibpollError(
            f"The 'n_replicates' parameter of with_replicates must be an integer >= 2; got "
            f"{n_replicates!r}."
        )
    return int(n_replicates)


def _jackknife(
    design: SurveyDesign, method: str, order: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray]:
    st = design._structure
    psu_stratum, n_h, fpc_f = st.psu_stratum, st.n_psu_h, st.fpc_f
    n_psu = len(psu_stratum)
    h_count = len(n_h)
    if method == "jk1":
        if h_count > 1:
            raise DelibpollError(
                "JK1 (delete-one-PSU jackknife) is for unstratified designs; this design has "
                f"{h_count} strata ('{design.strata}'). Use method='jkn'."
            )
        if n_psu < 2:
            raise DelibpollError(
                f"A jackknife needs at least 2 PSUs; the design has {n_psu}"
                + (f" (ids='{design.ids}')." if design.ids else ".")
            )
        if fpc_f[0] == 0:
            raise DelibpollError(
                "Every PSU of the population is in the sample (the fpc equals the number of "
                "sampled PSUs): there is no sampling variance to replicate."
            )
        mult = np.full((n_psu, n_psu), n_psu / (n_psu - 1))
        mult[order, np.arange(n_psu)] = 0.0
        return mult, float(fpc_f[0] * (n_psu - 1) / n_psu), np.ones(n_psu)
    cols: list[np.ndarray] = []
    rs: list[float] = []
    lonely = design.lonely_psu
    skipped = 0
    h_seq = psu_stratum[order]
    _, first_idx = np.unique(h_seq, return_index=True)
    for h in h_seq[np.sort(first_idx)]:
        members = order[h_seq == h]
        nh = len(members)
        if fpc_f[h] == 0:
            continue  # fully sampled: no replicates (R's survey.drop.replicates)
        if nh == 1:
            if lonely == "fail":
                raise DelibpollError(
                    f"Stratum {_stratum_label(design, int(h))!r} has only one PSU, so a "
                    "stratified jackknife cannot delete it. Build the design with "
                    "SurveyDesign(..., lonely_psu='adjust') (or 'remove', 'average', "
                    "'certainty'), or merge the stratum with a similar one."
                )
            if lonely == "adjust":
                if h_count < 2:
                    raise DelibpollError("A jackknife needs at least 2 PSUs; the design has 1.")
                cols.append(np.where(psu_stratum == h, 0.0, h_count / (h_count - 1)))
                rs.append((h_count - 1) / h_count)
            else:
                skipped += 1
            continue
        for j in members:
            col = np.ones(n_psu)
            col[members] = nh / (nh - 1)
            col[j] = 0.0
            cols.append(col)
            rs.append(float(fpc_f[h] * (nh - 1) / nh))
    if not cols:
        raise DelibpollError(
            "Every stratum was fully sampled or has a single PSU: a jackknife has no "
            "replicates to build."
        )
    scale = 1.0
    if skipped and lonely == "average":
        scale = n_psu / len(cols)
    return np.column_stack(cols), scale, np.asarray(rs, dtype=float)


def _bootstrap(
    design: SurveyDesign, method: str, reps: int, gen: np.random.Generator
) -> tuple[np.ndarray, float, np.ndarray]:
    st = design._structure
    psu_stratum, n_h, fpc_f = st.psu_stratum, st.n_psu_h, st.fpc_f
    n_psu = len(psu_stratum)
    nh_psu = n_h[psu_stratum].astype(np.int64)
    if (n_h < 2).all():
        raise DelibpollError(
            "Every stratum has a single PSU, so a bootstrap of PSUs has no variation to "
            "replicate; merge strata or check the 'ids' column."
        )
    # single-PSU strata follow the design's lonely_psu rule, as the linearised variance does
    # (stratum_rule): a fully sampled one adds nothing; otherwise "fail" raises, "remove" and
    # "certainty" keep its PSU in every replicate with multiplier 1 (no variance, as R's
    # bootweights does for any option), "adjust" and "average" have no bootstrap form
    lonely = (n_h == 1) & ~(fpc_f < 1e-7)
    if lonely.any():
        h = int(np.flatnonzero(lonely)[0])
        label = _stratum_label(design, h)
        rule = design.lonely_psu
        if rule == "fail":
            raise DelibpollError(
                f"Stratum {label!r} has only one PSU, so the {method} cannot resample it and "
                "its variance cannot be estimated (lonely_psu='fail', as the linearised "
                "variance). Build the design with lonely_psu='remove' or 'certainty' (the "
                "stratum adds no variance, as R's bootweights), use method='jkn' for "
                "'adjust' or 'average', or merge the stratum with a similar one."
            )
        if rule in ("adjust", "average"):
            raise DelibpollError(
                f"Stratum {label!r} has only one PSU and the design's lonely_psu={rule!r} has "
                f"no {method} form (R's bootweights ignores survey.lonely.psu). Use "
                "method='jkn', which applies it as R's jknweights, or lonely_psu='remove' or "
                "'certainty' (the stratum adds no variance)."
            )
    order = np.argsort(psu_stratum, kind="stable")
    start = np.concatenate([[0], np.cumsum(n_h.astype(np.int64))[:-1]])
    # without-replacement strata (design fpc): R samples n_h PSUs from rep(psus, N_h)
    wor = np.zeros(len(n_h), dtype=bool)
    if method == "bootstrap" and st.has_fpc:
        wor = fpc_f < 1
    counts = np.zeros((n_psu, reps))
    slot_h = np.flatnonzero(~wor[psu_stratum[order]])
    if method == "subbootstrap":
        # n_h - 1 draws per stratum: drop the first slot of each stratum
        keep = np.ones(n_psu, dtype=bool)
        keep[start] = False
        slot_h = slot_h[keep[slot_h]]
    if slot_h.size:
        # with replacement: each slot draws a position in its stratum; strata of one size
        # share one call; counted per replicate with one bincount (replicate-major bins)
        h_of_slot = psu_stratum[order[slot_h]]
        size_of_slot = n_h[h_of_slot].astype(np.int64)
        sizes = np.unique(size_of_slot)
        if len(sizes) == 1:
            pick = gen.integers(0, int(sizes[0]), size=(reps, len(slot_h)))
        else:
            pick = np.empty((reps, len(slot_h)), dtype=np.int64)
            for size in sizes:
                cols = np.flatnonzero(size_of_slot == size)
                pick[:, cols] = gen.integers(0, int(size), size=(reps, len(cols)))
        if np.any(start[h_of_slot]):
            pick += start[h_of_slot][None, :]
        target = pick if np.array_equal(order, np.arange(n_psu)) else order[pick]
        target += (n_psu * np.arange(reps, dtype=np.int64))[:, None]
        per_rep = np.bincount(target.ravel(), minlength=n_psu * reps).reshape(reps, n_psu)
        counts = np.ascontiguousarray(per_rep.T, dtype=float)
    for hh in np.flatnonzero(wor):
        h = int(hh)
        members = order[start[h] : start[h] + int(n_h[h])]
        nh = len(members)
        pop = int(np.floor(nh / (1 - fpc_f[h]) + 1e-8))
        copies = np.full(nh, pop // nh, dtype=np.int64)
        copies[gen.permutation(nh)[: pop % nh]] += 1
        draws = gen.multivariate_hypergeometric(copies, nh, size=reps)
        counts[members] = draws.T
    if method == "subbootstrap":
        with np.errstate(divide="ignore", invalid="ignore"):
            counts *= (nh_psu / (nh_psu - 1))[:, None]
        scale = 1.0 / (reps - 1)
    else:
        per = 1.0 / float(np.mean(1.0 / n_h))
        scale = per / ((per - 1) * (reps - 1))
    # a single-PSU stratum (removed or certain) stays in every replicate with weight 1
    counts[n_h[psu_stratum] == 1] = 1.0
    return counts, float(scale), np.ones(reps)


def build_replicates(
    design: SurveyDesign,
    method: str,
    n_replicates: int | None,
    rng: np.random.Generator | int | None,
) -> ReplicateWeights:
    """Replicate weights for ``design`` from its base weights (before its weighting log).

    Multipliers per PSU as R ``jk1weights``, ``jknweights``, ``bootweights`` and
    ``subbootweights``; jackknife replicates in R's column order (strata and PSUs in order
    of first appearance)."""
    if method not in METHODS:
        raise DelibpollError(
            f"The 'method' parameter of with_replicates must be one of {list(METHODS)}; got "
            f"{method!r}."
        )
    psu = design._structure.psu
    if method in ("jk1", "jkn"):
        if n_replicates is not None:
            raise DelibpollError(
                f"A jackknife has one replicate per PSU; n_replicates={n_replicates!r} does "
                f"not apply to method={method!r}. Leave it out."
            )
        mult, scale, rscales = _jackknife(design, method, _psu_order(design))
    else:
        reps = _check_n_replicates(method, n_replicates)
        if rng is not None and not isinstance(rng, np.random.Generator | int | np.integer):
            raise DelibpollError(
                "The 'rng' parameter of with_replicates must be a numpy Generator or an "
                f"integer seed; got {type(rng).__name__}."
            )
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        mult, scale, rscales = _bootstrap(design, method, reps, gen)
    weights = mult if np.array_equal(psu, np.arange(len(psu))) else mult[psu]
    weights *= design._base_w[:, None]
    return ReplicateWeights(weights=weights, type=method, scale=scale, rscales=rscales, mse=False)


# ---------------------------------------------------------------------- supplied with the data
def user_replicates(
    data: pd.DataFrame,
    repweights: Sequence[str] | str,
    rep_type: str,
    scale: float | None,
    rscales: Sequence[float] | np.ndarray | None,
    mse: bool,
    combined_weights: bool,
    full_weights: np.ndarray,
    *,
    has_weights: bool = True,
) -> ReplicateWeights:
    """Replicate weights supplied with the data, as R ``svrepdesign``.

    ``repweights`` is a list of columns or a regular expression searched in the column names
    (R ``grep``). Default ``scale`` and ``rscales`` per ``rep_type`` are R's."""
    if rep_type not in REP_TYPES:
        raise DelibpollError(
            f"The 'rep_type' parameter of SurveyDesign must be one of {list(REP_TYPES)}; got "
            f"{rep_type!r}. For Fay's BRR use rep_type='other' with scale=1/(R*(1-rho)**2)."
        )
    if isinstance(repweights, str):
        try:
            pattern = re.compile(repweights)
        except re.error as exc:
            raise DelibpollError(
                f"The 'repweights' parameter {repweights!r} is not a valid regular expression "
                f"({exc}); pass a list of column names instead."
            ) from None
        cols = [c for c in data.columns if isinstance(c, str) and pattern.search(c)]
        if not cols:
            raise DelibpollError(
                f"No columns match the 'repweights' pattern {repweights!r}. Available "
                f"columns: {list(data.columns)}."
            )
    else:
        if not isinstance(repweights, Sequence) or len(repweights) == 0:
            raise DelibpollError(
                "The 'repweights' parameter must be a non-empty list of column names or a "
                f"regular expression; got {repweights!r}."
            )
        cols = list(repweights)
        dup = sorted({str(c) for c in cols if cols.count(c) > 1})
        if dup:
            raise DelibpollError(
                f"The 'repweights' parameter names column(s) {dup} more than once; list each "
                "replicate column once."
            )
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise DelibpollError(
                f"The 'repweights' parameter names column(s) {missing} that are not in the "
                f"data. Available columns: {list(data.columns)}."
            )
    block = data[cols]
    non_num = [c for c in cols if not pd.api.types.is_numeric_dtype(block[c])
               or pd.api.types.is_bool_dtype(block[c])]
    if non_num:
        raise DelibpollError(
            f"Replicate weight column(s) {non_num[:5]} are not numeric; convert them to "
            "numbers (for example with pandas.to_numeric) first."
        )
    w = block.to_numpy(dtype=float, na_value=np.nan)
    nan_cols = [c for c, bad in zip(cols, np.isnan(w).any(axis=0).tolist(), strict=True) if bad]
    if nan_cols:
        raise DelibpollError(
            f"Replicate weight column(s) {nan_cols[:5]} have missing values; every replicate "
            "needs a weight for every row (0 for rows left out of a replicate)."
        )
    inf_cols = [c for c, bad in zip(cols, np.isinf(w).any(axis=0).tolist(), strict=True) if bad]
    if inf_cols:
        raise DelibpollError(f"Replicate weight column(s) {inf_cols[:5]} have infinite values.")
    neg_cols = [c for c, bad in zip(cols, np.any(w < 0, axis=0).tolist(), strict=True) if bad]
    if neg_cols:
        raise DelibpollError(
            f"Replicate weight column(s) {neg_cols[:5]} have negative values; replicate "
            "weights must be zero or positive. Check that these are weights, not "
            "differences from the full-sample weight."
        )
    r = w.shape[1]
    if r < 2:
        raise DelibpollError(
            f"Replicate weights need at least 2 columns; got {r} ({cols}). A regular "
            "expression such as r'repwt_\\d+' selects them all."
        )
    if not has_weights:
        warnings.warn(
            "No sampling weights given with the replicate weights: full-sample estimates use "
            "weight 1 for every row (R svrepdesign assumes the same). Pass weights=.",
            DelibpollWarning,
            stacklevel=4,
        )
    repwt_mean = float(w.mean())
    wt_mean = float(full_weights.mean())
    if combined_weights and repwt_mean < 5 and wt_mean / repwt_mean > 5:
        warnings.warn(
            f"The replicate weights do not look like combined weights (mean replicate weight "
            f"{repwt_mean:.4g}, mean sampling weight {wt_mean:.4g}); if they are multipliers "
            "of the sampling weights, pass combined_weights=False.",
            DelibpollWarning,
            stacklevel=4,
        )
    if not combined_weights and repwt_mean > 5 and wt_mean / repwt_mean < 5:
        warnings.warn(
            f"The replicate weights look like combined weights (mean replicate weight "
            f"{repwt_mean:.4g}, mean sampling weight {wt_mean:.4g}); if they already include "
            "the sampling weights, pass combined_weights=True.",
            DelibpollWarning,
            stacklevel=4,
        )
    rs: np.ndarray | None = None
    if rscales is not None:
        rs = np.atleast_1d(np.asarray(rscales, dtype=float))
        if len(rs) == 1:
            rs = np.full(r, float(rs[0]))
        if len(rs) != r:
            raise DelibpollError(
                f"The 'rscales' parameter has {len(rs)} values for {r} replicate columns; "
                "give one per replicate (or a single value)."
            )
        if not np.all(np.isfinite(rs)) or (rs < 0).any():
            raise DelibpollError("The 'rscales' parameter must hold finite values >= 0.")
    if scale is not None and (
        isinstance(scale, bool) or not isinstance(scale, int | float | np.floating)
        or not np.isfinite(scale) or scale <= 0
    ):
        raise DelibpollError(f"The 'scale' parameter must be a positive number; got {scale!r}.")

    def ignored(what: str) -> None:
        warnings.warn(
            f"rep_type={rep_type!r} fixes the variance multipliers; {what} is ignored, as R's "
            "svrepdesign does.",
            DelibpollWarning,
            stacklevel=5,
        )

    if rep_type in ("bootstrap", "subbootstrap"):
        scale = 1.0 / (r - 1) if scale is None else scale
    elif rep_type == "jk1":
        if scale is None:
            if combined_weights:
                scale = (r - 1) / r
                how = f"n = number of replicates: (n - 1)/n = {scale:.6g}"
            else:
                scale = 1.0 / float(w[:, 0].max())
                how = f"from the weights: 1/max(first replicate) = {scale:.6g}"
            warnings.warn(
                f"JK1 scale (n - 1)/n not given; guessing {how} (as R). Pass scale= "
                "(times the finite population correction, if any).",
                DelibpollWarning,
                stacklevel=4,
            )
    elif rep_type == "jkn":
        if rs is None:
            if combined_weights:
                raise DelibpollError(
                    "rep_type='jkn' with combined weights needs rscales=, one (n_h - 1)/n_h "
                    "per replicate (times 1 - f_h with a finite population correction), as R."
                )
            rs = 1.0 / w.max(axis=0)
            warnings.warn(
                "JKn rscales (n_h - 1)/n_h not given; guessing them from the weights as "
                "1/max per replicate (as R). Pass rscales=.",
                DelibpollWarning,
                stacklevel=4,
            )
    elif rep_type == "brr":
        if scale is not None:
            ignored("scale")
        scale = 1.0 / r
    elif rep_type in ("successive-difference", "acs"):
        if scale is not None or rs is not None:
            ignored("scale/rscales")
        scale, rs = 4.0 / r, None
    elif rep_type == "jk2":
        if scale is not None or rs is not None:
            ignored("scale/rscales")
        scale, rs = 1.0, None
    elif scale is None or rs is None:  # "other"
        warnings.warn(
            "rep_type='other' without scale= or rscales=: the missing ones are set to 1 (as "
            "R).",
            DelibpollWarning,
            stacklevel=4,
        )
    if rs is None:
        rs = np.ones(r)
    if scale is None:
        scale = 1.0
    if not combined_weights:
        w = w * full_weights[:, None]
    return ReplicateWeights(
        weights=w, type=rep_type, scale=float(scale), rscales=rs, mse=bool(mse)
    )
