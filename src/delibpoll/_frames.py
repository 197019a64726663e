"""The dataframe boundary (base layer): any dataframe in, through narwhals.

Every public entry point that takes a frame calls :func:`to_pandas` once: pandas frames pass
through untouched; Polars (eager or lazy), PyArrow tables, record batches and datasets, DuckDB
relations and Dask dataframes are converted once, with the package's one category order
(:mod:`delibpoll._coding`: the declared order of categoricals and enums, else sorted) and no
silent change of values (nulls stay missing, strings stay strings). Lazy sources are
collected here; :func:`lazy_frame` instead keeps them lazy for the out-of-core designs
(:mod:`delibpoll.lazy`), whose row work is pushed into the engine.

Engines are optional: narwhals imports them only when an object of theirs is passed in.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

import narwhals as nw
import pandas as pd

from .exceptions import DelibpollError

__all__ = [
    "ACCEPTED",
    "DataFrameLike",
    "ACCEPTED_LAZY",
    "arrow_order_declared",
    "declared_categories",
    "is_arrow_dataset",
    "is_frame",
    "lazy_frame",
    "quiet_dask",
    "to_pandas",
]

#: A dataframe of any library :func:`to_pandas` accepts (pandas, Polars, PyArrow, DuckDB,
#: Dask): the engines are optional, so their types are not named in signatures.
DataFrameLike: TypeAlias = Any

#: What the in-memory entry points accept, for error messages.
ACCEPTED = (
    "a pandas DataFrame, a Polars DataFrame or LazyFrame, a PyArrow Table, RecordBatch or "
    "Dataset, a DuckDB relation or a Dask DataFrame"
)
#: What the out-of-core designs accept, for error messages.
ACCEPTED_LAZY = (
    "a Parquet file, folder or glob (str or Path), a Polars LazyFrame or DataFrame, a PyArrow "
    "Table or Dataset, a DuckDB relation, a Dask DataFrame or a pandas DataFrame"
)


@contextmanager
def quiet_dask() -> Iterator[None]:
    """narwhals announces (FutureWarning) that Dask support moves to a plugin package that is
    not on the registry yet; the support itself is unchanged, so the notice is not the user's
    concern."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Dask support is moving out of Narwhals", category=FutureWarning
        )
        yield


def is_arrow_dataset(obj: object) -> bool:
    """Whether ``obj`` is a ``pyarrow.dataset.Dataset`` (without importing pyarrow)."""
    mod = sys.modules.get("pyarrow.dataset")
    return mod is not None and isinstance(obj, mod.Dataset)


def _is_arrow_batch(obj: object) -> bool:
    return type(obj).__module__.startswith("pyarrow") and type(obj).__name__ == "RecordBatch"


def _from_native(obj: object) -> Any:
    """The narwhals frame of ``obj`` (DataFrame or LazyFrame), or None if it is not a frame."""
    with quiet_dask():
        return nw.from_native(obj, pass_through=True)


def is_frame(obj: object) -> bool:
    """Whether ``obj`` is a dataframe :func:`to_pandas` accepts.

    Examples
    --------
    >>> import pandas as pd
    >>> is_frame(pd.DataFrame({"a": [1]})), is_frame([1, 2])
    (True, False)
    """
    if isinstance(obj, pd.DataFrame) or is_arrow_dataset(obj) or _is_arrow_batch(obj):
        return True
    return isinstance(_from_native(obj), nw.DataFrame | nw.LazyFrame)


def _sorted_labels(values: list[Hashable]) -> list[Hashable]:
    """Distinct non-missing values in the package's order (as :func:`category_codes`)."""
    s = pd.Series(values, dtype=object).dropna()
    return list(pd.unique(s.sort_values(kind="stable")))


def arrow_order_declared(field: Any) -> bool:
    """Whether an Arrow dictionary field's dictionary is a declared category order.

    It is, unless the field was written from a Polars ``Categorical`` (field metadata
    ``_PL_CATEGORICAL...``), whose dictionary is the order rows were seen, not a declared
    one: such a column is sorted, as the eager Polars frame is (so a Polars frame gives the
    same order in memory, through Arrow and from a Parquet file it wrote).
    """
    meta = getattr(field, "metadata", None) or {}
    return not any(bytes(k).startswith(b"_PL_CATEGORICAL") for k in meta)


def _arrow_declared(table: Any, name: str) -> list[Hashable] | None:
    """The dictionary of an Arrow dictionary column when every chunk shares it (its declared
    order), else None (the chunks disagree, or the field comes from a Polars ``Categorical``:
    no declared order, see :func:`arrow_order_declared`)."""
    if not arrow_order_declared(table.schema.field(name)):
        return None
    col = table.column(name)
    dicts = [chunk.dictionary.to_pylist() for chunk in col.chunks]
    if not dicts:
        return []
    first = dicts[0]
    return first if all(d == first for d in dicts[1:]) else None


def declared_categories(frame: Any, name: str) -> list[Hashable] | None:
    """The declared category order of a column of a narwhals frame, or None (sort it).

    Declared: a Polars ``Enum`` (its categories), a pandas ``Categorical`` (Dask's too), an
    Arrow dictionary column whose chunks share one dictionary. A Polars ``Categorical`` has
    no declared order (its physical order depends on the order rows were seen), so it is
    sorted, as strings are.
    """
    schema = frame.collect_schema() if isinstance(frame, nw.LazyFrame) else frame.schema
    dtype = schema[name]
    if isinstance(dtype, nw.Enum):
        return list(dtype.categories)
    if not isinstance(dtype, nw.Categorical):
        return None
    impl = frame.implementation
    native = frame.to_native()
    if impl.is_pandas() or impl.is_dask():
        cats = native[name].dtype
        if isinstance(cats, pd.CategoricalDtype) and cats.categories is not None:
            return list(cats.categories)
        return None
    if impl.is_pyarrow():
        return _arrow_declared(native, name)
    return None


