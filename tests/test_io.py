"""Tests for delibpoll.io: read_survey / write_survey round trips, labels, user-missing codes,
and malformed files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import delibpoll as dp
from delibpoll import DelibpollError, DelibpollWarning, read_survey, write_survey


def labelled_frame() -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "q": pd.Categorical(["Yes", "No", "Yes", None, "Don't know"],
                                categories=["Yes", "No", "Don't know"]),
            "score": [3.0, np.nan, 7.0, 10.0, 0.0],
            "party": ["None", "NA", "Labour", "None", "Green"],
        }
    )
    df.attrs["variable_labels"] = {"q": "Do you agree?", "score": "Trust 0-10"}
    df.attrs["missing_codes"] = {"score": {99: "Don't know"}, "q": {-9: "Not answered"}}
    df.attrs["missing_reasons"] = {"score": {1: [99, "Don't know"]}, "q": {3: [-9, "Not answered"]}}
    return df


def test_sav_round_trip_keeps_values_labels_missing_reasons(tmp_path: Path) -> None:
    df = labelled_frame()
    path = write_survey(df, tmp_path / "x.sav")
    back = read_survey(path)
    assert back["q"].cat.categories.tolist() == ["Yes", "No", "Don't know"]
    assert back["q"].tolist()[:3] == ["Yes", "No", "Yes"] and pd.isna(back["q"].iloc[3])
    np.testing.assert_array_equal(back["score"].to_numpy(), df["score"].to_numpy())
    assert back.attrs["variable_labels"]["q"] == "Do you agree?"
    assert back.attrs["missing_reasons"]["score"] == {1: [99, "Don't know"]}
    assert back.attrs["missing_reasons"]["q"] == {3: [-9, "Not answered"]}
    assert back["party"].tolist() == ["None", "NA", "Labour", "None", "Green"]
    # and the file itself declares the codes as user-missing, as SPSS would see them
    _, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert meta.missing_ranges["score"][0]["lo"] == 99


def test_user_missing_keep_keeps_labelled_categories(tmp_path: Path) -> None:
    path = write_survey(labelled_frame(), tmp_path / "x.sav")
    kept = read_survey(path, user_missing="keep")
    assert "Not answered" in kept["q"].cat.categories
    assert kept["q"].iloc[3] == "Not answered"
    assert np.isnan(kept["score"].iloc[1])  # numeric columns: code is still missing


def test_design_weights_round_trip_sav_csv_parquet(tmp_path: Path) -> None:
    df = dp.datasets.load_example(3).head(300)
    t = dp.datasets.england_adult_targets(["sex", "age_group"])
    design = dp.rake(dp.SurveyDesign(df), t)
    for suffix in (".sav", ".csv", ".parquet"):
        path = write_survey(design, tmp_path / f"w{suffix}")
        back = read_survey(path)
        np.testing.assert_allclose(back["weight"].to_numpy(), design.weights.to_numpy(), rtol=1e-12)
        assert back["q_pact"].astype(str).tolist() == df["q_pact"].astype(str).tolist()
    with pytest.raises(DelibpollError, match="already has a column 'weight'"):
        write_survey(dp.SurveyDesign(df.assign(weight=1.0)), tmp_path / "z.csv")


def test_csv_text_none_and_na_stay_values(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\nNone,1\nNA,\nx,3\n")
    df = read_survey(path)
    assert df["a"].tolist() == ["None", "NA", "x"]
    assert np.isnan(df["b"].iloc[1])
    df2 = read_survey(path, na_values=["NA"])
    assert pd.isna(df2["a"].iloc[1])


def test_ragged_and_truncated_csv_rejected(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n")
    with pytest.raises(DelibpollError, match=r"r\.csv' line 3 has 2 fields but the header has 3"):
        read_survey(path)
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DelibpollError, match="empty"):
        read_survey(tmp_path / "e.csv")


def test_truncated_or_mislabelled_sav(tmp_path: Path) -> None:
    good = write_survey(labelled_frame(), tmp_path / "g.sav")
    data = good.read_bytes()
    bad = tmp_path / "bad.sav"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(DelibpollError, match=r"bad\.sav"):
        read_survey(bad)
    fake = tmp_path / "fake.sav"
    fake.write_text("a,b\n1,2\n")
    with pytest.raises(DelibpollError, match=r"fake\.sav.*truncated or not of the type"):
        read_survey(fake)
    with pytest.raises(DelibpollError, match="unknown extension"):
        read_survey(tmp_path / "x.xlsx") if (tmp_path / "x.xlsx").write_text("") is not None else None
    with pytest.raises(DelibpollError, match="does not exist"):
        read_survey(tmp_path / "nope.sav")


def test_unlabelled_codes_kept_as_categories_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "u.sav"
    df = pd.DataFrame({"q": [1.0, 2.0, 3.0, 1.0]})
    pyreadstat.write_sav(df, str(path), variable_value_labels={"q": {1: "Yes", 2: "No"}})
    with pytest.warns(DelibpollWarning, match=r"codes \[3\] with no value label"):
        back = read_survey(path)
    assert back["q"].tolist() == ["Yes", "No", "3", "Yes"]
    assert back["q"].isna().sum() == 0


def test_stata_and_tsv(tmp_path: Path) -> None:
    df = pd.DataFrame({"x": [1.0, 2.0], "g": ["a", "b"]})
    pyreadstat.write_dta(df, str(tmp_path / "d.dta"))
    back = read_survey(tmp_path / "d.dta")
    assert back["x"].tolist() == [1, 2]
    (tmp_path / "t.tsv").write_text("x\ty\n1\tNone\n")
    assert read_survey(tmp_path / "t.tsv")["y"].tolist() == ["None"]


def test_example_sav_and_csv_agree() -> None:
    sav = dp.datasets.load_example(3)
    csv = read_survey(dp.datasets.data_path("example", "tier3.csv"))
    for col in sav.columns:
        a = sav[col].astype(str).where(sav[col].notna(), "")
        b = csv[col].astype(str).where(csv[col].notna(), "")
        if pd.api.types.is_numeric_dtype(sav[col]):
            np.testing.assert_allclose(
                sav[col].to_numpy(dtype=float), csv[col].to_numpy(dtype=float), equal_nan=True
            )
        else:
            assert a.tolist() == b.tolist(), col
