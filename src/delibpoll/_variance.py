"""Taylor-linearisation variance for stratified cluster designs, calibration-aware.

The computation follows R ``survey``'s ``svyrecvar``: the influence values of an estimate
are first adjusted for every calibration step the weights went through (post-stratification,
raking, GREG calibration), in the order applied, then summed to first-stage PSU totals,
centred within strata and combined with the with-replacement formula and the finite
population correction.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ._records import (
    RAKING_SWEEPS,
    CalibrationRecord,
    PostStratRecord,
    RakingRecord,
)
from .exceptions import DelibpollError, DomainWarning

if TYPE_CHECKING:
    from ._structure import DesignStructure


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


@dataclass(frozen=True)
class StratifiedVariance:
    """The with-replacement first-stage variance of PSU totals, lonely-PSU rule applied: the
    one algebra of the direct and the grouped linearisation.

    For PSU totals ``t_j`` of the influence values (R ``svyrecvar``'s ``onestage``),

    ``V = factor * sum_h scale_h sum_{j in h} (t_j - c_h)(t_j - c_h)^T``

    with ``c_h`` the stratum mean of the PSU totals when ``centred[h]`` and 0 otherwise (R's
    ``"adjust"`` for a lonely PSU). Expanded, with stratum totals ``T_h`` and
    ``coef_h = scale_h / n_h`` (0 for a stratum that is not centred),

    ``V = factor * (sum_j scale_j t_j t_j^T - sum_h coef_h T_h T_h^T)``.

    :meth:`of_totals` evaluates the first form on explicit PSU totals (the direct
    computation); :meth:`cross` is the second form as a bilinear map, which the grouped
    computation evaluates from group sums without building the PSU totals.

    Attributes
    ----------
    psu : numpy.ndarray
        ``(n,)`` PSU of each row.
    psu_stratum : numpy.ndarray
        ``(J,)`` stratum of each PSU.
    n_psu_h : numpy.ndarray
        ``(H,)`` PSUs per stratum.
    scale : numpy.ndarray
        ``(H,)`` multiplier of each stratum: ``fpc_h n_h / (n_h - 1)``, 0 for a certainty
        stratum or one the lonely-PSU rule leaves out.
    centred : numpy.ndarray
        ``(H,)`` whether the stratum's PSU totals are centred at their mean.
    factor : float
        Overall multiplier (``H / (H - lonely)`` for ``lonely_psu="average"``, else 1).
    """

    psu: np.ndarray
    psu_stratum: np.ndarray
    n_psu_h: np.ndarray
    scale: np.ndarray
    centred: np.ndarray
    factor: float

    @property
    def scale_psu(self) -> np.ndarray:
        """``(J,)`` the stratum scale of each PSU."""
        return np.asarray(self.scale[self.psu_stratum])

    @property
    def centre_coef(self) -> np.ndarray:
        """``(H,)`` ``scale_h / n_h`` for centred strata, else 0."""
        return np.asarray(np.where(self.centred, self.scale / self.n_psu_h, 0.0))

    def psu_totals(self, x: np.ndarray) -> np.ndarray:
        """PSU totals of the rows of ``x`` (n x K); ``x`` itself when every row is a PSU."""
        n_psu = len(self.psu_stratum)
        if n_psu == x.shape[0] and np.array_equal(self.psu, np.arange(n_psu)):
            return x
        return _cell_sum(self.psu, n_psu, x)

    def of_totals(self, t: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
        """``V`` of PSU totals ``t`` (J x K), centred form; with ``overwrite=True`` ``t`` may be
        used as scratch space."""
        n_h = self.n_psu_h
        if len(n_h) == 1:
            centre = t.mean(axis=0, keepdims=True)
        else:
            centre = _cell_sum(self.psu_stratum, len(n_h), t) / n_h[:, None]
        centre[~self.centred] = 0.0
        if overwrite:
            tc = np.subtract(t, centre[self.psu_stratum], out=t)
        else:
            tc = t - centre[self.psu_stratum]
        scale = self.scale
        if np.all(scale == scale[0]):
            v = scale[0] * (tc.T @ tc)
        else:
            s = scale[self.psu_stratum]
            v = (tc * s[:, None]).T @ tc
        return np.asarray(v * self.factor)

    def cross(self, sum_ab: np.ndarray, strat_a: np.ndarray, strat_b: np.ndarray) -> np.ndarray:
        """The expanded form before ``factor``, as a bilinear map of two sets of PSU totals
        ``a`` and ``b``: ``sum_ab - strat_a^T diag(coef) strat_b``, from their scaled
        cross-product ``sum_ab = sum_j scale_j a_j b_j^T`` and their stratum totals
        ``strat_a``, ``strat_b`` (H x .)."""
        return np.asarray(sum_ab - strat_a.T @ (strat_b * self.centre_coef[:, None]))


def stratified_variance(st: DesignStructure, lonely_psu: str) -> StratifiedVariance:
    """The :class:`StratifiedVariance` of a design structure under a lonely-PSU rule (R's
    ``survey.lonely.psu``: "fail", "remove", "certainty", "adjust" or "average")."""
    n_h = st.n_psu_h
    h_count = len(n_h)
    lonely = n_h == 1
    certain = st.fpc_f < 1e-7
    scale = np.where(n_h > 1, st.fpc_f * n_h / np.maximum(n_h - 1, 1), st.fpc_f)
    scale = np.where(certain, 0.0, scale)
    centred = np.ones(h_count, dtype=bool)
    factor = 1.0
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
            centred[idx] = False
        elif lonely_psu == "average":
            scale[idx] = 0.0
            factor = h_count / (h_count - len(idx)) if h_count > len(idx) else np.nan
    return StratifiedVariance(st.psu, st.psu_stratum, n_h, scale, centred, factor)


def second_stage_vcov(x: np.ndarray, st: DesignStructure, lonely_psu: str) -> np.ndarray:
    """The second-stage term of R's multistage variance (``svyrecvar`` with
    ``survey.ultimate.cluster = FALSE``) of the column totals of ``x`` (n x K):

    ``sum_i (n1_h / N1_h) (1 - n2_i / N2_i) n2_i / (n2_i - 1) sum_j (t_ij - tbar_i)(...)^T``

    over PSUs ``i`` with SSU totals ``t_ij`` (the stage-2 strata are the PSUs). A PSU with one
    SSU adds nothing when its stage-2 fpc says it was taken whole (``N2 = n2``, as R's
    ``onestage``); otherwise the lonely-PSU rule applies at stage 2: "fail" raises an error,
    "remove" and "certainty" add nothing, "adjust" and "average" are not offered there."""
    s2 = st.stage2
    assert s2 is not None
    n_psu = len(st.psu_stratum)
    n2 = s2.n_ssu
    certain = s2.fpc_f < 1e-7
    first = 1.0 - st.fpc_f[st.psu_stratum]  # n1 / N1 of each PSU's stratum
    lonely = (n2 == 1) & ~certain & (first > 0)
    if lonely.any():
        if lonely_psu == "fail":
            raise DelibpollError(
                f"{int(lonely.sum())} first-stage unit(s) have a single second-stage unit but "
                "a second-stage fpc that says it was not taken whole, so their stage-2 "
                "variance cannot be estimated. Check the second-stage fpc (N2 = 1 for a PSU "
                "with one unit), or choose lonely_psu='remove' or 'certainty' (they then add "
                "nothing at stage 2), as R's survey.lonely.psu."
            )
        if lonely_psu in ("adjust", "average"):
            raise DelibpollError(
                f"lonely_psu={lonely_psu!r} is not available for a first-stage unit with a "
                "single second-stage unit; use 'remove' or 'certainty', or fix the "
                "second-stage fpc."
            )
    t = _cell_sum(s2.ssu, len(s2.ssu_psu), x)
    centre = _cell_sum(s2.ssu_psu, n_psu, t) / n2[:, None]
    dev = t - centre[s2.ssu_psu]
    coef = np.where(n2 > 1, s2.fpc_f * n2 / np.maximum(n2 - 1, 1), 0.0) * first
    coef = np.where(certain, 0.0, coef)
    return np.asarray((dev * coef[s2.ssu_psu][:, None]).T @ dev)


def stratified_vcov(
    x: np.ndarray, st: DesignStructure, lonely_psu: str, *, overwrite: bool = False
) -> np.ndarray:
    """With-replacement first-stage variance of the column totals of ``x`` (n x K), plus R's
    second-stage term on a two-stage design with an fpc at both stages
    (:func:`second_stage_vcov`).

    With ``overwrite=True`` ``x`` may be used as scratch space."""
    extra = None if st.stage2 is None else second_stage_vcov(x, st, lonely_psu)
    sv = stratified_variance(st, lonely_psu)
    t = sv.psu_totals(x)
    v = sv.of_totals(t, overwrite=overwrite and t is x)
    return v if extra is None else np.asarray(v + extra)


def linearized_vcov(
    x: np.ndarray,
    structure: DesignStructure,
    lonely_psu: str,
    calibration: tuple[CalibrationRecord, ...] = (),
) -> np.ndarray:
    """Calibration-aware linearised variance-covariance of the column totals of ``x``.

    The arguments are R ``svyrecvar``'s: the influence values ``x`` (n x K, not modified),
    the strata, PSUs and fpc (``structure``), the lonely-PSU rule and the calibration
    records (``postStrata``), applied in order.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from delibpoll._structure import build_structure
    >>> st = build_structure(pd.DataFrame({"y": [1.0, 2.0, 3.0]}), None, None, None)
    >>> x = np.array([[1.0], [2.0], [3.0]])
    >>> linearized_vcov(x, st, "fail").round(6).tolist()  # n/(n-1) sum (x - mean)^2
    [[3.0]]
    """
    resid = calibration_residuals(np.asarray(x, dtype=float), calibration)
    if resid is x:
        resid = resid.copy()
    return stratified_vcov(resid, structure, lonely_psu, overwrite=True)


def domain_average_factors(
    w: np.ndarray,
    structure: DesignStructure,
    lonely_psu: str,
    calibration: tuple[CalibrationRecord, ...],
    domain_codes: np.ndarray,
    n_domains: int,
    valid: np.ndarray,
) -> np.ndarray | None:
    """Per domain, the multiplier of the linearised variance that makes
    ``lonely_psu="average"`` scale by the strata present in the domain, relative to the
    whole design's ``H / (H - lonely)`` that :func:`stratified_variance` applies; None when
    it changes nothing. For linearised designs (the caller leaves replicate designs out).

    R's ``svyby`` (and ``na.rm=TRUE``) subsets an uncalibrated design by dropping the other
    rows, so ``onestage`` multiplies by ``nstrat / nokstrat`` of the strata with rows in the
    domain (a lonely stratum counts by its PSUs in the whole design). A calibrated design
    keeps its rows (``prob = Inf``), so the whole design's strata count, as here. A domain
    whose strata are all lonely gets NaN, as R."""
    if lonely_psu != "average" or calibration:
        return None
    st = structure
    lonely = (st.n_psu_h == 1) & ~(st.fpc_f < 1e-7)
    h_count = len(st.n_psu_h)
    n_lonely = int(lonely.sum())
    if n_lonely == 0 or h_count == n_lonely:
        return None
    inset = valid & (w != 0)
    present = np.zeros((n_domains, h_count), dtype=bool)
    present[domain_codes[inset], st.stratum[inset]] = True
    n_strata = present.sum(axis=1)
    n_ok = (present & ~lonely[None, :]).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where(n_ok > 0, n_strata / n_ok, np.nan)
    return np.asarray(own / (h_count / (h_count - n_lonely)))


def subset_df(w: np.ndarray, structure: DesignStructure, mask: np.ndarray) -> float:
    """R's ``degf`` of ``subset(design, mask)`` of a linearised design: PSUs with rows of
    non-zero weight in the domain minus the strata they lie in (NaN for an empty domain)."""
    st = structure
    inset = mask & (w != 0)
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


# ---------------------------------------------------------------------- grouped linearisation
# Most estimates in a report are ratios of weighted counts: each row's influence value is
# ``x_i = w_i Z[u_i]`` for a small table Z indexed by the row's group u (domain x answer
# pattern). Then the calibration residuals and the stratified variance only need group-level
# sums, and the n x K matrices of the direct computation are never built. The result equals
# ``linearized_vcov`` of the same x (property-tested), up to rounding.

# variances below this fraction of the size of the terms they are computed from are zero up to
# rounding (a share fixed by calibration or by the strata)
ROUNDING_ZERO = 1e-11

# (cells x features) maps up to this many entries are kept dense (products of small dense
# maps are faster than scipy's)
DENSE_FEATURES = 1 << 22


@dataclass(frozen=True)
class _Offsets:
    """One calibration step written as ``r_i = x_i - a_i Ind_i^T P`` with
    ``P = solve(sum_i b_i Ind_i x_i^T / w_i)``: ``Ind`` is a row's feature vector (its raking
    categories, its post-stratum, or its calibration model row), ``Ind_i = features[cell_i]``
    for the row's weighting cell."""

    cell: np.ndarray  # (n,) weighting cell of each row
    features: sp.csr_matrix | np.ndarray  # (C, T) features of each cell
    codes: np.ndarray | None  # (M, n) feature indices when features are indicators
    a: np.ndarray  # (n,)
    b: np.ndarray  # (n,)
    solve_kind: str  # "matrix": P = op @ tab; "scale": P = tab * op[:, None]; "lstsq"
    op: np.ndarray
    pairs: FeaturePairs | None = None  # raking: (feature, feature) pairs of every cell

    @property
    def n_features(self) -> int:
        return int(self.features.shape[1])


