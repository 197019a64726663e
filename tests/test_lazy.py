"""Out-of-core designs (delibpoll.scan): every engine gives the in-memory numbers.

The in-memory path is itself checked against R (test_estimation, test_weighting: R
``rake``/``calibrate``/``postStratify`` + ``svymean``/``svyby`` at 1e-10); here each engine is a
consistency check against it at the issue's tolerances (weights 1e-12 relative, estimates
and SEs 1e-10), on small data drawn from seeded generators and hypothesis strategies.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delibpoll import (
    LazyDesign,
    SurveyDesign,
    Targets,
    banner,
    calibrate,
    mean,
    poststratify,
    proportion,
    rake,
    scan,
    total,
)
from delibpoll.exceptions import DelibpollError

AGE = ["55+", "18-34", "35-54"]  # a declared, unsorted order


def _data(n: int = 1200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "sex": rng.choice(["F", "M"], n, p=[0.6, 0.4]),
        "age": pd.Categorical(rng.choice(AGE, n), categories=AGE),
        "region": rng.choice(["n", "s", "e", "w"], n),
        "q": rng.choice(["agree", "neutral", "disagree", "dk"], n),
        "score": rng.integers(0, 11, n).astype(float),
        "w": rng.uniform(0.4, 2.5, n),
        "stratum": rng.choice(["a", "b", "c"], n),
    })
    df["psu"] = df["stratum"] + pd.Series(rng.integers(0, 12, n)).astype(str)
    return df


TARGETS = Targets.from_dict({
    "sex": {"F": 0.51, "M": 0.49},
    "age": {"18-34": 0.3, "35-54": 0.33, "55+": 0.37},
    "region": {"n": 0.2, "s": 0.3, "e": 0.25, "w": 0.25},
})


def _polars(df: pd.DataFrame) -> pl.DataFrame:
    out = pl.from_pandas(df.assign(age=df["age"].astype(str)))
    return out.with_columns(pl.col("age").cast(pl.Enum(AGE)))


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    """Two workers of one thread each (a real scheduler, in-process to stay fast)."""
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
    yield client
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.close()
        cluster.close()


def _sources(tmp: Path) -> dict[str, Callable[[pd.DataFrame], Any]]:
    def parquet_folder(df: pd.DataFrame) -> str:
        folder = tmp / f"parts{len(list(tmp.iterdir()))}"
        folder.mkdir()
        for k, part in enumerate(np.array_split(np.arange(len(df)), 3)):
            df.iloc[part].to_parquet(folder / f"part{k}.parquet", index=False)
        return str(folder)

    return {
        "polars-lazy": lambda df: _polars(df).lazy(),
        "polars": _polars,
        "duckdb": lambda df: duckdb.from_df(df),
        "pyarrow-table": lambda df: pa.Table.from_pandas(df, preserve_index=False),
        "pyarrow-dataset": lambda df: ds.dataset(pa.Table.from_pandas(df, preserve_index=False)),
        "parquet": parquet_folder,
        "dask": lambda df: dd.from_pandas(df, npartitions=3),
    }


ENGINES = ["polars-lazy", "polars", "duckdb", "pyarrow-table", "pyarrow-dataset", "parquet",
           "dask"]


def _close(got: pd.DataFrame, want: pd.DataFrame, rtol: float = 1e-10) -> None:
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        g, e = got[col].to_numpy(), want[col].to_numpy()
        if want[col].dtype.kind == "f":
            np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-15, err_msg=col)
        else:
            assert g.tolist() == e.tolist(), col


def _estimates(d: Any) -> list[pd.DataFrame]:
    if isinstance(d, LazyDesign):
        return [d.proportion("q").to_frame(), d.proportion("q", by="age").to_frame(),
                d.proportion("q", by=["sex", "region"], ci_method="beta").to_frame(),
                d.mean("score", by="age").to_frame(), d.total("score").to_frame()]
    return [proportion(d, "q").to_frame(), proportion(d, "q", by="age").to_frame(),
            proportion(d, "q", by=["sex", "region"], ci_method="beta").to_frame(),
            mean(d, "score", by="age").to_frame(), total(d, "score").to_frame()]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("structure", [{}, {"strata": "stratum", "ids": "psu"}],
                         ids=["rows", "strata+psu"])
def test_raked_estimates_equal_the_in_memory_path(
    engine: str, structure: dict[str, str], tmp_path: Path, dask_client: Any
) -> None:
    df = _data()
    want_design = rake(SurveyDesign(df, weights="w", **structure), TARGETS)
    lazy = scan(_sources(tmp_path)[engine](df), weights="w", **structure).rake(TARGETS)
    assert lazy.n == len(df) and lazy.df == want_design.df
    for got, want in zip(_estimates(lazy), _estimates(want_design), strict=True):
        _close(got, want)
    out = lazy.write_parquet(tmp_path / "weighted.parquet")
    back = pd.read_parquet(out)
    assert list(back.columns)[:-1] == list(df.columns) and len(back) == len(df)
    np.testing.assert_allclose(back["weight"].to_numpy(), want_design.weights.to_numpy(),
                               rtol=1e-12)


@pytest.mark.parametrize("engine", ["polars-lazy", "duckdb", "dask"])
def test_calibrate_and_poststratify_equal_the_in_memory_path(
    engine: str, tmp_path: Path, dask_client: Any
) -> None:
    df = _data(seed=5)
    make = _sources(tmp_path)[engine]
    # Dask runs each pass as a graph on the cluster: one method there keeps the test fast
    for method in ("raking",) if engine == "dask" else ("linear", "raking", "logit"):
        opts: dict[str, Any] = {"bounds": (0.3, 3.0)} if method == "logit" else {}
        want = calibrate(SurveyDesign(df, weights="w"), TARGETS, method=method, **opts)
        got = scan(make(df), weights="w").calibrate(TARGETS, method=method, **opts)
        for g, e in zip(_estimates(got), _estimates(want), strict=True):
            _close(g, e)
    joint = Targets.from_frame(_data(n=5000, seed=9), [("sex", "age")])
    want = poststratify(SurveyDesign(df, weights="w"), joint)
    got = scan(make(df), weights="w").poststratify(joint)
    for g, e in zip(_estimates(got), _estimates(want), strict=True):
        _close(g, e)


@pytest.mark.parametrize("as_fraction", [False, True])
def test_fpc_equals_the_in_memory_path(as_fraction: bool) -> None:
    df = _data(seed=21)
    n_psu = df.groupby("stratum")["psu"].nunique()
    pop = {"a": 60, "b": 45, "c": 80}
    df["fpc"] = df["stratum"].map(
        {h: n_psu[h] / pop[h] for h in pop} if as_fraction else pop).astype(float)
    want = rake(SurveyDesign(df, weights="w", strata="stratum", ids="psu", fpc="fpc"), TARGETS)
    got = scan(_polars(df).lazy(), weights="w", strata="stratum", ids="psu",
               fpc="fpc").rake(TARGETS)
    for g, e in zip(_estimates(got), _estimates(want), strict=True):
        _close(g, e)


def test_bad_structure_gives_the_in_memory_errors() -> None:
    df = _data()
    df["fpc"] = np.where(df["stratum"] == "a", 50.0, 70.0)
    df.loc[7, "fpc"] = 71.0
    _same_error(lambda: scan(duckdb.from_df(df), strata="stratum", ids="psu", fpc="fpc"),
                lambda: SurveyDesign(df, strata="stratum", ids="psu", fpc="fpc"))
    df["fpc"] = np.where(df["stratum"] == "a", 5.0, 70.0)  # fewer PSUs than sampled
    _same_error(lambda: scan(duckdb.from_df(df), strata="stratum", ids="psu", fpc="fpc"),
                lambda: SurveyDesign(df, strata="stratum", ids="psu", fpc="fpc"))
    df.loc[[3, 4], "stratum"] = None
    _same_error(lambda: scan(_polars(df).lazy(), strata="stratum"),
                lambda: SurveyDesign(df, strata="stratum"))


@pytest.mark.parametrize("engine", ["polars-lazy", "duckdb", "dask"])
@pytest.mark.parametrize("structure", [{}, {"strata": "stratum", "ids": "psu"}],
                         ids=["rows", "strata+psu"])
def test_banner_equals_the_in_memory_banner(engine: str, structure: dict[str, str],
                                            tmp_path: Path, dask_client: Any) -> None:
    """Every number, letter, base, note and label of the banner; the in-memory banner is
    checked against R in test_banner."""
    df = _data(seed=8)
    df.loc[::11, "q"] = None
    df["binary"] = np.where(df["score"] > 5, "high", "low")
    rows, cols = ["q", "score", "binary"], ["region", "stratum"]
    want = banner(rake(SurveyDesign(df, weights="w", **structure), TARGETS), rows, cols,
                  adjust="holm", min_base=300, decimals=1)
    got = banner(scan(_sources(tmp_path)[engine](df), weights="w", **structure).rake(TARGETS),
                 rows, cols, adjust="holm", min_base=300, decimals=1)
    _close(got.to_frame(), want.to_frame())
    assert got.notes == want.notes and got.base_lines == want.base_lines
    assert got.to_markdown() == want.to_markdown()


def test_banner_options_that_need_rows_are_refused() -> None:
    d = scan(_polars(_data()).lazy(), weights="w")
    with pytest.raises(DelibpollError, match="'exclude' parameter of banner is not available "
                       "on a lazy design"):
        banner(d, ["q"], ["sex"], exclude=["dk"])
    with pytest.raises(DelibpollError, match="Multi-response sets"):
        banner(d, [{"set": ["sex", "region"]}], ["stratum"])
    with pytest.raises(DelibpollError, match="names column\\(s\\) \\['nope'\\]"):
        banner(d, ["q"], ["nope"])
    # the banner variables are checked as in memory (before: None a TypeError, a dict its keys)
    for bad in (None, {"sex": 1}):
        with pytest.raises(DelibpollError, match="'columns' parameter of banner must be a banner "
                           "variable"):
            banner(d, ["q"], bad)


def test_unweighted_and_missing_answers(tmp_path: Path) -> None:
    df = _data(seed=11)
    df.loc[::7, "q"] = None
    df.loc[::5, "score"] = np.nan
    want = SurveyDesign(df, weights="w", strata="stratum")
    got = scan(_polars(df).lazy(), weights="w", strata="stratum")
    _close(got.proportion("q", by="sex", na="drop").to_frame(),
           proportion(want, "q", by="sex", na="drop").to_frame())
    _close(got.mean("score", by="region", na="drop").to_frame(),
           mean(want, "score", by="region", na="drop").to_frame())
    assert got.proportion("q", na="drop").n_missing == proportion(want, "q", na="drop").n_missing
    with pytest.raises(DelibpollError) as lazy_err:
        got.proportion("q")
    with pytest.raises(DelibpollError) as mem_err:
        proportion(want, "q")
    assert str(lazy_err.value) == str(mem_err.value)


@pytest.mark.parametrize("engine", ["polars-lazy", "duckdb", "parquet", "dask"])
def test_small_integer_codes_and_missing_answers(engine: str, tmp_path: Path,
                                                  dask_client: Any) -> None:
    """Small-integer keys are packed into one engine key (one hash column); nulls in the
    answer stay missing and booleans stay booleans."""
    rng = np.random.default_rng(17)
    n = 900
    df = pd.DataFrame({
        "sex": rng.integers(1, 3, n).astype(np.int8),
        "age": rng.integers(0, 4, n).astype(np.uint8),
        "q": pd.array(rng.integers(-2, 2, n), dtype="Int16"),
        "flag": rng.random(n) < 0.3,
        "y": rng.normal(size=n),
        "w": rng.uniform(0.5, 2.0, n),
    })
    df.loc[::9, "q"] = pd.NA
    df.loc[::13, "y"] = np.nan
    targets = Targets.from_dict({"sex": {1: 0.48, 2: 0.52}, "age": {0: 0.2, 1: 0.3, 2: 0.3, 3: 0.2}})
    want = rake(SurveyDesign(df, weights="w"), targets)
    make = (lambda d: pl.from_pandas(d).lazy()) if engine == "polars-lazy" else _sources(
        tmp_path)[engine]
    got = scan(make(df), weights="w").rake(targets)
    _close(got.proportion("q", by="age", na="drop").to_frame(),
           proportion(want, "q", by="age", na="drop").to_frame())
    _close(got.proportion("flag", by="sex").to_frame(),
           proportion(want, "flag", by="sex").to_frame())
    _close(got.mean("y", by=["sex", "flag"], na="drop").to_frame(),
           mean(want, "y", by=["sex", "flag"], na="drop").to_frame())
    out = got.write_parquet(tmp_path / "w.parquet")
    np.testing.assert_allclose(pd.read_parquet(out)["weight"], want.weights, rtol=1e-12)


def test_rake_and_first_estimate_share_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """The weighting step is fitted from the first estimate's group table: one pass over
    the data for rake + proportion (counted at the engine boundary)."""
    import delibpoll.lazy as lazy_module

    calls: list[int] = []
    real = lazy_module.to_pandas

    def counting(data: Any, func: str, param: str = "data") -> pd.DataFrame:
        calls.append(1)
        return real(data, func, param)

    df = _data()
    d = scan(_polars(df).lazy(), weights="w")
    monkeypatch.setattr(lazy_module, "to_pandas", counting)
    raked = d.rake(TARGETS)
    assert calls == []
    est = raked.proportion("q", by="age")
    assert len(calls) == 1
    assert raked.weighting is not None and raked.weighting["converged"] and len(calls) == 1
    want = proportion(rake(SurveyDesign(df, weights="w"), TARGETS), "q", by="age")
    _close(est.to_frame(), want.to_frame())


def test_category_order_is_declared_else_sorted(tmp_path: Path) -> None:
    df = _data()
    for src in (_polars(df).lazy(), duckdb.from_df(df), _sources(tmp_path)["parquet"](df)):
        est = scan(src).proportion("q", by="age").to_frame()
        assert list(dict.fromkeys(est["age"])) == AGE  # declared
        assert list(dict.fromkeys(est["category"])) == sorted(set(df["q"]))  # sorted text


def test_pyspark_when_installed(tmp_path: Path) -> None:
    """PySpark is optional (it needs Java and a large wheel): skipped when not installed."""
    pytest.importorskip("pyspark")
    with warnings.catch_warnings():
        # PySpark announces that it does not fully support pandas 3 yet; we pass it Arrow
        warnings.simplefilter("ignore", FutureWarning)
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.master("local[2]").getOrCreate()
        try:
            df = _data()
            want = rake(SurveyDesign(df, weights="w"), TARGETS)
            sdf = spark.createDataFrame(pa.Table.from_pandas(
                df.assign(age=df["age"].astype(str)), preserve_index=False))
            got = scan(sdf, weights="w").rake(TARGETS)
            _close(got.proportion("q", by="sex").to_frame(),
                   proportion(want, "q", by="sex").to_frame())
            _close(got.mean("score").to_frame(), mean(want, "score").to_frame())
        finally:
            spark.stop()


# ---------------------------------------------------------------------- bad input
def _same_error(lazy_call: Callable[[], Any], memory_call: Callable[[], Any]) -> str:
    with pytest.raises(DelibpollError) as lazy_err:
        lazy_call()
    with pytest.raises(DelibpollError) as mem_err:
        memory_call()
    assert str(lazy_err.value) == str(mem_err.value)
    return str(lazy_err.value)


def test_nulls_in_a_weighting_variable_give_the_in_memory_error(tmp_path: Path) -> None:
    df = _data()
    df.loc[[3, 10, 11], "region"] = None
    out = tmp_path / "never.parquet"

    def lazy() -> None:
        scan(_polars(df).lazy(), weights="w").rake(TARGETS).write_parquet(out)

    msg = _same_error(lazy, lambda: rake(SurveyDesign(df, weights="w"), TARGETS))
    assert "Weighting variable 'region' has 3 missing value(s)" in msg
    assert not out.exists()


def test_a_category_without_target_gives_the_in_memory_error(tmp_path: Path) -> None:
    df = _data()
    df.loc[[0, 1], "region"] = "islands"
    # the weighting is fitted with the first pass that needs it (here .weighting)
    msg = _same_error(lambda: scan(duckdb.from_df(df), weights="w").rake(TARGETS).weighting,
                      lambda: rake(SurveyDesign(df, weights="w"), TARGETS))
    assert "['islands'] in the data with no target" in msg


def test_bad_weights_and_columns_give_the_in_memory_errors() -> None:
    df = _data()
    df.loc[4, "w"] = -1.0
    _same_error(lambda: scan(_polars(df).lazy(), weights="w"),
                lambda: SurveyDesign(df, weights="w"))
    df.loc[4, "w"] = np.nan
    _same_error(lambda: scan(pl.from_pandas(df).lazy(), weights="w"),
                lambda: SurveyDesign(df, weights="w"))
    _same_error(lambda: scan(_polars(_data()).lazy(), weights="wt"),
                lambda: SurveyDesign(_data(), weights="wt"))
    with pytest.raises(DelibpollError, match="'source' parameter of scan must be a dataframe "
                       "or a Parquet path"):
        scan([1, 2, 3])


def test_parquet_files_with_a_missing_column_are_refused(tmp_path: Path) -> None:
    df = _data()
    df.iloc[:600].to_parquet(tmp_path / "a.parquet", index=False)
    df.iloc[600:].drop(columns="region").to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(DelibpollError, match=r"do not all have the same columns: missing "
                       r".*b\.parquet: \['region'\]"):
        scan(tmp_path)
    with pytest.raises(DelibpollError, match="no Parquet file is there"):
        scan(tmp_path / "nothing")


def test_parquet_files_whose_categories_differ_are_refused(tmp_path: Path) -> None:
    df = _data()
    first, second = df.iloc[:600].copy(), df.iloc[600:].copy()
    second["age"] = second["age"].cat.reorder_categories(sorted(AGE))
    first.to_parquet(tmp_path / "a.parquet", index=False)
    second.to_parquet(tmp_path / "b.parquet", index=False)
    out = tmp_path / "out.parquet"
    with pytest.raises(DelibpollError, match="Column 'age' is categorical with different "
                       "categories in different files"):
        scan(tmp_path).rake(TARGETS).write_parquet(out)
    assert not out.exists()


def test_a_row_group_with_other_categories_is_refused(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    first = pa.table({"c": pa.array(["x", "y"]).dictionary_encode(), "w": [1.0, 1.0]})
    other = pa.table({"c": pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()),
                                                          pa.array(["x", "z"])),
                      "w": [1.0, 1.0]})
    with pq.ParquetWriter(tmp_path / "a.parquet", first.schema) as writer:
        writer.write_table(first)
        writer.write_table(other)
    with pytest.raises(DelibpollError, match=r"Column 'c' has values \['z'\] outside its "
                       r"declared categories \['x', 'y'\]"):
        scan(tmp_path / "a.parquet").proportion("c")


def test_dask_partitions_whose_categories_differ_are_refused(dask_client: Any) -> None:
    df = _data()
    a, b = df.iloc[:600].copy(), df.iloc[600:].copy()
    b["age"] = b["age"].cat.reorder_categories(sorted(AGE))
    ddf = dd.concat([dd.from_pandas(a, npartitions=1), dd.from_pandas(b, npartitions=1)])
    ddf["age"] = ddf["age"].cat.as_unknown()
    with pytest.raises(DelibpollError, match="categorical with different categories in "
                       "different partitions"):
        scan(ddf)


def test_write_parquet_refuses_before_writing(tmp_path: Path) -> None:
    d = scan(_polars(_data()).lazy(), weights="w").rake(TARGETS)
    with pytest.raises(DelibpollError, match="already has a column 'w'"):
        d.write_parquet(tmp_path / "x.parquet", weight_name="w")
    with pytest.raises(DelibpollError, match="does not exist"):
        d.write_parquet(tmp_path / "no" / "x.parquet")
    with pytest.raises(DelibpollError, match="already weighted"):
        d.rake(TARGETS)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- properties
@st.composite
def _surveys(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(40, 120))
    sex = draw(st.lists(st.sampled_from(["F", "M"]), min_size=n, max_size=n))
    q = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    w = draw(st.lists(st.floats(0.2, 5.0), min_size=n, max_size=n))
    y = draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))
    return pd.DataFrame({"sex": sex, "q": q, "w": w, "y": np.asarray(y, dtype=float)})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=_surveys(), share=st.floats(0.2, 0.8))
def test_property_lazy_rake_equals_in_memory(df: pd.DataFrame, share: float) -> None:
    if df["sex"].nunique() < 2:
        return
    targets = Targets.from_dict({"sex": {"F": share, "M": 1 - share}})
    want = rake(SurveyDesign(df, weights="w"), targets)
    got = scan(pl.from_pandas(df).lazy(), weights="w").rake(targets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant answer warns the same on both paths
        _close(got.proportion("q", by="sex").to_frame(),
               proportion(want, "q", by="sex").to_frame())
        _close(got.mean("y").to_frame(), mean(want, "y").to_frame(), rtol=1e-9)


def test_a_polars_categorical_is_sorted_whatever_the_route(tmp_path: Path) -> None:
    """A Polars ``Categorical`` declares no order (its dictionary is the order rows were
    seen): sorted eagerly, through Arrow, lazily and from a Parquet file Polars wrote; an
    ``Enum`` keeps its declared order on every route."""
    frame = pl.DataFrame({
        "g": pl.Series(["s", "n", "e", "n", "s", "e"], dtype=pl.Categorical),
        "q": pl.Series(["b", "c", "a", "c", "a", "b"], dtype=pl.Enum(["c", "b", "a"])),
        "w": [1.0, 2.0, 1.0, 1.5, 1.0, 0.5],
    })
    path = tmp_path / "cats.parquet"
    frame.write_parquet(path)
    routes = {
        "eager": proportion(SurveyDesign(frame, weights="w"), "q", by="g"),
        "arrow": proportion(SurveyDesign(frame.to_arrow(), weights="w"), "q", by="g"),
        "lazy": scan(frame.lazy(), weights="w").proportion("q", by="g"),
        "parquet": scan(path, weights="w").proportion("q", by="g"),
    }
    for route, est in routes.items():
        fr = est.to_frame()
        assert list(dict.fromkeys(fr["g"])) == ["e", "n", "s"], route
        assert list(dict.fromkeys(fr["category"])) == ["c", "b", "a"], route