def _declared_all(frame: Any) -> dict[str, list[Hashable]]:
    """Declared category orders of every column that has one."""
    out: dict[str, list[Hashable]] = {}
    names = frame.collect_schema().names() if isinstance(frame, nw.LazyFrame) else frame.columns
    for name in names:
        with quiet_dask():
            cats = declared_categories(frame, name)
        if cats is not None:
            out[name] = cats
    return out


def _arrow_to_pandas(table: Any) -> pd.DataFrame:
    out: pd.DataFrame = table.to_pandas()
    import pyarrow as pa

    for name in table.column_names:
        if pa.types.is_dictionary(table.schema.field(name).type):
            declared = _arrow_declared(table, name)
            _set_categories(out, name, declared)
    return out


def _set_categories(out: pd.DataFrame, name: str, declared: list[Hashable] | None) -> None:
    s = out[name]
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return
    cats = declared if declared is not None else _sorted_labels(list(s.cat.categories))
    if list(s.cat.categories) != list(cats):
        out[name] = s.cat.set_categories(cats)


def to_pandas(data: object, func: str, param: str = "data") -> pd.DataFrame:
    """``data`` as a pandas DataFrame: the frame itself when it is one, else converted once.

    Parameters
    ----------
    data : dataframe
        A pandas DataFrame (returned as it is: the caller copies it if it keeps it), a Polars
        DataFrame or LazyFrame, a PyArrow Table, RecordBatch or Dataset, a DuckDB relation or
        a Dask DataFrame (lazy ones are collected).
    func, param : str
        The public function and its parameter, for the error message.

    Returns
    -------
    pandas.DataFrame
        Same columns and values; missing values stay missing (integer columns with nulls
        become float with NaN, as pandas holds them), strings stay strings, Polars enums and
        Arrow dictionaries become pandas categoricals in their declared order, Polars
        categoricals in sorted order.

    Raises
    ------
    DelibpollError
        ``data`` is not a dataframe: the message names the accepted types.

    Examples
    --------
    >>> import polars as pl
    >>> df = to_pandas(pl.DataFrame({"sex": pl.Series(["M", "F"], dtype=pl.Enum(["M", "F"])),
    ...                              "age": [30, None]}), "example")
    >>> list(df["sex"].cat.categories), df["age"].isna().tolist()
    (['M', 'F'], [False, True])
    """
    if isinstance(data, pd.DataFrame):
        return data
    if is_arrow_dataset(data):
        return _arrow_to_pandas(data.to_table())  # type: ignore[attr-defined]
    if _is_arrow_batch(data):
        import pyarrow as pa

        return _arrow_to_pandas(pa.Table.from_batches([data]))
    frame = _from_native(data)
    if not isinstance(frame, nw.DataFrame | nw.LazyFrame):
        raise DelibpollError(
            f"The '{param}' parameter of {func} must be a dataframe ({ACCEPTED}); got "
            f"{type(data).__name__}."
        )
    if isinstance(frame, nw.LazyFrame):
        if frame.implementation.is_dask():
            with quiet_dask():
                computed = frame.to_native().compute()
            return to_pandas(computed, func, param)
        frame = frame.collect()
    impl = frame.implementation
    if impl.is_pandas():
        return to_pandas(frame.to_native(), func, param)
    if impl.is_pyarrow():
        return _arrow_to_pandas(frame.to_native())
    declared = {name: declared_categories(frame, name) for name in frame.columns}
    out = frame.to_pandas()
    for name, cats in declared.items():
        _set_categories(out, name, cats)
    return out


def lazy_frame(
    data: object, func: str, param: str = "source"
) -> tuple[Any, dict[str, list[Hashable]]]:
    """``data`` as a narwhals LazyFrame on its own engine (nothing is read yet), and the
    declared category orders of its columns (see :func:`declared_categories`), taken from
    the source before any conversion could lose them.

    Eager frames become lazy on their own library where it has a lazy mode (Polars), else
    through Polars (PyArrow tables and datasets, pandas); DuckDB relations, Dask dataframes
    and Polars LazyFrames stay on their engine. Parquet paths are handled by
    :mod:`delibpoll.lazy` (it checks the files first).

    Raises
    ------
    DelibpollError
        ``data`` is not a dataframe: the message names the accepted types.
    """
    if is_arrow_dataset(data):
        import polars as pl

        lf = nw.from_native(pl.scan_pyarrow_dataset(data))
        return lf, _declared_all(lf)
    if _is_arrow_batch(data):
        import pyarrow as pa

        data = pa.Table.from_batches([data])
    frame = _from_native(data)
    if isinstance(frame, nw.LazyFrame):
        return frame, _declared_all(frame)
    if isinstance(frame, nw.DataFrame):
        declared = _declared_all(frame)
        if frame.implementation.is_polars():
            return frame.lazy(), declared
        return frame.lazy(backend="polars"), declared
    raise DelibpollError(
        f"The '{param}' parameter of {func} must be a dataframe or a Parquet path "
        f"({ACCEPTED_LAZY}); got {type(data).__name__}."
    )
