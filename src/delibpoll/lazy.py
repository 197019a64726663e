"""Designs beyond memory: weight and estimate a Parquet dataset or a lazy frame in its engine.

:func:`scan` opens a :class:`LazyDesign` over a Parquet file, folder or glob, a Polars
LazyFrame, a DuckDB relation, a PyArrow dataset or a Dask dataframe. Nothing is read row by
row in Python: every pass over the data is one ``group_by().agg()`` run by the engine
(through narwhals), giving a small table of sums per (weighting cell x domain x answer
[x stratum or PSU]); the cell engine (:mod:`delibpoll._cells`) rakes, calibrates and
estimates from that table with the same raking-aware linearised variance as the in-memory
path. The weights go back as an expression, ``w0 * factor[cell]`` (a lookup in a table of
cells, not a join of the data), and :meth:`LazyDesign.write_parquet` streams them to Parquet
where the engine can.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from . import _cells
from ._coding import category_codes
from ._engine import match_margins
from ._frames import arrow_order_declared, is_arrow_dataset, lazy_frame, quiet_dask, to_pandas
from ._ratios import Domains
from ._structure import fpc_factors
from ._types import CalFun, CIMethod, LonelyPSU, NaPolicy, values
from ._validation import (
    check_by,
    check_categories,
    check_choice,
    check_int,
    check_level,
    check_missing,
    check_na,
)
from .estimation import Estimate, numeric_estimate_of, shares_estimate
from .exceptions import ConvergenceError, DelibpollError, DelibpollWarning
from .targets import Targets, targets_of

__all__ = ["BannerCells", "LazyDesign", "QuestionCells", "scan"]

_LONELY = values(LonelyPSU)
_CALFUNS = values(CalFun)
_CI_METHODS = values(CIMethod)
_W = "__delibpoll_w__"


# ---------------------------------------------------------------------- sources
def _parquet_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file())
    elif any(ch in str(path) for ch in "*?["):
        files = sorted(Path(path.anchor or ".").glob(str(path.relative_to(path.anchor)))
                       if path.is_absolute() else Path(".").glob(str(path)))
    else:
        files = [path] if path.is_file() else []
    if not files:
        raise DelibpollError(
            f"The 'source' parameter of scan names '{path}', but no Parquet file is there. "
            "Give a .parquet file, a folder of them or a glob such as 'data/*.parquet'."
        )
    return files


def _check_parquet_files(files: list[Path]) -> dict[str, list[Hashable]]:
    """Check the files agree (columns, types, declared categories) before any row is read;
    return the declared category orders (Arrow dictionaries, as pandas writes its
    categoricals)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = [pq.read_schema(f) for f in files]
    names = [list(s.names) for s in schemas]
    union = list(dict.fromkeys(n for ns in names for n in ns))
    missing = {str(f): [c for c in union if c not in ns]
               for f, ns in zip(files, names, strict=True) if len(ns) < len(union)
               or set(ns) != set(union)}
    if missing:
        shown = "; ".join(f"{f}: {cols}" for f, cols in list(missing.items())[:5])
        raise DelibpollError(
            f"The Parquet files of scan do not all have the same columns: missing {shown}. "
            "Every file must hold every column (write the missing columns, even as nulls, "
            "or scan only the files that have them)."
        )
    declared: dict[str, list[Hashable]] = {}
    dict_cols = []
    for col in union:
        types = [s.field(col).type for s in schemas]
        plain = [t.value_type if pa.types.is_dictionary(t) else t for t in types]
        if any(not t.equals(plain[0]) and not _both_text(t, plain[0]) for t in plain):
            kinds = sorted({str(t) for t in plain})
            raise DelibpollError(
                f"Column '{col}' has different types in the Parquet files of scan ({kinds}). "
                "Write it with one type in every file."
            )
        if any(pa.types.is_dictionary(t) for t in types) and all(
                arrow_order_declared(s.field(col)) for s in schemas):
            dict_cols.append(col)
    if dict_cols:
        # the dictionaries of each file's first row group (Arrow, not Python rows; a row
        # group that declares other categories is caught when its values are read: they
        # are outside the declared order)
        tables = []
        for f in files:
            pf = pq.ParquetFile(f)
            if pf.metadata.num_row_groups:
                tables.append((str(f), pf.read_row_group(0, columns=dict_cols)))
        for col in dict_cols:
            declared[col] = _shared_dictionary(col, tables, "files")
    return declared


def _shared_dictionary(col: str, parts: Sequence[tuple[str, Any]], what: str) -> list[Hashable]:
    """The dictionary every part (file, fragment) of an Arrow dictionary column shares: its
    declared category order. Parts that disagree are an error (no order is declared)."""
    seen: list[tuple[str, list[Hashable]]] = []
    for label, table in parts:
        for chunk in table.column(col).chunks:
            if hasattr(chunk, "dictionary"):
                seen.append((label, chunk.dictionary.to_pylist()))
    if not seen:
        return []
    first_label, first = seen[0]
    for label, cats in seen[1:]:
        if cats != first:
            raise DelibpollError(
                f"Column '{col}' is categorical with different categories in different "
                f"{what}: {first_label} has {first}, {label} has {cats}. The order of "
                "categories must be declared once: write the column with the same categories "
                "(in the same order) everywhere, or as plain text."
            )
    return first


def _dataset_declared(dataset: Any) -> dict[str, list[Hashable]]:
    """Declared orders of an Arrow dataset's dictionary columns (read column by column in
    Arrow, never row by row in Python)."""
    import pyarrow as pa

    out: dict[str, list[Hashable]] = {}
    frags = list(dataset.get_fragments())
    for field in dataset.schema:
        if pa.types.is_dictionary(field.type) and arrow_order_declared(field):
            parts = [(getattr(f, "path", f"fragment {k}"), f.to_table(columns=[field.name]))
                     for k, f in enumerate(frags)]
            out[field.name] = _shared_dictionary(field.name, parts, "fragments")
    return out


def _both_text(a: Any, b: Any) -> bool:
    import pyarrow as pa

    def text(t: Any) -> bool:
        return bool(pa.types.is_string(t) or pa.types.is_large_string(t)
                    or pa.types.is_string_view(t))

    return text(a) and text(b)