@dataclass(frozen=True)
class GroupedLinearizer:
    """Design-level constants for :func:`grouped_vcov` (built once per design and kept
    with it by the caller)."""

    sv: StratifiedVariance
    n_psu: int
    n_strata: int
    row_is_psu: bool
    psu: np.ndarray  # (n,)
    stratum: np.ndarray  # (n,)
    scale_row: np.ndarray  # (n,) stratum scale of each row's PSU
    scale_psu: np.ndarray  # (J,)
    offsets: _Offsets | None
    b_psu: sp.csr_matrix | np.ndarray | None  # (J, T) PSU totals of a_i Ind_i (clustered)
    tt: np.ndarray | None  # (T, T) cross(b, b): centred, scaled cross-products of b_psu
    tt_raw: np.ndarray | None  # (T, T) uncentred
    sf_b: np.ndarray | None  # (H, T) stratum totals of b_psu


def _features(off: _Offsets, row: np.ndarray, vals: tuple[np.ndarray, ...],
              n_rows_out: int) -> list[np.ndarray]:
    """``sum_i v_i e_{row_i} Ind_i^T`` as dense (n_rows_out x T) arrays, one per ``v`` in
    ``vals``."""
    t = off.n_features
    if off.codes is not None:
        base = row * t
        size = n_rows_out * t
        outs = [np.zeros(size) for _ in vals]
        for m in range(off.codes.shape[0]):
            idx = base + off.codes[m]
            for out, v in zip(outs, vals, strict=True):
                out += np.bincount(idx, weights=v, minlength=size)
        return [out.reshape(n_rows_out, t) for out in outs]
    n_cells = off.features.shape[0]
    return [
        np.asarray(sp.csr_matrix((v, (row, off.cell)), shape=(n_rows_out, n_cells)) @ off.features)
        for v in vals
    ]


