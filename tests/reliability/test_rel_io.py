"""Reliability suite, file input/output: read_survey and write_survey on bad and awkward input.

* bad-input cases: each asserts the exact outcome (a DelibpollError naming the problem, or
  the correct value);
* immutability: write_survey never modifies the frame or design it is given (incl. attrs);
* file fuzzing: valid .sav/.zsav/.dta/.csv/.parquet files (value labels, missing codes) and
  seeded corrupted variants (truncations, byte flips, wrong encodings and delimiters, altered
  .sav header sizes). For each, read_survey raises a DelibpollError (never a raw exception or
  a crash), or returns data equal to the original where the corruption cannot matter (or,
  for CSV, which has no length field, the rows that are still whole), within 2 s a file.
"""

from __future__ import annotations

import codecs
import struct
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError, DelibpollWarning, read_survey, write_survey

SEED = 20240612
TIME_LIMIT = 2.0


def base_frame() -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "q": pd.Categorical(
                ["Yes", "No", "Don't know", None, "Yes", "No"],
                categories=["Yes", "No", "Don't know"],
            ),
            "score": [3.5, np.nan, 7.0, 10.0, 0.0, 2.25],
            "party": ["None", "NA", "Labour", "Grün", "Green", "Reform"],
        }
    )
    df.attrs["variable_labels"] = {"q": "Do you agree?", "score": "Trust 0-10"}
    df.attrs["missing_codes"] = {"score": {99: "Don't know"}}
    df.attrs["missing_reasons"] = {"score": {1: [99, "Don't know"]}}
    return df


# --- plain bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "match"),
    [
        (12345, r"'path' parameter of read_survey .*Got 12345 \(int\)"),
        (None, r"'path' parameter of read_survey .*Got None"),
        (b"x.csv", r"'path' parameter of read_survey .*\(bytes\)"),
        ("", r"'path' parameter of read_survey"),
        (["a.csv"], r"'path' parameter of read_survey .*\(list\)"),
    ],
)
def test_read_survey_path_types(path: Any, match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        read_survey(path)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"user_missing": "drop"}, "'user_missing' parameter .*'missing' or 'keep'. Got 'drop'"),
        ({"labels": "yes"}, "'labels' parameter .*True or False. Got 'yes'"),
        ({"na_values": "NA"}, "'na_values' parameter .*list of strings"),
        ({"na_values": [1]}, "'na_values' parameter .*list of strings"),
        ({"sep": ",", "delimiter": ";"}, "both sep=',' and delimiter=';'"),
        ({"sep": ""}, "'sep' parameter .*single character"),
        ({"encoding": 5}, "'encoding' parameter .*encoding name"),
        ({"encoding": "klingon"}, "unknown encoding: 'klingon'"),
    ],
)
def test_read_survey_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DelibpollError, match=match):
        read_survey(tmp_path / "a.csv", **kwargs)


