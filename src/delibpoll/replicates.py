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
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from .exceptions import DelibpollError

if TYPE_CHECKING:
    from .design import SurveyDesign
    from .weighting import WeightingStep

__all__ = ["ReplicateMethod", "ReplicateWeights", "build_replicates", "user_replicates"]

ReplicateMethod = Literal["jk1", "jkn", "bootstrap", "subbootstrap"]
METHODS: tuple[str, ...] = ("jk1", "jkn", "bootstrap", "subbootstrap")


def _rank_df(weights: np.ndarray) -> float:
    """R's degf for replicate designs: rank of the replicate weights minus 1.

    The rank is that of the R x R Gram matrix W'W (equal to the rank of W), from its
    eigenvalues, relative tolerance 1e-10 on the squared singular values (R uses a pivoted QR
    with tolerance 1e-5 on W itself)."""
    if weights.shape[1] == 0:
        return 0.0
    gram = weights.T @ weights
    eig = np.linalg.eigvalsh(gram)
    rank = int(np.sum(eig > 1e-10 * eig.max())) if eig.size else 0
    return float(rank - 1)


@dataclass(frozen=True)
class ReplicateWeights:
    """Replicate weights of a design (analysis weights, one column per replicate)."""

    weights: np.ndarray  # (n, R)
    type: str
    scale: float
    rscales: np.ndarray  # (R,)
    mse: bool

    @cached_property
    def df(self) -> float:
        """Rank of the replicate weights minus 1 (R ``degf`` for replicate designs)."""
        return _rank_df(self.weights)

    @property
    def n_replicates(self) -> int:
        return int(self.weights.shape[1])

    def reweighted(self, step: WeightingStep) -> ReplicateWeights:
        """Replay a weighting step on every replicate column (one pass over the cells)."""
        new = step.apply(self.weights)
        return replace(self, weights=new)

    def estimates(self, num: np.ndarray, den: np.ndarray | None) -> np.ndarray:
        """Replicate estimates (R x K) of ratios ``sum w num / sum w den`` (totals if None)."""
        wt = self.weights.T
        top = wt @ num
        if den is None:
            return np.asarray(top)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(top / (wt @ den))

    def variance(self, thetas: np.ndarray, full: np.ndarray) -> np.ndarray:
        """svrVar: covariance of replicate estimates ``thetas`` (R x K)."""
        centre = full if self.mse else thetas[self.rscales > 0].mean(axis=0)
        dev = (thetas - centre) * np.sqrt(self.rscales)[:, None]
        return np.asarray(self.scale * dev.T @ dev)

    def ratio_vcov(
        self, design: SurveyDesign, num: np.ndarray, den: np.ndarray | None, est: np.ndarray
    ) -> np.ndarray:
        thetas = self.estimates(num, den)
        return self.variance(thetas, est)


def _column_counts(draws: np.ndarray, nh: int) -> np.ndarray:
    """(nh x reps) how often each PSU was drawn in each replicate (one bincount)."""
    reps = draws.shape[1]
    flat = (draws + nh * np.arange(reps)[None, :]).ravel()
    return np.bincount(flat, minlength=nh * reps).reshape(reps, nh).T.astype(float)


def _psu_layout(design: SurveyDesign) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    st = design._structure
    return st.psu, st.psu_stratum, st.n_psu_h, st.fpc_f