@functools.lru_cache(maxsize=16)
def _upper_pairs(m: int) -> tuple[np.ndarray, np.ndarray]:
    """The margin pairs ``(i, j)``, ``i <= j``, of ``m`` margins (read-only)."""
    mi, mj = np.triu_indices(m)
    mi.flags.writeable = False
    mj.flags.writeable = False
    return mi, mj


@dataclass(frozen=True)
class FeaturePairs:
    """The (feature, feature') pairs of every cell for indicator features of several margins:
    ``cross(v)[f, f'] = sum_c v_c [cell c has f and f']`` from one bincount over the pairs of
    margins ``m <= m'`` (the others by symmetry), without any (C x T) product."""

    index: np.ndarray  # (P * C,) f * T + f' for each margin pair (m <= m') and cell
    n_pairs: int  # margin pairs m <= m'
    t: int

    @classmethod
    def of(cls, feats: Sequence[np.ndarray], t: int) -> FeaturePairs:
        fm = np.vstack(feats)  # (M, C)
        mi, mj = _upper_pairs(len(feats))
        index = np.add((fm * t)[mi], fm[mj]).ravel()
        return cls(index, len(mi), t)

    def cross(self, v: np.ndarray) -> np.ndarray:
        t = self.t
        w = np.tile(np.asarray(v, dtype=float), self.n_pairs)
        upper = np.bincount(self.index, weights=w, minlength=t * t).reshape(t, t)
        # the pairs m < m' fill one triangle-by-blocks, m = m' the block diagonal (diagonal
        # blocks are diagonal: a cell has one category of each margin)
        full = upper + upper.T
        full[np.diag_indices(t)] = np.diag(upper)
        return full


