"""Ratio estimation over groups and domains (kernel layer).

Every estimate of the package is a ratio (or a total) of weighted sums: shares of
categories, means, nets, cell shares of a two-way table, by domain. The routines here build
the domains, compute the ratios and their joint covariance, from the linearised influence
values (:mod:`delibpoll._variance`) or, on replicate designs, from the replicate weights.
They work on any design that offers the read-only accessors of :class:`RatioDesign` (a
:class:`~delibpoll.SurveyDesign` does), and never touch its private fields.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import pandas as pd

from ._cells import CellCalibration, CellWeights, GroupSums, sweep_operator
from ._cells import numeric as cell_numeric
from ._cells import ratios as cell_ratios
from ._records import (
    CalibrationRecord,
    GregRecord,
    LoggedStep,
    PostStratRecord,
    RakeStep,
    RakingRecord,
    StepRecord,
)
from ._replay import rake_fit
from ._structure import DesignStructure
from ._types import NaPolicy
from ._validation import check_missing
from ._variance import (
    GroupedLinearizer,
    domain_average_factors,
    grouped_linearizer,
    grouped_vcov,
    linearized_vcov,
    subset_df,
)
from .exceptions import DelibpollError

__all__ = [
    "MAX_DOMAINS",
    "MAX_GROUPS",
    "CellRoute",
    "Domains",
    "RatioDesign",
    "ReplicateVariance",
    "domain_df",
    "domain_matrix",
    "cell_route",
    "domain_summary",
    "domains_of_codes",
    "group_sums",
    "grouped_estimate",
    "numeric_estimate",
    "grouped_ratios",
    "linearizer",
    "make_domains",
    "ratio_columns",
    "ratio_estimates",
    "variable_codes",
    "variable_values",
]

_T = TypeVar("_T")


class ReplicateVariance(Protocol):
    """What the ratio routines use of a design's replicate weights."""

    def domain_df(self, mask: np.ndarray) -> float:
        """R ``degf`` of the domain ``mask``."""
        ...

    def ratio_vcov(
        self, num: np.ndarray, den: np.ndarray | None, est: np.ndarray
    ) -> np.ndarray:
        """Replicate covariance of the ratios ``sum w num / sum w den``."""
        ...


class RatioDesign(Protocol):
    """The read-only accessors of a survey design that the ratio routines use
    (:class:`~delibpoll.SurveyDesign` has them all)."""

    @property
    def n(self) -> int:
        """Number of rows."""
        ...

    @property
    def weight_array(self) -> np.ndarray:
        """Current weights, read-only."""
        ...

    @property
    def base_weight_array(self) -> np.ndarray:
        """The starting weights before any weighting step, read-only."""
        ...

    @property
    def columns(self) -> list[Hashable]:
        """Names of the data's columns."""
        ...

    @property
    def structure(self) -> DesignStructure:
        """Strata, PSUs and fpc coded as integers."""
        ...

    @property
    def lonely_psu(self) -> str:
        """The lonely-PSU rule."""
        ...

    @property
    def calibration(self) -> tuple[CalibrationRecord, ...]:
        """The calibration records, in order."""
        ...

    @property
    def is_calibrated(self) -> bool:
        """Whether any calibration step has been applied."""
        ...

    @property
    def replicates(self) -> ReplicateVariance | None:
        """The replicate weights, or None."""
        ...

    @property
    def weighting_log(self) -> tuple[LoggedStep, ...]:
        """The weighting steps, in order."""
        ...

    def column(self, name: Hashable) -> pd.Series:
        """One column of the data."""
        ...

    def column_codes(self, column: Hashable) -> tuple[np.ndarray, list[Hashable]]:
        """Integer codes (-1 missing) and categories of a column."""
        ...

    def compact_codes(self, column: Hashable) -> tuple[np.ndarray, list[Hashable]]:
        """The same codes in the narrowest integer type, kept with the design."""
        ...

    def check_columns(self, cols: Sequence[Hashable], param: str) -> list[Hashable]:
        """``cols`` if they are all columns of the data, else an error."""
        ...

    def derived(self, key: Hashable, build: Callable[[], _T]) -> _T:
        """A constant derived from the design, built once and kept with it."""
        ...


