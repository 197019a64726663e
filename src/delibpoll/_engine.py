"""The weighting engine: collapse rows to weighting cells, weight the cells, map back.

Everything here works on a ``cells x k`` matrix of weight columns, so the full-sample weights
(k = 1) and any number of replicate weight columns are weighted in the same pass. Nothing in
this module knows about designs or data frames beyond turning columns into integer codes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._coding import category_codes
from ._types import CalFun, Unmatched
from .exceptions import DelibpollError
from .targets import Margin

_DENSE_RADIX_LIMIT = 1 << 22


@dataclass(frozen=True)
class MarginCodes:
    """A margin matched to the data.

    Rows carry a *data code* (the code of their data category, or of their combination of
    data categories for a joint margin); ``table`` maps data codes to the index of the
    target category (targets first, then data categories kept without a target).
    """

    margin: Margin
    data_code: np.ndarray  # (n,) data code of each row
    n_codes: int  # size of the data-code space
    table: np.ndarray  # (n_codes,) data code -> category index (-1 for codes not present)
    categories: tuple[Hashable, ...]  # target categories, then unmatched data categories kept
    n_target: int  # how many of the categories have targets
    code_counts: np.ndarray  # (n_codes,) rows per data code

    @cached_property
    def row_code(self) -> np.ndarray:
        """(n,) category index of each row."""
        out: np.ndarray = self.table[self.data_code]
        return out

    @property
    def category_counts(self) -> np.ndarray:
        """Rows per category."""
        present = self.table >= 0
        return np.bincount(
            self.table[present], weights=self.code_counts[present], minlength=len(self.categories)
        )


@dataclass(frozen=True)
class Cells:
    """Rows collapsed to weighting cells."""

    row_cell: np.ndarray  # (n,) cell of each row
    counts: np.ndarray  # (C,) rows per cell
    margin_cell_codes: tuple[np.ndarray, ...]  # per margin, (C,) category of each cell
    n_categories: tuple[int, ...]

    @property
    def n_cells(self) -> int:
        return len(self.counts)

    def indicator(self, m: int) -> sp.csr_matrix:
        """Sparse (L_m x C) matrix mapping cells to categories of margin ``m`` (built once)."""
        return self._indicators[m]

    @cached_property
    def _indicators(self) -> tuple[sp.csr_matrix, ...]:
        c = self.n_cells
        return tuple(
            sp.csr_matrix((np.ones(c), (codes, np.arange(c))), shape=(n_cat, c))
            for codes, n_cat in zip(self.margin_cell_codes, self.n_categories, strict=True)
        )

    def cell_totals(self, row_w: np.ndarray) -> np.ndarray:
        """Sum ``row_w`` (n x k) within cells -> (C x k)."""
        if row_w.ndim == 1 or row_w.shape[1] == 1:
            flat = row_w if row_w.ndim == 1 else row_w[:, 0]
            out1 = np.bincount(self.row_cell, weights=flat, minlength=self.n_cells)
            return out1 if row_w.ndim == 1 else out1[:, None]
        # several columns (replicates): one sparse (cells x rows) product, rows read in order
        return np.asarray(self._row_indicator @ row_w)

    @cached_property
    def _row_indicator(self) -> sp.csr_matrix:
        """Sparse (C x n) matrix summing rows into their cells."""
        n = len(self.row_cell)
        return sp.csr_matrix(
            (np.ones(n), (self.row_cell, np.arange(n))), shape=(self.n_cells, n)
        )


#: Gives a column's integer codes (-1 missing) and the categories they index, in the package's
#: one category order (:func:`delibpoll._coding.category_codes`; a design's ``column_codes``).
Coder = Callable[[Hashable], tuple[np.ndarray, list[Hashable]]]


def frame_coder(data: pd.DataFrame) -> Coder:
    """A :data:`Coder` reading the columns of ``data``."""
    return lambda name: category_codes(data[name])


def _column_codes(coder: Coder, name: Hashable) -> tuple[np.ndarray, list[Hashable]]:
    """Integer codes and the labels they index, for one weighting variable; missing values
    are refused."""
    codes, labels = coder(name)
    if codes.min(initial=0) < 0:
        n_missing = int((codes < 0).sum())
        raise DelibpollError(
            f"Weighting variable '{name}' has {n_missing} missing value(s). Weighting needs a "
            "category for every row: recode missing values to a category (for example "
            "'Prefer not to say') and give it a target, or use unmatched='keep'."
        )
    return codes, labels


def _label_lookup(categories: Sequence[Hashable]) -> Callable[[Hashable], int | None]:
    exact = {c: i for i, c in enumerate(categories)}
    as_text: dict[str, int] = {}  # built on the first label not found as it is

    def find(label: Hashable) -> int | None:
        try:
            if label in exact:
                return exact[label]
        except TypeError:  # unhashable oddities
            pass
        if not as_text:
            as_text.update((_as_text(c), i) for i, c in enumerate(categories))
        return as_text.get(_as_text(label))

    return find


def _as_text(label: Hashable) -> str:
    if isinstance(label, tuple):
        return "|".join(_as_text(x) for x in label)
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    if isinstance(label, np.floating) and float(label).is_integer():
        return str(int(label))
    return str(label)


def _margin_codes(
    coder: Coder, margin: Margin
) -> tuple[np.ndarray, int, Callable[[int], Hashable]]:
    """Per-row data codes of a margin (combined for joint margins), the code-space size,
    and a function giving the data label of a code."""
    var_codes = []
    var_labels = []
    for v in margin.variables:
        c, labs = _column_codes(coder, v)
        var_codes.append(c)
        var_labels.append(labs)
    if len(var_codes) == 1:
        labels0 = var_labels[0]
        return var_codes[0], max(len(labels0), 1), lambda code: labels0[code]
    # the combinations that occur, coded 0..G-1 (G <= n) in lexicographic order
    combo, n_combos = combine_codes(var_codes, [len(labs) for labs in var_labels])
    rep = representative_rows(combo, n_combos)

    def label(code: int) -> Hashable:
        row = rep[int(code)]
        return tuple(labs[int(c[row])] for labs, c in zip(var_labels, var_codes, strict=True))

    return combo, n_combos, label


def _match_table(
    margin: Margin,
    code_counts: np.ndarray,
    label: Callable[[int], Hashable],
    unmatched: Unmatched,
) -> tuple[np.ndarray, tuple[Hashable, ...]]:
    """Map data codes that occur to target categories (kept extras appended); validate."""
    find = _label_lookup(margin.categories)
    categories: list[Hashable] = list(margin.categories)
    table = np.full(len(code_counts), -1, dtype=np.int64)
    extras: list[Hashable] = []
    for code in np.flatnonzero(code_counts):
        lab = label(int(code))
        idx = find(lab)
        if idx is None:
            extras.append(lab)
            table[code] = len(categories)
            categories.append(lab)
        else:
            table[code] = idx
    if extras and unmatched == "error":
        raise DelibpollError(
            f"Weighting variable '{margin.name}' has categor{'y' if len(extras) == 1 else 'ies'} "
            f"{extras} in the data with no target. Targets cover {list(margin.categories)}. "
            "Add targets for them, recode them into a targeted category, or pass "
            "unmatched='keep' to let them keep their current weighted share."
        )
    present = table >= 0
    counts = np.bincount(table[present], weights=code_counts[present], minlength=len(categories))
    empty = [
        margin.categories[i]
        for i in range(len(margin.categories))
        if counts[i] == 0 and margin.shares[i] > 0
    ]
    if empty:
        raise DelibpollError(
            f"Target categor{'y' if len(empty) == 1 else 'ies'} {empty} of '{margin.name}' "
            "ha" + ("s" if len(empty) == 1 else "ve") + " no respondents, so no weights can "
            "meet the target. Merge it with a neighbouring category in both the data and "
            "the targets, or drop the margin."
        )
    zero_target = [
        margin.categories[i]
        for i in range(len(margin.categories))
        if counts[i] > 0 and margin.shares[i] == 0
    ]
    if zero_target:
        raise DelibpollError(
            f"Categories {zero_target} of '{margin.name}' have respondents but a target of 0, "
            "which would give them zero weight. Remove those respondents from the design or "
            "give the categories a positive target."
        )
    return table, tuple(categories)


def match_margins(
    data: pd.DataFrame | Coder,
    margins: Sequence[Margin],
    unmatched: Unmatched,
    extra: Sequence[tuple[np.ndarray, int]] = (),
) -> tuple[list[MarginCodes], Cells]:
    """Match margins to the data and collapse the rows to weighting cells, in one pass.

    Rows are crossed on their *data* codes (one radix pass and one ``bincount``); which
    data categories occur, and the map from data categories to target categories, are then
    worked out per cell rather than per row. ``extra`` adds further per-row codes (e.g. a
    starting-weight group) to the cells without a margin of their own. ``data`` is a frame
    or a :data:`Coder` of its columns (a design's cached ``column_codes``).
    """
    coder = frame_coder(data) if isinstance(data, pd.DataFrame) else data
    coded = [_margin_codes(coder, m) for m in margins]
    raw_cells = collapse(
        [c for c, _, _ in coded] + [c for c, _ in extra],
        [k for _, k, _ in coded] + [k for _, k in extra],
    )
    matched: list[MarginCodes] = []
    cell_codes = list(raw_cells.margin_cell_codes)
    n_categories = list(raw_cells.n_categories)
    for m, (margin, (combo, n_codes, label)) in enumerate(zip(margins, coded, strict=True)):
        code_counts = np.bincount(cell_codes[m], weights=raw_cells.counts, minlength=n_codes)
        table, categories = _match_table(margin, code_counts, label, unmatched)
        matched.append(
            MarginCodes(
                margin=margin,
                data_code=combo,
                n_codes=n_codes,
                table=table,
                categories=categories,
                n_target=len(margin.categories),
                code_counts=code_counts,
            )
        )
        cell_codes[m] = table[cell_codes[m]]
        n_categories[m] = len(categories)
    cells = Cells(
        row_cell=raw_cells.row_cell,
        counts=raw_cells.counts,
        margin_cell_codes=tuple(cell_codes),
        n_categories=tuple(n_categories),
    )
    return matched, cells


# a mixed-radix code of several columns is formed only while the product of their sizes stays
# below this (so it cannot overflow int64); beyond it the columns are combined in chunks
_RADIX_LIMIT = 1 << 62


def _radix(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> tuple[np.ndarray, int]:
    """Mixed-radix code of columns whose size product is below ``_RADIX_LIMIT``, in the
    narrowest integer type that holds it (less memory traffic), as the index type."""
    product = 1
    for sz in sizes:
        product *= sz
    if len(codes) == 1:
        return np.asarray(codes[0], dtype=np.intp), product
    strides = []
    stride = 1
    for sz in reversed(sizes):
        strides.append(stride)
        stride *= sz
    strides.reverse()
    n = len(codes[0])
    small = np.int16 if product < 2**15 else (np.int32 if product < 2**31 else np.int64)
    acc = np.empty(n, dtype=small)
    part = np.empty(n, dtype=small)
    np.multiply(codes[0], strides[0], out=acc, dtype=small, casting="unsafe")
    for c, st in zip(codes[1:], strides[1:], strict=True):
        np.multiply(c, st, out=part, dtype=small, casting="unsafe")
        np.add(acc, part, out=acc)
    return acc.astype(np.intp), product


def _densify(raw: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Recode ``raw`` (codes in ``range(size)``) to ``0..G-1`` over the codes that occur,
    keeping their order."""
    if size <= _DENSE_RADIX_LIMIT:
        full_counts = np.bincount(raw, minlength=size)
        occupied = np.flatnonzero(full_counts)
        if len(occupied) == size:
            return raw, size  # every code occurs: already dense
        lookup = np.full(size, -1, dtype=np.intp)
        lookup[occupied] = np.arange(len(occupied))
        return np.take(lookup, raw), len(occupied)
    uniq, inverse = np.unique(raw, return_inverse=True)
    return inverse.reshape(-1).astype(np.intp), len(uniq)


def combine_codes(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> tuple[np.ndarray, int]:
    """Code the combinations of several integer columns that occur: per-row codes
    ``0..G-1`` in lexicographic order of the combinations, and ``G`` (at most the number of
    rows).

    Never a mixed-radix product that could overflow: columns are crossed in chunks whose
    size product stays below 2**62, each chunk recoded to the combinations that occur (so
    its size is at most n), and the chunks crossed again the same way.
    """
    sz = [max(int(s), 1) for s in sizes]
    chunks: list[list[int]] = [[]]
    prod = 1
    for i, s in enumerate(sz):
        if chunks[-1] and prod * s >= _RADIX_LIMIT:
            chunks.append([])
            prod = 1
        chunks[-1].append(i)
        prod *= s
    if len(chunks) == 1:
        return _densify(*_radix(codes, sz))
    parts = [_densify(*_radix([codes[i] for i in ch], [sz[i] for i in ch])) for ch in chunks]
    return combine_codes([p for p, _ in parts], [g for _, g in parts])


def representative_rows(row_code: np.ndarray, n_codes: int) -> np.ndarray:
    """(G,) one row of each code (any row: rows of a code share every column's code)."""
    rep = np.zeros(n_codes, dtype=np.intp)
    rep[row_code] = np.arange(len(row_code))
    return rep


def collapse(
    codes: Sequence[np.ndarray],
    sizes: Sequence[int],
) -> Cells:
    """Collapse rows to the cells formed by crossing integer codes.

    ``codes[m]`` are per-row codes in ``range(sizes[m])``. Cells are the combinations that
    occur (:func:`combine_codes`), in lexicographic order.
    """
    row_cell, n_cells = combine_codes(codes, sizes)
    counts = np.bincount(row_cell, minlength=n_cells)
    rep = representative_rows(row_cell, n_cells)
    margin_cell_codes = [np.asarray(c)[rep].astype(np.intp) for c in codes]
    n_categories = [int(size) for size in sizes]
    return Cells(
        row_cell=row_cell,
        counts=counts.astype(float),
        margin_cell_codes=tuple(margin_cell_codes),
        n_categories=tuple(n_categories),
    )


# ---------------------------------------------------------------------- raking
@dataclass(frozen=True)
class FitResult:
    """Outcome of weighting the cells of one or more weight columns."""

    cell_weights: np.ndarray  # (C, k)
    iterations: int
    converged: np.ndarray  # (k,) bool
    max_error: np.ndarray  # (k,) largest |weighted share - target share|


def margin_errors(
    cw: np.ndarray, cells: Cells, target_shares: Sequence[np.ndarray]
) -> np.ndarray:
    """Largest absolute share error over the margins of ``cells``, per weight column of the
    cell totals ``cw`` (C x k) -> (k,); ``target_shares`` are (L_m x k) per margin."""
    total = cw.sum(axis=0)
    err = np.zeros(cw.shape[1])
    for m, ts in enumerate(target_shares):
        if cw.shape[1] == 1:
            sums = np.bincount(
                cells.margin_cell_codes[m], weights=cw[:, 0], minlength=cells.n_categories[m]
            )[:, None]
        else:
            sums = cells.indicator(m) @ cw
        err = np.maximum(err, np.abs(sums / total - ts).max(axis=0))
    return err


def rake_cells(
    cw0: np.ndarray,
    cells: Cells,
    target_counts: Sequence[np.ndarray],
    *,
    max_iter: int,
    tol: float,
    cap_cell: np.ndarray | None = None,
) -> FitResult:
    """Iterative proportional fitting on cells.

    Parameters
    ----------
    cw0 : (C, k) starting cell totals of the weights.
    target_counts : per margin, (L_m, k) target totals (a column per weight column).
    cap_cell : (C, k) largest total a cell may carry (cap x mean weight x rows), or None.

    Convergence means every margin's weighted shares are within ``tol`` of the target
    shares (and, with a cap, no cell above its cap), never that the change between
    iterations became small.

    Notes
    -----
    One weight column (the full sample) is fitted on 1-d arrays with ``np.bincount``; several
    (replicates) with the margins' sparse indicators, built once per set of cells. Both sum
    the cells of a category in cell order, so they give the same numbers. The convergence
    check stops at the first margin that misses its targets (the weights then cannot have
    converged; the error over every margin is worked out only when the loop ends at
    ``max_iter``), and the first margin's category sums it takes are those the next
    adjustment needs, so they are kept rather than summed again. Neither changes a weight,
    a sweep count or a reported error.
    """
    cw = cw0.astype(float, copy=True)
    totals = [t.sum(axis=0) for t in target_counts]
    target_shares = [t / tot for t, tot in zip(target_counts, totals, strict=True)]
    # the weights must sum to the target total even when their shares already meet the
    # targets (no sweep would then run): scale each column to its total first (as one
    # post-stratification sweep of R's rake() would)
    if totals:
        col_sum = cw.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(col_sum > 0, totals[0] / col_sum, 0.0)
        # a column already on its total (to rounding) is left bit-for-bit as it is
        scale[np.abs(scale - 1.0) <= 8 * np.finfo(float).eps] = 1.0
        cw *= scale[None, :]
    codes = cells.margin_cell_codes[: len(target_counts)]
    if cw.shape[1] == 1:
        flat = cw[:, 0]  # a view: the fit below updates cw in place
        fit = _ipf_one(
            flat, codes, [t[:, 0] for t in target_counts], [s[:, 0] for s in target_shares],
            max_iter=max_iter, tol=tol, cap=None if cap_cell is None else cap_cell[:, 0],
        )
    else:
        fit = _ipf_many(
            cw, [cells.indicator(m) for m in range(len(codes))], codes, target_counts,
            target_shares, max_iter=max_iter, tol=tol, cap=cap_cell,
        )
    iterations, err = fit
    return FitResult(cell_weights=cw, iterations=iterations, converged=err < tol, max_error=err)


def _cap_ok(cw: np.ndarray, cap: np.ndarray | None) -> bool:
    return True if cap is None else bool(np.all(cw <= cap * (1 + 1e-12)))


def _ipf_one(
    cw: np.ndarray,
    codes: Sequence[np.ndarray],
    target_counts: Sequence[np.ndarray],
    target_shares: Sequence[np.ndarray],
    *,
    max_iter: int,
    tol: float,
    cap: np.ndarray | None,
) -> tuple[int, np.ndarray]:
    """IPF of one weight column ``cw`` (C,), in place: (sweeps, largest share error (1,))."""
    sizes = [len(t) for t in target_counts]
    margins = list(zip(codes, target_counts, sizes, strict=True))

    def check(full: bool) -> tuple[float, np.ndarray, bool]:
        """(largest share error, first margin's category sums, whether every margin was
        looked at); unless ``full``, it stops at the first margin off its targets (or at
        the first, with a cell above its cap): the weights are then not converged."""
        total = cw.sum()
        cap_ok = _cap_ok(cw, cap)
        worst = np.float64(0.0)
        first: np.ndarray = np.zeros(0)
        for m, (code, ts) in enumerate(zip(codes, target_shares, strict=True)):
            sums: np.ndarray = np.bincount(code, weights=cw, minlength=sizes[m])
            if m == 0:
                first = sums
            e = np.abs(sums / total - ts).max()
            worst = np.maximum(worst, e)  # NaN stays NaN
            if not full and not (cap_ok and e < tol):
                return float(worst), first, False
        return float(worst), first, True

    err, first, done = check(full=False)
    it = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        while it < max_iter and not done:
            it += 1
            for m, (code, target, size) in enumerate(margins):
                current = first if m == 0 else np.bincount(code, weights=cw, minlength=size)
                factor = np.where(current > 0, target / current, 0.0)
                cw *= factor[code]
                if cap is not None:
                    np.minimum(cw, cap, out=cw)
            err, first, done = check(full=False)
    if not done:  # stopped at max_iter: the error over every margin
        err = check(full=True)[0]
    return it, np.array([err])


def _ipf_many(
    cw: np.ndarray,
    indicators: Sequence[sp.csr_matrix],
    codes: Sequence[np.ndarray],
    target_counts: Sequence[np.ndarray],
    target_shares: Sequence[np.ndarray],
    *,
    max_iter: int,
    tol: float,
    cap: np.ndarray | None,
) -> tuple[int, np.ndarray]:
    """IPF of weight columns ``cw`` (C, k), in place: (sweeps, largest share errors (k,));
    every column is swept until all have converged."""
    buf = np.empty_like(cw)

    def check(full: bool) -> tuple[np.ndarray, np.ndarray, bool]:
        """As in :func:`_ipf_one`, per column: stops at the first margin that some column
        misses (unless ``full``)."""
        total = cw.sum(axis=0)
        cap_ok = _cap_ok(cw, cap)
        err = np.zeros(cw.shape[1])
        first = np.zeros(0)
        for m, (ind, ts) in enumerate(zip(indicators, target_shares, strict=True)):
            sums = ind @ cw
            if m == 0:
                first = sums
            e = np.abs(sums / total - ts).max(axis=0)
            err = np.maximum(err, e)
            if not full and not (cap_ok and np.all(e < tol)):
                return err, first, False
        return err, first, True

    err, first, done = check(full=False)
    it = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        while it < max_iter and not done:
            it += 1
            for m, ind in enumerate(indicators):
                current = first if m == 0 else ind @ cw
                factor = np.where(current > 0, target_counts[m] / current, 0.0)
                # codes are valid category indices: mode="clip" writes into buf unbuffered
                np.take(factor, codes[m], axis=0, out=buf, mode="clip")
                cw *= buf
                if cap is not None:
                    np.minimum(cw, cap, out=cw)
            err, first, done = check(full=False)
    if not done:
        err = check(full=True)[0]
    return it, err


# ---------------------------------------------------------------------- calibration
def _calfun(
    name: CalFun, lower: float, upper: float
) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """(F, dF): g = 1 + F(u) and its derivative, as R's cal.linear / cal.raking / cal.logit."""
    if name == "linear":

        def f(u: np.ndarray) -> np.ndarray:
            out: np.ndarray = np.minimum(np.maximum(u + 1, lower), upper) - 1
            return out

        def df(u: np.ndarray) -> np.ndarray:
            return ((u < upper - 1) & (u > lower - 1)).astype(float)

    elif name == "raking":

        def f(u: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):
                out: np.ndarray = np.minimum(np.maximum(np.exp(u), lower), upper) - 1
            return out

        def df(u: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):
                return np.where((u < upper - 1) & (u > lower - 1), np.exp(u), 0.0)

    elif name == "logit":
        if not (np.isfinite(lower) and np.isfinite(upper)):
            raise DelibpollError(
                "Logit calibration (bounded raking) needs finite bounds: pass bounds=(L, U) "
                "with 0 <= L < 1 < U."
            )
        a = (upper - lower) / ((upper - 1) * (1 - lower))

        def f(u: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore", invalid="ignore"):
                e = np.exp(a * u)
                out = (lower * (upper - 1) + upper * (1 - lower) * e) / (upper - 1 + (1 - lower) * e)
                out = np.where(np.isinf(e), upper, out)
            return out - 1

        def df(u: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore", invalid="ignore"):
                e = np.exp(a * u)
                den = upper - 1 + (1 - lower) * e
                out = (
                    upper * (1 - lower) * e * a / den
                    - (lower * (upper - 1) + upper * (1 - lower) * e) * ((1 - lower) * e * a) / den**2
                )
                out = np.where(np.isinf(e) | ~np.isfinite(out), 0.0, out)
            return out

    else:
        raise DelibpollError(
            f"The 'method' parameter of calibrate must be 'linear', 'raking' or 'logit'; "
            f"got {name!r}."
        )
    return f, df


def calibrate_cells(
    x: np.ndarray,
    w0: np.ndarray,
    population: np.ndarray,
    *,
    method: CalFun,
    bounds: tuple[float, float],
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """Generalised raking (Deville and Sarndal) on cells, batched over weight columns.

    Parameters
    ----------
    x : (C, p) cell-level model matrix.
    w0 : (C, k) cell totals of the starting weights.
    population : (p, k) population totals of the columns of ``x``.

    Returns
    -------
    g : (C, k) adjustment factors; iterations; converged (k,); max relative misfit (k,).
    """
    lower, upper = bounds
    f, df = _calfun(method, lower, upper)
    c, p = x.shape
    k = w0.shape[1]
    eta = np.zeros((p, k))
    scale_total = np.maximum(np.abs(population).max(axis=0), 1.0)
    sample_total = x.T @ w0

    def misfit_of(u: np.ndarray) -> np.ndarray:
        out: np.ndarray = population - sample_total - x.T @ (w0 * f(u))
        return out

    u = x @ eta
    misfit = misfit_of(u)
    it = 0
    rel = np.abs(misfit).max(axis=0) / scale_total
    # several columns: every column's X' diag(w) X from one sparse product with the cells'
    # outer products x_c x_c' (an indicator model has few nonzeros per cell)
    outer = cell_outer_products(x) if k > 1 and np.any(rel >= tol) else None
    while it < max_iter and np.any(rel >= tol):
        it += 1
        deriv = df(u)
        if outer is None:  # one weight column: X' diag(w) X as one matrix product
            tmat = ((x * (w0[:, 0] * deriv[:, 0])[:, None]).T @ x)[None]
        else:
            tmat = np.ascontiguousarray((outer @ (w0 * deriv)).T).reshape(k, p, p)
        tinv = np.linalg.pinv(tmat, rcond=256 * np.finfo(float).eps, hermitian=True)
        deta = np.einsum("kpq,qk->pk", tinv, misfit)
        eta = eta + deta
        u = x @ eta
        g = 1 + f(u)
        halvings = 0
        while (not np.all(np.isfinite(g))) and halvings < 60:
            halvings += 1
            deta = deta / 2
            eta = eta - deta
            u = x @ eta
            g = 1 + f(u)
        new_misfit = misfit_of(u)
        new_rel = np.abs(new_misfit).max(axis=0) / scale_total
        misfit, rel = new_misfit, new_rel
    g = 1 + f(u)
    return g, it, rel < tol, rel


def cell_outer_products(x: np.ndarray) -> sp.csr_matrix:
    """Sparse (p*p x C) matrix whose column c is the flattened outer product x_c x_c' of
    row c of ``x`` (the row-wise Kronecker product, transposed): ``outer @ w`` gives
    ``X' diag(w) X`` flattened, for every column of ``w`` at once."""
    c, p = x.shape
    xs = sp.csr_matrix(x)
    per_row = np.diff(xs.indptr)
    sq = per_row * per_row
    row = np.repeat(np.arange(c), sq)
    offset = np.arange(int(sq.sum())) - np.repeat(np.cumsum(sq) - sq, sq)
    width = per_row[row]
    a = xs.indptr[row] + offset // np.maximum(width, 1)
    b = xs.indptr[row] + offset % np.maximum(width, 1)
    vals = xs.data[a] * xs.data[b]
    flat = xs.indices[a].astype(np.int64) * p + xs.indices[b]
    return sp.csr_matrix((vals, (flat, row)), shape=(p * p, c))


def design_matrix(cells: Cells, joint: bool = False) -> np.ndarray:
    """Cell-level indicator model matrix for calibration: all categories of the first
    margin, then all but the first category of each further margin (full column rank for
    additive margins, like R's treatment contrasts with an intercept)."""
    cols = []
    for m, codes in enumerate(cells.margin_cell_codes):
        n_cat = cells.n_categories[m]
        start = 0 if m == 0 else 1
        for j in range(start, n_cat):
            cols.append((codes == j).astype(float))
    return np.column_stack(cols) if cols else np.zeros((cells.n_cells, 0))
