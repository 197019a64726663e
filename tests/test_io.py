"""Tests for delibpoll.io: read_survey / write_survey round trips, labels, user-missing codes,
and malformed files."""

from __future__ import annotations

import codecs
import struct
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


# --- issue #12 regressions -------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".sav", ".zsav"])
def test_sav_refuses_value_labels_that_would_be_truncated_and_merge(
    tmp_path: Path, suffix: str
) -> None:
    # item 3: pyreadstat cuts SPSS value labels at 120 bytes (checked here against
    # pyreadstat itself): two categories sharing a 120-byte prefix used to merge.
    stem = "x" * 120
    df = pd.DataFrame({"q": pd.Categorical([stem + "A", stem + "B"])})
    with pytest.raises(DelibpollError, match=r"value label .*code 1\) of column 'q' is 121 bytes"):
        write_survey(df, tmp_path / f"long{suffix}")
    assert not (tmp_path / f"long{suffix}").exists()
    # byte length in UTF-8, not characters: 61 x 'é' = 122 bytes
    with pytest.raises(DelibpollError, match="122 bytes.*at most 120 bytes"):
        write_survey(pd.DataFrame({"q": pd.Categorical(["é" * 61, "b"])}), tmp_path / f"u{suffix}")
    # exactly at the limit is written whole and read back unchanged
    at = pd.DataFrame({"q": pd.Categorical(["x" * 119 + "A", "x" * 119 + "B", "é" * 60])})
    back = read_survey(write_survey(at, tmp_path / f"ok{suffix}"))
    assert back["q"].tolist() == at["q"].tolist()


def test_variable_label_and_name_limits_sav_and_dta(tmp_path: Path) -> None:
    df = pd.DataFrame({"q": [1, 2]})
    df.attrs["variable_labels"] = {"q": "é" * 129}  # 258 bytes > 256
    with pytest.raises(DelibpollError, match="variable label of column 'q' is 258 bytes"):
        write_survey(df, tmp_path / "v.sav")
    df.attrs["variable_labels"] = {"q": "y" * 81}
    with pytest.raises(DelibpollError, match="81 characters.*at most 80 characters"):
        write_survey(df, tmp_path / "v.dta")
    with pytest.raises(DelibpollError, match=r"column name 'v+\.\.\.' is 65 bytes"):
        write_survey(pd.DataFrame({"v" * 65: [1]}), tmp_path / "n.sav")
    with pytest.raises(DelibpollError, match="32 characters in a variable name"):
        write_survey(pd.DataFrame({"v" * 33: [1]}), tmp_path / "n.dta")
    with pytest.raises(DelibpollError, match="32000 bytes"):
        write_survey(pd.DataFrame({"q": pd.Categorical(["z" * 32001, "w"])}), tmp_path / "l.dta")
    # at the limits: whole (outside reference: pyreadstat's own reading of the file)
    ok = pd.DataFrame({"v" * 32: [1, 2], "q": pd.Categorical(["z" * 32000, "w"])})
    ok.attrs["variable_labels"] = {"q": "y" * 80}
    write_survey(ok, tmp_path / "ok.dta")
    _, meta = pyreadstat.read_dta(str(tmp_path / "ok.dta"))
    assert meta.column_names_to_labels["q"] == "y" * 80
    assert sorted(len(v) for v in meta.variable_value_labels["q"].values()) == [1, 32000]


def test_csv_keeps_empty_string_category_apart_from_missing(tmp_path: Path) -> None:
    # item 7: "" is a category, missing is missing; also in a one-column file
    df = pd.DataFrame({"a": ["", None, "x", "None", "NA"], "b": [1.5, np.nan, 2.0, 3.0, 4.0]})
    path = write_survey(df, tmp_path / "e.csv")
    assert path.read_text() == 'a,b\n"",1.5\n,\nx,2.0\nNone,3.0\nNA,4.0\n'
    back = read_survey(path)
    assert back["a"].tolist()[0] == "" and pd.isna(back["a"].iloc[1])
    assert back["a"].tolist()[2:] == ["x", "None", "NA"]
    one = read_survey(write_survey(df[["a"]], tmp_path / "one.csv"))
    assert one["a"].tolist()[0] == "" and pd.isna(one["a"].iloc[1]) and len(one) == 5
    # a file from another tool (R's write.csv quotes text, writes "" for empty strings)
    (tmp_path / "r.csv").write_text('"a","n"\n"",1\n"x",2\n,3\n')
    r = read_survey(tmp_path / "r.csv")
    assert r["a"].tolist()[:2] == ["", "x"] and pd.isna(r["a"].iloc[2])
    assert r["n"].tolist() == [1, 2, 3]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_csv_delimiter_is_sniffed_or_given(tmp_path: Path, sep: str) -> None:
    # item 8: used to come back as one column
    path = tmp_path / "s.csv"
    path.write_text(sep.join(["id", "q", "x"]) + "\n" + sep.join(["1", "Yes", "2,5"]) + "\n"
                    + sep.join(["2", "No", "4"]) + "\n")
    df = read_survey(path)
    assert df.columns.tolist() == ["id", "q", "x"] and df["q"].tolist() == ["Yes", "No"]
    assert read_survey(path, sep=sep).equals(df) and read_survey(path, delimiter=sep).equals(df)


def test_csv_ambiguous_delimiter_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("a|b;c\n1|x;y\n")
    with pytest.raises(DelibpollError, match=r"several other separators \(';', '\|'\).*sep="):
        read_survey(path)
    assert read_survey(path, sep="|").columns.tolist() == ["a", "b;c"]
    with pytest.raises(DelibpollError, match="'sep' parameter of read_survey must be a single"):
        read_survey(path, sep=";;")