@dataclass(frozen=True)
class Domains:
    """The domains of an estimate: the crossing of its ``by`` columns.

    Attributes
    ----------
    codes : numpy.ndarray
        ``(n,)`` domain of each row, ``0..count-1``.
    labels : list
        Per domain: the category (one ``by`` column), a tuple of categories (several,
        crossed in declared order, the last varying fastest), or ``[None]`` without ``by``.
    columns : list of str
        The ``by`` columns.
    """

    codes: np.ndarray  # (n,) domain index
    labels: list[Hashable]  # per domain: scalar (one by) or tuple (several); [None] if no by
    columns: list[str]

    @property
    def count(self) -> int:
        """Number of domains."""
        return len(self.labels)


def domain_matrix(codes: np.ndarray, count: int, valid: np.ndarray) -> np.ndarray:
    """(n x count) indicator of each row's domain, zero for rows not in the base."""
    dmat = np.zeros((len(codes), count))
    dmat[np.arange(len(codes)), codes] = 1.0
    dmat *= valid[:, None]
    return dmat


MAX_DOMAINS = 1_000  # crossed by= columns: each declared combination is a row (and a vcov block)


def make_domains(design: RatioDesign, by: list[str], func: str, *,
                 compact: bool = False) -> Domains:
    """The domains of the ``by`` columns (every combination of their categories).

    Raises
    ------
    DelibpollError
        A ``by`` column is not in the data or has missing values, or the columns cross into
        more than :data:`MAX_DOMAINS` domains (``func`` names the caller in the message).
    """
    n = design.n
    if not by:
        return Domains(np.zeros(n, dtype=np.int64), [None], [])
    design.check_columns(by, "by")
    if compact and len(by) == 1:
        # narrow codes, kept with the design (for the cell route, which only adds them)
        return domains_of_codes([design.compact_codes(by[0])], by, func)
    return domains_of_codes([design.column_codes(col) for col in by], by, func)


def domains_of_codes(
    coded: Sequence[tuple[np.ndarray, list[Hashable]]], by: list[str], func: str
) -> Domains:
    """The domains crossing the coded ``by`` columns (codes and categories of each, from the
    package's one column coder); the checks of :func:`make_domains`."""
    codes_list = []
    cats_list = []
    for col, (c, cats) in zip(by, coded, strict=True):
        n_missing = int(np.count_nonzero(c < 0)) if c.size and c.min() < 0 else 0
        if n_missing:
            raise DelibpollError(
                f"The 'by' column '{col}' of {func} has {n_missing} missing value(s). Domains "
                "must cover every row: recode missing values to a category such as "
                "'Not known' before estimating."
            )
        codes_list.append(c)
        cats_list.append(cats)
    if len(by) == 1:
        return Domains(codes_list[0], cats_list[0], by)
    n = len(codes_list[0])
    n_domains = 1
    for cats in cats_list:
        n_domains *= len(cats)  # Python int: exact, never wraps
    if n_domains > MAX_DOMAINS:
        sizes = " x ".join(f"{col} ({len(cats)})" for col, cats in zip(by, cats_list, strict=True))
        raise DelibpollError(
            f"The 'by' columns of {func} cross into {n_domains:,} domains ({sizes}), more than "
            f"the {MAX_DOMAINS:,} delibpoll reports (every combination of the declared "
            "categories is a domain). Cross fewer columns, or combine them into one column "
            "holding only the combinations you need."
        )
    code = np.zeros(n, dtype=np.int64)
    labels: list[Hashable] = [()]
    for c, cats in zip(codes_list, cats_list, strict=True):
        code = code * len(cats) + c
        labels = [lab + (cat,) for lab in labels for cat in cats]  # type: ignore[operator]
    return Domains(code, labels, by)


