"""Taylor-linearisation variance for stratified cluster designs, calibration-aware.

The computation follows R ``survey``'s ``svyrecvar``: the influence values of an estimate
are first adjusted for every calibration step the weights went through (post-stratification,
raking, GREG calibration), in the order applied, then summed to first-stage PSU totals,
centred within strata and combined with the with-replacement formula and the finite
population correction.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from .exceptions import DelibpollError, DomainWarning

if TYPE_CHECKING:
    from .design import SurveyDesign, _Structure

# R's svyrecvar backfits the raking margins with exactly 10 sweeps; we do the same so the
# numbers agree with R (the projection is nearly converged after 10 sweeps in practice).
RAKING_SWEEPS = 10


@dataclass(frozen=True)
class PostStratRecord:
    """Post-stratification to one (possibly joint) margin."""

    row_cell: np.ndarray
    n_cells: int
    old_w: np.ndarray
    new_w: np.ndarray


@dataclass(frozen=True)
class RakingRecord:
    """Raking to several margins (R's ``raking`` postStrata element)."""

    row_cell: np.ndarray  # (n,) raking cell
    n_cells: int
    cell_codes: tuple[np.ndarray, ...]  # per margin, (C,) category of each cell
    n_categories: tuple[int, ...]
    cell_counts: np.ndarray  # (C,)
    psw: np.ndarray  # (n,) weights after raking

    @cached_property
    def row_indicator(self) -> sp.csr_matrix:
        """(C x n) sparse map from rows to raking cells."""
        n = len(self.row_cell)
        return sp.csr_matrix((np.ones(n), (self.row_cell, np.arange(n))), shape=(self.n_cells, n))

    @cached_property
    def margin_indicators(self) -> list[sp.csr_matrix]:
        return [
            sp.csr_matrix(
                (np.ones(self.n_cells), (codes, np.arange(self.n_cells))),
                shape=(self.n_categories[m], self.n_cells),
            )
            for m, codes in enumerate(self.cell_codes)
        ]

    @cached_property
    def stacked_indicator(self) -> sp.csr_matrix:
        """(T x C) map from cells to the categories of all margins, stacked."""
        return sp.vstack(self.margin_indicators).tocsr()

    @cached_property
    def cell_order(self) -> np.ndarray:
        """Row order that groups rows by raking cell (stable)."""
        return np.argsort(self.row_cell, kind="stable")

    @cached_property
    def psw_sorted(self) -> np.ndarray:
        """(n, 1) weights in ``cell_order``."""
        return np.ascontiguousarray(self.psw[self.cell_order][:, None])

    @cached_property
    def cell_starts(self) -> np.ndarray:
        """First position of each cell in ``cell_order`` (every cell has rows)."""
        counts = np.bincount(self.row_cell, minlength=self.n_cells)
        return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)

    @cached_property
    def stacked_dense(self) -> np.ndarray:
        """(T x C) dense map from cells to the categories of all margins."""
        return np.ascontiguousarray(np.asarray(self.stacked_indicator.todense()))

    @cached_property
    def cell_to_rows(self) -> sp.csr_matrix:
        """(n x T) rows' categories in every margin (row i has a 1 for each margin)."""
        return (self.row_indicator.T @ self.stacked_indicator.T).tocsr()

    @cached_property
    def stacked_cross(self) -> np.ndarray:
        """(T x T) rows in category c of one margin and c' of another, all margins."""
        ind = self.stacked_indicator
        return np.asarray((ind.multiply(self.cell_counts) @ ind.T).todense())

    @cached_property
    def margin_bounds(self) -> list[tuple[int, int]]:
        out, start = [], 0
        for k in self.n_categories:
            out.append((start, start + k))
            start += k
        return out

    @cached_property
    def sweep_operator(self) -> np.ndarray:
        """(T x T) linear map from category sums of z to the accumulated category means that
        R's 10 backfitting sweeps subtract (``svyrecvar``: ``z <- z - ave(z, margin)`` for
        each margin in turn). The sweeps are linear in z and act on category sums only, so
        they are run once on the identity and reused for every estimate."""
        cross = self.stacked_cross
        n_cat = np.diag(cross)[:, None]
        sums = np.eye(cross.shape[0])
        acc = np.zeros_like(sums)
        for _ in range(RAKING_SWEEPS):
            for lo, hi in self.margin_bounds:
                current = sums[lo:hi] - cross[lo:hi] @ acc
                acc[lo:hi] += current / n_cat[lo:hi]
        return acc


@dataclass(frozen=True)
class GregRecord:
    """Calibration with a cell-level model matrix (R's ``greg_calibration``, stage 0)."""

    row_cell: np.ndarray
    x: np.ndarray  # (C, p)
    w0_cell: np.ndarray  # (C,) cell totals of the weights before calibration
    g_cell: np.ndarray  # (C,) adjustment factor g = new / old of each cell
    new_w: np.ndarray  # (n,) calibrated weights


CalibrationRecord = PostStratRecord | RakingRecord | GregRecord


def _cell_sum(row_cell: np.ndarray, n_cells: int, values: np.ndarray) -> np.ndarray:
    """Sum rows of ``values`` (n x K) within cells -> (C x K)."""
    n = len(row_cell)
    ind = sp.csr_matrix((np.ones(n), (row_cell, np.arange(n))), shape=(n_cells, n))
    return np.asarray(ind @ values)