def sweep_operator(margin_codes: Sequence[np.ndarray], n_categories: Sequence[int],
                   cell_counts: np.ndarray, pairs: FeaturePairs | None = None) -> np.ndarray:
    """``(T x T)`` linear map from the stacked category sums of ``z`` to the accumulated
    category means that R's 10 backfitting sweeps subtract (``svyrecvar``: ``z <- z -
    ave(z, margin)`` for each margin in turn); the same operator as
    ``RakingRecord.sweep_operator``, from the cells' margin codes and row counts in numpy."""
    bounds = []
    feats = []
    off = 0
    for codes, k in zip(margin_codes, n_categories, strict=True):
        feats.append(off + np.asarray(codes, dtype=np.int64))
        bounds.append((off, off + int(k)))
        off += int(k)
    t = off
    if pairs is None:
        pairs = FeaturePairs.of(feats, t)
    # rows in category c of one margin and c' of another: one bincount over the pairs
    cross = pairs.cross(cell_counts)
    inv_n = 1.0 / np.diag(cross)[:, None]
    # one sweep is affine in the accumulated means: acc' = G acc + H (H: one sweep from 0 on
    # the identity, G: the sweep's linear part), so the 10 sweeps are H, G H + H, ...
    h_mat = np.zeros((t, t))
    eye = np.eye(t)
    for lo, hi in bounds:
        h_mat[lo:hi] = (eye[lo:hi] - cross[lo:hi] @ h_mat) * inv_n[lo:hi]
    g_mat = eye.copy()
    for lo, hi in bounds:
        g_mat[lo:hi] -= (cross[lo:hi] @ g_mat) * inv_n[lo:hi]
    acc = h_mat.copy()
    for _ in range(RAKING_SWEEPS - 1):
        acc = g_mat @ acc + h_mat
    return acc