def variable_values(
    design: RatioDesign, variable: str, na: NaPolicy, func: str
) -> tuple[pd.Series, np.ndarray, int]:
    """The column ``variable``, which rows have a value, and how many are missing.

    Raises
    ------
    DelibpollError
        ``variable`` is not a column name, or has missing values and ``na="error"``.
    """
    _check_variable(design, variable, func)
    s = design.column(variable)
    missing = s.isna().to_numpy()
    n_missing = int(missing.sum())
    check_missing(variable, n_missing, na)
    return s, ~missing, n_missing


def _check_variable(design: RatioDesign, variable: object, func: str) -> None:
    if not isinstance(variable, str):
        hint = (
            f" The data has a column {variable!r}, but delibpoll needs text column names: "
            "rename them first, e.g. df.columns = df.columns.map(str)."
            if variable in design.columns
            else ""
        )
        raise DelibpollError(
            f"The 'variable' parameter of {func} must be a column name (str); got "
            f"{variable!r}.{hint}"
        )
    design.check_columns([variable], "variable")


def variable_codes(
    design: RatioDesign, variable: str, na: NaPolicy, func: str, *, compact: bool = False
) -> tuple[np.ndarray, list[Hashable]]:
    """Category codes of a categorical ``variable`` (-1 missing) and its categories, in the
    package's one category order, with the checks of :func:`variable_values`; int64, or
    with ``compact=True`` the design's narrow codes (no copy)."""
    _check_variable(design, variable, func)
    codes, cats = design.compact_codes(variable) if compact else design.column_codes(variable)
    n_missing = int(np.count_nonzero(codes < 0)) if codes.size and codes.min() < 0 else 0
    check_missing(variable, n_missing, na)
    return codes, cats


