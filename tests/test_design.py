"""Tests for delibpoll.design (SurveyDesign): construction, immutability, validation."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError, SurveyDesign


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "w": [1.0, 2.0, 3.0, 4.0],
            "h": ["a", "a", "b", "b"],
            "psu": [1, 2, 1, 2],
            "N": [10, 10, 20, 20],
            "x": ["None", "NA", "x", "y"],
        },
        index=[10, 11, 12, 13],
    )


def test_weights_line_up_with_the_index_and_data_is_copied() -> None:
    df = frame()
    d = SurveyDesign(df, weights="w")
    assert list(d.weights.index) == [10, 11, 12, 13]
    assert d.weights.tolist() == [1.0, 2.0, 3.0, 4.0]
    df.loc[10, "w"] = 99.0
    assert d.data.loc[10, "w"] == 1.0
    assert d.n == 4


def test_default_weights_are_one_and_df_is_n_minus_one() -> None:
    d = SurveyDesign(frame())
    assert d.weights.tolist() == [1.0] * 4
    assert d.df == 3.0


def test_strata_clusters_df_as_r_degf() -> None:
    d = SurveyDesign(frame(), weights="w", strata="h", ids="psu", fpc="N")
    # 4 PSUs (psu nested in strata) minus 2 strata
    assert d.df == 2.0
    assert "strata='h' (2)" in repr(d)


def test_immutable() -> None:
    d = SurveyDesign(frame())
    with pytest.raises(AttributeError, match="immutable"):
        d.n = 3  # type: ignore[misc]


def test_attrs_are_deep_copied_in_and_out() -> None:
    """#12 item 25: attrs were copied shallowly, so editing design.attrs["variable_labels"]
    edited the caller's frame (and the reverse). Now neither reaches the other."""
    df = frame()
    df.attrs = {"variable_labels": {"x": "The x question"},
                "value_labels": {"x": {1: "one"}}}
    d = SurveyDesign(df)
    d.attrs["variable_labels"]["x"] = "edited through the design"
    d.attrs["value_labels"]["x"][1] = "edited"
    assert df.attrs["variable_labels"] == {"x": "The x question"}
    assert df.attrs["value_labels"] == {"x": {1: "one"}}
    assert d.attrs["variable_labels"] == {"x": "The x question"}
    df.attrs["variable_labels"]["x"] = "edited through the frame"
    assert d.attrs["variable_labels"] == {"x": "The x question"}


def test_changing_data_copy_does_not_change_design() -> None:
    """design.data is a copy: editing it (after an estimate has cached the column's codes)
    changes neither the design's data nor later estimates."""
    df = pd.DataFrame({"q": ["a", "b", "a", "a"], "w": [1.0, 2.0, 1.0, 1.0]})
    d = SurveyDesign(df, weights="w")
    before = dp.proportion(d, "q").to_frame()
    data = d.data
    data.loc[0, "q"] = "b"
    data["q"] = "z"
    assert d.data["q"].tolist() == ["a", "b", "a", "a"]
    pd.testing.assert_frame_equal(dp.proportion(d, "q").to_frame(), before)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([1.0, np.nan, 1.0, 1.0], "1 missing"),
        ([1.0, 0.0, 1.0, 1.0], "zero or negative"),
        ([1.0, -2.0, 1.0, 1.0], "zero or negative"),
        ([1.0, np.inf, 1.0, 1.0], "infinite"),
    ],
)
def test_bad_weights(values: list[float], match: str) -> None:
    df = frame().assign(w=values)
    with pytest.raises(DelibpollError, match=match):
        SurveyDesign(df, weights="w")


def test_unknown_columns_list_the_available_ones() -> None:
    with pytest.raises(DelibpollError, match=r"'weights' parameter.*\['wt'\].*Available columns"):
        SurveyDesign(frame(), weights="wt")