def test_csv_encodings(tmp_path: Path) -> None:
    # item 19: UnicodeDecodeError before
    text = "name,n\ncafé,1\nNaïve,2\n"
    (tmp_path / "w.csv").write_bytes(text.encode("cp1252"))
    with pytest.raises(DelibpollError, match=r"not UTF-8 text \(byte 0xe9 on line 2.*encoding='cp1252'"):
        read_survey(tmp_path / "w.csv")
    assert read_survey(tmp_path / "w.csv", encoding="cp1252")["name"].tolist() == ["café", "Naïve"]
    for enc in ("utf-8-sig", "utf-16", "utf-16-be", "utf-32"):
        data = text.encode(enc)
        if enc == "utf-16-be":
            data = codecs.BOM_UTF16_BE + data
        (tmp_path / "b.csv").write_bytes(data)
        assert read_survey(tmp_path / "b.csv")["name"].tolist() == ["café", "Naïve"], enc
    (tmp_path / "le.csv").write_bytes(text.encode("utf-16-le"))
    with pytest.raises(DelibpollError, match="UTF-16 text without a byte-order mark.*'utf-16-le'"):
        read_survey(tmp_path / "le.csv")
    (tmp_path / "junk.csv").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DelibpollError, match="not a text"):
        read_survey(tmp_path / "junk.csv")
    with pytest.raises(DelibpollError, match="unknown encoding: 'klingon'"):
        read_survey(tmp_path / "w.csv", encoding="klingon")
    with pytest.raises(DelibpollError, match="not valid utf-8 text"):
        read_survey(tmp_path / "w.csv", encoding="utf-8")


def test_write_errors_are_clear(tmp_path: Path) -> None:
    # item 21
    with pytest.raises(DelibpollError, match=r"column 'a' mixes values of types \['int', 'str'\]"):
        write_survey(pd.DataFrame({"a": [1, "x"]}), tmp_path / "m.parquet")
    with pytest.raises(DelibpollError, match="folder '.*nope' does not exist"):
        write_survey(pd.DataFrame({"a": [1]}), tmp_path / "nope" / "x.csv")
    with pytest.raises(DelibpollError, match=r"'path' parameter of read_survey .* Got 12345 \(int\)"):
        read_survey(12345)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "index",
    [pd.Index([10, 11, 12], name="rid"), pd.RangeIndex(5, 8),
     pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["h", "i"])],
)
def test_write_refuses_an_index_it_would_drop(tmp_path: Path, index: pd.Index) -> None:
    # item 24: the index was dropped without notice
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=index)
    for suffix in (".csv", ".sav", ".parquet", ".dta"):
        with pytest.raises(DelibpollError, match=r"reset_index\(\)"):
            write_survey(df, tmp_path / f"i{suffix}")
    back = read_survey(write_survey(df.reset_index(), tmp_path / "i.csv"))
    assert back.columns.tolist()[-1] == "x" and len(back.columns) == 1 + len(index.names)


def _set_sav_cases(data: bytes, n: int) -> bytes:
    b = bytearray(data)
    b[80:84] = struct.pack("<i", n)
    return bytes(b)


@pytest.mark.parametrize("declared", [0, 2, 4])
@pytest.mark.parametrize("suffix", [".sav", ".zsav"])
def test_sav_header_case_count_that_disagrees_is_refused(
    tmp_path: Path, suffix: str, declared: int
) -> None:
    # item 24: a header declaring 0 (or too few) cases read as 0 rows, silently
    good = write_survey(labelled_frame(), tmp_path / f"g{suffix}")
    bad = tmp_path / f"b{suffix}"
    bad.write_bytes(_set_sav_cases(good.read_bytes(), declared))
    with pytest.raises(DelibpollError, match=f"says in its header that it has {declared} cases but 5"):
        read_survey(bad)
    bad.write_bytes(_set_sav_cases(good.read_bytes(), -1))  # "unknown": read to the end
    assert len(read_survey(bad)) == 5


def test_sav_corrupt_variable_type_or_label_index_is_refused_not_a_crash(tmp_path: Path) -> None:
    # readstat used to crash the interpreter (segmentation fault) on both
    good = write_survey(labelled_frame(), tmp_path / "g.sav").read_bytes()
    vtype = bytearray(good)
    vtype[180:184] = struct.pack("<i", 200)  # first variable: numeric -> 200-byte string
    (tmp_path / "t.sav").write_bytes(bytes(vtype))
    with pytest.raises(DelibpollError, match="dictionary is corrupt"):
        read_survey(tmp_path / "t.sav")
    idx = bytearray(good)
    at = good.index(struct.pack("<iii", 4, 1, 2))
    idx[at + 8] = 206
    (tmp_path / "i.sav").write_bytes(bytes(idx))
    with pytest.raises(DelibpollError, match="value labels point at variable 206 of 4"):
        read_survey(tmp_path / "i.sav")


def test_truncated_dta_is_refused(tmp_path: Path) -> None:
    good = write_survey(labelled_frame(), tmp_path / "g.dta").read_bytes()
    (tmp_path / "t.dta").write_bytes(good[:-40])
    with pytest.raises(DelibpollError, match="truncated"):
        read_survey(tmp_path / "t.dta")


def test_parquet_keeps_attrs_key_types(tmp_path: Path) -> None:
    df = labelled_frame()
    back = read_survey(write_survey(df, tmp_path / "a.parquet"))
    assert back.attrs == df.attrs  # keys 99 and row 1 stay ints (pandas' JSON made them '99')