def _check_dask_categories(native: Any, columns: Sequence[str]) -> dict[str, list[Hashable]]:
    """Dask categoricals whose categories are not known from the metadata: the partitions
    are asked for theirs (one small tuple each) and must agree."""
    out: dict[str, list[Hashable]] = {}
    for col in columns:
        s = native[col]
        if not isinstance(s.dtype, pd.CategoricalDtype) or s.cat.known:
            continue
        per_part = s.map_partitions(
            lambda x: pd.Series([tuple(x.cat.categories)]), meta=(col, object)
        ).compute().tolist()
        first = list(per_part[0]) if per_part else []
        for k, cats in enumerate(per_part):
            if list(cats) != first:
                raise DelibpollError(
                    f"Column '{col}' is categorical with different categories in different "
                    f"partitions: partition 0 has {first}, partition {k} has {list(cats)}. "
                    "Declare the categories once (ddf[col].cat.set_categories(...)) or "
                    "convert the column to text."
                )
        out[col] = first
    return out


def _open(source: object) -> tuple[Any, dict[str, list[Hashable]], str]:
    """The lazy frame, declared category orders and a short description of ``source``."""
    if isinstance(source, str | Path):
        import polars as pl

        files = _parquet_files(Path(source))
        declared = _check_parquet_files(files)
        frame = nw.from_native(pl.scan_parquet([str(f) for f in files]))
        return frame, declared, f"{len(files)} Parquet file(s) at {source}"
    frame, declared = lazy_frame(source, "scan")
    if is_arrow_dataset(source):
        declared.update(_dataset_declared(source))
    if frame.implementation.is_dask():
        with quiet_dask():
            native = frame.to_native()
            declared.update(_check_dask_categories(native, list(native.columns)))
    return frame, declared, f"a {frame.implementation} lazy frame"


# ---------------------------------------------------------------------- the small tables
@dataclass(frozen=True)
class _Weighting:
    """One weighting step of a lazy design, as data: the cells and their factors."""

    method: str
    variables: tuple[str, ...]
    categories: tuple[tuple[Hashable, ...], ...]  # per variable, in the package's order
    cell_of: dict[tuple[int, ...], int]  # variable codes -> cell
    radix: np.ndarray  # mixed-radix key of each cell-table row (from the variable codes)
    row_cell: np.ndarray  # cell of each cell-table row
    weights: _cells.CellWeights
    targets: Targets
    n_rows: int


@dataclass(frozen=True)
class BannerCells:
    """One banner question in the columns of one banner variable (see
    :meth:`LazyDesign.banner_cells`): estimates column-major (``column * L + label``), their
    joint covariance, and per column R's df and nrow of the subset, the unweighted, weighted
    and Kish effective bases of the rows with an answer."""

    variable: str  # "" for the Total column
    labels: tuple[Hashable, ...]  # the banner variable's categories ([None] for Total)
    estimate: np.ndarray
    vcov: np.ndarray
    df: np.ndarray
    n_rows: np.ndarray
    n: np.ndarray
    weighted_n: np.ndarray
    n_eff: np.ndarray


@dataclass(frozen=True)
class QuestionCells:
    """A banner question's categories (or its variable, for a mean), its missing answers,
    and its cells in the Total column and every banner variable's columns."""

    labels: tuple[Hashable, ...]
    n_missing: int
    n_valid: int
    groups: tuple[BannerCells, ...]