def test_bad_inputs() -> None:
    with pytest.raises(DelibpollError, match="DataFrame"):
        SurveyDesign([1, 2])  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="empty"):
        SurveyDesign(pd.DataFrame({"a": []}))
    with pytest.raises(DelibpollError, match="duplicate labels"):
        SurveyDesign(pd.DataFrame({"a": [1, 2]}, index=[0, 0]))
    with pytest.raises(DelibpollError, match="lonely_psu"):
        SurveyDesign(frame(), lonely_psu="drop")  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="varies within a stratum"):
        SurveyDesign(frame().assign(N=[10, 11, 20, 20]), strata="h", fpc="N")
    with pytest.raises(DelibpollError, match="missing"):
        SurveyDesign(frame().assign(h=["a", None, "b", "b"]), strata="h")


def _write_none_na_empty(path: Path) -> None:
    """Files written by other writers (the csv module, pyreadstat, pyarrow), not by delibpoll:
    answers "None", "NA", "" (as labelled codes 1, 2, 3 in .sav/.dta) and one true missing."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pyreadstat

    suffix = path.suffix
    if suffix == ".csv":
        path.write_text('party,w\nNone,1\nNA,2\n"",3\n,4\n')
    elif suffix in (".sav", ".dta"):
        df = pd.DataFrame({"party": [1.0, 2.0, 3.0, np.nan], "w": [1.0, 2.0, 3.0, 4.0]})
        labels = {"party": {1: "None", 2: "NA", 3: ""}}
        writer = pyreadstat.write_sav if suffix == ".sav" else pyreadstat.write_dta
        writer(df, str(path), variable_value_labels=labels)
    else:
        table = pa.table({"party": ["None", "NA", "", None], "w": [1.0, 2.0, 3.0, 4.0]})
        pq.write_table(table, path)


@pytest.mark.parametrize("suffix", [".csv", ".sav", ".dta", ".parquet"])
def test_text_none_na_and_empty_are_categories_through_the_readers(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"none{suffix}"
    _write_none_na_empty(path)
    d = SurveyDesign(dp.read_survey(path), weights="w")
    values = d.data["party"]
    assert values.iloc[:3].astype(str).tolist() == ["None", "NA", ""]
    assert values.isna().tolist() == [False, False, False, True]
    # and the estimate keeps them as categories: weighted shares 1/6, 2/6, 3/6 by hand
    est = dp.proportion(d, "party", na="drop").to_frame().set_index("category")["estimate"]
    assert est.to_dict() == pytest.approx({"None": 1 / 6, "NA": 2 / 6, "": 3 / 6}, abs=1e-12)


@functools.lru_cache(maxsize=1)
def _weighted_designs() -> dict[str, SurveyDesign]:
    t3 = dp.datasets.load_example(3).iloc[:800].reset_index(drop=True)
    targets = dp.datasets.england_adult_targets()
    raked = dp.rake(SurveyDesign(t3), targets)
    return {
        "raked_trimmed": dp.trim(raked, upper=3, relative=True),
        "calibrated": dp.calibrate(SurveyDesign(t3), targets, method="logit", bounds=(0.3, 3.0)),
        "poststratified": dp.poststratify(SurveyDesign(t3), dp.Targets.from_dict(
            {"sex": targets.shares("sex").to_dict()})),
        "replicates": raked.with_replicates("bootstrap", n_replicates=30, rng=1),
    }


@pytest.mark.parametrize("case", ["raked_trimmed", "calibrated", "poststratified", "replicates"])
def test_pickle_round_trip_keeps_every_number_and_the_log(case: str) -> None:
    """A pickled design (e.g. sent to a worker process) gives the same weights and
    estimates, and its weighting log still replays (it is plain data: nothing is re-run)."""
    import pickle

    d = _weighted_designs()[case]
    back = pickle.loads(pickle.dumps(d))
    np.testing.assert_array_equal(back.weights.to_numpy(), d.weights.to_numpy())
    pd.testing.assert_frame_equal(dp.proportion(back, "q_pact").to_frame(),
                                  dp.proportion(d, "q_pact").to_frame())
    assert [s.method for s in back.weighting_log] == [s.method for s in d.weighting_log]
    base = d._base_w
    for step_a, step_b in zip(d.weighting_log, back.weighting_log, strict=True):
        np.testing.assert_allclose(step_b.apply(base), step_a.apply(base), rtol=1e-12)
        base = step_a.apply(base)
    if d.replicate_weights is not None:
        assert back.replicate_weights is not None
        np.testing.assert_array_equal(back.replicate_weights.to_numpy(),
                                      d.replicate_weights.to_numpy())


def test_copies_of_an_immutable_design_are_itself() -> None:
    import copy

    d = _weighted_designs()["raked_trimmed"]
    assert copy.copy(d) is d and copy.deepcopy(d) is d


def test_a_step_pickled_alone_replays_from_its_record() -> None:
    """#13: a step is stored as data (its record), so a step pickled on its own replays
    exactly as the original (before #13 it could not: its replay was a closure)."""
    import pickle

    d = _weighted_designs()["raked_trimmed"]
    for step in d.weighting_log:
        alone = pickle.loads(pickle.dumps(step))
        base = np.column_stack([d.base_weight_array, 2 * d.base_weight_array])
        np.testing.assert_array_equal(alone.apply(base), step.apply(base))


def test_code_cache_is_bounded_and_reused() -> None:
    """design.py keeps the codes of at most CODE_CACHE_COLUMNS columns, compactly, and
    reuses them (the same object on a second call)."""
    from delibpoll import design as design_module

    df = pd.DataFrame({f"q{i}": pd.Categorical(["a", "b"] * 50) for i in range(40)})
    d = SurveyDesign(df)
    first, cats = d.compact_codes("q0")
    assert first.dtype == np.int8 and d.compact_codes("q0")[0] is first and cats == ["a", "b"]
    for i in range(40):
        d.column_codes(f"q{i}")
    assert d.cached_code_columns() <= design_module.CODE_CACHE_COLUMNS
    codes, cats = d.column_codes("q39")
    assert codes.dtype == np.int64 and cats == ["a", "b"] and not codes.flags.writeable



def test_code_cache_is_shared_by_designs_on_the_same_data() -> None:
    """Codes depend on the data only: a raked design reuses its base design's codes (the
    same objects), and a design with a changed column codes its columns afresh."""
    df = pd.DataFrame({"a": pd.Categorical(["x", "y", "x", "x"] * 10),
                       "q": ["u", "v"] * 20})
    d = SurveyDesign(df)
    codes_a, _ = d.compact_codes("a")
    raked = dp.rake(d, dp.Targets.from_dict({"a": {"x": 0.5, "y": 0.5}}))
    assert raked.compact_codes("a")[0] is codes_a
    raked.compact_codes("q")
    assert d.cached_code_columns() == raked.cached_code_columns() == 2
    changed = raked.with_columns({"a": pd.Categorical(["y", "x", "x", "x"] * 10)})
    got, cats = changed.compact_codes("a")
    assert got is not codes_a and got.tolist()[:4] == [1, 0, 0, 0] and cats == ["x", "y"]
    assert d.compact_codes("a")[0].tolist()[:4] == [0, 1, 0, 0]

def test_base_weights_constant_is_known_without_a_pass_and_shared() -> None:
    df = pd.DataFrame({"a": ["x", "y"] * 20, "w": np.r_[np.ones(39), 2.0]})
    assert SurveyDesign(df).base_weights_constant
    d = SurveyDesign(df, weights="w")
    assert not d.base_weights_constant
    raked = dp.rake(d, dp.Targets.from_dict({"a": {"x": 0.5, "y": 0.5}}))
    assert not raked.base_weights_constant
    assert SurveyDesign(df.assign(w=3.0), weights="w").base_weights_constant
