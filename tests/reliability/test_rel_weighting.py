"""Reliability suite, weighting: bad and awkward inputs to rake, calibrate, poststratify,
trim, Targets.from_dict / from_csv / from_frame, SurveyDesign.profile and kish_deff.

Each case asserts the exact outcome: a DelibpollError naming the problem, a marked result
(a delibpoll warning), or the correct value (worked by hand in the case). Every public
function of the area is also checked to leave its inputs untouched (``unchanged``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError, SurveyDesign, Targets

T = Targets.from_dict({"sex": {"F": 0.5, "M": 0.5}})
BASE = pd.DataFrame({"sex": ["F", "M", "M", "F", "M"], "w": [1.0, 2.0, 3.0, 4.0, 5.0]})
WEIGHTERS = {
    "rake": lambda d, t: dp.rake(d, t),
    "calibrate": lambda d, t: dp.calibrate(d, t),
    "calibrate_logit": lambda d, t: dp.calibrate(d, t, method="logit", bounds=(0.1, 10)),
    "poststratify": lambda d, t: dp.poststratify(d, t),
}


def by_hand(df: pd.DataFrame, col: str = "sex") -> np.ndarray:
    """Post-stratified weights to 50/50 by hand: w * (total / 2) / (weighted category total)."""
    w = df["w"].to_numpy(float) if "w" in df else np.ones(len(df))
    cats = df[col].astype(object).to_numpy()
    out = np.empty(len(df))
    for c in set(cats.tolist()):
        m = cats == c
        out[m] = w[m] * (w.sum() / 2) / w[m].sum()
    return out


# ---------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("func", list(WEIGHTERS))
@pytest.mark.parametrize(
    "dtype", ["object", "string", "string[pyarrow]", "category"]
)
def test_text_dtypes_give_the_hand_computed_weights(func: str, dtype: str) -> None:
    df = BASE.astype({"sex": dtype})
    out = WEIGHTERS[func](SurveyDesign(df, weights="w"), T)
    np.testing.assert_allclose(out.weights.to_numpy(), by_hand(BASE), rtol=1e-9)


@pytest.mark.parametrize("dtype", ["int64", "Int64", "int64[pyarrow]", "float64"])
def test_numeric_codes_match_numeric_targets(dtype: str) -> None:
    df = pd.DataFrame({"sex": pd.array([1, 2, 2, 1, 2]).astype(dtype), "w": BASE["w"]})
    t = Targets.from_dict({"sex": {1: 0.5, 2: 0.5}})
    out = dp.rake(SurveyDesign(df, weights="w"), t)
    expected = by_hand(df.assign(sex=df["sex"].astype("int64")))
    np.testing.assert_allclose(out.weights.to_numpy(), expected, rtol=1e-9)


# ---------------------------------------------------------------------- missing values
@pytest.mark.parametrize("func", list(WEIGHTERS))
@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["F", None, "M", "F", "M"], dtype=object),
        pd.Series(["F", np.nan, "M", "F", "M"], dtype=object),
        pd.Series(["F", None, "M", "F", "M"], dtype="string"),
        pd.Series(["F", None, "M", "F", "M"], dtype="string[pyarrow]"),
        pd.Series(pd.Categorical(["F", None, "M", "F", "M"])),
    ],
    ids=["None", "nan", "string-NA", "pyarrow-NA", "categorical-NaN"],
)
def test_missing_values_in_weighting_variable_are_refused(func: str, column: pd.Series) -> None:
    df = BASE.assign(sex=column)
    with pytest.raises(DelibpollError, match=r"'sex' has 1 missing value.*recode"):
        WEIGHTERS[func](SurveyDesign(df, weights="w"), T)


@pytest.mark.parametrize("func", list(WEIGHTERS))
def test_category_without_target_is_named(func: str) -> None:
    df = BASE.assign(sex=["F", "M", "X", "F", "M"])
    with pytest.raises(DelibpollError, match=r"\['X'\] in the data with no target.*unmatched='keep'"):
        WEIGHTERS[func](SurveyDesign(df, weights="w"), T)


def test_target_category_without_respondents_is_named() -> None:
    with pytest.raises(DelibpollError, match=r"\['M'\] of 'sex' has no respondents"):
        dp.rake(SurveyDesign(pd.DataFrame({"sex": ["F"]})), T)


# ---------------------------------------------------------------------- frame shapes
def test_one_row_frame_gets_the_total() -> None:
    t = Targets.from_dict({"sex": {"F": 1.0}})
    out = dp.rake(SurveyDesign(pd.DataFrame({"sex": ["F"]})), t, total=7.0)
    assert out.weights.tolist() == [7.0]


def test_empty_frame_is_refused() -> None:
    with pytest.raises(DelibpollError, match="empty DataFrame"):
        dp.rake(SurveyDesign(pd.DataFrame({"sex": pd.Series([], dtype=object)})), T)


def test_duplicate_index_is_refused() -> None:
    with pytest.raises(DelibpollError, match="duplicate labels.*reset_index"):
        dp.rake(SurveyDesign(BASE.set_axis([0, 0, 1, 1, 2]), weights="w"), T)


def test_non_string_column_name_is_explained() -> None:
    df = pd.DataFrame({0: ["F", "M"]})
    with pytest.raises(DelibpollError, match=r"got 0 \(int\).*df.columns.astype\(str\)"):
        Targets.from_dict({0: {"F": 0.5, "M": 0.5}})  # type: ignore[dict-item]
    out = dp.rake(SurveyDesign(df.rename(columns=str)), Targets.from_dict({"0": {"F": 0.5, "M": 0.5}}))
    assert out.weights.tolist() == [1.0, 1.0]


def test_unicode_and_very_long_labels() -> None:
    long_f, emoji_m = "Fé" * 5000, "M😀\u200b"
    df = pd.DataFrame({"séx 性别": [long_f, emoji_m, emoji_m, long_f, emoji_m], "w": BASE["w"]})
    t = Targets.from_dict({"séx 性别": {long_f: 0.5, emoji_m: 0.5}})
    out = dp.rake(SurveyDesign(df, weights="w"), t)
    np.testing.assert_allclose(out.weights.to_numpy(), by_hand(df, "séx 性别"), rtol=1e-9)
    rep = out.weighting_report
    assert rep is not None and set(rep.margins()["category"]) == {long_f, emoji_m}


# ---------------------------------------------------------------------- weights
@pytest.mark.parametrize(
    ("w", "match"),
    [
        ([0.0, 1, 1, 1, 1], "zero or negative"),
        ([-1.0, 1, 1, 1, 1], "zero or negative"),
        ([np.inf, 1, 1, 1, 1], "infinite"),
        ([np.nan, 1, 1, 1, 1], "missing value"),
    ],
)
def test_bad_starting_weights_are_refused(w: list[float], match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        dp.rake(SurveyDesign(BASE.assign(w=w), weights="w"), T)


def test_extreme_weight_ratio_is_raked_exactly() -> None:
    w = [1e-8, 1e8, 1.0, 1.0, 1.0]
    out = dp.rake(SurveyDesign(BASE.assign(w=w), weights="w"), T)
    np.testing.assert_allclose(out.weights.to_numpy(), by_hand(BASE.assign(w=w)), rtol=1e-9)


# ---------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda d: dp.rake(d, "sex"), "'targets' parameter of rake must be a Targets"),
        (lambda d: dp.calibrate(d, None), "'targets' parameter of calibrate"),
        (lambda d: dp.poststratify(d, [1]), "'targets' parameter of poststratify"),
        (lambda d: dp.rake(BASE, T), "rake needs a SurveyDesign"),
        (lambda d: dp.rake(d, T, total=float("nan")), "'total' parameter of rake"),
        (lambda d: dp.rake(d, T, total="5"), "'total' parameter of rake"),
        (lambda d: dp.rake(d, T, cap=float("nan")), "'cap' parameter of rake"),
        (lambda d: dp.rake(d, T, tol=float("nan")), "'tol' parameter of rake"),
        (lambda d: dp.rake(d, T, max_iter=2.0), "'max_iter' parameter of rake"),
        (lambda d: dp.calibrate(d, T, method="logit"), "needs bounds"),
        (lambda d: dp.calibrate(d, T, method="logit", bounds="ab"), "'bounds' parameter.*pair"),
        (lambda d: dp.calibrate(d, T, method="logit", bounds=(0.5, 2, 3)), "'bounds' parameter.*pair"),
        (lambda d: dp.calibrate(d, T, method="logit", bounds=(np.nan, 2)), "0 <= L < 1 < U"),
        (lambda d: dp.calibrate(d, T, method="probit"), "'method' parameter of calibrate"),
        (lambda d: dp.trim(d, upper="3"), "'upper' parameter of trim must be a finite"),
        (lambda d: dp.trim(d, upper=float("nan")), "'upper' parameter of trim"),
        (lambda d: dp.trim(d, upper=0.5), "infeasible"),
        (lambda d: dp.trim(d), "at least one"),
        (lambda d: dp.trim(d, upper=3, redistribute="spread"), "'redistribute' parameter"),
    ],
)
def test_bad_parameters_name_the_parameter(call: Any, match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        call(SurveyDesign(BASE, weights="w"))


# ---------------------------------------------------------------------- Targets
@pytest.mark.parametrize(
    ("d", "kwargs", "match"),
    [
        ({"sex": {"F": np.nan, "M": 0.5}}, {}, "non-finite targets"),
        ({"sex": {"F": np.inf, "M": 0.5}}, {}, "non-finite targets"),
        ({"sex": {"F": -1, "M": 2}}, {}, "negative targets"),
        ({"sex": {"F": "a", "M": 2}}, {}, "not a number"),
        ({"sex": {}}, {}, "no categories"),
        ({"sex": {np.nan: 0.5, "M": 0.5}}, {}, "missing value .* as a category"),
        ({"sex": {None: 0.5, "M": 0.5}}, {}, "missing value .* as a category"),
        ({("sex", "age"): {("F", None): 0.5, ("M", "y"): 0.5}}, {}, "missing value"),
        ({"sex": {"F": 0.5, "M": 0.5}}, {"kind": "prop"}, "'kind' of margin 'sex'"),
        ({"sex": {"F": 0.5, "M": 0.4}}, {}, r"sum to 0\.9"),
        ({None: {"F": 0.5, "M": 0.5}}, {}, "margin key must be a column name"),
    ],
)
def test_from_dict_bad_values(d: Any, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        Targets.from_dict(d, **kwargs)


def test_from_dict_needs_a_dict() -> None:
    with pytest.raises(DelibpollError, match="non-empty dict"):
        Targets.from_dict([1, 2])  # type: ignore[arg-type]


def test_rounded_percentages_warn() -> None:
    with pytest.warns(dp.WeightingWarning, match="rounded percentages"):
        t = Targets.from_dict({"x": {"a": 33, "b": 33, "c": 33}})
    np.testing.assert_allclose(t.shares("x").to_numpy(), 1 / 3)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("variable,category,target\nsex,F,0.5\nsex,M,abc\n", "not a number"),
        ("variable;category;target\nsex;F;0.5\n", "lacks columns"),
        ("", "Could not read targets file"),
        ("variable,category,target,kind\nsex,F,50,pct\nsex,M,50,pct\n", "'kind' of margin"),
        ("variable,category,target\nsex,,0.5\nsex,M,0.5\n", "empty variable/category/target"),
    ],
)
def test_from_csv_bad_files(tmp_path: Path, content: str, match: str) -> None:
    p = tmp_path / "t.csv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(DelibpollError, match=match):
        Targets.from_csv(p)


def test_from_csv_latin1_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes("variable,category,target\nsex,Fé,0.5\nsex,M,0.5\n".encode("latin-1"))
    with pytest.raises(DelibpollError, match="Could not read targets file.*utf-8"):
        Targets.from_csv(p)


@pytest.mark.parametrize("path", [12345, None, ["a.csv"]])
def test_from_csv_path_type(path: Any) -> None:
    with pytest.raises(DelibpollError, match="'path' parameter of Targets.from_csv"):
        Targets.from_csv(path)


def test_from_csv_missing_file() -> None:
    with pytest.raises(DelibpollError, match="does not exist"):
        Targets.from_csv("/nonexistent/targets.csv")


@pytest.mark.parametrize(
    ("variables", "match"),
    [(5, "'variables' parameter of SurveyDesign.profile"), ([], "'variables' parameter"),
     ("age", "not in the data")],
)
def test_profile_bad_variables(variables: Any, match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        SurveyDesign(BASE, weights="w").profile(variables)


def test_profile_missing_values_and_wrong_type() -> None:
    with pytest.raises(DelibpollError, match="1 missing values"):
        SurveyDesign(pd.DataFrame({"sex": ["F", None]})).profile("sex")
    with pytest.raises(DelibpollError, match=r"parameter of Targets.from_frame must be a dataframe \(a pandas DataFrame.*got str"):
        Targets.from_frame("sex", "sex")  # type: ignore[arg-type]


def test_profile_gives_weighted_shares() -> None:
    t = SurveyDesign(BASE, weights="w").profile("sex")
    assert t.shares("sex").to_dict() == pytest.approx({"F": 5 / 15, "M": 10 / 15})


# ---------------------------------------------------------------------- kish_deff
@pytest.mark.parametrize(
    ("w", "match"),
    [
        ([], "non-empty 1-D"),
        (np.ones((2, 2)), "non-empty 1-D"),
        ([1.0, np.nan], "finite weights >= 0"),
        ([1.0, np.inf], "finite weights >= 0"),
        ([1.0, -1.0], "finite weights >= 0"),
        ([0.0, 0.0], "positive sum"),
        (["a", "b"], "must be numeric"),
    ],
)
def test_kish_deff_bad_weights(w: Any, match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        dp.kish_deff(w)


@pytest.mark.parametrize(
    ("w", "expected"),
    [([5.0], 1.0), ([1.0, 3.0], 1.25), ([0.0, 2.0], 2.0),
     (pd.Series([1, 1, 2], dtype="Int64"), 3 * 6 / 16)],
)
def test_kish_deff_by_hand(w: Any, expected: float) -> None:
    assert dp.kish_deff(w) == pytest.approx(expected, rel=1e-15)


# ---------------------------------------------------------------------- immutability
def _frame() -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "sex": pd.Categorical(["F", "M", "M", "F", "M", "F"] * 2),
            "age": pd.array(["y", "o", "y", "o", "y", "o"] * 2, dtype="string"),
            "w": [1.0, 2.0, 1.5, 1.0, 3.0, 2.5] * 2,
        },
        index=pd.Index(range(10, 22), name="rid"),
    )
    df.attrs["variable_labels"] = {"sex": "Sex"}
    return df


TWO = Targets.from_dict({"sex": {"F": 0.5, "M": 0.5}, "age": {"y": 0.4, "o": 0.6}})
CALLS = {
    "rake": lambda d, t: dp.rake(d, t),
    "rake_cap": lambda d, t: dp.rake(d, t, cap=3.0),
    "calibrate": lambda d, t: dp.calibrate(d, t),
    "calibrate_logit": lambda d, t: dp.calibrate(d, t, method="logit", bounds=(0.2, 5)),
    "poststratify": lambda d, t: dp.poststratify(d, t.select("sex")),
    "trim": lambda d, t: dp.trim(d, upper=2.0),
    "profile": lambda d, t: d.profile(["sex", "age"]),
    "kish_deff": lambda d, t: dp.kish_deff(d.weights),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_inputs_are_never_modified(name: str, unchanged: Any) -> None:
    df = _frame()
    design = SurveyDesign(df, weights="w")
    with unchanged(df, TWO.shares("sex"), TWO.shares("age")):
        CALLS[name](design, TWO)
    with unchanged(df):
        CALLS[name](SurveyDesign(df, weights="w").with_replicates("jk1"), TWO)
    pd.testing.assert_series_equal(design.weights, df["w"].rename("weight"), check_index=True)


def test_from_dict_and_from_csv_leave_inputs_untouched(tmp_path: Path, unchanged: Any) -> None:
    d = {"sex": {"F": 52, "M": 48}, ("sex", "age"): {("F", "y"): 0.5, ("M", "o"): 0.5}}
    with unchanged(d):
        Targets.from_dict(d, kind={"sex": "percent"})
    s = pd.Series({"F": 0.5, "M": 0.5})
    with unchanged(s):
        Targets.from_dict({"sex": s})
    p = tmp_path / "t.csv"
    TWO.to_csv(p)
    before = p.read_bytes()
    Targets.from_csv(p)
    assert p.read_bytes() == before