def _offsets_of(rec: CalibrationRecord) -> _Offsets:
    if isinstance(rec, RakingRecord):
        offs = np.cumsum((0,) + rec.n_categories[:-1])
        cell_feat = [np.asarray(c, dtype=np.int64) + o
                     for c, o in zip(rec.cell_codes, offs, strict=True)]
        codes = np.vstack([c[rec.row_cell] for c in cell_feat])
        n_cells, t = rec.n_cells, int(sum(rec.n_categories))
        feats: sp.csr_matrix | np.ndarray
        if n_cells * t <= DENSE_FEATURES:  # small maps: dense, built without scipy
            feats = np.zeros(n_cells * t)
            base = np.arange(n_cells) * t
            for c in cell_feat:
                feats[base + c] = 1.0
            feats = feats.reshape(n_cells, t)
        else:
            rows = np.broadcast_to(np.arange(n_cells), (len(cell_feat), n_cells)).ravel()
            feats = sp.csr_matrix((np.ones(len(rows)), (rows, np.concatenate(cell_feat))),
                                  shape=(n_cells, t))
        pairs = FeaturePairs.of(cell_feat, t)
        return _Offsets(rec.row_cell, feats, codes, rec.psw, 1.0 / rec.psw, "matrix",
                        sweep_operator(rec.cell_codes, rec.n_categories, rec.cell_counts,
                                       pairs), pairs)
    if isinstance(rec, PostStratRecord):
        old_cell = np.bincount(rec.row_cell, weights=rec.old_w, minlength=rec.n_cells)
        with np.errstate(divide="ignore"):
            inv = np.where(old_cell > 0, 1.0 / old_cell, 0.0)
        return _Offsets(rec.row_cell, sp.identity(rec.n_cells, format="csr"),
                        rec.row_cell[None, :].astype(np.int64), rec.new_w,
                        rec.old_w / rec.new_w, "scale", inv)
    xtwx = rec.x.T @ (rec.x * rec.w0_cell[:, None])
    return _Offsets(rec.row_cell, np.asarray(rec.x, dtype=float), None, rec.new_w,
                    1.0 / rec.g_cell[rec.row_cell], "lstsq", xtwx)