def calibration_residuals(x: np.ndarray, records: tuple[CalibrationRecord, ...]) -> np.ndarray:
    """Adjust influence values ``x`` (n x K) for the calibration steps, as ``svyrecvar``."""
    for rec in records:
        if isinstance(rec, PostStratRecord):
            num = _cell_sum(rec.row_cell, rec.n_cells, x * (rec.old_w / rec.new_w)[:, None])
            den = np.bincount(rec.row_cell, weights=rec.old_w, minlength=rec.n_cells)
            means = num / den[:, None]
            x = x - means[rec.row_cell] * rec.new_w[:, None]
        elif isinstance(rec, RakingRecord):
            psw = rec.psw[:, None]
            # cell sums of z = x / psw by segment sums over rows sorted by cell
            zs = np.take(x, rec.cell_order, axis=0)
            zs /= rec.psw_sorted
            zc = np.add.reduceat(zs, rec.cell_starts, axis=0)
            # every cell's total offset: stacked category map, R's sweeps, and back to cells
            s_dense = rec.stacked_dense
            offset_cells = s_dense.T @ (rec.sweep_operator @ (s_dense @ zc))  # (C, K)
            off = np.take(offset_cells, rec.row_cell, axis=0, out=zs)  # reuse the buffer
            off *= psw
            x = np.subtract(x, off, out=off)
        else:
            # R: qr.resid(qr(X sqrt(w0)), x / (g sqrt(w0))) * g sqrt(w0); g is constant in a cell
            xc = _cell_sum(rec.row_cell, rec.x.shape[0], x) / rec.g_cell[:, None]
            xtwx = rec.x.T @ (rec.x * rec.w0_cell[:, None])
            beta = np.linalg.lstsq(xtwx, rec.x.T @ xc, rcond=None)[0]
            fitted = rec.x @ beta
            x = x - rec.new_w[:, None] * fitted[rec.row_cell]
    return x


def stratified_vcov(
    x: np.ndarray, st: _Structure, lonely_psu: str, *, overwrite: bool = False
) -> np.ndarray:
    """With-replacement first-stage variance of the column totals of ``x`` (n x K).

    With ``overwrite=True`` ``x`` may be used as scratch space."""
    n_psu = len(st.psu_stratum)
    if n_psu == x.shape[0] and np.array_equal(st.psu, np.arange(n_psu)):
        t = x
    else:
        t = _cell_sum(st.psu, n_psu, x)
    n_h = st.n_psu_h
    h_count = len(n_h)
    if h_count == 1:
        means = t.mean(axis=0, keepdims=True)
    else:
        means = _cell_sum(st.psu_stratum, h_count, t) / n_h[:, None]
    lonely = n_h == 1
    certain = st.fpc_f < 1e-7
    scale = np.where(n_h > 1, st.fpc_f * n_h / np.maximum(n_h - 1, 1), st.fpc_f)
    scale = np.where(certain, 0.0, scale)
    centre = means.copy()
    average_factor = 1.0
    if np.any(lonely & ~certain):
        idx = np.flatnonzero(lonely & ~certain)
        if lonely_psu == "fail":
            raise DelibpollError(
                f"{len(idx)} stratum(s) have only one PSU, so their variance cannot be "
                "estimated. Choose a rule with SurveyDesign(..., lonely_psu=...): 'remove' or "
                "'certainty' (contribute nothing), 'adjust' (centre at the overall mean) or "
                "'average' (scale up the other strata), as in R's survey.lonely.psu."
            )
        if lonely_psu == "adjust":
            centre[idx] = 0.0
        elif lonely_psu == "average":
            scale = scale.copy()
            scale[idx] = 0.0
            average_factor = h_count / (h_count - len(idx)) if h_count > len(idx) else np.nan
    if t is x and overwrite:
        tc = np.subtract(t, centre[st.psu_stratum], out=t)
    else:
        tc = t - centre[st.psu_stratum]
    if np.all(scale == scale[0]):
        v = scale[0] * (tc.T @ tc)
    else:
        s = scale[st.psu_stratum]
        v = (tc * s[:, None]).T @ tc
    return np.asarray(v * average_factor)


def linearized_vcov(design: SurveyDesign, x: np.ndarray) -> np.ndarray:
    """Calibration-aware linearised variance-covariance of the totals of ``x``.

    ``x`` is not modified."""
    resid = calibration_residuals(np.asarray(x, dtype=float), design._calibration)
    if resid is x:
        resid = resid.copy()
    return stratified_vcov(resid, design._structure, design.lonely_psu, overwrite=True)


def domain_df(design: SurveyDesign, mask: np.ndarray) -> float:
    """R's ``degf`` of ``subset(design, mask)``: PSUs in the domain minus strata in it."""
    if design._replicates is not None:
        # R's subset of a replicate design drops the other rows: rank of theirs minus 1
        return float(design._replicates.domain_df(mask))
    st = design._structure
    inset = mask & (design._w != 0)
    n_in = int(inset.sum())
    if n_in == 0:
        return float("nan")
    n_psu = len(st.psu_stratum)
    if n_psu == len(inset) and len(st.n_psu_h) == 1:
        return float(n_in - 1)  # one PSU per row, no strata
    psus = np.count_nonzero(np.bincount(st.psu[inset], minlength=n_psu))
    strata = np.count_nonzero(np.bincount(st.stratum[inset], minlength=len(st.n_psu_h)))
    return float(psus - strata)


def warn_single_psu(label: str) -> None:
    warnings.warn(
        f"Domain {label} lies inside a single PSU, so its standard error is 0 (as R gives); "
        "the variance cannot be estimated from one cluster. Treat its CI as unavailable.",
        DomainWarning,
        stacklevel=3,
    )
