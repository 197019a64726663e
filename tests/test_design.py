"""Tests for delibpoll.design (SurveyDesign): construction, immutability, validation."""

from __future__ import annotations

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


def test_text_none_and_na_are_values_not_missing() -> None:
    d = SurveyDesign(frame())
    assert d.data["x"].isna().sum() == 0