def _dense(m: sp.spmatrix | np.ndarray) -> np.ndarray:
    if isinstance(m, np.ndarray):
        return m
    return np.asarray(m.toarray())


def _dense_or_sparse(m: sp.spmatrix | np.ndarray) -> sp.csr_matrix | np.ndarray:
    if isinstance(m, np.ndarray):
        return m
    return m.tocsr()


def grouped_linearizer(
    structure: DesignStructure, lonely_psu: str, calibration: tuple[CalibrationRecord, ...]
) -> GroupedLinearizer | None:
    """The constants of a linearised design for grouped variances, or None when the design
    is not one this path covers (more than one calibration step, or a second stage). The caller leaves
    replicate designs out and keeps the result with the design."""
    if len(calibration) > 1 or structure.stage2 is not None:
        return None
    st = structure
    sv = stratified_variance(st, lonely_psu)
    n = len(st.psu)
    n_psu = len(st.psu_stratum)
    scale_psu = sv.scale_psu
    row_is_psu = n_psu == n  # n PSUs in n rows: every row is its own PSU
    offsets = _offsets_of(calibration[0]) if calibration else None
    b_psu = tt = tt_raw = sf_b = None
    if offsets is not None and row_is_psu:
        # rows are PSUs: the (C x C) cross-product of PSU totals is diagonal, and the
        # stratum totals are sums by (stratum, cell): no products of row-sized matrices
        n_cells = offsets.features.shape[0]
        feats = offsets.features
        diag = np.bincount(offsets.cell, weights=offsets.a * offsets.a * scale_psu[st.psu],
                           minlength=n_cells)
        small = feats.shape[0] * feats.shape[1] <= DENSE_FEATURES
        fd = _dense(feats) if small else feats  # dense products of small maps are faster
        if offsets.pairs is not None:  # raking indicators: one bincount, no (C x T) product
            tt_raw = offsets.pairs.cross(diag)
        elif isinstance(fd, np.ndarray):
            tt_raw = np.asarray(fd.T @ (fd * diag[:, None]))
        else:
            tt_raw = np.asarray(_dense(fd.T @ fd.multiply(diag[:, None]).tocsr()))
        h = len(st.n_psu_h)
        if h * n_cells <= 1 << 22:
            strat_cell = np.bincount(st.stratum * n_cells + offsets.cell, weights=offsets.a,
                                     minlength=h * n_cells).reshape(h, n_cells)
            sf_b = np.asarray(strat_cell @ fd) if isinstance(fd, np.ndarray) \
                else np.asarray(_dense(fd.T @ strat_cell.T).T)
        else:
            strat_sp = sp.csr_matrix((offsets.a, (st.stratum, offsets.cell)), shape=(h, n_cells))
            sf_b = np.asarray(_dense(strat_sp @ feats))
        tt = sv.cross(tt_raw, sf_b, sf_b)
    elif offsets is not None:
        # PSU totals of a_i Ind_i through the cells: (J x C) @ (C x T), never an n x T array
        n_cells = offsets.features.shape[0]
        psu_cell = sp.csr_matrix((offsets.a, (st.psu, offsets.cell)), shape=(n_psu, n_cells))
        # raking indicators sparse here: the (J x T) PSU totals stay sparse
        feats = sp.csr_matrix(offsets.features) if offsets.pairs is not None \
            else offsets.features
        cross = (psu_cell.T @ psu_cell.multiply(scale_psu[:, None]).tocsr()).tocsr()  # (C, C)
        tt_raw = np.asarray(_dense(feats.T @ _dense_or_sparse(cross @ feats)))
        to_stratum = sp.csr_matrix(
            (np.ones(n_psu), (st.psu_stratum, np.arange(n_psu))), shape=(len(st.n_psu_h), n_psu)
        )
        sf_b = np.asarray(_dense((to_stratum @ psu_cell) @ feats))
        tt = sv.cross(tt_raw, sf_b, sf_b)
        if not row_is_psu:
            b_psu = _dense_or_sparse(psu_cell @ feats)
    return GroupedLinearizer(
        sv=sv, n_psu=n_psu, n_strata=len(st.n_psu_h), row_is_psu=row_is_psu, psu=st.psu,
        stratum=st.stratum, scale_row=scale_psu[st.psu], scale_psu=scale_psu, offsets=offsets,
        b_psu=b_psu, tt=tt, tt_raw=tt_raw, sf_b=sf_b,
    )


