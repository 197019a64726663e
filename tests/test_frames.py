"""The dataframe boundary: every engine's frame becomes the same pandas frame.

The reference for each conversion is the pandas frame written out by hand in the test
(values, missing values, dtypes, category orders), not the package's own output.
"""

from __future__ import annotations

import dask.dataframe as dd
import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delibpoll import SurveyDesign, Targets, proportion, rake
from delibpoll._frames import declared_categories, is_frame, lazy_frame, to_pandas
from delibpoll.exceptions import DelibpollError


def _polars() -> pl.DataFrame:
    return pl.DataFrame({
        "sex": pl.Series(["F", "M", "F", "M", "F"], dtype=pl.Enum(["M", "F"])),
        "region": pl.Series(["s", "n", "n", "s", "e"], dtype=pl.Categorical),
        "q": ["yes", None, "no", "yes", "yes"],
        "age": [30, 41, None, 25, 60],
        "w": [1.0, 2.0, 1.5, 1.0, 0.5],
    })


def _expected() -> pd.DataFrame:
    """The pandas frame the Polars frame above stands for, written by hand."""
    return pd.DataFrame({
        "sex": pd.Categorical(["F", "M", "F", "M", "F"], categories=["M", "F"]),
        # a Polars Categorical has no declared order: sorted
        "region": pd.Categorical(["s", "n", "n", "s", "e"], categories=["e", "n", "s"]),
        "q": ["yes", None, "no", "yes", "yes"],
        "age": [30.0, 41.0, np.nan, 25.0, 60.0],
        "w": [1.0, 2.0, 1.5, 1.0, 0.5],
    })


def _check_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    for c in want.columns:
        g, e = got[c], want[c]
        if isinstance(e.dtype, pd.CategoricalDtype):
            assert isinstance(g.dtype, pd.CategoricalDtype), c
            assert list(g.cat.categories) == list(e.cat.categories), c
        assert g.isna().tolist() == e.isna().tolist(), c
        assert [x for x in g.tolist() if not pd.isna(x)] == [
            x for x in e.tolist() if not pd.isna(x)
        ], c
    # strings stay strings (not categories, not numbers)
    assert pd.api.types.is_string_dtype(got["q"]) or got["q"].dtype == object


_DECLARED = ["s", "e", "n"]


def _pandas_source() -> pd.DataFrame:
    """The expected frame with region in a declared, unsorted order (as read_survey gives
    from value labels): engines that carry pandas categoricals keep that order."""
    e = _expected()
    e["region"] = e["region"].cat.reorder_categories(_DECLARED)
    return e


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: _polars(), id="polars"),
        pytest.param(lambda: _polars().lazy(), id="polars-lazy"),
    ],
)
def test_polars_frames_give_the_expected_pandas_frame(make: object) -> None:
    got = to_pandas(make(), "test")  # type: ignore[operator]
    _check_same(got, _expected())


@pytest.mark.parametrize(
    "make",
    [
        # an Arrow dictionary's order is declared (pandas writes its categories there)
        pytest.param(lambda: pa.Table.from_pandas(_pandas_source()), id="pyarrow-table"),
        pytest.param(lambda: ds.dataset(pa.Table.from_pandas(_pandas_source())),
                     id="pyarrow-dataset"),
        pytest.param(lambda: pa.Table.from_pandas(_pandas_source()).to_batches()[0],
                     id="pyarrow-batch"),
        pytest.param(lambda: duckdb.from_arrow(_pandas_source()), id="duckdb"),
        pytest.param(lambda: dd.from_pandas(_pandas_source(), npartitions=2), id="dask"),
    ],
)
def test_engines_keep_the_declared_order_of_pandas_categoricals(make: object) -> None:
    got = to_pandas(make(), "test")  # type: ignore[operator]
    _check_same(got, _pandas_source())


def test_pandas_passes_through_untouched() -> None:
    df = _expected()
    assert to_pandas(df, "test") is df


def test_arrow_chunks_with_different_dictionaries_are_sorted() -> None:
    # two chunks whose dictionaries disagree: no declared order, so sorted
    a = pa.array(["y", "x"]).dictionary_encode()
    b = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["z", "x"]))
    table = pa.Table.from_batches([
        pa.record_batch({"c": a}), pa.record_batch({"c": b}),
    ])
    got = to_pandas(table, "test")
    assert list(got["c"].cat.categories) == ["x", "y", "z"]
    assert got["c"].tolist() == ["y", "x", "z", "x"]


