"""Tests for delibpoll.targets (Targets): parsing, kinds, validation and round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from delibpoll import DelibpollError, SurveyDesign, Targets


def test_shares_inferred_and_kept_exactly() -> None:
    t = Targets.from_dict({"sex": {"Female": 0.52, "Male": 0.48}})
    assert t.margin("sex").kind == "share"
    assert t.total is None
    assert t.shares("sex").to_dict() == {"Female": 0.52, "Male": 0.48}


def test_percent_inferred_and_divided_by_100() -> None:
    t = Targets.from_dict({"age": {"young": 40.0, "old": 60.0}})
    assert t.margin("age").kind == "percent"
    np.testing.assert_allclose(t.shares("age").to_numpy(), [0.4, 0.6], rtol=0, atol=1e-15)


def test_counts_fix_the_total() -> None:
    t = Targets.from_dict({"sex": {"F": 300, "M": 200}, "age": {"y": 100, "o": 400}})
    assert t.total == 500
    assert t.margin("sex").kind == "count"


def test_counts_that_disagree_are_an_error_naming_both_totals() -> None:
    with pytest.raises(DelibpollError, match="disagree.*500.*'age' sums to 600"):
        Targets.from_dict({"sex": {"F": 300, "M": 200}, "age": {"y": 200, "o": 400}})


def test_shares_not_summing_to_one_give_the_sum() -> None:
    with pytest.raises(DelibpollError, match=r"sum to 0\.9"):
        Targets.from_dict({"sex": {"F": 0.5, "M": 0.4}})


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_negative_or_non_finite_targets_rejected(bad: float) -> None:
    with pytest.raises(DelibpollError, match="negative|non-finite"):
        Targets.from_dict({"sex": {"F": bad, "M": 10.0}}, kind="count")


def test_declared_kind_checked() -> None:
    with pytest.raises(DelibpollError, match="declared as percentages"):
        Targets.from_dict({"sex": {"F": 50, "M": 40}}, kind="percent")
    with pytest.raises(DelibpollError, match="must be one of"):
        Targets.from_dict({"sex": {"F": 50, "M": 50}}, kind="ratio")  # type: ignore[arg-type]


def test_joint_margin_from_tuples_and_strings() -> None:
    t1 = Targets.from_dict({("age", "sex"): {("y", "F"): 0.25, ("y", "M"): 0.25, ("o", "F"): 0.5}})
    t2 = Targets.from_dict({"age|sex": {"y|F": 0.25, "y|M": 0.25, "o|F": 0.5}})
    assert t1.variables == [("age", "sex")]
    assert t1.margin(("age", "sex")).categories == t2.margin("age|sex").categories
    with pytest.raises(DelibpollError, match="tuples of 2 labels"):
        Targets.from_dict({("age", "sex"): {"y": 1.0}})


def test_csv_round_trip_keeps_text_categories(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.csv"
    path.write_text(
        "variable,category,target,source\n"
        "party,None,0.25,test\nparty,NA,0.25,test\nparty,Labour,0.5,test\n"
        "age|sex,18-24|Female,0.5,test\nage|sex,18-24|Male,0.5,test\n"
    )
    t = Targets.from_csv(path)
    assert t.shares("party").to_dict() == {"None": 0.25, "NA": 0.25, "Labour": 0.5}
    assert t.margin("age|sex").categories == (("18-24", "Female"), ("18-24", "Male"))
    out = tmp_path / "out.csv"
    t.to_csv(out)
    t2 = Targets.from_csv(out)
    for key in t.variables:
        pd.testing.assert_series_equal(t.shares(key), t2.shares(key))


def test_csv_errors_name_the_file_and_columns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text("var,cat,value\nsex,F,1\n")
    with pytest.raises(DelibpollError, match=r"bad\.csv.*lacks columns"):
        Targets.from_csv(path)
    with pytest.raises(DelibpollError, match="does not exist"):
        Targets.from_csv(tmp_path / "missing.csv")
    path.write_text("variable,category,target\nsex,F,\nsex,M,0.5\n")
    with pytest.raises(DelibpollError, match="empty"):
        Targets.from_csv(path)


def test_profile_is_the_weighted_profile() -> None:
    df = pd.DataFrame({"sex": ["F", "F", "M"], "w": [1.0, 2.0, 1.0]})
    t = SurveyDesign(df, weights="w").profile(["sex"])
    assert t.shares("sex").to_dict() == {"F": 0.75, "M": 0.25}
    with pytest.raises(DelibpollError, match="not in the data"):
        SurveyDesign(df).profile(["age"])


def test_select_and_unknown_margin() -> None:
    t = Targets.from_dict({"a": {"x": 0.5, "y": 0.5}, "b": {"u": 0.1, "v": 0.9}})
    assert t.select(["b"]).variables == ["b"]
    with pytest.raises(DelibpollError, match="available"):
        t.margin("c")
    assert "a (2 categories, share)" in repr(t)


# ---------------------------------------------------------------------- #12 item 14
@pytest.mark.parametrize("values", [(33, 33, 33), (34, 34, 33), (20.5, 30.5, 49.5)])
def test_rounded_percentages_are_percentages_with_a_warning(values) -> None:  # type: ignore[no-untyped-def]
    """{33, 33, 33} sums to 99: percentages, rescaled (shares worked by hand: v / sum)."""
    from delibpoll import WeightingWarning

    d = dict(zip("abc", values, strict=True))
    with pytest.warns(WeightingWarning, match=r"rounded percentages.*kind='count'"):
        t = Targets.from_dict({"x": d})
    assert t.margin("x").kind == "percent" and t.total is None
    np.testing.assert_allclose(t.shares("x").to_numpy(), np.array(values) / sum(values), rtol=1e-15)
    quiet = Targets.from_dict({"x": d}, kind="percent")  # declared: no warning
    np.testing.assert_allclose(quiet.shares("x").to_numpy(), np.array(values) / sum(values))
    counts = Targets.from_dict({"x": d}, kind="count")
    assert counts.total == sum(values)


def test_percentages_far_from_100_are_counts_or_refused() -> None:
    t = Targets.from_dict({"x": {"a": 40, "b": 57}})  # sums to 97: counts, no warning
    assert t.margin("x").kind == "count" and t.total == 97
    with pytest.raises(DelibpollError, match=r"declared as percentages but sums to 97"):
        Targets.from_dict({"x": {"a": 40, "b": 57}}, kind="percent")


def test_from_frame_equals_the_design_profile() -> None:
    """#13: Targets.from_frame (a frame, optional weights) gives what SurveyDesign.profile
    gives, with weights as a column or an array; without weights every row counts 1."""
    df = pd.DataFrame({"sex": ["F", "F", "M"], "age": ["y", "o", "o"], "w": [1.0, 2.0, 1.0]})
    by_design = SurveyDesign(df, weights="w").profile(["sex", ("sex", "age")])
    for weights in ("w", df["w"].to_numpy()):
        t = Targets.from_frame(df, ["sex", ("sex", "age")], weights=weights)
        pd.testing.assert_frame_equal(t.to_frame().drop(columns="source"),
                                      by_design.to_frame().drop(columns="source"))
    assert Targets.from_frame(df, "sex").shares("sex").to_dict() == pytest.approx(
        {"F": 2 / 3, "M": 1 / 3})
    with pytest.raises(DelibpollError, match="one weight per row"):
        Targets.from_frame(df, "sex", weights=[1.0, 2.0])


def test_numeric_totals_round_trip(tmp_path: Path) -> None:
    """A number instead of a mapping is a numeric column's population total; CSV rows of
    kind "total" read and write it; rake-style accessors see only the categorical margins."""
    t = Targets.from_dict({"stype": {"E": 4421, "H": 755, "M": 1018}, "enroll": 3811472})
    assert t.numeric_totals == {"enroll": 3811472.0}
    assert t.variables == ["stype"] and t.total == 6194
    assert "enroll (numeric total" in repr(t)
    fr = t.to_frame()
    assert fr.iloc[-1].to_dict() == {"variable": "enroll", "category": "-",
                                     "target": 3811472.0, "kind": "total", "source": ""}
    path = tmp_path / "t.csv"
    t.to_csv(path)
    back = Targets.from_csv(path)
    assert back.numeric_totals == {"enroll": 3811472.0}
    assert back.shares("stype").round(12).to_dict() == t.shares("stype").round(12).to_dict()
    assert t.select(["enroll", "stype"]).numeric_totals == {"enroll": 3811472.0}
    assert t.select("stype").numeric_totals == {}
    path.write_text("variable,category,target,kind\nsex,F,0.5,share\nsex,M,0.5,share\n"
                    "income,,1e6,total\n")
    assert Targets.from_csv(path).numeric_totals == {"income": 1e6}
    path.write_text("variable,category,target,kind\nsex,F,0.5,share\nsex,M,0.5,share\n"
                    "income,a,1,total\nincome,b,2,total\n")
    with pytest.raises(DelibpollError, match="one row with kind 'total'"):
        Targets.from_csv(path)
    with pytest.raises(DelibpollError, match="finite"):
        Targets.from_dict({"sex": {"F": 0.5, "M": 0.5}, "income": float("inf")})
    with pytest.raises(DelibpollError, match="more than once"):
        Targets([t.margin("stype")], [("stype", 1.0)])