def _file_case(tmp_path: Path, name: str) -> Path:
    p = tmp_path / name
    if name == "folder.csv":
        p.mkdir()
    elif name == "empty.csv":
        p.write_text("")
    elif name == "blank.csv":
        p.write_text("\n\n  \n")
    elif name == "dupes.csv":
        p.write_text("a,b,a\n1,2,3\n")
    elif name == "unnamed.csv":
        p.write_text(",a\n1,2\n")
    elif name == "x.xlsx":
        p.write_text("")
    elif name == "unclosed.csv":
        p.write_text('a,b\n"x,1\n')
    elif name == "fake.parquet":
        p.write_text("a,b\n1,2\n")
    elif name == "fake.dta":
        p.write_text("a,b\n1,2\n")
    return p


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("missing.csv", "does not exist"),
        ("folder.csv", "is a folder"),
        ("empty.csv", "is empty"),
        ("blank.csv", "is empty"),
        ("dupes.csv", "'a' appears twice in the header .*columns 1 and 3"),
        ("unnamed.csv", "column 1 has no name .*row.names = FALSE"),
        ("x.xlsx", "unknown extension '.xlsx'"),
        ("unclosed.csv", "not valid CSV: unexpected end of data"),
        ("fake.parquet", "Could not read Parquet file"),
        ("fake.dta", "as dta"),
    ],
)
def test_read_survey_bad_files(tmp_path: Path, name: str, match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        read_survey(_file_case(tmp_path, name))


def test_header_only_csv_is_a_frame_with_no_rows(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("a,b\n")
    df = read_survey(tmp_path / "h.csv")
    assert df.columns.tolist() == ["a", "b"] and len(df) == 0


def test_sep_for_a_binary_format_is_refused(tmp_path: Path) -> None:
    p = write_survey(base_frame(), tmp_path / "a.sav")
    with pytest.raises(DelibpollError, match="'sep' parameter .*CSV/TSV files only"):
        read_survey(p, sep=";")


@pytest.mark.parametrize(
    ("frame", "name", "match"),
    [
        ("not a frame", "a.csv", r"must be a SurveyDesign or a dataframe \(a pandas DataFrame.*Got str"),
        (pd.DataFrame({"a": [1]}), "a.xlsx", "unknown extension '.xlsx'"),
        (pd.DataFrame({"a": [1]}), "nodir/a.csv", "folder '.*nodir' does not exist"),
        (pd.DataFrame({"a": [1]}), "adir.csv", "it is a folder"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "a.csv", "'a' appears more than once"),
        (pd.DataFrame({0: [1], 1: [2]}), "a.parquet", "non-empty strings; got 0"),
        (pd.DataFrame({"": [1]}), "a.sav", "non-empty strings; got ''"),
        (
            pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])),
            "a.csv",
            "MultiIndex .*column names",
        ),
        (pd.DataFrame({"a": [1, 2]}, index=[5, 6]), "a.csv", r"reset_index\(\)"),
        (pd.DataFrame({"a": [1, "x"]}), "a.parquet", "column 'a' mixes values of types"),
        (pd.DataFrame({"a": pd.Categorical(["é" * 100, "b"])}), "a.sav", "200 bytes long"),
        (pd.DataFrame({"a": [1.5]}).rename(columns={"a": "ü" * 33}), "a.sav", "66 bytes long"),
    ],
)
def test_write_survey_bad_input(tmp_path: Path, frame: Any, name: str, match: str) -> None:
    (tmp_path / "adir.csv").mkdir()
    with pytest.raises(DelibpollError, match=match):
        write_survey(frame, tmp_path / name)


@pytest.mark.parametrize(("param", "value"), [("weight_name", ""), ("replicate_prefix", 3)])
def test_write_survey_bad_names(tmp_path: Path, param: str, value: Any) -> None:
    with pytest.raises(DelibpollError, match=f"'{param}' parameter of write_survey"):
        write_survey(pd.DataFrame({"a": [1]}), tmp_path / "a.csv", **{param: value})


@pytest.mark.parametrize("suffix", [".csv", ".sav", ".zsav", ".dta", ".parquet"])
def test_unicode_and_long_text_round_trip(tmp_path: Path, suffix: str) -> None:
    # within every format's limits: text comes back exactly
    long_text = "Ça va? 数据 ✓ " * 40 + "!"  # 641 characters of mixed-width UTF-8
    df = pd.DataFrame(
        {"id": [1, 2, 3], "comment": [long_text, "ümlaut", "emoji 🙂"],
         "q": pd.Categorical(["Sí", "Non", "Sí"], categories=["Sí", "Non"])}
    )
    back = read_survey(write_survey(df, tmp_path / f"u{suffix}"))
    assert back["comment"].tolist() == df["comment"].tolist()
    assert back["q"].astype(str).tolist() == ["Sí", "Non", "Sí"]


@pytest.mark.parametrize("suffix", [".sav", ".zsav"])
def test_sav_warns_that_trailing_spaces_are_lost(tmp_path: Path, suffix: str) -> None:
    df = pd.DataFrame({"c": ["a b ", "x"]})
    with pytest.warns(DelibpollWarning, match="1 text value.*column 'c' end in spaces"):
        path = write_survey(df, tmp_path / f"s{suffix}")
    assert read_survey(path)["c"].tolist() == ["a b", "x"]  # what SPSS keeps
    assert read_survey(write_survey(df, tmp_path / "s.csv"))["c"].tolist() == ["a b ", "x"]


