"""Weighting and estimation from a table of group sums you computed yourself (API layer).

When PSUs are rows (or the table is also grouped by stratum or PSU), a raking-aware
proportion, mean or total needs only sums over groups of rows: per combination of the
weighting variables, the domain and the answer, the number of rows, the sum of the starting
weights and the sum of their squares. Such a table comes from one ``GROUP BY`` in SQL, a
``group_by().agg()`` in Polars or DuckDB, or ``groupby().agg()`` in pandas, and it is small
however many rows the data has. :class:`CellTable` holds it; :func:`rake`,
:func:`calibrate` and :func:`poststratify` weight its cells (the factor of each cell turns
a row's starting weight into its new weight: ``w = w0 * factor[cell]``), and
:func:`proportion`, :func:`mean` and :func:`total` estimate from it, with the same numbers as
the row-level :class:`~delibpoll.SurveyDesign` (and so as R ``survey``).

The arithmetic is the package's cell engine (:mod:`delibpoll._cells`), which the in-memory
estimators also use.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._cells import CellWeights, GroupSums
from ._cells import calibrate as cells_calibrate
from ._cells import numeric as cells_numeric
from ._cells import poststratify as cells_poststratify
from ._cells import rake as cells_rake
from ._cells import ratios as cells_ratios
from ._ci import CI_METHODS
from ._coding import category_codes
from ._engine import match_margins
from ._ratios import Domains, domains_of_codes
from ._types import CalFun, CIMethod, LonelyPSU, NaPolicy, OnNonconvergence, Unmatched, values
from ._validation import check_bounds, check_by, check_choice, check_level, check_na
from .estimation import Estimate, numeric_estimate_of, shares_estimate
from .exceptions import ConvergenceError, ConvergenceWarning, DelibpollError, DelibpollWarning
from .targets import Targets

__all__ = [
    "NUMERIC_SUFFIXES",
    "CellTable",
    "calibrate",
    "mean",
    "numeric_columns",
    "poststratify",
    "proportion",
    "rake",
    "total",
]

_LONELY = values(LonelyPSU)

#: The sums a numeric variable ``v`` needs, as columns ``f"{v}_{suffix}"``, over the group's
#: rows where ``v`` has a value: rows, sum of w, of w^2, of y, of w y, of w^2 y, of w^2 y^2,
#: and (for the design effect) of w y^2.
NUMERIC_SUFFIXES = ("n", "sum_w", "sum_w2", "sum_y", "sum_wy", "sum_w2y", "sum_w2y2", "sum_wy2")


def numeric_columns(variable: str) -> list[str]:
    """The column names :func:`mean` and :func:`total` read for a numeric ``variable``.

    Examples
    --------
    >>> numeric_columns("income")[:3]
    ['income_n', 'income_sum_w', 'income_sum_w2']
    """
    return [f"{variable}_{s}" for s in NUMERIC_SUFFIXES]


def _sum_column(frame: pd.DataFrame, col: str, param: str) -> np.ndarray:
    s = frame[col]
    if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
        raise DelibpollError(
            f"The '{param}' column '{col}' of the cell table must be numeric; got dtype "
            f"{s.dtype}."
        )
    vals = s.to_numpy(dtype=float, na_value=np.nan)
    if not np.all(np.isfinite(vals)):
        raise DelibpollError(
            f"The '{param}' column '{col}' of the cell table has {int((~np.isfinite(vals)).sum())} "
            "missing or infinite value(s); every group needs its sums (0 for none)."
        )
    return vals


class CellTable:
    """A table of group sums: one row per group of respondents, and how its cells are weighted.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per group: the grouping columns (the weighting variables, the domains, the
        answers, and ``strata``/``ids`` when the design has them; a missing answer is a
        missing value, as in the rows) and the sums. Several rows may share a combination
        (the sums add up). Copied.
    n, sum_w, sum_w2 : str
        Columns holding the number of rows of each group, the sum of their starting weights
        (sampling weights, all positive) and the sum of the squared starting weights.
    strata : str, optional
        Stratum column.
    ids : str, optional
        First-stage cluster (PSU) column, PSUs nested in strata; the table must then be
        grouped by it. Without it every row is its own PSU.
    fpc : str, optional
        Finite population correction per stratum, as :class:`~delibpoll.SurveyDesign`: the
        number of PSUs in the stratum's population, or the sampling fraction when every value
        is <= 1.
    lonely_psu : {"fail", "remove", "adjust", "average", "certainty"}
        Single-PSU strata, as R ``options(survey.lonely.psu=)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import cells
    >>> tab = pd.DataFrame({"sex": ["F", "M"], "q": ["yes", "yes"], "n": [3, 1],
    ...                     "sum_w": [3.0, 1.0], "sum_w2": [3.0, 1.0]})
    >>> t = cells.CellTable(tab)
    >>> t.n_rows, t.weight_total
    (4, 4.0)
    """

    __slots__ = ("_frame", "_n", "_sum_w", "_sum_w2", "_strata", "_ids", "_fpc", "_lonely",
                 "_cell", "_n_cells", "_weights", "_cell_labels", "_method", "_stratum",
                 "_psu", "_fpc_f")

    _frame: pd.DataFrame
    _n: str
    _sum_w: str
    _sum_w2: str
    _strata: str | None
    _ids: str | None
    _fpc: str | None
    _lonely: LonelyPSU
    _cell: np.ndarray
    _n_cells: int
    _weights: CellWeights | None
    _cell_labels: pd.DataFrame | None
    _method: str | None
    _stratum: np.ndarray | None
    _psu: np.ndarray | None
    _fpc_f: np.ndarray | None

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        n: str = "n",
        sum_w: str = "sum_w",
        sum_w2: str = "sum_w2",
        strata: str | None = None,
        ids: str | None = None,
        fpc: str | None = None,
        lonely_psu: LonelyPSU = "fail",
    ) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise DelibpollError(
                f"CellTable needs a pandas DataFrame of group sums; got {type(frame).__name__}. "
                "Convert it first (e.g. polars: .to_pandas())."
            )
        if len(frame) == 0:
            raise DelibpollError("CellTable got an empty table (0 groups).")
        for param, col in (("n", n), ("sum_w", sum_w), ("sum_w2", sum_w2), ("strata", strata),
                           ("ids", ids), ("fpc", fpc)):
            if col is None:
                continue
            if not isinstance(col, str) or col not in frame.columns:
                raise DelibpollError(
                    f"The '{param}' parameter of CellTable names column {col!r}, which is not in "
                    f"the table. Available columns: {list(frame.columns)}."
                )
        if lonely_psu not in _LONELY:
            raise DelibpollError(
                f"The 'lonely_psu' parameter must be one of {list(_LONELY)}; got {lonely_psu!r}."
            )
        own = frame.reset_index(drop=True).copy()
        counts = _sum_column(own, n, "n")
        w = _sum_column(own, sum_w, "sum_w")
        w2 = _sum_column(own, sum_w2, "sum_w2")
        bad = (counts < 0) | (w < 0) | (w2 < 0) | ((counts > 0) & ~(w > 0))
        if bad.any():
            raise DelibpollError(
                f"The cell table has {int(bad.sum())} group(s) with negative sums, or rows but "
                f"no positive weight sum (columns '{n}', '{sum_w}', '{sum_w2}'); sampling weights "
                "must be positive."
            )
        stratum, psu, fpc_f = self._structure(own, counts, strata, ids, fpc)
        for name, value in (("_frame", own), ("_n", n), ("_sum_w", sum_w), ("_sum_w2", sum_w2),
                            ("_strata", strata), ("_ids", ids), ("_fpc", fpc),
                            ("_lonely", lonely_psu), ("_cell", np.zeros(len(own), dtype=np.int64)),
                            ("_n_cells", 1), ("_weights", None), ("_cell_labels", None),
                            ("_method", None), ("_stratum", stratum), ("_psu", psu),
                            ("_fpc_f", fpc_f)):
            object.__setattr__(self, name, value)

    @staticmethod
    def _structure(
        frame: pd.DataFrame, counts: np.ndarray, strata: str | None, ids: str | None,
        fpc: str | None,
    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        g = len(frame)
        stratum = None
        if strata is not None:
            if frame[strata].isna().any():
                raise DelibpollError(
                    f"The strata column '{strata}' of the cell table has missing values; every "
                    "group must belong to one stratum."
                )
            stratum = pd.factorize(frame[strata], sort=True)[0].astype(np.int64)
        psu = None
        if ids is not None:
            if frame[ids].isna().any():
                raise DelibpollError(
                    f"The ids column '{ids}' of the cell table has missing values; every group "
                    "must belong to one PSU."
                )
            key = [frame[strata], frame[ids]] if strata is not None else [frame[ids]]
            psu = pd.MultiIndex.from_arrays(key).factorize(sort=True)[0].astype(np.int64) \
                if len(key) > 1 else pd.factorize(frame[ids], sort=True)[0].astype(np.int64)
        fpc_f = None
        if fpc is not None:
            vals = _sum_column(frame, fpc, "fpc")
            h_code = stratum if stratum is not None else np.zeros(g, dtype=np.int64)
            h = int(h_code.max()) + 1
            lo = np.full(h, np.inf)
            hi = np.full(h, -np.inf)
            np.minimum.at(lo, h_code, vals)
            np.maximum.at(hi, h_code, vals)
            if np.any(hi - lo > 1e-9 * np.abs(hi)) or np.any(lo <= 0):
                raise DelibpollError(
                    f"The fpc column '{fpc}' of the cell table must be positive and constant "
                    "within a stratum."
                )
            if psu is None:
                n_h = np.bincount(h_code, weights=counts, minlength=h)
            else:
                first = np.unique(psu, return_index=True)[1]
                n_h = np.bincount(h_code[first], minlength=h).astype(float)
            pop = n_h / lo if np.all(lo <= 1) else lo
            if np.any(pop < n_h - 1e-9):
                raise DelibpollError(
                    f"The fpc column '{fpc}' gives fewer population PSUs than were sampled in "
                    "some stratum; check that it holds population sizes."
                )
            with np.errstate(invalid="ignore"):
                fpc_f = np.where(np.isinf(pop), 1.0, (pop - n_h) / pop)
        return stratum, psu, fpc_f

    def _replace(self, **changes: Any) -> CellTable:
        new = object.__new__(CellTable)
        for slot in CellTable.__slots__:
            object.__setattr__(new, slot, changes.get(slot[1:], getattr(self, slot)))
        return new

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("CellTable is immutable; rake/calibrate/poststratify return a new one.")

    # ------------------------------------------------------------------ public
    @property
    def frame(self) -> pd.DataFrame:
        """The table of group sums (a copy)."""
        return self._frame.copy()

    @property
    def n_rows(self) -> int:
        """Respondents in the table (the sum of the ``n`` column)."""
        return int(round(float(self._frame[self._n].sum())))

    @property
    def weight_total(self) -> float:
        """Sum of the current weights."""
        return float(self.row_factors.to_numpy() @ self._frame[self._sum_w].to_numpy(dtype=float))

    @property
    def method(self) -> str | None:
        """The weighting step applied ("rake", "calibrate", "poststratify"), or None."""
        return self._method

    @property
    def cell_weights(self) -> CellWeights | None:
        """The fit: ``factor`` per weighting cell, iterations, convergence, largest margin
        error; None before weighting."""
        return self._weights

    @property
    def row_factors(self) -> pd.Series:
        """The weight factor of each group of the table (new weight = starting weight x
        factor), on the table's rows."""
        f = np.ones(1) if self._weights is None else self._weights.factor
        return pd.Series(np.asarray(f)[self._cell], name="factor")

    def factors(self) -> pd.DataFrame:
        """One row per weighting cell: the weighting variables' categories and ``factor``.

        Join it back to the rows on the weighting variables, or gather it by cell code
        (``w0 * factor[cell]``), to get each row's new weight.

        Raises
        ------
        DelibpollError
            The table has not been weighted.
        """
        if self._weights is None or self._cell_labels is None:
            raise DelibpollError(
                "This CellTable has not been weighted; call cells.rake, cells.calibrate or "
                "cells.poststratify first."
            )
        out = self._cell_labels.copy()
        out["factor"] = np.asarray(self._weights.factor)
        return out

    def group_sums(self, variable: str | None = None, by: Sequence[str] = (),
                   na: NaPolicy = "error", func: str = "CellTable") -> tuple[
                       GroupSums, Domains, list[Hashable], int]:
        """The kernel's :class:`~delibpoll._cells.GroupSums` for an answer column
        ``variable`` (None: every group answers) by the domains ``by``; also the domains, the
        answer categories and the number of rows with a missing answer."""
        fr = self._frame
        self.check_columns(([variable] if variable else []) + list(by), func)
        g = len(fr)
        if by:
            domains = domains_of_codes([category_codes(fr[c]) for c in by], list(by), func)
        else:
            domains = Domains(np.zeros(g, dtype=np.int64), [None], [])
        counts = fr[self._n].to_numpy(dtype=float)
        if variable is None:
            answer = np.zeros(g, dtype=np.int64)
            cats: list[Hashable] = [None]
        else:
            answer, cats = category_codes(fr[variable])
        n_missing = int(round(float(counts[answer < 0].sum())))
        if n_missing and na == "error":
            raise DelibpollError(
                f"Variable '{variable}' has {n_missing} missing value(s) in the cell table. Pass "
                "na='drop' to leave those rows out of this estimate, or recode them to a "
                "category such as \"Don't know\"."
            )
        sums = GroupSums(
            cell=self._cell, domain=domains.codes, answer=answer, n=counts,
            sum_w=fr[self._sum_w].to_numpy(dtype=float),
            sum_w2=fr[self._sum_w2].to_numpy(dtype=float),
            n_cells=self._n_cells, n_domains=domains.count, n_answers=max(len(cats), 1),
            stratum=self._stratum, psu=self._psu, fpc_f=self._fpc_f,
        )
        return sums, domains, cats, n_missing

    @property
    def columns(self) -> list[Hashable]:
        """The table's column names."""
        return list(self._frame.columns)

    @property
    def lonely_psu(self) -> LonelyPSU:
        """The rule for single-PSU strata."""
        return self._lonely

    def sums_of(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        """The table's sum columns ``names`` as float arrays (checked: numeric, finite)."""
        self.check_columns(names, "CellTable")
        return {c: _sum_column(self._frame, c, c) for c in names}

    def starting_sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``n``, ``sum_w`` and ``sum_w2`` columns as float arrays."""
        fr = self._frame
        return (fr[self._n].to_numpy(dtype=float), fr[self._sum_w].to_numpy(dtype=float),
                fr[self._sum_w2].to_numpy(dtype=float))

    def weighted(self, cell: np.ndarray, n_cells: int, weights: CellWeights,
                 cell_labels: pd.DataFrame, method: str) -> CellTable:
        """A copy whose groups lie in weighting cells ``cell`` (``n_cells`` of them, labelled
        by ``cell_labels``) weighted by ``weights`` (used by :func:`rake`, ...)."""
        return self._replace(cell=np.asarray(cell, dtype=np.int64), n_cells=int(n_cells),
                             weights=weights, cell_labels=cell_labels, method=method)

    def check_columns(self, cols: Sequence[str], func: str) -> None:
        """A DelibpollError naming ``func`` unless every one of ``cols`` is a column."""
        for c in cols:
            if not isinstance(c, str) or c not in self._frame.columns:
                raise DelibpollError(
                    f"{func}: column {c!r} is not in the cell table. Available columns: "
                    f"{list(self._frame.columns)}."
                )

    @property
    def design_df(self) -> float:
        """Design degrees of freedom: PSUs minus strata (R ``degf``)."""
        h = 1 if self._stratum is None else int(self._stratum.max()) + 1
        if self._psu is None:
            return float(self.n_rows - h)
        return float(int(self._psu.max()) + 1 - h)

    def __repr__(self) -> str:
        parts = [f"{len(self._frame)} groups", f"{self.n_rows} rows"]
        if self._method:
            parts.append(f"weighted by {self._method} ({self._n_cells} cells)")
        return f"CellTable({', '.join(parts)})"


# ---------------------------------------------------------------------- weighting
def _check_table(table: object, func: str) -> CellTable:
    if not isinstance(table, CellTable):
        raise DelibpollError(
            f"cells.{func} needs a CellTable as its first argument; got {type(table).__name__}. "
            "Build one with delibpoll.cells.CellTable(frame, n=..., sum_w=..., sum_w2=...)."
        )
    if table.method is not None and func in ("rake", "calibrate", "poststratify"):
        raise DelibpollError(
            f"cells.{func}: this CellTable is already weighted (by {table.method}); the cell "
            "engine takes one weighting step. Weight the unweighted table once."
        )
    return table


def _check_targets(targets: object, func: str) -> Targets:
    if not isinstance(targets, Targets):
        raise DelibpollError(
            f"The 'targets' parameter of cells.{func} must be a Targets object; got "
            f"{type(targets).__name__}. Build one with Targets.from_dict or Targets.from_csv."
        )
    if targets.numeric_totals:
        raise DelibpollError(
            f"cells.{func} takes categorical margins only; targets has numeric totals "
            f"{list(targets.numeric_totals)}. Calibrate the row-level design for those."
        )
    return targets


def _resolve_total(targets: Targets, table: CellTable, total: float | None, func: str) -> float:
    if total is not None:
        if isinstance(total, bool) or not isinstance(total, int | float) or not (
                np.isfinite(total) and total > 0):
            raise DelibpollError(
                f"The 'total' parameter of cells.{func} must be a positive number; got {total!r}."
            )
        return float(total)
    if targets.total is not None:
        return float(targets.total)
    return table.weight_total


def _weighted(table: CellTable, targets: Targets, unmatched: Unmatched, func: str,
              margins_count: int | None = None) -> tuple[Any, Any]:
    if unmatched not in ("error", "keep"):
        raise DelibpollError(
            f"The 'unmatched' parameter of cells.{func} must be 'error' or 'keep'; got "
            f"{unmatched!r}."
        )
    margins = targets.margins if margins_count is None else targets.margins[:margins_count]
    cols = list(dict.fromkeys(v for m in margins for v in m.variables))
    table.check_columns(cols, f"cells.{func}")
    return match_margins(table.frame[cols], margins, unmatched)


def _cell_labels(matched: Any, cells: Any) -> pd.DataFrame:
    data = {}
    for m, mc in enumerate(matched):
        cats = mc.categories
        data[mc.margin.name if isinstance(mc.margin.name, str) else str(mc.margin.name)] = [
            cats[int(c)] for c in cells.margin_cell_codes[m]
        ]
    return pd.DataFrame(data)


def _finish(table: CellTable, cw: CellWeights, cells: Any, matched: Any, func: str,
            on_nonconvergence: OnNonconvergence) -> CellTable:
    if not cw.converged:
        msg = (f"cells.{func} did not meet the targets after {cw.iterations} iterations: the "
               f"largest margin error is {cw.max_error:.3g}.")
        if on_nonconvergence == "error":
            raise ConvergenceError(msg + " Pass on_nonconvergence='warn' to get the weights "
                                   "anyway.", iterations=cw.iterations, max_error=cw.max_error)
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    if not np.all(np.asarray(cw.factor) > 0):
        warnings.warn(f"cells.{func} gave zero or negative weight factors.", DelibpollWarning,
                      stacklevel=3)
    return table.weighted(cells.row_cell, cells.n_cells, cw, _cell_labels(matched, cells), func)


def rake(
    table: CellTable,
    targets: Targets,
    *,
    max_iter: int = 1000,
    tol: float = 1e-10,
    unmatched: Unmatched = "error",
    on_nonconvergence: OnNonconvergence = "error",
    total: float | None = None,
) -> CellTable:
    """Rake the table's cells to population margins (as :func:`delibpoll.rake`).

    The weighting cells are the combinations of the margins' variables in the table. The
    fit runs on the cell totals of the starting weights with the same kernel as the
    row-level rake, so the factors equal the row-level weights' ratios to the starting
    weights.

    Parameters
    ----------
    table : CellTable
    targets : Targets
        One margin per raking variable (categorical margins; joint margins allowed).
    max_iter, tol, unmatched, on_nonconvergence, total
        As :func:`delibpoll.rake`.

    Returns
    -------
    CellTable
        Weighted: :meth:`CellTable.factors` gives each cell's factor.

    Raises
    ------
    DelibpollError
        Not a CellTable or Targets, a margin variable missing from the table or with missing
        values, a category without a target (``unmatched="error"``).
    ConvergenceError
        The margins are not met within ``max_iter`` sweeps.
    """
    func = "rake"
    t = _check_table(table, func)
    tg = _check_targets(targets, func)
    matched, cells = _weighted(t, tg, unmatched, func)
    tot = _resolve_total(tg, t, total, func)
    sums = _cell_sums(t, cells)
    cw = cells_rake(sums, cells.margin_cell_codes, cells.n_categories,
                    [mc.margin.shares for mc in matched], tot, max_iter=max_iter, tol=tol)
    return _finish(t, cw, cells, matched, func, on_nonconvergence)


def _cell_sums(t: CellTable, cells: Any) -> GroupSums:
    n, w, w2 = t.starting_sums()
    g = len(n)
    return GroupSums(
        cell=np.asarray(cells.row_cell, dtype=np.int64), domain=np.zeros(g, dtype=np.int64),
        answer=np.zeros(g, dtype=np.int64), n=n, sum_w=w, sum_w2=w2,
        n_cells=int(cells.n_cells), n_domains=1, n_answers=1,
    )


def calibrate(
    table: CellTable,
    targets: Targets,
    *,
    method: CalFun = "linear",
    bounds: tuple[float, float] | None = None,
    max_iter: int = 1000,
    tol: float = 1e-10,
    unmatched: Unmatched = "error",
    on_nonconvergence: OnNonconvergence = "error",
    total: float | None = None,
) -> CellTable:
    """Calibrate the table's cells to categorical margins (as :func:`delibpoll.calibrate`:
    R ``calibrate`` with ``calfun`` = ``method``, bounds on ``g``).

    Raises
    ------
    DelibpollError
        As :func:`rake`; bounds that are not a pair with ``0 <= L < 1 < U``; ``"logit"``
        without bounds; numeric totals in ``targets``.
    ConvergenceError
        The margins are not met within ``max_iter`` iterations.
    """
    func = "calibrate"
    t = _check_table(table, func)
    tg = _check_targets(targets, func)
    if method not in ("linear", "raking", "logit"):
        raise DelibpollError(
            f"The 'method' parameter of cells.calibrate must be 'linear', 'raking' or 'logit'; "
            f"got {method!r}."
        )
    lo, hi = check_bounds(bounds, method, "cells.calibrate")
    matched, cells = _weighted(t, tg, unmatched, func)
    tot = _resolve_total(tg, t, total, func)
    cw = cells_calibrate(_cell_sums(t, cells), cells.margin_cell_codes, cells.n_categories,
                         [mc.margin.shares for mc in matched], tot, method=method,
                         bounds=(lo, hi), max_iter=max_iter, tol=tol)
    return _finish(t, cw, cells, matched, func, on_nonconvergence)


def poststratify(
    table: CellTable,
    targets: Targets,
    *,
    unmatched: Unmatched = "error",
    total: float | None = None,
) -> CellTable:
    """Post-stratify the table to one margin (as :func:`delibpoll.poststratify`; a joint
    margin for crossed post-strata).

    Raises
    ------
    DelibpollError
        As :func:`rake`, or ``targets`` with more than one margin.
    """
    func = "poststratify"
    t = _check_table(table, func)
    tg = _check_targets(targets, func)
    if len(tg.margins) != 1:
        raise DelibpollError(
            f"cells.poststratify takes exactly one margin; got {len(tg.margins)} "
            f"({[m.name for m in tg.margins]}). Use a joint margin for crossed post-strata, or "
            "cells.rake for several margins."
        )
    matched, cells = _weighted(t, tg, unmatched, func)
    tot = _resolve_total(tg, t, total, func)
    cw = cells_poststratify(_cell_sums(t, cells), cells.margin_cell_codes[0],
                            cells.n_categories[0], matched[0].margin.shares, tot)
    return _finish(t, cw, cells, matched, func, "error")


# ---------------------------------------------------------------------- estimation


def _weights_of(t: CellTable) -> CellWeights:
    cw = t.cell_weights
    return cw if cw is not None else CellWeights(factor=np.ones(1), calibration=None)


def proportion(
    table: CellTable,
    variable: str,
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    ci_method: CIMethod = "logit",
    na: NaPolicy = "error",
) -> Estimate:
    """Weighted proportion of each category of the table's column ``variable``, overall or
    by domain, with raking-aware linearised SEs (as :func:`delibpoll.proportion`).

    Returns
    -------
    Estimate
        The same result (and ``to_frame()`` columns) as :func:`delibpoll.proportion`.

    Raises
    ------
    DelibpollError
        Not a CellTable, unknown columns, missing answers with ``na="error"``, a bad
        ``level`` or ``ci_method``.
    """
    func = "proportion"
    t = _check_table(table, func)
    level = check_level(level, f"cells.{func}")
    check_choice(ci_method, "ci_method", f"cells.{func}", CI_METHODS)
    na = check_na(na, f"cells.{func}")
    by_cols = check_by(by, f"cells.{func}")
    if not isinstance(variable, str):
        raise DelibpollError(
            f"The 'variable' parameter of cells.proportion must be a column name (str); got "
            f"{variable!r}."
        )
    sums, domains, cats, n_missing = t.group_sums(variable, by_cols, na, f"cells.{func}")
    if not cats:
        raise DelibpollError(f"Variable '{variable}' has no non-missing values to estimate from.")
    ce = cells_ratios(sums, _weights_of(t), lonely_psu=t.lonely_psu)
    return shares_estimate(
        variable=variable, domains=domains, cats=cats, est=ce.estimate, vcov=ce.vcov,
        summary=(ce.n, ce.df, ce.n_rows), level=level, ci_method=ci_method,
        n_missing=n_missing, design_df=t.design_df,
    )


def _numeric(table: CellTable, variable: str, by: str | Sequence[str] | None, level: float,
             na: NaPolicy, statistic: str) -> Estimate:
    func = statistic
    t = _check_table(table, func)
    level = check_level(level, f"cells.{func}")
    na = check_na(na, f"cells.{func}")
    by_cols = check_by(by, f"cells.{func}")
    if not isinstance(variable, str):
        raise DelibpollError(
            f"The 'variable' parameter of cells.{func} must be a column name (str); got "
            f"{variable!r}."
        )
    cols = numeric_columns(variable)
    missing_cols = [c for c in cols[:-1] if c not in t.columns]
    if missing_cols:
        raise DelibpollError(
            f"cells.{func} of '{variable}' needs the columns {cols[:-1]} (sums over the rows "
            f"with a value; '{cols[-1]}' too for the design effect); the table lacks "
            f"{missing_cols}."
        )
    base, domains, _, _ = t.group_sums(None, by_cols, "drop", f"cells.{func}")
    got = t.sums_of(cols[:-1])
    vals = {s: got[c] for s, c in zip(NUMERIC_SUFFIXES[:-1], cols[:-1], strict=True)}
    n_missing = int(round(float((base.n - vals["n"]).sum())))
    if n_missing and na == "error":
        raise DelibpollError(
            f"Variable '{variable}' has {n_missing} missing value(s) in the cell table. Pass "
            "na='drop' to leave those rows out of this estimate."
        )
    if vals["n"].sum() == 0:
        raise DelibpollError(f"Variable '{variable}' has no non-missing values to estimate from.")
    g = base.n_groups
    zeros = np.zeros(g)

    def both(valid: np.ndarray, rest: np.ndarray) -> np.ndarray:
        return np.concatenate([valid, rest])

    sums = GroupSums(
        cell=both(base.cell, base.cell), domain=both(base.domain, base.domain),
        answer=both(np.zeros(g, dtype=np.int64), np.full(g, -1, dtype=np.int64)),
        n=both(vals["n"], np.clip(base.n - vals["n"], 0, None)),
        sum_w=both(vals["sum_w"], np.clip(base.sum_w - vals["sum_w"], 0, None)),
        sum_w2=both(vals["sum_w2"], np.clip(base.sum_w2 - vals["sum_w2"], 0, None)),
        n_cells=base.n_cells, n_domains=base.n_domains, n_answers=1,
        stratum=None if base.stratum is None else both(base.stratum, base.stratum),
        psu=None if base.psu is None else both(base.psu, base.psu), fpc_f=base.fpc_f,
        sum_y=both(vals["sum_y"], zeros), sum_wy=both(vals["sum_wy"], zeros),
        sum_w2y=both(vals["sum_w2y"], zeros), sum_w2y2=both(vals["sum_w2y2"], zeros),
    )
    weights = _weights_of(t)
    ce = cells_numeric(sums, weights, totals=statistic == "total", lonely_psu=t.lonely_psu)
    # R's svyvar of y in each domain (for the design effect), from the sums of w y^2
    f = np.asarray(weights.factor)[base.cell]
    d = base.n_domains
    wsum = np.bincount(base.domain, weights=f * vals["sum_w"], minlength=d)
    svar = np.full(d, np.nan)
    if cols[-1] in t.columns:
        wy = np.bincount(base.domain, weights=f * vals["sum_wy"], minlength=d)
        wyy = np.bincount(base.domain, weights=f * t.sums_of(cols[-1:])[cols[-1]], minlength=d)
        nd = np.bincount(base.domain, weights=vals["n"], minlength=d)
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = wy / wsum
            svar = np.where(nd >= 2, (wyy - wsum * mu * mu) / wsum * nd / (nd - 1), np.nan)
    return numeric_estimate_of(
        statistic="mean" if statistic == "mean" else "total", variable=variable,
        domains=domains, est=ce.estimate, vcov=ce.vcov, n=ce.n, df=ce.df, svar=svar,
        wsum=wsum, level=level, n_missing=n_missing, design_df=t.design_df,
    )


def mean(
    table: CellTable,
    variable: str,
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na: NaPolicy = "error",
) -> Estimate:
    """Weighted mean of a numeric variable from its sums (:func:`numeric_columns`), overall
    or by domain, with raking-aware linearised SEs (as :func:`delibpoll.mean`).

    Raises
    ------
    DelibpollError
        The table lacks the variable's sum columns, unknown ``by`` columns, missing values
        with ``na="error"``.
    """
    return _numeric(table, variable, by, level, na, "mean")


def total(
    table: CellTable,
    variable: str,
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na: NaPolicy = "error",
) -> Estimate:
    """Weighted total of a numeric variable from its sums (:func:`numeric_columns`), overall
    or by domain (as :func:`delibpoll.total`).

    Raises
    ------
    DelibpollError
        As :func:`mean`.
    """
    return _numeric(table, variable, by, level, na, "total")