class LazyDesign:
    """A survey design over data that stay in their engine (see :func:`scan`).

    The design is immutable: :meth:`rake`, :meth:`calibrate` and :meth:`poststratify`
    return a new one; :meth:`proportion`, :meth:`mean` and :meth:`total` return the same
    :class:`~delibpoll.Estimate` as the in-memory functions; :meth:`write_parquet` writes
    the data with the weights. Every call is one ``group_by().agg()`` in the engine.
    """

    __slots__ = ("_frame", "_declared", "_what", "_columns", "_weights_col", "_strata_col",
                 "_ids_col", "_fpc_col", "_fpc_f", "_lonely_psu", "_n", "_df", "_pending",
                 "_state")

    _frame: Any  # narwhals LazyFrame
    _declared: dict[str, list[Hashable]]
    _what: str
    _columns: list[str]
    _weights_col: str | None
    _strata_col: str | None
    _ids_col: str | None
    _fpc_col: str | None
    _fpc_f: np.ndarray | None  # (N_h - n_h) / N_h per stratum
    _lonely_psu: LonelyPSU
    _n: int
    _df: float
    # the weighting step asked for (method, targets, options), fitted with the first pass
    # over the data that needs it and kept in _state (one scan for rake + first estimate)
    _pending: tuple[str, Targets, dict[str, Any]] | None
    _state: dict[str, _Weighting]

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("LazyDesign is immutable; weighting methods return a new one.")

    def _replace(self, **changes: Any) -> LazyDesign:
        new = object.__new__(LazyDesign)
        for slot in LazyDesign.__slots__:
            object.__setattr__(new, slot, changes.get(slot[1:], getattr(self, slot)))
        return new


    def __init__(self, source: object, *, weights: str | None = None,
                 strata: str | None = None, ids: str | None = None,
                 fpc: str | None = None, lonely_psu: LonelyPSU = "fail") -> None:
        """Open the design :func:`scan` describes (see there)."""
        if lonely_psu not in _LONELY:
            raise DelibpollError(
                f"The 'lonely_psu' parameter must be one of {list(_LONELY)}; got {lonely_psu!r}.")
        frame, declared, what = _open(source)
        with quiet_dask():
            columns = list(frame.collect_schema().names())
        for key, value in dict(frame=frame, declared=declared, what=what, columns=columns,
                               weights_col=None, strata_col=None, ids_col=None,
                               fpc_col=None, fpc_f=None,
                               lonely_psu=lonely_psu, n=0, df=0.0, pending=None,
                               state={}).items():
            object.__setattr__(self, "_" + key, value)
        for param, col in (("weights", weights), ("strata", strata), ("ids", ids),
                           ("fpc", fpc)):
            if col is not None:
                if not isinstance(col, str):
                    raise DelibpollError(
                        f"The '{param}' parameter must be a column name (str); got {col!r}.")
                self._check_columns([col], param)
        what_w = f"weights column '{weights}'"
        aggs = [nw.len().alias("n")]
        if weights is not None:
            wc = nw.col(weights)
            with quiet_dask():
                dtype = frame.collect_schema()[weights]
            if not dtype.is_numeric() or dtype == nw.Boolean:
                raise DelibpollError(f"The {what_w} must be numeric; got dtype {dtype}.")
            wf = wc.cast(nw.Float64())
            # counts of flags as integer sums (Spark does not sum booleans)
            aggs += [wc.is_null().cast(nw.Int64()).sum().alias("n_null"),
                     (~wf.is_finite() & ~wc.is_null()).cast(nw.Int64()).sum().alias("n_inf"),
                     (wf <= 0).cast(nw.Int64()).sum().alias("n_bad"), wf.min().alias("lo")]
        with quiet_dask():
            stats = to_pandas(frame.select(*aggs), "scan").iloc[0]
        n = int(stats["n"])
        if n == 0:
            raise DelibpollError("scan got an empty source (0 rows).")
        if weights is not None:
            if int(stats["n_null"]):
                raise DelibpollError(
                    f"The {what_w} has {int(stats['n_null'])} missing value(s); every row needs a "
                    "weight. Impute them or remove those rows before building the design.")
            if int(stats["n_inf"]):
                raise DelibpollError(
                    f"The {what_w} has {int(stats['n_inf'])} infinite value(s); weights must be "
                    "finite.")
            if int(stats["n_bad"]):
                raise DelibpollError(
                    f"The {what_w} has {int(stats['n_bad'])} zero or negative value(s) (min "
                    f"{float(stats['lo']):.6g}); sampling weights must be positive. Drop those "
                    "rows or give them a positive weight.")
        for key, value in dict(weights_col=weights, strata_col=strata, ids_col=ids,
                               n=n).items():
            object.__setattr__(self, "_" + key, value)
        keys = self._structure_keys()
        if keys or fpc is not None:
            table = self._table(keys + ([fpc] if fpc is not None else []), {})
            stratum, psu = self._unit_codes(table)
            n_strata = 1 if stratum is None else int(stratum.max()) + 1
            n_psu = n if psu is None else int(psu.max()) + 1
            if fpc is not None:
                object.__setattr__(self, "_fpc_col", fpc)
                object.__setattr__(self, "_fpc_f", _fpc_factors(
                    table, fpc, stratum, psu, n_strata, "PSUs"))
        else:
            n_strata, n_psu = 1, n
        object.__setattr__(self, "_df", float(n_psu - n_strata))

    # ------------------------------------------------------------------ public accessors
    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self._n)

    @property
    def columns(self) -> list[str]:
        """The data's columns."""
        return list(self._columns)

    @property
    def df(self) -> float:
        """Design degrees of freedom: PSUs minus strata (R ``degf``)."""
        return float(self._df)

    @property
    def attrs(self) -> dict[str, Any]:
        """File metadata (labels); a lazy source carries none."""
        return {}

    @property
    def replicates(self) -> None:
        """Replicate weights: none (variances are linearised)."""
        return None

    @property
    def is_calibrated(self) -> bool:
        """Whether the design has a weighting step (rake, calibrate, poststratify)."""
        return self._pending is not None

    def check_columns(self, cols: Sequence[Hashable], param: str) -> list[Hashable]:
        """``cols`` if they are all columns of the data, else an error listing the columns."""
        self._check_columns(list(cols), param)
        return list(cols)

    def is_numeric(self, column: str) -> bool:
        """Whether ``column`` holds numbers (not booleans, not categories)."""
        with quiet_dask():
            dtype = self._frame.collect_schema()[column]
        return bool(dtype.is_numeric()) and dtype != nw.Boolean

    def is_float(self, column: str) -> bool:
        """Whether ``column`` holds floating-point numbers."""
        with quiet_dask():
            dtype = self._frame.collect_schema()[column]
        return bool(dtype.is_float())

    def column_counts(self, columns: Sequence[str],
                      distinct: Sequence[str] = ()) -> dict[str, tuple[int | None, int]]:
        """Per column: distinct non-missing values (for the ``distinct`` columns only, else
        None: counting them is a costly pass) and missing values, in one pass in the
        engine."""
        if not columns:
            return {}
        with quiet_dask():
            out = to_pandas(self._frame.select(
                # n_unique counts null as one value (every engine, through narwhals)
                *[nw.col(c).n_unique().alias(f"u{k}") for k, c in enumerate(columns)
                  if c in distinct],
                *[nw.col(c).is_null().cast(nw.Int64()).sum().alias(f"m{k}") for k, c in
                  enumerate(columns)]), "scan")
        res: dict[str, tuple[int | None, int]] = {}
        for k, c in enumerate(columns):
            missing = int(out[f"m{k}"].iloc[0])
            uniq = int(out[f"u{k}"].iloc[0]) - (missing > 0) if c in distinct else None
            res[c] = (uniq, missing)
        return res

    @property
    def frame(self) -> Any:
        """The source as a native lazy frame of its engine (Polars, DuckDB, Dask ...)."""
        with quiet_dask():
            return self._frame.to_native()

    @property
    def _weighting(self) -> _Weighting | None:
        """The fitted weighting step (fitted now, in one pass over the weighting variables,
        if no estimate has fitted it yet), or None for an unweighted design."""
        return self._resolve(None)

    @property
    def weighting(self) -> dict[str, Any] | None:
        """The weighting step (method, variables, cells, iterations, convergence, largest
        margin error), or None for an unweighted design."""
        wt = self._weighting
        if wt is None:
            return None
        return {"method": wt.method, "variables": wt.variables, "n_cells": len(wt.radix),
                "iterations": wt.weights.iterations, "converged": wt.weights.converged,
                "max_error": wt.weights.max_error}

    def __repr__(self) -> str:
        step = "unweighted" if self._pending is None else f"{self._pending[0]}d"
        return (f"LazyDesign({self._what}: {self.n:,} rows, {len(self._columns)} columns, "
                f"{step})")

    # ------------------------------------------------------------------ engine helpers
    def _check_columns(self, cols: Sequence[object], param: str) -> None:
        missing = [c for c in cols if c not in self._columns]
        if missing:
            raise DelibpollError(
                f"The '{param}' parameter names column(s) {missing} that are not in the data. "
                f"Available columns: {list(self._columns)}."
            )

    def _weight_expr(self) -> Any:
        """The current weights as an engine expression: ``w0 * factor[cell]``."""
        w0 = (nw.lit(1.0) if self._weights_col is None
              else nw.col(self._weights_col).cast(nw.Float64()))
        wt = self._weighting
        if wt is None:
            return w0
        factor = wt.weights.factor[wt.row_cell]
        with quiet_dask():
            schema = self._frame.collect_schema()
        key = None
        stride = 1
        # each variable's code by a lookup in its categories, combined into one integer key
        for v, cats in reversed(list(zip(wt.variables, wt.categories, strict=True))):
            col = nw.col(v)
            lo = _int_range_start(cats)
            if lo is not None and schema[v].is_integer():
                # integer categories lo..lo+k-1: the code is arithmetic, no lookup
                code = col.cast(nw.Int64()) - lo
            else:
                if isinstance(schema[v], nw.Categorical | nw.Enum):
                    col = col.cast(nw.String())
                code = col.replace_strict(list(cats), list(range(len(cats))), default=-1,
                                          return_dtype=nw.Int64())
            key = code * stride if key is None else key + code * stride
            stride *= len(cats)
        assert key is not None
        return w0 * key.replace_strict(
            [int(k) for k in wt.radix], [float(f) for f in factor], default=float("nan"),
            return_dtype=nw.Float64())

    def _base_expr(self) -> Any:
        return (nw.lit(1.0) if self._weights_col is None
                else nw.col(self._weights_col).cast(nw.Float64()))

    def _table(self, keys: Sequence[str], sums: dict[str, Any],
               extra: dict[str, Any] | None = None) -> pd.DataFrame:
        """One ``group_by(keys).agg(...)`` in the engine, collected as a small pandas frame
        (the package's category orders applied). ``sums`` maps output names to row-level
        expressions summed per group; ``extra`` adds helper key columns first."""
        frame = self._frame
        cols = dict(extra or {})
        cols.update({f"__s_{k}": e for k, e in sums.items()})
        keys_all = list(dict.fromkeys(list(keys) + list((extra or {}).keys())))
        with quiet_dask():
            schema = frame.collect_schema()
            impl = frame.implementation
            # Polars and DuckDB hash one int64 key faster than several small ones; pandas-
            # based engines (Dask) cast nullable integers their own way: keys as they are
            packing = (_packing(keys_all, schema, set(extra or {}))
                       if impl.is_polars() or impl.is_duckdb() else None)
            if packing is not None:
                cols["__key"] = _packed_key(packing, extra or {})
            staged = frame.with_columns(**cols) if cols else frame
            aggs = [nw.len().alias("__n")] + [nw.col(f"__s_{k}").sum().alias(k) for k in sums]
            if packing is not None:
                out = staged.group_by("__key").agg(*aggs)
            elif keys_all:
                out = staged.group_by(*keys_all, drop_null_keys=False).agg(*aggs)
            else:
                out = staged.select(*aggs)
            table = to_pandas(out, "scan")
        if packing is not None:
            table = _unpack(table, packing)
        table = table.rename(columns={"__n": "n"})
        table["n"] = table["n"].astype(float)
        for col in keys_all:
            if col in self._declared:
                table[col] = _with_declared(table[col], self._declared[col], col)
        return table

    def _codes(self, s: pd.Series, col: str) -> tuple[np.ndarray, list[Hashable]]:
        if col in self._declared and not isinstance(s.dtype, pd.CategoricalDtype):
            s = _with_declared(s, self._declared[col], col)
        return category_codes(s)

    def _structure_keys(self) -> list[str]:
        return [c for c in (self._strata_col, self._ids_col) if c is not None]

    def _unit_codes(self, table: pd.DataFrame) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Per group: stratum and PSU codes (PSUs coded within strata)."""
        stratum = psu = None
        if self._strata_col is not None:
            stratum, _ = category_codes(table[self._strata_col])
            if (stratum < 0).any():
                n_missing = int(table["n"].to_numpy()[stratum < 0].sum())
                raise DelibpollError(
                    f"The strata column '{self._strata_col}' has {n_missing} missing value(s); "
                    "every row must belong to one."
                )
        if self._ids_col is not None:
            ids, _ = category_codes(table[self._ids_col])
            if (ids < 0).any():
                n_missing = int(table["n"].to_numpy()[ids < 0].sum())
                raise DelibpollError(
                    f"The ids column '{self._ids_col}' has {n_missing} missing value(s); "
                    "every row must belong to one."
                )
            pair = ids if stratum is None else stratum * (int(ids.max()) + 1) + ids
            psu = np.unique(pair, return_inverse=True)[1].reshape(-1).astype(np.int64)
        return stratum, psu

    def _cells_of(self, table: pd.DataFrame) -> tuple[np.ndarray, int]:
        """Per group: its weighting cell (0 for an unweighted design)."""
        wt = self._weighting
        if wt is None:
            return np.zeros(len(table), dtype=np.int64), 1
        codes = []
        for v, cats in zip(wt.variables, wt.categories, strict=True):
            s = table[v]
            if v in self._declared and not isinstance(s.dtype, pd.CategoricalDtype):
                s = _with_declared(s, self._declared[v], v)
            c, got = category_codes(pd.Series(pd.Categorical(s, categories=list(cats))))
            codes.append(c)
        space = int(np.prod([len(c) for c in wt.categories], dtype=float))
        if space <= 1 << 24:
            # a dense lookup from the cell key (the variables' codes in mixed radix)
            radix = np.zeros(len(table), dtype=np.int64)
            for c, cats in zip(codes, wt.categories, strict=True):
                radix = radix * len(cats) + c
            lookup = np.full(space, -1, dtype=np.int64)
            lookup[wt.radix] = wt.row_cell
            cell = lookup[radix]
        else:
            keys = list(zip(*[c.tolist() for c in codes], strict=True))
            cell = np.array([wt.cell_of[k] for k in keys], dtype=np.int64)
        return cell, int(wt.weights.factor.shape[0])

    # ------------------------------------------------------------------ weighting
    @staticmethod
    def _check_weighting_variables(table: pd.DataFrame, variables: Sequence[str]) -> None:
        """Nulls in weighting variables (null keys of the cell table): the in-memory
        message, with row counts."""
        for v in variables:
            n_missing = int(table["n"].to_numpy()[table[v].isna().to_numpy()].sum())
            if n_missing:
                raise DelibpollError(
                    f"Weighting variable '{v}' has {n_missing} missing value(s). Weighting "
                    "needs a category for every row: recode missing values to a category "
                    "(for example 'Prefer not to say') and give it a target, or use "
                    "unmatched='keep'."
                )

    def _weight(self, func: str, targets: object, **opts: Any) -> LazyDesign:
        """Check the weighting step and keep it; it is fitted with the first pass over the
        data (:meth:`_resolve`)."""
        method = func
        if self._pending is not None:
            raise DelibpollError(
                f"{method}: this lazy design is already weighted ({self._pending[0]}); "
                "a lazy design holds one weighting step. Weight the scanned design once "
                "(one rake or calibrate call with all the margins)."
            )
        targets = targets_of(targets, method)
        if targets.numeric_totals:
            raise DelibpollError(
                f"{method} on a lazy design takes categorical margins only; these targets "
                f"have numeric totals {sorted(targets.numeric_totals)}. Use targets.select(...) "
                "of the categorical margins, or weight in memory."
            )
        variables = list(dict.fromkeys(v for m in targets.margins for v in m.variables))
        self._check_columns(variables, "targets")
        margins = targets.margins
        if method == "poststratify" and len(margins) != 1:
            raise DelibpollError(
                f"poststratify takes exactly one margin; got {len(margins)} "
                f"({[m.name for m in margins]}). Use a joint margin such as "
                "('age_group', 'sex') for crossed post-strata, or rake() for several margins."
            )
        return self._replace(pending=(method, targets, dict(opts)), state={})

    def _weighting_variables(self) -> list[str]:
        if self._pending is None:
            return []
        return list(dict.fromkeys(v for m in self._pending[1].margins for v in m.variables))

    def _resolve(self, table: pd.DataFrame | None) -> _Weighting | None:
        """The fitted weighting step: fitted once, from the cells of ``table`` (a group table
        that holds the weighting variables, e.g. the first estimate's) or, without one, from
        one pass over the weighting variables."""
        if self._pending is None:
            return None
        hit = self._state.get("weighting")
        if hit is not None:
            return hit
        method, targets, opts = self._pending
        variables = self._weighting_variables()
        if table is None:
            w0 = self._base_expr()
            cell_table = self._table(variables, {"w": w0, "w2": w0 * w0})
        else:
            cell_table = (table.groupby(variables, dropna=False, observed=True, sort=False)
                          [["n", "w", "w2"]].sum().reset_index())
        wt = self._fit(method, targets, opts, variables, cell_table)
        self._state["weighting"] = wt
        return wt

    def _fit(self, method: str, targets: Targets, opts: dict[str, Any], variables: list[str],
             table: pd.DataFrame) -> _Weighting:
        """Weight the cells of ``table`` (one row per combination of the weighting
        variables, with its rows and sums of w0 and w0^2)."""
        self._check_weighting_variables(table, variables)
        margins = targets.margins
        matched, cells = match_margins(table[variables], margins, "error")
        sums = _cells.GroupSums(
            cell=cells.row_cell.astype(np.int64), domain=np.zeros(len(table), dtype=np.int64),
            answer=np.zeros(len(table), dtype=np.int64), n=table["n"].to_numpy(),
            sum_w=table["w"].to_numpy(), sum_w2=table["w2"].to_numpy(),
            n_cells=cells.n_cells, n_domains=1, n_answers=1,
        )
        total = float(targets.total) if targets.total is not None else float(table["w"].sum())
        shares = [mc.margin.shares for mc in matched]
        codes = list(cells.margin_cell_codes)
        ncat = list(cells.n_categories)
        if method == "rake":
            cw = _cells.rake(sums, codes, ncat, shares, total, max_iter=opts["max_iter"],
                             tol=opts["tol"])
        elif method == "calibrate":
            cw = _cells.calibrate(sums, codes, ncat, shares, total, method=opts["method"],
                                  bounds=opts["bounds"], max_iter=opts["max_iter"],
                                  tol=opts["tol"])
        else:
            cw = _cells.poststratify(sums, codes[0], ncat[0], shares[0], total)
        if not cw.converged:
            msg = (f"{method} did not meet the targets after {cw.iterations} iterations: the "
                   f"largest margin error is {cw.max_error:.3g} (tolerance {opts.get('tol')}). ")
            if opts.get("on_nonconvergence", "error") == "error":
                raise ConvergenceError(
                    msg + " Pass on_nonconvergence='warn' to get the weights anyway.",
                    iterations=cw.iterations, max_error=cw.max_error)
            warnings.warn(msg, DelibpollWarning, stacklevel=4)
        cats = []
        var_codes = []
        for v in variables:
            c, labels = self._codes(table[v], v)
            cats.append(tuple(labels))
            var_codes.append(c)
        cell_of = {k: int(cells.row_cell[i]) for i, k in
                   enumerate(zip(*[c.tolist() for c in var_codes], strict=True))}
        radix = np.zeros(len(table), dtype=np.int64)
        for c, labels_ in zip(var_codes, cats, strict=True):
            radix = radix * len(labels_) + c
        return _Weighting(method=method, variables=tuple(variables), categories=tuple(cats),
                          cell_of=cell_of, radix=radix,
                          row_cell=np.asarray(cells.row_cell, dtype=np.int64), weights=cw,
                          targets=targets, n_rows=int(table["n"].sum()))

    def rake(self, targets: Targets | dict[str, Any], *, max_iter: int = 100,
             tol: float = 1e-10, on_nonconvergence: str = "error") -> LazyDesign:
        """Rake to the targets' margins (as :func:`delibpoll.rake`, ``unmatched="error"``).

        The arguments are checked now; the weights are fitted with the first pass over the
        data that needs them (the first estimate's ``group_by``, whose margin over the raking
        variables gives the weighting cells: rake and the first estimate read the data once).
        Data errors (missing values in a raking variable, a category without target,
        non-convergence) are raised then, as the in-memory messages, before any output.

        Examples
        --------
        >>> import polars as pl
        >>> from delibpoll import scan
        >>> lf = pl.LazyFrame({"sex": ["F", "F", "M", "M", "M"], "q": list("yynyn")})
        >>> d = scan(lf).rake({"sex": {"F": 0.5, "M": 0.5}})
        >>> round(d.proportion("q").estimate_of("y"), 4)
        0.6667
        """
        return self._weight("rake", targets, max_iter=check_int(max_iter, "max_iter", "rake"),
                            tol=_check_tol(tol, "rake"),
                            on_nonconvergence=on_nonconvergence)

    def calibrate(self, targets: Targets | dict[str, Any], *, method: CalFun = "linear",
                  bounds: tuple[float, float] = (-np.inf, np.inf), max_iter: int = 50,
                  tol: float = 1e-10, on_nonconvergence: str = "error") -> LazyDesign:
        """Calibrate to categorical margins (as :func:`delibpoll.calibrate`)."""
        check_choice(method, "method", "calibrate", _CALFUNS)
        return self._weight("calibrate", targets, method=method,
                            bounds=(float(bounds[0]), float(bounds[1])),
                            max_iter=check_int(max_iter, "max_iter", "calibrate"),
                            tol=_check_tol(tol, "calibrate"),
                            on_nonconvergence=on_nonconvergence)

    def poststratify(self, targets: Targets | dict[str, Any]) -> LazyDesign:
        """Post-stratify to one (possibly joint) margin (as :func:`delibpoll.poststratify`)."""
        return self._weight("poststratify", targets)

    # ------------------------------------------------------------------ estimation
    def _estimation_table(self, variable: str | None, by_cols: list[str],
                          numeric: bool) -> pd.DataFrame:
        keys = list(dict.fromkeys(
            self._weighting_variables() + by_cols
            + ([variable] if variable is not None and not numeric else [])
            + self._structure_keys()))
        w0 = self._base_expr()
        sums: dict[str, Any] = {"w": w0, "w2": w0 * w0}
        extra: dict[str, Any] = {}
        if numeric:
            assert variable is not None
            y = nw.col(variable).cast(nw.Float64())
            has = ~nw.col(variable).is_null()
            yz = nw.when(has).then(y).otherwise(nw.lit(0.0))
            extra["__has_y"] = has
            sums.update(y=yz, wy=w0 * yz, w2y=w0 * w0 * yz, w2y2=w0 * w0 * yz * yz,
                        wy2=w0 * yz * yz)
        table = self._table(keys, sums, extra=extra or None)
        self._resolve(table)  # the first pass also fits the weighting step
        return table

    def _domains(self, table: pd.DataFrame, by_cols: list[str],
                 func: str) -> tuple[np.ndarray, list[Hashable]]:
        if not by_cols:
            return np.zeros(len(table), dtype=np.int64), [None]
        code = np.zeros(len(table), dtype=np.int64)
        labels: list[Hashable] = [()]
        for col in by_cols:
            c, cats = self._codes(table[col], col)
            if (c < 0).any():
                n_missing = int(table["n"].to_numpy()[c < 0].sum())
                raise DelibpollError(
                    f"The 'by' column '{col}' of {func} has {n_missing} missing value(s). "
                    "Domains must cover every row: recode missing values to a category such "
                    "as 'Not known' before estimating."
                )
            code = code * len(cats) + c
            labels = [lab + (cat,) for lab in labels for cat in cats]  # type: ignore[operator]
        if len(by_cols) == 1:
            labels = [lab[0] for lab in labels]  # type: ignore[index]
        return code, labels

    def _group_sums(self, table: pd.DataFrame, domain: np.ndarray, n_domains: int,
                    answer: np.ndarray, n_answers: int, numeric: bool,
                    units: tuple[Any, ...] | None = None) -> _cells.GroupSums:
        """The kernel's table; ``units`` = (cell, n_cells, stratum, psu) when already coded
        for this table."""
        cell, n_cells, stratum, psu = units if units is not None else (
            *self._cells_of(table), *self._unit_codes(table))
        extra: dict[str, Any] = {}
        if numeric:
            extra = {k: table[k].to_numpy() for k in ("y", "wy", "w2y", "w2y2")}
            extra = {"sum_y": extra["y"], "sum_wy": extra["wy"], "sum_w2y": extra["w2y"],
                     "sum_w2y2": extra["w2y2"]}
        return _cells.GroupSums(
            cell=cell, domain=domain, answer=answer, n=table["n"].to_numpy(),
            sum_w=table["w"].to_numpy(), sum_w2=table["w2"].to_numpy(), n_cells=n_cells,
            n_domains=n_domains, n_answers=n_answers, stratum=stratum, psu=psu,
            fpc_f=self._fpc_f, **extra)

    def _cell_weights(self, sums: _cells.GroupSums) -> _cells.CellWeights:
        wt = self._weighting
        return _cells.no_weighting(sums) if wt is None else wt.weights

    def _check_variable(self, variable: object, func: str) -> str:
        if not isinstance(variable, str):
            raise DelibpollError(
                f"The 'variable' parameter of {func} must be a column name (str); got "
                f"{variable!r}."
            )
        self._check_columns([variable], "variable")
        return variable

    def proportion(self, variable: str, *, by: str | Sequence[str] | None = None,
                   level: float = 0.95, ci_method: CIMethod = "logit",
                   na: NaPolicy = "error") -> Estimate:
        """Weighted proportion of each category of ``variable`` (as
        :func:`delibpoll.proportion`: the same :class:`~delibpoll.Estimate`), from one
        ``group_by`` over (weighting cell x domain x answer [x stratum or PSU]).
        """
        func = "proportion"
        level = check_level(level, func)
        check_choice(ci_method, "ci_method", func, _CI_METHODS)
        na = check_na(na, func)
        variable = self._check_variable(variable, func)
        by_cols = check_by(by, func)
        self._check_columns(by_cols, "by")
        table = self._estimation_table(variable, by_cols, numeric=False)
        answer, cats = self._codes(table[variable], variable)
        n_missing = int(table["n"].to_numpy()[answer < 0].sum())
        check_missing(variable, n_missing, na)
        check_categories(variable, cats)
        domain, dom_labels = self._domains(table, by_cols, func)
        n_cat, n_dom = len(cats), len(dom_labels)
        sums = self._group_sums(table, domain, n_dom, answer, n_cat, numeric=False)
        ce = _cells.ratios(sums, self._cell_weights(sums), lonely_psu=self._lonely_psu)
        return shares_estimate(
            variable=variable, domains=Domains(domain, dom_labels, by_cols), cats=cats,
            est=ce.estimate, vcov=ce.vcov, summary=(ce.n, ce.df, ce.n_rows), level=level,
            ci_method=ci_method, n_missing=n_missing, design_df=self.df,
        )

    def _numeric_estimate(self, variable: str, by: str | Sequence[str] | None, level: float,
                          na: NaPolicy, statistic: str) -> Estimate:
        func = statistic
        level = check_level(level, func)
        na = check_na(na, func)
        variable = self._check_variable(variable, func)
        by_cols = check_by(by, func)
        self._check_columns(by_cols, "by")
        with quiet_dask():
            dtype = self._frame.collect_schema()[variable]
        if not dtype.is_numeric() or dtype == nw.Boolean:
            raise DelibpollError(
                f"{func} on a lazy design needs a numeric variable, but '{variable}' has "
                f"dtype {dtype}. Use proportion() for categorical variables."
            )
        table = self._estimation_table(variable, by_cols, numeric=True)
        has = table["__has_y"].to_numpy().astype(bool)
        n_missing = int(table["n"].to_numpy()[~has].sum())
        check_missing(variable, n_missing, na)
        if not np.all(np.isfinite(table[["y", "wy", "w2y2"]].to_numpy())):
            raise DelibpollError(
                f"Variable '{variable}' has infinite values; {func} needs finite ones.")
        if n_missing == self.n:
            raise DelibpollError(
                f"Variable '{variable}' has no non-missing values to estimate from.")
        domain, dom_labels = self._domains(table, by_cols, func)
        n_dom = len(dom_labels)
        answer = np.where(has, 0, -1).astype(np.int64)
        sums = self._group_sums(table, domain, n_dom, answer, 1, numeric=True)
        weights = self._cell_weights(sums)
        ce = _cells.numeric(sums, weights, totals=statistic == "total",
                            lonely_psu=self._lonely_psu)
        ns_d = ce.n
        # R svyvar of y in each domain's subset (for the design effect)
        cell, _ = self._cells_of(table)
        f = weights.factor[cell] if self._pending is not None else np.ones(len(table))
        inset = has
        s1 = np.bincount(domain[inset], weights=(table["w"].to_numpy() * f)[inset],
                         minlength=n_dom)
        s_wy = np.bincount(domain[inset], weights=(table["wy"].to_numpy() * f)[inset],
                           minlength=n_dom)
        s_wy2 = np.bincount(domain[inset], weights=(table["wy2"].to_numpy() * f)[inset],
                            minlength=n_dom)
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = s_wy / s1
            ss = s_wy2 - 2 * mu * s_wy + mu * mu * s1
            svar = np.where(ns_d >= 2, ss / s1 * ns_d / (ns_d - 1), np.nan)
        return numeric_estimate_of(
            statistic="mean" if statistic == "mean" else "total", variable=variable,
            domains=Domains(domain, dom_labels, by_cols), est=ce.estimate, vcov=ce.vcov, n=ns_d,
            df=ce.df, svar=svar, wsum=s1, level=level, n_missing=n_missing, design_df=self.df,
        )

    def mean(self, variable: str, *, by: str | Sequence[str] | None = None,
             level: float = 0.95, na: NaPolicy = "error") -> Estimate:
        """Weighted mean of a numeric ``variable`` (as :func:`delibpoll.mean`)."""
        return self._numeric_estimate(variable, by, level, na, "mean")

    def total(self, variable: str, *, by: str | Sequence[str] | None = None,
              level: float = 0.95, na: NaPolicy = "error") -> Estimate:
        """Weighted total of a numeric ``variable`` (as :func:`delibpoll.total`)."""
        return self._numeric_estimate(variable, by, level, na, "total")

    def banner_cells(self, variable: str, columns: Sequence[str], *,
                     numeric: bool) -> QuestionCells:
        """One banner question in every banner column, from one ``group_by`` (weighting cells
        x every banner variable x answer [x strata/PSUs]) whose margins give each banner
        variable's table: shares (or the mean) per column with their joint covariance, and
        the unweighted, weighted and Kish effective bases of the rows with an answer (see
        :func:`delibpoll.banner`, which lays them out). ``columns`` lists the banner
        variables; the first group is the Total column."""
        cols = list(dict.fromkeys(columns))
        table = self._estimation_table(variable, cols, numeric=numeric)
        if numeric:
            answer = np.where(table["__has_y"].to_numpy().astype(bool), 0, -1).astype(np.int64)
            labels: list[Hashable] = [variable]
            n_answers = 1
        else:
            answer, labels = self._codes(table[variable], variable)
            n_answers = len(labels)
        valid = answer >= 0
        n_missing = int(table["n"].to_numpy()[~valid].sum())
        units = (*self._cells_of(table), *self._unit_codes(table))
        groups = []
        for b in [None, *cols]:
            by_cols = [] if b is None else [b]
            domain, dom_labels = self._domains(table, by_cols, "banner")
            sums = self._group_sums(table, domain, len(dom_labels), answer, max(n_answers, 1),
                                    numeric=numeric, units=units)
            weights = self._cell_weights(sums)
            if numeric:
                ce = _cells.numeric(sums, weights, lonely_psu=self._lonely_psu)
            else:
                ce = _cells.ratios(sums, weights, lonely_psu=self._lonely_psu)
            f = weights.factor[sums.cell]
            s1 = sums.sum_w * f
            s2 = sums.sum_w2 * f * f
            m = len(dom_labels)
            n = np.bincount(domain[valid], weights=sums.n[valid], minlength=m)
            wsum = np.bincount(domain[valid], weights=s1[valid], minlength=m)
            w2 = np.bincount(domain[valid], weights=s2[valid], minlength=m)
            with np.errstate(divide="ignore", invalid="ignore"):
                n_eff = np.where(n > 0, wsum**2 / w2, 0.0)
            groups.append(BannerCells(
                variable="" if b is None else b, labels=tuple(dom_labels),
                estimate=ce.estimate, vcov=ce.vcov, df=ce.df, n_rows=ce.n_rows,
                n=n.astype(np.int64), weighted_n=wsum, n_eff=n_eff))
        return QuestionCells(labels=tuple(labels), n_missing=n_missing,
                             n_valid=int(table["n"].to_numpy()[valid].sum()),
                             groups=tuple(groups))

    # ------------------------------------------------------------------ output
    def weights_expr(self) -> Any:
        """The current weights as a narwhals expression, ``w0 * factor[cell]``: a lookup of
        each row's cell in the small table of factors (``replace_strict``), not a join."""
        return self._weight_expr()

    def write_parquet(self, path: str | Path, *, weight_name: str = "weight") -> Path:
        """Write the data with the current weights as ``weight_name`` to one Parquet file.

        The weights are computed row by row in the engine from the small table of cell
        factors, and streamed to the file where the engine can (Polars ``sink_parquet``,
        DuckDB's Parquet writer); Dask writes a folder of part files. Every check runs
        before anything is written.

        Raises
        ------
        DelibpollError
            ``weight_name`` is already a column, or the folder does not exist.
        """
        if not isinstance(weight_name, str) or not weight_name:
            raise DelibpollError(
                "The 'weight_name' parameter of write_parquet must be a non-empty string. "
                f"Got {weight_name!r} instead.")
        if weight_name in self._columns:
            raise DelibpollError(
                f"The data already has a column '{weight_name}'; pass weight_name= with "
                "another name so the weights do not overwrite it.")
        p = Path(path)
        if not p.parent.is_dir():
            raise DelibpollError(
                f"Cannot write '{p}': the folder '{p.parent}' does not exist. Create it first.")
        with quiet_dask():
            out = self._frame.with_columns(self._weight_expr().alias(weight_name))
            if out.implementation.is_dask():
                out.to_native().to_parquet(str(p), write_index=False)
            else:
                out.sink_parquet(str(p))
        return p


# ---------------------------------------------------------------------- helpers
# small integer and boolean keys are packed into one int64 key (one hash column instead of
# several: about twice as fast in Polars); the value range of each dtype, null as digit 0
_PACKABLE = {"Int8": (-(2**7), 2**7 - 1, np.int8), "UInt8": (0, 2**8 - 1, np.uint8),
             "Int16": (-(2**15), 2**15 - 1, np.int16), "UInt16": (0, 2**16 - 1, np.uint16),
             "Boolean": (0, 1, np.bool_)}


@dataclass(frozen=True)
class _Packing:
    names: tuple[str, ...]
    lows: tuple[int, ...]
    radices: tuple[int, ...]  # values + 1 (digit 0 is null)
    dtypes: tuple[Any, ...]
    extra: frozenset[str]


def _packing(keys: Sequence[str], schema: Any, extra: set[str]) -> _Packing | None:
    if not keys:
        return None
    lows, radices, dtypes = [], [], []
    product = 1
    for k in keys:
        name = "Boolean" if k in extra else str(schema[k])
        if name not in _PACKABLE:
            return None
        lo, hi, dt = _PACKABLE[name]
        lows.append(lo)
        radices.append(hi - lo + 2)
        dtypes.append(dt)
        product *= hi - lo + 2
    if product >= 2**62:
        return None
    return _Packing(tuple(keys), tuple(lows), tuple(radices), tuple(dtypes), frozenset(extra))


def _packed_key(p: _Packing, extra: dict[str, Any]) -> Any:
    key = None
    for name, lo, radix in zip(p.names, p.lows, p.radices, strict=True):
        col = extra[name] if name in p.extra else nw.col(name)
        digit = (col.cast(nw.Int64()) - lo + 1).fill_null(0)
        key = digit if key is None else key * radix + digit
    return key


def _unpack(table: pd.DataFrame, p: _Packing) -> pd.DataFrame:
    """The key columns back from the packed key (null where the digit is 0)."""
    key = table["__key"].to_numpy().astype(np.int64)
    out: dict[str, Any] = {}
    for name, lo, radix, dt in reversed(list(zip(p.names, p.lows, p.radices, p.dtypes,
                                                 strict=True))):
        key, digit = np.divmod(key, radix)
        vals = digit + lo - 1
        if (digit == 0).any():
            col = pd.Series(np.where(digit == 0, np.nan, vals).astype(float))
            out[name] = col.astype(object).where(digit != 0, None) if dt is np.bool_ else col
        else:
            out[name] = pd.Series(vals.astype(dt))
    cols = {name: out[name] for name in p.names}
    rest = table.drop(columns="__key").reset_index(drop=True)
    return pd.concat([pd.DataFrame(cols), rest], axis=1)


def _fpc_factors(table: pd.DataFrame, fpc: str, stratum: np.ndarray | None,
                 psu: np.ndarray | None, n_strata: int, what: str) -> np.ndarray:
    """``(N_h - n_h) / N_h`` per stratum from the fpc values of the structure table (one
    group per stratum [x PSU] x fpc value), with the in-memory design's checks."""
    vals = pd.to_numeric(table[fpc], errors="coerce").to_numpy(dtype=float)
    if np.isnan(vals).any() or (vals <= 0).any():
        raise DelibpollError(
            f"The fpc column '{fpc}' has missing or non-positive values; give the population "
            "number of units per stratum, or the sampling fraction."
        )
    strat = np.zeros(len(table), dtype=np.int64) if stratum is None else stratum
    lo = np.full(n_strata, np.inf)
    hi = np.full(n_strata, -np.inf)
    np.minimum.at(lo, strat, vals)
    np.maximum.at(hi, strat, vals)
    if (hi - lo > 1e-9 * hi).any():
        raise DelibpollError(
            f"The fpc column '{fpc}' varies within a stratum; it must be constant per stratum."
        )
    if psu is None:
        n_units = np.bincount(strat, weights=table["n"].to_numpy(), minlength=n_strata)
    else:
        pairs = np.unique(np.stack([strat, psu]), axis=1)
        n_units = np.bincount(pairs[0], minlength=n_strata).astype(float)
    return fpc_factors(lo, n_units, fpc, what)


def _int_range_start(cats: Sequence[Hashable]) -> int | None:
    """``lo`` when the categories are the integers ``lo, lo+1, ...`` in order, else None."""
    if not cats or not all(isinstance(c, int) and not isinstance(c, bool) for c in cats):
        return None
    lo = int(cats[0])  # type: ignore[call-overload]
    return lo if list(cats) == list(range(lo, lo + len(cats))) else None


def _with_declared(s: pd.Series, declared: list[Hashable], col: str) -> pd.Series:
    """``s`` as a categorical in its declared order; a value outside it is an error."""
    values_ = s.dropna().tolist() if not isinstance(s.dtype, pd.CategoricalDtype) else [
        v for v in s.dropna().astype(object).tolist()]
    unknown = sorted({str(v) for v in values_} - {str(c) for c in declared})
    if unknown:
        raise DelibpollError(
            f"Column '{col}' has values {unknown} outside its declared categories {declared}."
        )
    return pd.Series(pd.Categorical(s.astype(object), categories=declared), index=s.index,
                     name=s.name)


def _check_tol(tol: object, func: str) -> float:
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not (0 < float(tol) < 1):
        raise DelibpollError(
            f"The 'tol' parameter of {func} must be a float in (0, 1); got {tol!r}.")
    return float(tol)


def scan(
    source: object,
    *,
    weights: str | None = None,
    strata: str | None = None,
    ids: str | None = None,
    fpc: str | None = None,
    lonely_psu: LonelyPSU = "fail",
) -> LazyDesign:
    """A survey design over data that stay in their engine: bigger than memory, or remote.

    Parameters
    ----------
    source : str, Path or lazy frame
        A Parquet file, a folder of Parquet files or a glob (read with Polars' streaming
        engine; the files' schemas and declared categories are checked first), a Polars
        LazyFrame or DataFrame, a DuckDB relation, a PyArrow Table or Dataset, a Dask
        DataFrame (on whatever cluster its client runs) or a pandas DataFrame.
    weights : str, optional
        Column of sampling weights (positive; default 1 for every row).
    strata : str, optional
        Column of stratum labels.
    ids : str, optional
        Column of first-stage cluster (PSU) labels, nested in strata. Default: rows are PSUs.
    fpc : str, optional
        Finite population correction, as :class:`~delibpoll.SurveyDesign`: per row, the
        number of PSUs in the population of its stratum, or the sampling fraction when every
        value is <= 1; constant within a stratum.
    lonely_psu : {"fail", "remove", "adjust", "average", "certainty"}
        As :class:`~delibpoll.SurveyDesign`.

    Returns
    -------
    LazyDesign

    Raises
    ------
    DelibpollError
        An unsupported source (the message names the accepted ones), Parquet files whose
        columns, types or declared categories differ, Dask partitions whose categories
        differ, a missing column, missing, zero or negative weights.

    Notes
    -----
    Category order is the package's one order whatever the engine: declared (a pandas
    categorical, a Polars ``Enum``, an Arrow dictionary that every file shares), otherwise
    sorted. Nothing is materialised row by row: each weighting or estimate runs one
    ``group_by().agg()`` in the engine and works on the small table of group sums.

    Examples
    --------
    >>> import polars as pl
    >>> from delibpoll import scan
    >>> lf = pl.LazyFrame({"sex": ["F", "M", "M"], "w": [1.0, 2.0, 1.0]})
    >>> scan(lf, weights="w")
    LazyDesign(a polars lazy frame: 3 rows, 2 columns, unweighted)
    """
    return LazyDesign(source, weights=weights, strata=strata, ids=ids, fpc=fpc,
                      lonely_psu=lonely_psu)