# --- immutability ----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".sav", ".zsav", ".dta", ".parquet"])
def test_write_survey_leaves_the_frame_untouched(
    tmp_path: Path, suffix: str, unchanged: Callable[..., Any]
) -> None:
    df = base_frame()
    df["party"] = df["party"].where(df.index != 2, "")
    with unchanged(df):
        write_survey(df, tmp_path / f"x{suffix}")


def test_write_survey_leaves_a_design_untouched(
    tmp_path: Path, unchanged: Callable[..., Any]
) -> None:
    df = base_frame().assign(w=[1.0, 2.0, 1.0, 2.0, 1.0, 3.0])
    design = dp.SurveyDesign(df, weights="w")
    before = design.data
    with unchanged(df, before):
        write_survey(design, tmp_path / "d.sav")
    pd.testing.assert_frame_equal(design.data, before)


# --- file fuzzing ----------------------------------------------------------------------


def _read(path: Path, **kwargs: Any) -> tuple[pd.DataFrame | None, BaseException | None, float]:
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DelibpollWarning)  # marked results are allowed
            return read_survey(path, **kwargs), None, time.perf_counter() - t0
    except Exception as exc:
        return None, exc, time.perf_counter() - t0


def _as_text(df: pd.DataFrame) -> list[list[str]]:
    return [["" if pd.isna(v) else str(v) for v in row] for row in df.astype(object).to_numpy()]


def _variants(raw: bytes, suffix: str, rng: np.random.Generator) -> list[tuple[str, bytes]]:
    n = len(raw)
    cuts = sorted({int(k) for k in rng.integers(0, n, 22)} | {0, 1, n - 1})
    out = [(f"truncated at {k}", raw[:k]) for k in cuts]
    for pos in rng.integers(0, n, 18):
        b = bytearray(raw)
        b[int(pos)] ^= int(rng.integers(1, 256))
        out.append((f"byte {int(pos)} flipped", bytes(b)))
    if suffix in (".sav", ".zsav"):
        for cases in (0, 1, 5, 7, 1000, -5):
            b = bytearray(raw)
            b[80:84] = struct.pack("<i", cases)
            out.append((f"header declares {cases} cases", bytes(b)))
        for slots in (0, 3, 5, 99):
            b = bytearray(raw)
            b[68:72] = struct.pack("<i", slots)
            out.append((f"header declares {slots} variable slots", bytes(b)))
        for vtype in (1, 8, 200, -1, 300):
            b = bytearray(raw)
            b[180:184] = struct.pack("<i", vtype)
            out.append((f"variable type {vtype}", bytes(b)))
    return out