def grouped_vcov(
    lin: GroupedLinearizer, w: np.ndarray, u: np.ndarray, n_groups: int, z: np.ndarray
) -> np.ndarray:
    """Calibration-aware linearised vcov of the totals of ``x_i = w_i z[u_i]``.

    ``u`` (n,) holds each row's group in ``0..n_groups-1`` and ``z`` is (n_groups x K). The
    variance is ``H^T V_f H`` where ``V_f`` is the design variance of the group indicators
    (and, on calibrated designs, of the calibration features) and ``H = [z; -P z]`` maps
    them to the residuals of the estimate."""
    n_g = n_groups
    sv = lin.sv
    sa = np.bincount(lin.stratum * n_g + u, weights=w, minlength=lin.n_strata * n_g)
    saz = sa.reshape(lin.n_strata, n_g) @ z  # (H, K) stratum totals of x
    a_scaled = None
    if lin.row_is_psu:
        ws = w * lin.scale_row
        d = np.bincount(u, weights=ws * w, minlength=n_g)
        zd = z * d[:, None]
        v = zd.T @ z
        size = np.einsum("uk,uk->k", zd, z)
    else:
        a_mat = sp.csr_matrix((w, (lin.psu, u)), shape=(lin.n_psu, n_g))
        a_scaled = sp.csr_matrix((w * lin.scale_psu[lin.psu], (lin.psu, u)),
                                 shape=(lin.n_psu, n_g))
        az = np.asarray(a_mat @ z)
        v = az.T @ np.asarray(a_scaled @ z)
        size = np.diag(v).copy()
    v = sv.cross(v, saz, saz)
    off = lin.offsets
    if off is not None:
        assert lin.tt is not None and lin.sf_b is not None and lin.tt_raw is not None
        if lin.row_is_psu:
            ut, tab = _features(off, u, (ws * off.a, w * off.b), n_g)
        else:
            assert a_scaled is not None and lin.b_psu is not None
            ut = _dense(a_scaled.T @ lin.b_psu)
            tab = _features(off, u, (w * off.b,), n_g)[0]
        tab_z = tab.T @ z  # (T, K)
        if off.solve_kind == "matrix":
            pz = off.op @ tab_z
        elif off.solve_kind == "scale":
            pz = tab_z * off.op[:, None]
        else:
            pz = np.linalg.lstsq(off.op, tab_z, rcond=None)[0]
        cross = sv.cross(z.T @ ut, saz, lin.sf_b) @ pz
        v = v - cross - cross.T + pz.T @ (lin.tt @ pz)
        size = size + np.einsum("tk,tk->k", lin.tt_raw @ pz, pz)
    v = v * sv.factor
    # terms cancel for a share fixed by calibration or strata: zero up to rounding
    fixed = np.diag(v) <= ROUNDING_ZERO * size * max(sv.factor, 1.0)
    if fixed.any():
        v[fixed, :] = 0.0
        v[:, fixed] = 0.0
    return np.asarray(v)
