"""The cell engine from group sums (kernel layer): weight and estimate from a small table.

API note (for the lazy, out-of-core and distributed designs, and the public
:mod:`delibpoll.cells`)
--------------------------------------------------------------------------------------
Everything a raking-aware linearised proportion, mean or total needs is a table of sums per
group, a group being a (weighting cell x domain x answer [x stratum or PSU]) combination:

1. Build a :class:`GroupSums` from one ``group_by().agg()`` pass in any engine: integer
   codes per key (``cell``, ``domain``, ``answer`` with -1 for a missing answer, optional
   ``stratum`` or ``psu``), and per group ``n`` (rows), ``sum_w`` and ``sum_w2`` (sums of the
   weights the table was built with, and of their squares). Means and totals of a numeric
   ``y`` also need ``sum_y`` (unweighted), ``sum_wy``, ``sum_w2y`` and ``sum_w2y2``. Rows with
   a missing answer stay in the table (``answer = -1``): the calibration counts them.
2. Weight the cells: :func:`rake`, :func:`calibrate` or :func:`poststratify` take the table
   and per-cell margin codes and return a :class:`CellWeights`, whose ``factor[cell]`` turns
   the table's weights into the new weights (``w = w0 * factor[cell]``: a gather, not a
   join). They run the package's own fitting kernels (``_replay.rake_fit`` and
   ``calibrate_fit`` on cells, hence ``_engine.rake_cells`` / ``calibrate_cells``).
3. Estimate: :func:`ratios` (shares of categories and any ``values[answer]`` pattern, or
   their totals) and :func:`numeric` (means and totals of ``y``) return a
   :class:`CellEstimate` with the estimates, their joint covariance (Taylor-linearised with
   strata, PSUs, fpc and the calibration step, as R ``svyrecvar``), and per domain ``n``,
   R's df and R's ``nrow`` of the domain's subset.

The variance: for rows in group ``g`` the influence value divided by the weight is
``a_u y + b_u`` (``u`` = domain x answer), so the calibration residual is
``w (a_u y + b_u - off_c)``, with a per-cell offset ``off_c`` computed on the table (R's 10
raking sweeps ``x <- x - w ave(x / w, margin)`` act on cell sums of ``x / w``; the
post-stratification means and the GREG fit are functions of the cell too). The PSU totals of
the residuals, and for rows-as-PSUs their sums of squares, are then sums over the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.sparse as sp

from ._engine import Cells, design_matrix
from ._records import RAKING_SWEEPS, CalibrateStep, MarginTarget, RakeStep
from ._replay import calibrate_fit, rake_fit, resolve_counts
from ._structure import DesignStructure
from ._types import CalFun
from ._variance import ROUNDING_ZERO, StratifiedVariance, stratified_variance
from .exceptions import DelibpollError

__all__ = [
    "CalibrationKind",
    "CellCalibration",
    "CellEstimate",
    "CellWeights",
    "GroupSums",
    "calibrate",
    "no_weighting",
    "numeric",
    "poststratify",
    "rake",
    "ratios",
    "sweep_operator",
]

CalibrationKind = Literal["rake", "poststratify", "calibrate"]

# dense aggregate tables up to this many entries; sparse beyond
_DENSE_LIMIT = 1 << 22


def _frozen(a: np.ndarray | None, dtype: type | None = None) -> np.ndarray | None:
    if a is None:
        return None
    out = np.array(a, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class GroupSums:
    """Sums per group of rows (weighting cell x domain x answer [x stratum or PSU]).

    Attributes
    ----------
    cell, domain, answer : numpy.ndarray
        ``(G,)`` integer codes of each group: weighting cell ``0..n_cells-1``, domain
        ``0..n_domains-1``, answer ``0..n_answers-1`` or -1 for rows whose answer is missing.
    n : numpy.ndarray
        ``(G,)`` rows in the group.
    sum_w, sum_w2 : numpy.ndarray
        ``(G,)`` sums of the weights the table was built with (the starting weights before
        the cells are weighted) and of their squares. Sampling weights, all positive.
    n_cells, n_domains, n_answers : int
    stratum : numpy.ndarray, optional
        ``(G,)`` stratum code ``0..H-1`` (rows are the PSUs, or derived from ``psu``).
    psu : numpy.ndarray, optional
        ``(G,)`` first-stage PSU code ``0..J-1``, PSUs nested in strata. Without it every
        row is its own PSU (then ``n`` per stratum counts the PSUs).
    fpc_f : numpy.ndarray, optional
        ``(H,)`` ``(N_h - n_h) / N_h`` per stratum (PSUs in the population); 1 (no
        correction) by default.
    sum_y, sum_wy, sum_w2y, sum_w2y2 : numpy.ndarray, optional
        ``(G,)`` sums of a numeric ``y`` (unweighted), ``w y``, ``w^2 y`` and ``w^2 y^2``
        over the group's rows with an answer, for :func:`numeric`.

    Raises
    ------
    DelibpollError
        Arrays of different lengths, codes outside their ranges, non-finite or negative
        sums, or a PSU in two strata.
    """

    cell: np.ndarray
    domain: np.ndarray
    answer: np.ndarray
    n: np.ndarray
    sum_w: np.ndarray
    sum_w2: np.ndarray
    n_cells: int
    n_domains: int
    n_answers: int
    stratum: np.ndarray | None = None
    psu: np.ndarray | None = None
    fpc_f: np.ndarray | None = None
    sum_y: np.ndarray | None = None
    sum_wy: np.ndarray | None = None
    sum_w2y: np.ndarray | None = None
    sum_w2y2: np.ndarray | None = None
    n_strata: int = field(init=False)
    psu_stratum: np.ndarray | None = field(init=False)

    def __post_init__(self) -> None:
        g = len(np.asarray(self.cell))
        for name in ("cell", "domain", "answer", "stratum", "psu"):
            val = getattr(self, name)
            if val is None:
                continue
            arr = np.asarray(val)
            if arr.shape != (g,) or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
                raise DelibpollError(
                    f"GroupSums: '{name}' must be {g} integer codes (one per group); got an "
                    f"array of shape {arr.shape} and dtype {arr.dtype}."
                )
            object.__setattr__(self, name, _frozen(arr, np.int64))
        for name in ("n", "sum_w", "sum_w2", "sum_y", "sum_wy", "sum_w2y", "sum_w2y2"):
            val = getattr(self, name)
            if val is None:
                continue
            arr = np.asarray(val, dtype=float)
            if arr.shape != (g,) or not np.all(np.isfinite(arr)):
                raise DelibpollError(
                    f"GroupSums: '{name}' must be {g} finite numbers (one per group); got shape "
                    f"{arr.shape}{'' if arr.shape != (g,) else ' with non-finite values'}."
                )
            object.__setattr__(self, name, _frozen(arr))
        for name in ("n", "sum_w", "sum_w2"):
            if np.any(getattr(self, name) < 0):
                raise DelibpollError(f"GroupSums: '{name}' has negative values; sums of rows "
                                     "and of positive weights cannot be negative.")
        for name, hi, lo in (("cell", self.n_cells, 0), ("domain", self.n_domains, 0),
                             ("answer", self.n_answers, -1)):
            arr = getattr(self, name)
            if g and (arr.min() < lo or arr.max() >= hi):
                raise DelibpollError(
                    f"GroupSums: '{name}' codes must lie in {lo}..{hi - 1}; got "
                    f"{int(arr.min())}..{int(arr.max())}."
                )
        psu_stratum = None
        if self.psu is not None:
            n_psu = int(self.psu.max()) + 1 if g else 0
            strat = self.stratum if self.stratum is not None else np.zeros(g, dtype=np.int64)
            psu_stratum = np.full(n_psu, -1, dtype=np.int64)
            psu_stratum[self.psu] = strat
            if np.any(psu_stratum[self.psu] != strat):
                raise DelibpollError(
                    "GroupSums: a PSU appears in two strata; PSUs must be nested in strata "
                    "(code each PSU within its stratum)."
                )
            if np.any(psu_stratum < 0):
                raise DelibpollError("GroupSums: PSU codes must be 0..J-1 with every PSU present.")
            psu_stratum.flags.writeable = False
        n_strata = 1 if self.stratum is None or g == 0 else int(self.stratum.max()) + 1
        if self.fpc_f is not None:
            f = np.asarray(self.fpc_f, dtype=float)
            if f.shape != (n_strata,) or np.any((f < 0) | (f > 1)):
                raise DelibpollError(
                    f"GroupSums: 'fpc_f' must hold (N_h - n_h) / N_h in [0, 1] for each of the "
                    f"{n_strata} strata; got {f!r}."
                )
            object.__setattr__(self, "fpc_f", _frozen(f))
        object.__setattr__(self, "n_strata", n_strata)
        object.__setattr__(self, "psu_stratum", psu_stratum)

    @property
    def n_groups(self) -> int:
        """Number of groups (rows of the table)."""
        return len(self.cell)

    @property
    def has_numeric(self) -> bool:
        """Whether the sums of a numeric ``y`` are given."""
        return self.sum_wy is not None

    @cached_property
    def group_stratum(self) -> np.ndarray:
        """``(G,)`` stratum of each group."""
        if self.stratum is not None:
            return self.stratum
        if self.psu is not None and self.psu_stratum is not None:
            return np.asarray(self.psu_stratum[self.psu])
        return np.zeros(self.n_groups, dtype=np.int64)

    @cached_property
    def cell_indicator(self) -> sp.csr_matrix:
        """``(C x G)`` 0/1 map from groups to their weighting cell."""
        return _indicator(self.cell, self.n_cells)

    @cached_property
    def cell_counts(self) -> np.ndarray:
        """``(C,)`` rows per weighting cell."""
        return np.bincount(self.cell, weights=self.n, minlength=self.n_cells)

    @cached_property
    def cell_sum_w(self) -> np.ndarray:
        """``(C,)`` sum of the table's weights per weighting cell."""
        return np.bincount(self.cell, weights=self.sum_w, minlength=self.n_cells)

    def structure(self) -> DesignStructure:
        """The strata, PSUs and fpc as a :class:`DesignStructure` at group level (``psu`` and
        ``stratum`` per group; with rows as PSUs ``psu_stratum`` is empty and ``n_psu_h``
        counts rows)."""
        h = self.n_strata
        strat = self.group_stratum
        if self.psu is None:
            n_psu_h = np.bincount(strat, weights=self.n, minlength=h)
            psu = np.zeros(0, dtype=np.int64)
            psu_stratum = np.zeros(0, dtype=np.int64)
        else:
            assert self.psu_stratum is not None
            psu_stratum = self.psu_stratum
            n_psu_h = np.bincount(psu_stratum, minlength=h).astype(float)
            psu = self.psu
        fpc = np.ones(h) if self.fpc_f is None else self.fpc_f
        return DesignStructure(psu=psu, stratum=strat, psu_stratum=psu_stratum,
                               n_psu_h=n_psu_h, fpc_f=fpc, has_fpc=self.fpc_f is not None)