@pytest.mark.parametrize("suffix", [".sav", ".zsav", ".dta", ".parquet", ".csv"])
def test_corrupted_files_give_a_clear_error_or_the_right_data(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng([SEED, len(suffix), ord(suffix[1])])
    good = write_survey(base_frame(), tmp_path / f"good{suffix}")
    original = read_survey(good)
    raw = good.read_bytes()
    checked = 0
    for what, data in _variants(raw, suffix, rng):
        path = tmp_path / f"bad{suffix}"
        path.write_bytes(data)
        got, exc, seconds = _read(path)
        assert seconds < TIME_LIMIT, f"{suffix} {what}: {seconds:.1f} s"
        assert exc is None or isinstance(exc, DelibpollError), f"{suffix} {what}: raw {exc!r}"
        checked += 1
        if got is None:
            continue
        if data == raw or what == "header declares -5 cases":
            pd.testing.assert_frame_equal(got, original)
        elif suffix == ".csv" and what.startswith("truncated"):
            # no length field in CSV: a cut file is a shorter file; whole rows stay exact
            whole = _as_text(original)
            rows = _as_text(got)
            assert len(rows) <= len(whole), what
            k = max(len(rows) - 1, 0)
            same_header = got.columns.tolist() == original.columns.tolist()
            assert rows[:k] == whole[:k] or not same_header, what
        elif what.startswith("truncated"):
            raise AssertionError(f"{suffix} {what}: a cut binary file was read without an error")
        else:
            # a flipped data byte can change a value, never the number of rows
            assert len(got) == len(original), f"{suffix} {what}: {len(got)} rows"
    assert checked >= 35


def _csv_text() -> str:
    return 'id,q,party\n1,Yes,Grün\n2,No,""\n3,,Café\n'


@pytest.mark.parametrize(
    ("what", "data", "kwargs", "outcome"),
    [
        ("utf-8", _csv_text().encode(), {}, "equal"),
        ("utf-8 BOM", codecs.BOM_UTF8 + _csv_text().encode(), {}, "equal"),
        ("utf-16 BOM", _csv_text().encode("utf-16"), {}, "equal"),
        ("utf-16-be BOM", codecs.BOM_UTF16_BE + _csv_text().encode("utf-16-be"), {}, "equal"),
        ("utf-32 BOM", _csv_text().encode("utf-32"), {}, "equal"),
        ("cp1252", _csv_text().encode("cp1252"), {}, "encoding='cp1252'"),
        ("cp1252 named", _csv_text().encode("cp1252"), {"encoding": "cp1252"}, "equal"),
        ("latin-1 named", _csv_text().encode("latin-1"), {"encoding": "latin-1"}, "equal"),
        ("utf-16-le no BOM", _csv_text().encode("utf-16-le"), {}, "encoding='utf-16-le'"),
        ("utf-16-be no BOM", _csv_text().encode("utf-16-be"), {}, "encoding='utf-16-be'"),
        ("utf-16 read as utf-8", _csv_text().encode("utf-16"), {"encoding": "utf-8"}, "not valid"),
        ("CRLF", _csv_text().replace("\n", "\r\n").encode(), {}, "equal"),
        ("semicolon", _csv_text().replace(",", ";").encode(), {}, "equal"),
        ("tab", _csv_text().replace(",", "\t").encode(), {}, "equal"),
        ("pipe", _csv_text().replace(",", "|").encode(), {}, "equal"),
        ("semicolon named", _csv_text().replace(",", ";").encode(), {"sep": ";"}, "equal"),
        ("tab as delimiter=", _csv_text().replace(",", "\t").encode(), {"delimiter": "\t"}, "equal"),
        ("wrong sep named", _csv_text().encode(), {"sep": ";"}, "equal-one-column"),
        ("NUL junk", bytes(range(256)) * 8, {}, "not a text"),
        ("control junk", bytes(np.random.default_rng(SEED).integers(1, 32, 600, dtype=np.uint8)),
         {}, "not a text"),
        ("random bytes", bytes(np.random.default_rng(SEED + 1).integers(0, 256, 600, dtype=np.uint8)),
         {}, "not a text|not UTF-8"),
    ],
)
def test_csv_encodings_and_delimiters(
    tmp_path: Path, what: str, data: bytes, kwargs: dict[str, Any], outcome: str
) -> None:
    expected = pd.DataFrame(
        {"id": [1, 2, 3], "q": ["Yes", "No", np.nan], "party": ["Grün", "", "Café"]}
    )
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    got, exc, seconds = _read(path, **kwargs)
    assert seconds < TIME_LIMIT
    if outcome == "equal":
        assert exc is None, f"{what}: {exc!r}"
        assert got is not None
        assert _as_text(got) == _as_text(expected) and got.columns.tolist() == ["id", "q", "party"]
        assert pd.isna(got["q"].iloc[2]) and got["party"].iloc[1] == ""
    elif outcome == "equal-one-column":
        assert got is not None and got.columns.tolist() == ["id,q,party"]
    else:
        assert isinstance(exc, DelibpollError), f"{what}: {exc!r}"
        assert any(part in str(exc) for part in outcome.split("|")), str(exc)