# ---------------------------------------------------------------------- core
def ratio_estimates(
    design: RatioDesign, num: np.ndarray, den: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates ``sum(w num) / sum(w den)`` (totals when ``den`` is None) and their vcov.

    The direct computation: the n x K influence values, then the calibration-aware
    linearised variance (:func:`~delibpoll._variance.linearized_vcov`), or the replicate
    variance on a replicate design.

    Returns ``(estimates (K,), vcov (K, K), denominators (K,))``; an estimate whose
    denominator is not positive is NaN, with NaN variances.
    """
    w = design.weight_array
    if den is None:
        est = w @ num
        x = w[:, None] * num
        dsum = np.full(num.shape[1], w.sum())
    else:
        dsum = w @ den
        with np.errstate(divide="ignore", invalid="ignore"):
            est = (w @ num) / dsum
            # x = w (num - den est) / dsum, built in one buffer (large temporaries are slow)
            x = np.multiply(den, est[None, :])
            np.subtract(num, x, out=x)
            x *= w[:, None]
            x /= dsum[None, :]
        empty = ~(dsum > 0)
        if empty.any():
            est = np.where(empty, np.nan, est)
            x[:, empty] = 0.0
    reps = design.replicates
    if reps is not None:
        vcov = reps.ratio_vcov(num, den, est)
    else:
        vcov = linearized_vcov(x, design.structure, design.lonely_psu, design.calibration)
    if den is not None:
        empty = ~(dsum > 0)
        if empty.any():
            vcov[empty, :] = np.nan
            vcov[:, empty] = np.nan
    return est, vcov, dsum


# the grouped path builds a (groups x estimates) table; beyond this many groups the direct
# n x K computation is as cheap
MAX_GROUPS = 1024


def ratio_columns(
    pattern: np.ndarray,
    values: np.ndarray,
    domain_codes: np.ndarray,
    n_domains: int,
    valid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The n x K numerator and denominator columns of :func:`grouped_ratios` for
    :func:`ratio_estimates` (domain-major, column ``g * L + l``)."""
    n = len(pattern)
    n_val = values.shape[1]
    dmat = domain_matrix(domain_codes, n_domains, valid)
    rows = values[np.where(valid, pattern, 0)]
    num = (dmat[:, :, None] * rows[:, None, :]).reshape(n, n_domains * n_val)
    return num, np.repeat(dmat, n_val, axis=1)


def grouped_ratios(
    design: RatioDesign,
    pattern: np.ndarray,
    values: np.ndarray,
    domain_codes: np.ndarray,
    n_domains: int,
    valid: np.ndarray,
    *,
    totals: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratios ``sum_d w values[pattern] / sum_d w`` over the valid rows of every domain
    (with ``totals=True`` the numerators ``sum_d w values[pattern]`` themselves).

    Each row's answer is coded by ``pattern`` (n,), an index into the rows of ``values``
    (P x L): for a categorical question ``pattern`` is the category code and ``values`` the
    identity, so the ratios are the category shares. Rows outside ``valid`` are left out of
    numerator and denominator. Returns ``(estimates, vcov, denominators)`` like
    :func:`ratio_estimates`, domain-major (estimate ``g * L + l``), computed from a table of
    group sums when the design allows (:func:`cell_route`: the cell engine
    :mod:`delibpoll._cells`), else from group-level sums of the rows
    (:func:`~delibpoll._variance.grouped_vcov`: at most one calibration step) and from the
    n x K columns otherwise; all give the same numbers. With ``lonely_psu="average"`` each
    domain's variance is scaled by the strata present in it
    (:func:`~delibpoll._variance.domain_average_factors`), as R's ``svyby``; the covariance
    of two domains by the geometric mean of their factors.
    """
    est, vcov, dsum, _ = grouped_estimate(design, pattern, values, domain_codes, n_domains,
                                          valid, totals=totals)
    return est, vcov, dsum


def grouped_estimate(
    design: RatioDesign,
    pattern: np.ndarray,
    values: np.ndarray,
    domain_codes: np.ndarray,
    n_domains: int,
    valid: np.ndarray,
    *,
    totals: bool = False,
    coded_missing: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """:func:`grouped_ratios` and, when the cell engine computed them, the per-domain
    ``(n, df, n_rows)`` of :func:`domain_summary` from the same table (else None).

    ``coded_missing=True`` says that ``pattern`` is -1 exactly where ``valid`` is False
    (category codes), which saves the table's key a masked pass. Codes may be of any integer
    type (the design's compact codes)."""
    n_pat = values.shape[0]
    route = cell_route(design)
    if route is not None:
        sums = group_sums(design, route, pattern, n_pat, domain_codes, n_domains, valid,
                          coded_missing=coded_missing)
        if sums is not None:
            ce = cell_ratios(sums, route.weights, values, totals=totals,
                             lonely_psu=design.lonely_psu)
            return ce.estimate, ce.vcov, ce.denominator, (ce.n, ce.df, ce.n_rows)
    pattern = np.asarray(pattern, dtype=np.int64)
    domain_codes = np.asarray(domain_codes, dtype=np.int64)
    est, vcov, dsum = _grouped_ratios(design, pattern, values, domain_codes, n_domains, valid,
                                      totals)
    # lonely_psu="average" scales each domain by the strata present in it, as R's svyby
    factors = None
    if design.replicates is None:
        factors = domain_average_factors(design.weight_array, design.structure,
                                         design.lonely_psu, design.calibration, domain_codes,
                                         n_domains, valid)
    if factors is not None:
        root = np.sqrt(np.repeat(factors, values.shape[1]))
        vcov = vcov * root[:, None] * root[None, :]
    return est, vcov, dsum, None


# ---------------------------------------------------------------------- the cell route
# the (cell x domain x answer [x stratum or PSU]) table is counted densely up to this many
# groups (a few MB); beyond it the rows go the grouped-variance way
MAX_TABLE = 1 << 21
# the table is used when it has at most one slot per this many rows: on small designs the
# grouped variance of the rows, with its constants kept on the design, answers repeated
# questions faster (about 0.4 ms against 1 ms at n = 4,000 with 1,244 cells), and on large
# ones the table is the only way that stays within a few bytes a row
ROWS_PER_SLOT = 2

# rows of one block of the table's key (2 MB of int64: it stays in cache between the passes
# that build it and the bincounts that read it)
TABLE_BLOCK_ROWS = 1 << 18
# and at least this many rows per table slot (the per-block tables then cost at most 1/8
# of the rows)
TABLE_BLOCK_SLOTS = 8


@dataclass(frozen=True)
class CellRoute:
    """What the in-memory cell route keeps of a design (built once, kept with it).

    Attributes
    ----------
    row_cell : numpy.ndarray or None
        ``(n,)`` weighting cell of each row (of the design's calibration step), or None
        for one cell (an uncalibrated design).
    n_cells : int
    weights : CellWeights
        Factor 1 (the table is built from the current weights) and the calibration step.
    unit : numpy.ndarray or None
        ``(n,)`` per row: the stratum (rows are PSUs, several strata) or the PSU
        (clustered designs); None for one stratum of row PSUs.
    n_units : int
    clustered : bool
        Whether ``unit`` holds PSUs.
    psu_stratum : numpy.ndarray
        ``(J,)`` stratum of each PSU (clustered designs).
    fpc_f : numpy.ndarray or None
    cell_weight : numpy.ndarray or None
        ``(C,)`` the weight of every row of each cell when the weights are constant within
        cells (starting weights all equal, one calibration step): the table's weight sums
        then follow from its counts, and one ``bincount`` of the key is the only pass.
    """

    row_cell: np.ndarray | None
    n_cells: int
    weights: CellWeights
    unit: np.ndarray | None
    n_units: int
    clustered: bool
    psu_stratum: np.ndarray
    fpc_f: np.ndarray | None
    cell_weight: np.ndarray | None


def _calibration_of(rec: CalibrationRecord) -> tuple[np.ndarray, int, CellCalibration]:
    if isinstance(rec, RakingRecord):
        return rec.row_cell, rec.n_cells, CellCalibration(
            kind="rake", g=np.ones(rec.n_cells), margin_codes=rec.cell_codes,
            n_categories=rec.n_categories,
            sweep=sweep_operator(rec.cell_codes, rec.n_categories, rec.cell_counts))
    if isinstance(rec, PostStratRecord):
        new = np.bincount(rec.row_cell, weights=rec.new_w, minlength=rec.n_cells)
        old = np.bincount(rec.row_cell, weights=rec.old_w, minlength=rec.n_cells)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(old > 0, new / old, 1.0)
        return rec.row_cell, rec.n_cells, CellCalibration(
            kind="poststratify", g=g, margin_codes=(np.arange(rec.n_cells),),
            n_categories=(rec.n_cells,))
    assert isinstance(rec, GregRecord)
    return rec.row_cell, rec.x.shape[0], CellCalibration(kind="calibrate", g=rec.g_cell, x=rec.x)


def _build_route(design: RatioDesign) -> CellRoute | None:
    st = design.structure
    cal = design.calibration
    w = design.weight_array
    if design.replicates is not None or st.stage2 is not None or len(cal) > 1:
        return None
    log = design.weighting_log
    if cal and (not log or log[-1].method not in ("rake", "calibrate", "poststratify")):
        return None  # the current weights are not the calibrated ones (e.g. trimmed after)
    # designs are built from positive weights and raking or post-stratification keep them
    # positive; fixed weights given later or a calibration (GREG) may hold zeros, which R's
    # subsets drop (then the rows are needed)
    if (not cal or log[-1].method == "calibrate") and not float(w.min()) > 0:
        return None
    n = design.n
    row_cell: np.ndarray | None = None
    n_cells = 1
    calib: CellCalibration | None = None
    if cal:
        rec = cal[0]
        cells_count = rec.x.shape[0] if isinstance(rec, GregRecord) else rec.n_cells
        if cells_count * 2 * ROWS_PER_SLOT > n:
            return None  # no table of these cells can be smaller than the rows
        row_cell, n_cells, calib = _calibration_of(cal[0])
    cell_weight = None
    if not cal:
        if w.max() == w.min():
            cell_weight = np.full(1, float(w[0]))
    elif len(log) == 1 and n >= _REFIT_ROWS:
        base = design.base_weight_array
        known = getattr(design, "base_weights_constant", None)
        if known if known is not None else base.max() == base.min():
            cell_weight = _cell_weight(log[-1].record, cal[0], float(base[0]))
    n_psu = len(st.psu_stratum)
    h = len(st.n_psu_h)
    clustered = n_psu != n  # n PSUs in n rows: every row is its own PSU
    unit: np.ndarray | None
    if clustered:
        unit, n_units = st.psu, n_psu
    elif h > 1:
        unit, n_units = st.stratum, h
    else:
        unit, n_units = None, 1
    return CellRoute(
        row_cell=row_cell, n_cells=n_cells,
        weights=CellWeights(factor=np.ones(n_cells), calibration=calib),
        unit=unit, n_units=n_units, clustered=clustered,
        psu_stratum=np.asarray(st.psu_stratum), fpc_f=np.asarray(st.fpc_f) if st.has_fpc else None,
        cell_weight=cell_weight,
    )


# below this many rows a weighted bincount of the rows is cheaper than refitting the cells
_REFIT_ROWS = 100_000


def _cell_weight(step: StepRecord, rec: CalibrationRecord, base: float) -> np.ndarray | None:
    """The weight of each cell's rows after one calibration step from equal starting weights
    ``base``: the step replayed on the cells (each cell one unit carrying ``base`` times its
    rows), the same kernels as the fit; no pass over the rows."""
    if isinstance(step, RakeStep) and isinstance(rec, RakingRecord):
        n_cells = rec.n_cells
        cell_step = RakeStep(row_cell=np.arange(n_cells), cell_counts=step.cell_counts,
                             margins=step.margins, total=step.total, max_iter=step.max_iter,
                             tol=step.tol, cap_value=step.cap_value)
        new, _, _ = rake_fit(cell_step, (base * step.cell_counts)[:, None])
        return np.asarray(new[:, 0] / step.cell_counts)
    if isinstance(rec, GregRecord):
        return np.asarray(base * rec.g_cell)
    return None


def cell_route(design: RatioDesign) -> CellRoute | None:
    """The design's :class:`CellRoute` (kept with the design), or None when the cell engine
    does not apply: replicate weights, a second stage, more than one calibration step,
    weights changed after the calibration (trimming), or zero weights."""
    return design.derived("cell_route", lambda: _build_route(design))


def group_sums(
    design: RatioDesign,
    route: CellRoute,
    pattern: np.ndarray,
    n_pat: int,
    domain_codes: np.ndarray,
    n_domains: int,
    valid: np.ndarray,
    y: np.ndarray | None = None,
    *,
    coded_missing: bool = False,
) -> GroupSums | None:
    """The (cell x domain x answer [x stratum or PSU]) table of the rows in one pass: a key
    built in place in int64 blocks of :data:`TABLE_BLOCK_ROWS` rows (or more for large
    tables; no row-sized array), its counts and weight sums by ``np.bincount``; None when the table would have more than :data:`MAX_TABLE` groups or
    more than one slot per :data:`ROWS_PER_SLOT` rows (then the rows are cheaper).

    With ``y`` (numeric values, 0 where not ``valid``; ``n_pat`` 1 and ``pattern`` 0) the
    table also holds the sums of ``y``, ``w y``, ``w^2 y`` and ``w^2 y^2``."""
    p1 = n_pat + 1
    space = route.n_cells * n_domains * p1 * route.n_units
    if space > MAX_TABLE or space * ROWS_PER_SLOT > design.n:
        return None
    # the (domain x answer) digit in a narrow type first (cheap passes of 1 or 2 bytes a row),
    # then one int64 pass for the cell: key = cell * (D * (A + 1)) + domain * (A + 1) + answer;
    # in blocks of TABLE_BLOCK_ROWS rows, so that the key stays in cache between its passes
    # and its bincounts and no row-sized key is ever allocated
    inner = n_domains * p1
    # int8 when the digit fits (numpy's int8 loops are several times faster than its
    # int8 -> int16 casting ones); the digit is at least -1 and below ``inner``
    narrow = np.int8 if inner < 2**7 else np.int16 if inner < 2**15 else np.int32
    w = design.weight_array
    n = design.n
    const_w = route.cell_weight is not None
    cnt_all = np.zeros(space, dtype=np.int64)
    sums = {} if const_w else {"s1": np.zeros(space), "s2": np.zeros(space)}
    if y is not None:
        sums.update({k: np.zeros(space) for k in ("sum_y", "sum_wy", "sum_w2y", "sum_w2y2")})
    step = max(TABLE_BLOCK_ROWS, TABLE_BLOCK_SLOTS * space)
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        small = np.multiply(domain_codes[lo:hi], p1, dtype=narrow)
        if y is not None:
            small += valid[lo:hi]
        elif coded_missing:
            small += pattern[lo:hi]  # -1 where the answer is missing: with the 1 below, slot 0
            small += 1
        else:
            v = valid[lo:hi]
            small += v
            np.add(small, pattern[lo:hi], out=small, where=v)
        if route.row_cell is None:
            key = small.astype(np.int64)
        else:
            key = np.multiply(route.row_cell[lo:hi], inner, dtype=np.int64)
            key += small
        del small
        if route.unit is not None:
            key *= route.n_units
            key += route.unit[lo:hi]
        cnt_all += np.bincount(key, minlength=space)
        if not const_w:
            wb = w[lo:hi]
            sums["s1"] += np.bincount(key, weights=wb, minlength=space)
            sums["s2"] += np.bincount(key, weights=np.multiply(wb, wb), minlength=space)
        if y is not None:
            wb, yb = w[lo:hi], y[lo:hi]
            sums["sum_y"] += np.bincount(key, weights=yb, minlength=space)
            tmp = np.multiply(wb, yb)
            sums["sum_wy"] += np.bincount(key, weights=tmp, minlength=space)
            tmp *= wb
            sums["sum_w2y"] += np.bincount(key, weights=tmp, minlength=space)
            tmp *= yb
            sums["sum_w2y2"] += np.bincount(key, weights=tmp, minlength=space)
        del key
    idx = np.flatnonzero(cnt_all)
    cnt = cnt_all[idx].astype(float)
    del cnt_all
    rest = idx
    unit = None
    if route.unit is not None:
        rest, unit = np.divmod(rest, route.n_units)
    rest, ans = np.divmod(rest, p1)
    cell, dom = np.divmod(rest, n_domains)
    if route.cell_weight is not None:
        wc = route.cell_weight[cell]
        s1 = cnt * wc
        s2 = s1 * wc
    else:
        s1 = sums.pop("s1")[idx]
        s2 = sums.pop("s2")[idx]
    ysums = {k: v[idx] for k, v in sums.items()}
    stratum = psu = None
    if route.clustered:
        psu = unit
        stratum = route.psu_stratum[unit] if unit is not None else None
    else:
        stratum = unit
    return GroupSums(
        cell=cell, domain=dom, answer=ans - 1, n=cnt, sum_w=s1, sum_w2=s2,
        n_cells=route.n_cells, n_domains=n_domains, n_answers=n_pat, stratum=stratum, psu=psu,
        fpc_f=route.fpc_f, **ysums,
    )


def numeric_estimate(
    design: RatioDesign,
    y: np.ndarray,
    domain_codes: np.ndarray,
    n_domains: int,
    valid: np.ndarray,
    *,
    totals: bool = False,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
    """Means (or totals) of the numeric ``y`` (0 where not ``valid``) by domain from the
    table of group sums, with their vcov and per-domain ``(n, df, n_rows)``; None when the
    cell route does not apply (the caller then works from the rows)."""
    route = cell_route(design)
    if route is None:
        return None
    sums = group_sums(design, route, np.zeros(0, dtype=np.int64), 1, domain_codes, n_domains,
                      valid, y=y)
    if sums is None:
        return None
    ce = cell_numeric(sums, route.weights, totals=totals, lonely_psu=design.lonely_psu)
    return ce.estimate, ce.vcov, (ce.n, ce.df, ce.n_rows)

def _grouped_ratios(
    design: RatioDesign,
    pattern: np.ndarray,
    values: np.ndarray,
    domain_codes: np.ndarray,
    n_domains: int,
    valid: np.ndarray,
    totals: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_pat, n_val = values.shape
    n_groups = n_domains * n_pat + 1
    lin = linearizer(design) if n_groups <= MAX_GROUPS else None
    if lin is None:
        num, den = ratio_columns(pattern, values, domain_codes, n_domains, valid)
        return ratio_estimates(design, num, None if totals else den)
    w = design.weight_array
    u = np.where(valid, domain_codes * n_pat + pattern, n_groups - 1)
    wg = np.bincount(u, weights=w, minlength=n_groups)[:-1].reshape(n_domains, n_pat)
    g_idx = np.arange(n_domains)
    z = np.zeros((n_groups, n_domains * n_val))
    if totals:
        # z[(g, p), (g, l)] = values[p, l]; as ratio_estimates, the denominators are the
        # total weight
        z[:-1].reshape(n_domains, n_pat, n_domains, n_val)[g_idx, :, g_idx, :] = values
        vcov = grouped_vcov(lin, w, u, n_groups, z)
        return (wg @ values).ravel(), vcov, np.full(n_domains * n_val, w.sum())
    dsum = wg.sum(axis=1)
    empty = ~(dsum > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (wg @ values) / dsum[:, None]
        inv = np.where(empty, 0.0, 1.0 / dsum)
    est[empty] = np.nan
    # z[(g, p), (g, l)] = (values[p, l] - est[g, l]) / dsum[g]: block diagonal by domain
    blocks = (values[None, :, :] - np.where(empty[:, None], 0.0, est)[:, None, :]) * inv[:, None, None]
    z[:-1].reshape(n_domains, n_pat, n_domains, n_val)[g_idx, :, g_idx, :] = blocks
    vcov = grouped_vcov(lin, w, u, n_groups, z)
    if empty.any():
        bad = np.repeat(empty, n_val)
        vcov[bad, :] = np.nan
        vcov[:, bad] = np.nan
    return est.ravel(), vcov, np.repeat(dsum, n_val)


def linearizer(design: RatioDesign) -> GroupedLinearizer | None:
    """The design's constants for grouped variances (kept with the design), or None for a
    replicate design or one the grouped path does not cover."""
    if design.replicates is not None:
        return None
    return design.derived(
        "grouped_linearizer",
        lambda: grouped_linearizer(design.structure, design.lonely_psu, design.calibration),
    )


def domain_df(design: RatioDesign, mask: np.ndarray) -> float:
    """R's ``degf`` of ``subset(design, mask)``: PSUs in the domain minus strata in it; on a
    replicate design the rank of the domain's replicate weights minus 1 (R drops the other
    rows)."""
    reps = design.replicates
    if reps is not None:
        return float(reps.domain_df(mask))
    return subset_df(design.weight_array, design.structure, mask)


def domain_summary(
    design: RatioDesign, domain_codes: np.ndarray, n_domains: int, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per domain: respondents with a non-zero weight and an answer (``n``), R's df of the
    domain's subset, and R's ``nrow`` of that subset (for ``beta``/``likelihood`` CIs)."""
    w = design.weight_array
    inset = valid & (w != 0)
    d_in = domain_codes[inset]
    ns = np.bincount(d_in, minlength=n_domains)
    n_rows = np.bincount(domain_codes[valid], minlength=n_domains).astype(float)
    reps = design.replicates
    if reps is None and design.is_calibrated:
        n_rows = np.full(n_domains, float(design.n))
    if reps is not None:
        dfs = np.array([reps.domain_df((domain_codes == g) & valid) if ns[g] else np.nan
                        for g in range(n_domains)])
        return ns, dfs, n_rows
    st = design.structure
    n_psu = len(st.psu_stratum)
    h_count = len(st.n_psu_h)
    if n_psu == design.n and h_count == 1:
        dfs = ns - 1.0
    else:
        psus = np.unique(d_in * n_psu + st.psu[inset]) // n_psu
        strata = np.unique(d_in * h_count + st.stratum[inset]) // h_count
        dfs = (np.bincount(psus, minlength=n_domains)
               - np.bincount(strata, minlength=n_domains)).astype(float)
    dfs = np.where(ns > 0, dfs, np.nan)
    return ns, dfs, n_rows