@dataclass(frozen=True)
class CellCalibration:
    """A calibration step at cell level, as the linearised variance needs it.

    Attributes
    ----------
    kind : {"rake", "poststratify", "calibrate"}
    g : numpy.ndarray
        ``(C,)`` new weight / weight before the step, per cell (not used for raking).
    margin_codes : tuple of numpy.ndarray
        Raking: per margin, ``(C,)`` category of each cell. Post-stratification: one array,
        the post-stratum of each cell.
    n_categories : tuple of int
    x : numpy.ndarray, optional
        ``(C, p)`` cell-level model matrix of a calibration (GREG).
    sweep : numpy.ndarray, optional
        Raking: the ``(T x T)`` operator of R's 10 sweeps on stacked category sums
        (``RakingRecord.sweep_operator``); built from the table's cell counts when None.
    """

    kind: CalibrationKind
    g: np.ndarray
    margin_codes: tuple[np.ndarray, ...] = ()
    n_categories: tuple[int, ...] = ()
    x: np.ndarray | None = None
    sweep: np.ndarray | None = None
    crosses: dict[bytes, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def stacked(self) -> np.ndarray:
        """``(T x C)`` dense map from cells to the stacked categories of all margins."""
        n_cells = len(self.margin_codes[0])
        t = sum(self.n_categories)
        out = np.zeros((t, n_cells))
        off = 0
        for codes, k in zip(self.margin_codes, self.n_categories, strict=True):
            out[off + codes, np.arange(n_cells)] = 1.0
            off += k
        return out

    def sweep_operator(self, cell_counts: np.ndarray) -> np.ndarray:
        """The raking sweep operator (given, or R's 10 sweeps on these cell counts)."""
        if self.sweep is not None:
            return self.sweep
        return sweep_operator(self.margin_codes, self.n_categories, cell_counts)


def sweep_operator(margin_codes: Sequence[np.ndarray], n_categories: Sequence[int],
                   cell_counts: np.ndarray) -> np.ndarray:
    """``(T x T)`` linear map from the stacked category sums of ``z`` to the accumulated
    category means that R's 10 backfitting sweeps subtract (``svyrecvar``: ``z <- z -
    ave(z, margin)`` for each margin in turn); the same operator as
    ``RakingRecord.sweep_operator``, from the cells' margin codes and row counts in numpy."""
    n_cells = len(cell_counts)
    t = int(sum(n_categories))
    stacked = np.zeros((t, n_cells))
    bounds = []
    off = 0
    for codes, k in zip(margin_codes, n_categories, strict=True):
        stacked[off + np.asarray(codes), np.arange(n_cells)] = 1.0
        bounds.append((off, off + int(k)))
        off += int(k)
    cross = (stacked * np.asarray(cell_counts, dtype=float)[None, :]) @ stacked.T
    inv_n = 1.0 / np.diag(cross)[:, None]
    # one sweep is affine in the accumulated means: acc' = G acc + H (H: one sweep from 0 on
    # the identity, G: the sweep's linear part), so the 10 sweeps are H, G H + H, ...
    h_mat = np.zeros((t, t))
    g_mat = np.zeros((t, t))
    eye = np.eye(t)
    for lo, hi in bounds:
        h_mat[lo:hi] = (eye[lo:hi] - cross[lo:hi] @ h_mat) * inv_n[lo:hi]
    g_lin = eye.copy()
    for lo, hi in bounds:
        g_lin[lo:hi] -= (cross[lo:hi] @ g_lin) * inv_n[lo:hi]
    g_mat = g_lin
    acc = h_mat.copy()
    for _ in range(RAKING_SWEEPS - 1):
        acc = g_mat @ acc + h_mat
    return acc


@dataclass(frozen=True)
class CellWeights:
    """Weights of the cells: ``w = w_table * factor[cell]``, and the calibration step that
    made them (None: the table's weights are final and uncalibrated).

    Attributes
    ----------
    factor : numpy.ndarray
        ``(C,)`` multiplier of each cell's weights.
    calibration : CellCalibration or None
    iterations : int
    converged : bool
    max_error : float
        Largest |weighted share - target share| after the step (NaN without targets).
    """

    factor: np.ndarray
    calibration: CellCalibration | None
    iterations: int = 0
    converged: bool = True
    max_error: float = float("nan")


@dataclass(frozen=True)
class CellEstimate:
    """Estimates from group sums, with their joint covariance and per-domain bases.

    Attributes
    ----------
    estimate : numpy.ndarray
        ``(K,)`` domain-major (estimate ``d * L + l``).
    vcov : numpy.ndarray
        ``(K, K)``.
    denominator : numpy.ndarray
        ``(K,)`` weight total of each estimate's domain (all weights for totals).
    n : numpy.ndarray
        ``(D,)`` rows with an answer per domain.
    df : numpy.ndarray
        ``(D,)`` R's ``degf`` of the domain's subset (NaN for an empty domain).
    n_rows : numpy.ndarray
        ``(D,)`` R's ``nrow`` of the domain's subset (all rows on a calibrated design).
    """

    estimate: np.ndarray
    vcov: np.ndarray
    denominator: np.ndarray
    n: np.ndarray
    df: np.ndarray
    n_rows: np.ndarray


def no_weighting(sums: GroupSums) -> CellWeights:
    """The table's weights as final weights (no calibration step)."""
    return CellWeights(factor=np.ones(sums.n_cells), calibration=None)


# ---------------------------------------------------------------------- weighting the cells
def _margin_targets(margin_codes: Sequence[np.ndarray], n_categories: Sequence[int],
                    shares: Sequence[np.ndarray], n_cells: int) -> tuple[MarginTarget, ...]:
    out = []
    for m, (codes, k, sh) in enumerate(zip(margin_codes, n_categories, shares, strict=True)):
        codes = np.asarray(codes, dtype=np.int64)
        sh = np.asarray(sh, dtype=float)
        if codes.shape != (n_cells,) or (n_cells and (codes.min() < 0 or codes.max() >= k)):
            raise DelibpollError(
                f"Margin {m}: its codes must give each of the {n_cells} cells a category "
                f"0..{k - 1}."
            )
        if (sh.ndim != 1 or not 0 < len(sh) <= k or np.any(sh < 0)
                or not np.isclose(sh.sum(), 1.0, atol=1e-9)):
            raise DelibpollError(
                f"Margin {m}: its target shares must be at most {k} non-negative numbers "
                f"summing to 1 (categories after them keep their current share); got {sh!r}."
            )
        out.append(MarginTarget(cell_code=codes, n_categories=int(k), shares=sh))
    return tuple(out)


def _max_share_error(new_cell: np.ndarray, margins: Sequence[MarginTarget]) -> float:
    tot = new_cell.sum()
    err = 0.0
    for mt in margins:
        got = np.bincount(mt.cell_code, weights=new_cell, minlength=mt.n_categories) / tot
        kept = got[mt.n_target:].sum()
        err = max(err, float(np.abs(got[:mt.n_target] - mt.shares * (1 - kept)).max()))
    return err


def rake(
    sums: GroupSums,
    margin_codes: Sequence[np.ndarray],
    n_categories: Sequence[int],
    shares: Sequence[np.ndarray],
    total: float,
    *,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> CellWeights:
    """Rake the cells to margins (iterative proportional fitting on the cell totals).

    ``margin_codes[m]`` gives each cell's category of margin ``m`` (``n_categories[m]`` of
    them) and ``shares[m]`` the target shares; the weights sum to ``total``. Convergence means
    every weighted share within ``tol`` of its target. Runs ``_replay.rake_fit`` on the
    cells (each cell one unit carrying its weight total), the kernel of
    :func:`delibpoll.rake`.
    """
    c = sums.n_cells
    margins = _margin_targets(margin_codes, n_categories, shares, c)
    step = RakeStep(row_cell=np.arange(c), cell_counts=sums.cell_counts, margins=margins,
                    total=float(total), max_iter=int(max_iter), tol=float(tol), cap_value=None)
    w0 = sums.cell_sum_w
    new, fit, _ = rake_fit(step, w0[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(w0 > 0, new[:, 0] / w0, 0.0)
    codes = tuple(m.cell_code for m in margins)
    n_cats = tuple(m.n_categories for m in margins)
    cal = CellCalibration(kind="rake", g=factor, margin_codes=codes, n_categories=n_cats,
                          sweep=sweep_operator(codes, n_cats, sums.cell_counts))
    return CellWeights(factor=factor, calibration=cal, iterations=fit.iterations,
                       converged=bool(fit.converged[0]), max_error=float(fit.max_error[0]))


def poststratify(
    sums: GroupSums, stratum_codes: np.ndarray, n_categories: int, shares: np.ndarray,
    total: float,
) -> CellWeights:
    """Post-stratify the cells: each post-stratum (``stratum_codes``, one per cell) gets
    ``total * shares[p]`` of the weight, shared in proportion to its cells' weights."""
    c = sums.n_cells
    (mt,) = _margin_targets([stratum_codes], [n_categories], [shares], c)
    w0 = sums.cell_sum_w
    counts = resolve_counts((mt,), np.arange(c), w0[:, None], np.array([float(total)]))[0][:, 0]
    cur = np.bincount(mt.cell_code, weights=w0, minlength=n_categories)
    with np.errstate(divide="ignore", invalid="ignore"):
        fp = np.where(cur > 0, counts / cur, 0.0)
    factor = fp[mt.cell_code]
    cal = CellCalibration(kind="poststratify", g=factor, margin_codes=(mt.cell_code,),
                          n_categories=(int(n_categories),))
    return CellWeights(factor=factor, calibration=cal, iterations=1, converged=True,
                       max_error=_max_share_error(w0 * factor, (mt,)))


def calibrate(
    sums: GroupSums,
    margin_codes: Sequence[np.ndarray],
    n_categories: Sequence[int],
    shares: Sequence[np.ndarray],
    total: float,
    *,
    method: CalFun = "linear",
    bounds: tuple[float, float] = (-np.inf, np.inf),
    max_iter: int = 50,
    tol: float = 1e-10,
) -> CellWeights:
    """Calibrate the cells to categorical margins (R ``calibrate``/``grake`` with
    ``calfun`` = ``method``), through ``_replay.calibrate_fit`` on the cells."""
    c = sums.n_cells
    margins = _margin_targets(margin_codes, n_categories, shares, c)
    cells = Cells(row_cell=np.arange(c), counts=sums.cell_counts,
                  margin_cell_codes=tuple(m.cell_code for m in margins),
                  n_categories=tuple(m.n_categories for m in margins))
    xmat = design_matrix(cells)
    step = CalibrateStep(row_cell=np.arange(c), cell_counts=sums.cell_counts, x=xmat,
                         margins=margins, total=float(total), calfun=method,
                         bounds=(float(bounds[0]), float(bounds[1])), max_iter=int(max_iter),
                         tol=float(tol))
    w0 = sums.cell_sum_w
    _, g, it, conv, _ = calibrate_fit(step, w0[:, None])
    factor = g[:, 0]
    cal = CellCalibration(kind="calibrate", g=factor, x=xmat)
    return CellWeights(factor=factor, calibration=cal, iterations=it, converged=bool(conv[0]),
                       max_error=_max_share_error(w0 * factor, margins))


# ---------------------------------------------------------------------- the variance
@dataclass(frozen=True)
class _Final:
    """The table's sums under the final weights, and the maps the variance needs."""

    sums: GroupSums
    s1: np.ndarray  # (G,) sum w
    s2: np.ndarray  # (G,) sum w^2
    swy: np.ndarray | None
    sw2y: np.ndarray | None
    sw2y2: np.ndarray | None
    sy: np.ndarray | None
    u: np.ndarray  # (G,) domain x answer index, U for a missing answer


def _final(sums: GroupSums, weights: CellWeights) -> _Final:
    f = np.asarray(weights.factor, dtype=float)
    if f.shape != (sums.n_cells,):
        raise DelibpollError(
            f"CellWeights.factor must have one value per cell ({sums.n_cells}); got shape "
            f"{f.shape}."
        )
    fg = f[sums.cell]
    f2 = fg * fg
    u_count = sums.n_domains * sums.n_answers
    u = np.where(sums.answer >= 0, sums.domain * sums.n_answers + sums.answer, u_count)
    num = sums.has_numeric
    return _Final(
        sums=sums, s1=fg * sums.sum_w, s2=f2 * sums.sum_w2,
        swy=fg * sums.sum_wy if num and sums.sum_wy is not None else None,
        sw2y=f2 * sums.sum_w2y if num and sums.sum_w2y is not None else None,
        sw2y2=f2 * sums.sum_w2y2 if num and sums.sum_w2y2 is not None else None,
        sy=sums.sum_y, u=u,
    )


def _indicator(key: np.ndarray, n_keys: int) -> sp.csr_matrix:
    """``(n_keys x G)`` 0/1 map from groups to their key (rows gathered by a stable sort)."""
    g = len(key)
    counts = np.bincount(key, minlength=n_keys)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    sorted_ = g < 2 or bool(np.all(key[1:] >= key[:-1]))
    indices = np.arange(g) if sorted_ else np.argsort(key, kind="stable")
    return sp.csr_matrix((np.ones(g), indices, indptr), shape=(n_keys, g))


def _by_key(ind: sp.csr_matrix, vals: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """``(n_keys, K)`` sums of the rows of ``vals`` (G x K) by key (``ind``: :func:`_indicator`),
    each row times ``weights`` (G,) when given (no G x K temporary)."""
    if weights is None:
        return np.asarray(ind @ vals)
    scaled = sp.csr_matrix((np.asarray(weights, dtype=float)[ind.indices], ind.indices,
                            ind.indptr), shape=ind.shape)
    return np.asarray(scaled @ vals)


def _offsets(fin: _Final, cal: CellCalibration | None, ag: np.ndarray | None,
             bg: np.ndarray) -> np.ndarray | None:
    """``(C, K)`` per-cell offsets of the calibration residuals (None without calibration).
    ``ag``, ``bg`` are ``(G, K)``: the coefficients of each group's rows."""
    if cal is None:
        return None
    s = fin.sums
    c = s.n_cells
    if cal.kind == "rake":
        zc = _by_key(s.cell_indicator, bg, s.n)  # cell sums of x / w
        if ag is not None:
            if fin.sy is None:
                raise DelibpollError("GroupSums: raking-aware means need 'sum_y'.")
            zc += _by_key(s.cell_indicator, ag, fin.sy)
        stacked = cal.stacked
        op = cal.sweep_operator(s.cell_counts)
        return np.asarray(stacked.T @ (op @ (stacked @ zc)))
    g = np.asarray(cal.g, dtype=float)[s.cell]
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_g = np.where(g != 0, 1.0 / g, 0.0)
    old = fin.s1 * inv_g
    q = _by_key(s.cell_indicator, bg, old)  # (C, K): sum x / g per cell
    if ag is not None:
        assert fin.swy is not None
        q += _by_key(s.cell_indicator, ag, fin.swy * inv_g)
    old_cell = np.bincount(s.cell, weights=old, minlength=c)
    if cal.kind == "poststratify":
        ps = cal.margin_codes[0]
        k = cal.n_categories[0]
        num = _by_key(_indicator(ps, k), q)
        den = np.bincount(ps, weights=old_cell, minlength=k)
        with np.errstate(divide="ignore", invalid="ignore"):
            means = np.where(den[:, None] > 0, num / den[:, None], 0.0)
        return np.asarray(means[ps])
    x = cal.x
    assert x is not None
    xtwx = x.T @ (x * old_cell[:, None])
    beta = np.linalg.lstsq(xtwx, x.T @ q, rcond=None)[0]
    return np.asarray(x @ beta)


def _feature_codes(cal: CellCalibration, n_cells: int) -> list[np.ndarray] | None:
    """Per margin, the stacked category of each cell (offset into the T features), for
    indicator features (raking, post-stratification); None for a model matrix (GREG)."""
    if cal.kind == "calibrate":
        return None
    out = []
    off = 0
    for codes, k in zip(cal.margin_codes, cal.n_categories, strict=True):
        out.append(np.asarray(codes, dtype=np.int64) + off)
        off += int(k)
    return out


def _n_features(cal: CellCalibration) -> int:
    if cal.kind == "calibrate":
        assert cal.x is not None
        return int(cal.x.shape[1])
    return int(sum(cal.n_categories))


def _agg_features(key: np.ndarray, n_keys: int, cell: np.ndarray, vals: np.ndarray,
                  cal: CellCalibration, n_cells: int,
                  group_features: np.ndarray | None = None) -> np.ndarray:
    """``(n_keys x T)``: ``sum_g vals_g 1[key_g] F[cell_g]`` with ``F`` the cells' features
    (their stacked margin categories, or the rows of the calibration model matrix).
    ``group_features`` (M x G): each group's stacked categories, when already gathered."""
    t = _n_features(cal)
    if cal.kind == "calibrate":
        assert cal.x is not None
        agg = sp.csr_matrix((vals, (key, cell)), shape=(n_keys, n_cells))
        return np.asarray(agg @ cal.x)
    gf = group_features if group_features is not None else _group_features(cal, cell)
    idx = (key * t)[None, :] + gf  # (M, G): one bincount for every margin
    out = np.bincount(idx.ravel(), weights=np.tile(vals, gf.shape[0]), minlength=n_keys * t)
    return out.reshape(n_keys, t)


def _group_features(cal: CellCalibration, cell: np.ndarray) -> np.ndarray:
    """``(M x G)`` the stacked category of each group's cell in every margin."""
    codes = _feature_codes(cal, len(cal.margin_codes[0]))
    assert codes is not None
    return np.vstack([fc[cell] for fc in codes])


def _feature_cross(cal: CellCalibration, cell_vals: np.ndarray) -> np.ndarray:
    """``(T x T)`` ``F^T diag(cell_vals) F`` (kept with the calibration for the last few
    ``cell_vals``: a design's cell sums of squared weights recur for every question)."""
    key = cell_vals.tobytes()
    hit = cal.crosses.get(key)
    if hit is not None:
        return hit
    if cal.kind == "calibrate":
        assert cal.x is not None
        out = np.asarray(cal.x.T @ (cal.x * cell_vals[:, None]))
    else:
        st = cal.stacked
        out = np.asarray((st * cell_vals[None, :]) @ st.T)
    if len(cal.crosses) >= 4:
        cal.crosses.pop(next(iter(cal.crosses)))
    cal.crosses[key] = out
    return out


def _coef(fin: _Final, cal: CellCalibration | None, bp: np.ndarray) -> np.ndarray | None:
    """``(T x K)`` ``R``: the calibration offsets of the residuals in feature space, so that
    a group's residual coefficient is ``b_u - F[cell] R`` (None without calibration)."""
    if cal is None:
        return None
    s = fin.sums
    c = s.n_cells
    n_u = bp.shape[0]
    gf = None if cal.kind == "calibrate" else _group_features(cal, s.cell)
    if cal.kind == "rake":
        n_uf = _agg_features(fin.u, n_u, s.cell, s.n, cal, c, gf)  # rows per (u, category)
        return np.asarray(cal.sweep_operator(s.cell_counts) @ (n_uf.T @ bp))
    g = np.asarray(cal.g, dtype=float)[s.cell]
    with np.errstate(divide="ignore", invalid="ignore"):
        old = np.where(g != 0, fin.s1 / g, 0.0)
    o_uf = _agg_features(fin.u, n_u, s.cell, old, cal, c, gf)
    if cal.kind == "poststratify":
        den = o_uf.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.where(den[:, None] > 0, (o_uf.T @ bp) / den[:, None], 0.0))
    old_cell = np.bincount(s.cell, weights=old, minlength=c)
    xtwx = _feature_cross(cal, old_cell)
    return np.asarray(np.linalg.lstsq(xtwx, o_uf.T @ bp, rcond=None)[0])


def _vcov_shares(fin: _Final, weights: CellWeights, b: np.ndarray,
                 sv: StratifiedVariance) -> tuple[np.ndarray, np.ndarray]:
    """The vcov of the totals of ``x_i = w_i b_u`` and the size of its terms, in the
    (domain x answer) x feature space: every group-level sum becomes a small
    ``(U x T)`` table, as the grouped linearisation of the rows does."""
    s = fin.sums
    cal = weights.calibration
    k = b.shape[1]
    bp = np.vstack([b, np.zeros((1, k))])
    n_u = bp.shape[0]
    c = s.n_cells
    r = _coef(fin, cal, bp)
    if s.psu is None:
        scale_g = sv.scale[s.group_stratum] if s.n_strata > 1 else np.full(s.n_groups, sv.scale[0])
        s2s = scale_g * fin.s2
        m_u = np.bincount(fin.u, weights=s2s, minlength=n_u)
        bm = bp * m_u[:, None]
        v = bp.T @ bm
        size = np.einsum("uk,uk->k", bm, bp)
        h = s.n_strata
        strat = s.group_stratum
        t_h = np.bincount(strat * n_u + fin.u, weights=fin.s1,
                          minlength=h * n_u).reshape(h, n_u) @ bp
        if r is not None:
            assert cal is not None
            q = _agg_features(fin.u, n_u, s.cell, s2s, cal, c)  # (U, T)
            w_ff = _feature_cross(cal, np.bincount(s.cell, weights=s2s, minlength=c))
            cross = (bp.T @ q) @ r
            rwr = r.T @ (w_ff @ r)
            v = v - cross - cross.T + rwr
            size = size + np.diag(rwr)
            t_h = t_h - _agg_features(strat, h, s.cell, fin.s1, cal, c) @ r
        v = (v - t_h.T @ (t_h * sv.centre_coef[:, None])) * sv.factor
        return v, size
    assert s.psu_stratum is not None
    j = len(s.psu_stratum)
    t = np.asarray(sp.csr_matrix((fin.s1, (s.psu, fin.u)), shape=(j, n_u)) @ bp)
    size = sv.scale_psu @ (t * t)
    if r is not None:
        assert cal is not None
        to = _agg_features(s.psu, j, s.cell, fin.s1, cal, c) @ r
        t = t - to
        size = size + sv.scale_psu @ (to * to)
    return sv.of_totals(t, overwrite=True), size


def _vcov(fin: _Final, weights: CellWeights, a: np.ndarray | None, b: np.ndarray,
          lonely_psu: str) -> np.ndarray:
    """Calibration-aware linearised vcov of the totals of ``x_i = w_i (a_u y_i + b_u)``
    (``a``, ``b``: ``(U, K)`` per domain x answer ``u``)."""
    s = fin.sums
    st = s.structure()
    sv: StratifiedVariance = stratified_variance(st, lonely_psu)
    if a is None:
        v, size = _vcov_shares(fin, weights, b, sv)
        return _zero_fixed(v, size, sv)
    k = b.shape[1]
    zero = np.zeros((1, k))
    bp = np.vstack([b, zero])
    bg = np.take(bp, fin.u, axis=0)  # (G, K)
    ag = None if a is None else np.vstack([a, zero])[fin.u]
    if ag is not None and (fin.swy is None or fin.sw2y is None or fin.sw2y2 is None):
        raise DelibpollError("GroupSums: means and totals of y need 'sum_wy', 'sum_w2y' and "
                             "'sum_w2y2'.")
    off = _offsets(fin, weights.calibration, ag, bg)
    # the residual coefficient of each group's rows, in bg's buffer (large G x K
    # temporaries cost page faults: few of them)
    if off is None:
        e = bg
    else:
        e = np.subtract(bg, np.take(off, s.cell, axis=0), out=bg)
    if s.psu is None:
        # rows are PSUs: sum_h scale_h sum_rows r r^T - sum_h coef_h T_h T_h^T
        scale_g = sv.scale[s.group_stratum] if s.n_strata > 1 else np.full(s.n_groups, sv.scale[0])
        s2s = scale_g * fin.s2
        # the size of the terms before they cancel (a share fixed by calibration: e = 0)
        size = np.bincount(fin.u, weights=s2s, minlength=bp.shape[0]) @ (bp * bp)
        if off is not None:
            size = size + np.bincount(s.cell, weights=s2s, minlength=s.n_cells) @ (off * off)
        root = np.sqrt(s2s)
        er = e * root[:, None]
        v = er.T @ er
        del er
        if ag is not None:
            assert fin.sw2y is not None and fin.sw2y2 is not None
            as2 = ag * (scale_g * fin.sw2y2)[:, None]
            cross = (ag * (scale_g * fin.sw2y)[:, None]).T @ e
            v += ag.T @ as2 + cross + cross.T
            size += np.einsum("gk,gk->k", as2, ag)
        if s.n_strata > 1:
            ind_h = _indicator(s.group_stratum, s.n_strata)
            t_h = _by_key(ind_h, e, fin.s1)
            if ag is not None:
                assert fin.swy is not None
                t_h += _by_key(ind_h, ag, fin.swy)
        else:
            t_h = (fin.s1 @ e)[None, :]
            if ag is not None:
                assert fin.swy is not None
                t_h += (fin.swy @ ag)[None, :]
        v = v - t_h.T @ (t_h * sv.centre_coef[:, None])
        v = v * sv.factor
    else:
        assert s.psu_stratum is not None
        j = len(s.psu_stratum)
        ind = _indicator(s.psu, j)
        t = _by_key(ind, e, fin.s1)  # PSU totals of the residuals
        if ag is not None:
            assert fin.swy is not None
            t += _by_key(ind, ag, fin.swy)
        size = sv.scale_psu @ (t * t)
        if off is not None:
            # the size of the terms before they cancel: totals of the offsets and without them
            to = np.asarray(sp.csr_matrix((fin.s1, (s.psu, s.cell)), shape=(j, s.n_cells)) @ off)
            tb = t + to
            size = sv.scale_psu @ (tb * tb) + sv.scale_psu @ (to * to)
        v = sv.of_totals(t, overwrite=True)
    return _zero_fixed(v, size, sv)


def _zero_fixed(v: np.ndarray, size: np.ndarray, sv: StratifiedVariance) -> np.ndarray:
    """Variances that are zero up to rounding (a share fixed by calibration or strata) set
    to 0, with their covariances, as the grouped linearisation of the rows."""
    fixed = np.diag(v) <= ROUNDING_ZERO * size * max(sv.factor, 1.0)
    if fixed.any():
        v[fixed, :] = 0.0
        v[:, fixed] = 0.0
    return np.asarray(v)


def _average_factors(fin: _Final, weights: CellWeights, lonely_psu: str) -> np.ndarray | None:
    """Per domain, R's ``svyby`` scaling of ``lonely_psu="average"`` by the strata present
    in the domain (see ``_variance.domain_average_factors``); None when it changes nothing."""
    s = fin.sums
    if lonely_psu != "average" or weights.calibration is not None:
        return None
    st = s.structure()
    lonely = (st.n_psu_h == 1) & ~(st.fpc_f < 1e-7)
    h = len(st.n_psu_h)
    n_lonely = int(lonely.sum())
    if n_lonely == 0 or h == n_lonely:
        return None
    inset = (s.answer >= 0) & (fin.s1 > 0)
    present = np.zeros((s.n_domains, h), dtype=bool)
    present[s.domain[inset], s.group_stratum[inset]] = True
    n_strata = present.sum(axis=1)
    n_ok = (present & ~lonely[None, :]).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where(n_ok > 0, n_strata / n_ok, np.nan)
    return np.asarray(own / (h / (h - n_lonely)))


def _summary(fin: _Final, calibrated: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per domain: rows with an answer (and a positive weight), R's df of the domain's
    subset, R's nrow of the subset."""
    s = fin.sums
    d = s.n_domains
    valid = s.answer >= 0
    inset = valid & (fin.s1 > 0)
    ns = np.bincount(s.domain[inset], weights=s.n[inset], minlength=d)
    n_rows = np.bincount(s.domain[valid], weights=s.n[valid], minlength=d)
    if calibrated:
        n_rows = np.full(d, float(s.n.sum()))
    h = s.n_strata
    dom = s.domain[inset]
    if h == 1:
        n_str = (ns > 0).astype(np.int64)
    else:
        strata = np.unique(dom * h + s.group_stratum[inset]) // h
        n_str = np.bincount(strata, minlength=d)
    if s.psu is None:
        dfs = ns - n_str
    else:
        assert s.psu_stratum is not None
        j = len(s.psu_stratum)
        psus = np.unique(dom * j + s.psu[inset]) // j
        dfs = (np.bincount(psus, minlength=d) - n_str).astype(float)
    dfs = np.where(ns > 0, dfs, np.nan).astype(float)
    return ns.astype(np.int64), dfs, n_rows


def _scaled(v: np.ndarray, factors: np.ndarray | None, per: int) -> np.ndarray:
    if factors is None:
        return v
    root = np.sqrt(np.repeat(factors, per))
    return np.asarray(v * root[:, None] * root[None, :])


def ratios(
    sums: GroupSums,
    weights: CellWeights,
    values: np.ndarray | None = None,
    *,
    totals: bool = False,
    lonely_psu: str = "fail",
) -> CellEstimate:
    """Ratios ``sum_d w values[answer] / sum_d w`` over the rows with an answer of every
    domain (``totals=True``: the numerators), with their joint linearised covariance.

    ``values`` is ``(A x L)``; the identity (default) gives the share of each answer.
    Estimates are domain-major (``d * L + l``). An empty domain gives NaN estimates (NaN
    variances) for ratios, 0 for totals. Equal to the row-level computation of
    ``delibpoll._ratios.grouped_ratios`` (and so to R).
    """
    vals = np.eye(sums.n_answers) if values is None else np.asarray(values, dtype=float)
    if vals.ndim != 2 or vals.shape[0] != sums.n_answers:
        raise DelibpollError(
            f"values must have one row per answer ({sums.n_answers}); got shape {vals.shape}."
        )
    fin = _final(sums, weights)
    d, p = sums.n_domains, sums.n_answers
    n_val = vals.shape[1]
    valid = sums.answer >= 0
    wg = np.bincount(fin.u[valid], weights=fin.s1[valid], minlength=d * p).reshape(d, p)
    g_idx = np.arange(d)
    b = np.zeros((d * p, d * n_val))
    blocks = b.reshape(d, p, d, n_val)
    if totals:
        blocks[g_idx, :, g_idx, :] = vals
        est = (wg @ vals).ravel()
        dsum = np.full(d * n_val, fin.s1.sum())
        v = _vcov(fin, weights, None, b, lonely_psu)
    else:
        den = wg.sum(axis=1)
        empty = ~(den > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            e = (wg @ vals) / den[:, None]
            inv = np.where(empty, 0.0, 1.0 / den)
        e[empty] = np.nan
        blocks[g_idx, :, g_idx, :] = ((vals[None, :, :] - np.where(empty[:, None], 0.0, e)[:, None, :])
                                      * inv[:, None, None])
        v = _vcov(fin, weights, None, b, lonely_psu)
        if empty.any():
            bad = np.repeat(empty, n_val)
            v[bad, :] = np.nan
            v[:, bad] = np.nan
        est = e.ravel()
        dsum = np.repeat(den, n_val)
    v = _scaled(v, _average_factors(fin, weights, lonely_psu), n_val)
    ns, dfs, n_rows = _summary(fin, weights.calibration is not None)
    return CellEstimate(estimate=est, vcov=v, denominator=dsum, n=ns, df=dfs, n_rows=n_rows)


def numeric(
    sums: GroupSums,
    weights: CellWeights,
    *,
    totals: bool = False,
    lonely_psu: str = "fail",
) -> CellEstimate:
    """Means (or totals, ``totals=True``) of the numeric ``y`` of the table by domain, with
    their joint linearised covariance (R ``svymean``/``svytotal`` by domain).

    The table needs ``sum_wy``, ``sum_w2y``, ``sum_w2y2`` (and ``sum_y`` on a raked design);
    ``answer`` is 0 for rows with a value and -1 for rows without (``n_answers = 1``).
    """
    if not sums.has_numeric or sums.sum_w2y is None or sums.sum_w2y2 is None:
        raise DelibpollError(
            "numeric() needs the sums of y: give GroupSums sum_wy, sum_w2y and sum_w2y2 "
            "(and sum_y for raking)."
        )
    if sums.n_answers != 1:
        raise DelibpollError(
            f"numeric() needs n_answers=1 (answer 0: a value, -1: missing); got {sums.n_answers}."
        )
    fin = _final(sums, weights)
    assert fin.swy is not None
    d = sums.n_domains
    valid = sums.answer >= 0
    wsum = np.bincount(sums.domain[valid], weights=fin.s1[valid], minlength=d)
    wy = np.bincount(sums.domain[valid], weights=fin.swy[valid], minlength=d)
    a = np.zeros((d, d))
    b = np.zeros((d, d))
    idx = np.arange(d)
    if totals:
        a[idx, idx] = 1.0
        est = wy.astype(float)
        dsum = np.full(d, fin.s1.sum())
        empty = wsum == 0
        est = np.where(np.bincount(sums.domain[valid], weights=sums.n[valid], minlength=d) == 0,
                       np.nan, est)
        v = _vcov(fin, weights, a, b, lonely_psu)
        del empty
    else:
        empty = ~(wsum > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            est = np.where(empty, np.nan, wy / wsum)
            inv = np.where(empty, 0.0, 1.0 / wsum)
        a[idx, idx] = inv
        b[idx, idx] = -np.where(empty, 0.0, est) * inv
        v = _vcov(fin, weights, a, b, lonely_psu)
        if empty.any():
            v[empty, :] = np.nan
            v[:, empty] = np.nan
        dsum = wsum
    v = _scaled(v, _average_factors(fin, weights, lonely_psu), 1)
    ns, dfs, n_rows = _summary(fin, weights.calibration is not None)
    return CellEstimate(estimate=est, vcov=v, denominator=dsum, n=ns, df=dfs, n_rows=n_rows)