def build_replicates(
    design: SurveyDesign,
    method: str,
    n_replicates: int | None,
    rng: np.random.Generator | int | None,
) -> ReplicateWeights:
    """Replicate weights for ``design`` (before replaying its weighting log)."""
    if method not in METHODS:
        raise DelibpollError(
            f"The 'method' parameter of with_replicates must be one of {list(METHODS)}; got {method!r}."
        )
    psu, psu_stratum, n_h, fpc_f = _psu_layout(design)
    n_psu = len(psu_stratum)
    h_count = len(n_h)
    base = design._base_w
    if method == "jk1":
        if h_count > 1:
            raise DelibpollError(
                "JK1 (delete-one-PSU jackknife) is for unstratified designs; this design has "
                f"{h_count} strata. Use method='jkn'."
            )
        if n_psu < 2:
            raise DelibpollError(f"A jackknife needs at least 2 PSUs; the design has {n_psu}.")
        mult = np.full((n_psu, n_psu), n_psu / (n_psu - 1))
        np.fill_diagonal(mult, 0.0)
        scale = float(fpc_f[0] * (n_psu - 1) / n_psu)
        rscales = np.ones(n_psu)
        kind = "jk1"
    elif method == "jkn":
        cols = []
        rs = []
        lonely = design.lonely_psu
        skipped = 0
        for h in range(h_count):
            members = np.flatnonzero(psu_stratum == h)
            nh = len(members)
            if nh == 1 and fpc_f[h] != 0:
                if lonely == "fail":
                    raise DelibpollError(
                        f"Stratum {h} has only one PSU, so a stratified jackknife cannot delete it. "
                        "Set SurveyDesign(..., lonely_psu=...) or merge strata."
                    )
                if lonely == "adjust":
                    col = np.where(psu_stratum == h, 0.0, h_count / (h_count - 1))
                    cols.append(col)
                    rs.append((h_count - 1) / h_count)
                else:
                    skipped += 1
                continue
            for j in members:
                col = np.ones(n_psu)
                col[members] = nh / (nh - 1)
                col[j] = 0.0
                cols.append(col)
                rs.append(fpc_f[h] * (nh - 1) / nh)
        if not cols:
            raise DelibpollError("Every stratum was fully sampled or has one PSU: no replicates.")
        mult = np.column_stack(cols)
        scale = 1.0
        if skipped and lonely == "average":
            scale = n_psu / len(cols)
        rscales = np.asarray(rs, dtype=float)
        kind = "jkn"
    else:
        if n_replicates is None:
            raise DelibpollError(
                f"with_replicates('{method}') needs n_replicates (for example 500)."
            )
        if isinstance(n_replicates, bool) or not isinstance(n_replicates, int | np.integer) or n_replicates < 2:
            raise DelibpollError(f"n_replicates must be an integer >= 2; got {n_replicates!r}.")
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        reps = int(n_replicates)
        mult = np.zeros((n_psu, reps))
        for h in range(h_count):
            members = np.flatnonzero(psu_stratum == h)
            nh = len(members)
            if method == "subbootstrap":
                if nh < 2:
                    raise DelibpollError(f"The Rao-Wu bootstrap needs at least 2 PSUs per stratum; stratum {h} has {nh}.")
                draws = gen.integers(0, nh, size=(nh - 1, reps))
                mult[members] = _column_counts(draws, nh) * nh / (nh - 1)
            else:
                if design._structure.has_fpc and fpc_f[h] < 1:
                    pop = int(round(nh / (1 - fpc_f[h]))) if fpc_f[h] < 1 else nh
                    pool = np.resize(np.arange(nh), pop)
                    counts = np.column_stack(
                        [np.bincount(gen.choice(pool, nh, replace=False), minlength=nh) for _ in range(reps)]
                    )
                else:
                    draws = gen.integers(0, nh, size=(nh, reps))
                    counts = _column_counts(draws, nh)
                mult[members] = counts
        rscales = np.ones(reps)
        if method == "subbootstrap":
            scale = 1.0 / (reps - 1)
        else:
            per = 1.0 / np.mean(1.0 / n_h)
            scale = float(per / ((per - 1) * (reps - 1)))
        kind = method
    weights = base[:, None] * mult[psu]
    return ReplicateWeights(
        weights=weights, type=kind, scale=float(scale), rscales=rscales, mse=False,
    )


def user_replicates(
    data: pd.DataFrame,
    repweights: list[str] | str,
    rep_type: str,
    scale: float | None,
    rscales: np.ndarray | list[float] | None,
    mse: bool,
    combined_weights: bool,
    full_weights: np.ndarray,
) -> ReplicateWeights:
    """Replicate weights supplied with the data (as R ``svrepdesign``)."""
    if isinstance(repweights, str):
        pattern = re.compile(repweights)
        cols = [c for c in data.columns if isinstance(c, str) and pattern.fullmatch(c)]
        if not cols:
            raise DelibpollError(
                f"No columns match the repweights pattern {repweights!r}; columns are {list(data.columns)}."
            )
    else:
        cols = list(repweights)
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise DelibpollError(f"Replicate weight columns {missing} are not in the data.")
    block = data[cols].apply(pd.to_numeric, errors="coerce")
    if block.isna().any().any():
        bad = [c for c in cols if block[c].isna().any()]
        raise DelibpollError(
            f"Replicate weight columns {bad[:5]} have missing or non-numeric values; every "
            "replicate needs a weight for every row (use 0 for rows dropped from a replicate)."
        )
    w = block.to_numpy(dtype=float)
    if (w < 0).any():
        bad = [c for c in cols if (block[c] < 0).any()]
        raise DelibpollError(f"Replicate weight columns {bad[:5]} have negative values.")
    if not combined_weights:
        w = w * full_weights[:, None]
    r = w.shape[1]
    types = {"jk1": (r - 1) / r, "bootstrap": 1 / (r - 1), "subbootstrap": 1 / (r - 1)}
    if scale is None:
        if rep_type in types:
            scale = types[rep_type]
        elif rep_type == "jkn":
            scale = 1.0
            if rscales is None:
                raise DelibpollError("rep_type='jkn' needs rscales= (one per replicate), as R.")
        else:
            raise DelibpollError(
                f"rep_type={rep_type!r} needs scale= (and rscales=); known types: jk1, jkn, "
                "bootstrap, subbootstrap."
            )
    rs = np.ones(r) if rscales is None else np.asarray(rscales, dtype=float)
    if len(rs) != r:
        raise DelibpollError(f"rscales has {len(rs)} values for {r} replicate columns.")
    return ReplicateWeights(weights=w, type=rep_type, scale=float(scale), rscales=rs, mse=bool(mse))