def test_declared_categories_by_engine() -> None:
    import narwhals as nw

    frame = nw.from_native(_polars())
    assert declared_categories(frame, "sex") == ["M", "F"]
    assert declared_categories(frame, "region") is None  # Polars Categorical: sorted
    assert declared_categories(frame, "q") is None
    lf, declared = lazy_frame(dd.from_pandas(_pandas_source(), npartitions=2), "test")
    assert declared == {"sex": ["M", "F"], "region": _DECLARED}


def test_unsupported_objects_name_the_accepted_types() -> None:
    with pytest.raises(DelibpollError, match=(
        r"The 'data' parameter of SurveyDesign must be a dataframe \(a pandas DataFrame, a "
        r"Polars DataFrame or LazyFrame, a PyArrow Table, RecordBatch or Dataset, a DuckDB "
        r"relation or a Dask DataFrame\); got dict"
    )):
        SurveyDesign({"a": [1, 2]})  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="'source' parameter of scan must be a dataframe "
                       "or a Parquet path"):
        lazy_frame(42, "scan")
    assert not is_frame([1, 2]) and is_frame(_polars())


def test_design_from_polars_equals_design_from_pandas() -> None:
    """Consistency check: the same weights and estimates whichever library held the rows
    (the estimates themselves are checked against R elsewhere)."""
    rng = np.random.default_rng(7)
    n = 200
    pdf = pd.DataFrame({
        "sex": rng.choice(["F", "M"], n),
        "q": rng.choice(["a", "b", "c"], n),
        "w": rng.uniform(0.5, 2.0, n),
    })
    targets = Targets.from_dict({"sex": {"F": 0.52, "M": 0.48}})
    want = proportion(rake(SurveyDesign(pdf, weights="w"), targets), "q")
    for src in (pl.from_pandas(pdf), pa.Table.from_pandas(pdf), duckdb.from_df(pdf)):
        got = proportion(rake(SurveyDesign(src, weights="w"), targets), "q")
        g, e = got.to_frame(), want.to_frame()
        assert g["category"].tolist() == e["category"].tolist()
        np.testing.assert_allclose(g["estimate"], e["estimate"], rtol=1e-14)
        np.testing.assert_allclose(g["se"], e["se"], rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.sampled_from(["b", "a", "c", "é", ""])),
                    min_size=1, max_size=30),
    nums=st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), min_size=1, max_size=30),
)
def test_values_and_nulls_survive_polars(values: list[str | None], nums: list[int | None]) -> None:
    k = min(len(values), len(nums))
    src = pl.DataFrame({"s": values[:k], "x": nums[:k]},
                       schema={"s": pl.String, "x": pl.Int64})
    got = to_pandas(src, "test")
    assert got["s"].isna().tolist() == [v is None for v in values[:k]]
    assert [v for v in got["s"].tolist() if not pd.isna(v)] == [v for v in values[:k] if v is not None]
    assert got["x"].isna().tolist() == [v is None for v in nums[:k]]
    assert [float(v) for v in got["x"] if not pd.isna(v)] == [float(v) for v in nums[:k] if v is not None]


@settings(max_examples=30, deadline=None)
@given(labels=st.lists(st.sampled_from(["d", "b", "a", "c"]), min_size=1, max_size=20),
       order=st.permutations(["d", "b", "a", "c"]))
def test_enum_order_is_kept_and_categorical_is_sorted(labels: list[str], order: list[str]) -> None:
    src = pl.DataFrame({"e": pl.Series(labels, dtype=pl.Enum(order)),
                        "c": pl.Series(labels, dtype=pl.Categorical)})
    got = to_pandas(src, "test")
    assert list(got["e"].cat.categories) == order
    assert list(got["c"].cat.categories) == sorted(set(labels))
    assert got["e"].tolist() == labels and got["c"].tolist() == labels


def test_plots_take_a_polars_frame_of_estimates() -> None:
    """Consistency check: a chart from a Polars copy of an estimate frame has the same data
    as the chart from the pandas frame."""
    from delibpoll import plot_estimates

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"q": rng.choice(["a", "b"], 60), "g": rng.choice(["x", "y"], 60)})
    fr = proportion(SurveyDesign(df), "q", by="g").to_frame()
    want = plot_estimates(fr).data
    got = plot_estimates(pl.from_pandas(fr.astype({"ci_note": str}))).data
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True),
                                  check_dtype=False, check_categorical=False)
