"""Reliability cases of the reporting layer: banner, BannerTable exporters and the plots.

Each case asserts the exact outcome: a DelibpollError naming the problem, or the correct
value (worked by hand in the test). Every public function is checked not to modify its
inputs (``unchanged``: deep compare incl. dtypes, index and attrs).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError
from delibpoll.banner import banner
from delibpoll.plots import (
    alt_text,
    plot_estimates,
    plot_likert,
    plot_margins,
    plot_tiers,
    plot_weights,
)

N = 120


def _frame() -> pd.DataFrame:
    """q: 'yes' for the first 40 of each block of 60 ('yes' 2/3 overall); g: x for the first
    60 rows, y for the rest; v: 1..N; L: Likert answers in a fixed cycle."""
    df = pd.DataFrame({
        "q": (["yes"] * 40 + ["no"] * 20) * 2,
        "g": ["x"] * 60 + ["y"] * 60,
        "v": np.arange(1.0, N + 1),
        "L": ["agree", "neutral", "disagree", "dk"] * (N // 4),
        "m1": [0, 1] * (N // 2),
        "m2": [1, 1, 0] * (N // 3),
    })
    df.attrs["source"] = {"survey": "test"}
    return df


@pytest.fixture(scope="module")
def design() -> dp.SurveyDesign:
    return dp.SurveyDesign(_frame())


@pytest.fixture(scope="module")
def table(design: dp.SurveyDesign) -> Any:
    return banner(design, ["q", "v"], ["g"], min_base=1)


# ---------------------------------------------------------------- banner: bad arguments
BAD = [
    ({"design": "df"}, DelibpollError, r"banner needs a SurveyDesign as its first argument; got DataFrame"),
    ({"rows": None}, DelibpollError, r"'rows' parameter of banner must be a list of questions.*Got NoneType"),
    ({"rows": []}, DelibpollError, r"'rows' parameter of banner is empty"),
    ({"rows": ["zz"]}, DelibpollError, r"'rows' parameter names column\(s\) \['zz'\].*Available columns: \['q', 'g'"),
    ({"rows": [{"S": ["m1", "zz"]}]}, DelibpollError, r"column\(s\) \['zz'\] that are not in the data"),
    ({"rows": [{"S": ["m1", "m1"]}]}, DelibpollError, r"Multi-response set 'S' of banner names column\(s\) \['m1'\] more than once"),
    ({"rows": [{"S": ["v"]}]}, DelibpollError, r"Multi-response set 'S' needs 0/1 columns"),
    ({"rows": [["q"]]}, DelibpollError, r"must list column names or .* Got \['q'\] \(list\)"),
    ({"rows": ["q", "q"]}, DelibpollError, r"names question\(s\) \['q'\] more than once"),
    ({"rows": ["g"]}, DelibpollError, r"Column\(s\) \['g'\] are both a row and a banner variable"),
    ({"columns": None}, DelibpollError, r"'columns' parameter of banner must be a banner variable"),
    ({"columns": ["zz"]}, DelibpollError, r"'columns' parameter names column\(s\) \['zz'\]"),
    ({"columns": ["g", "g"]}, DelibpollError, r"names \['g'\] more than once"),
    ({"columns": [], "total": False}, DelibpollError, r"no columns to show"),
    ({"decimals": -1}, DelibpollError, r"'decimals' parameter of banner must be an integer from 0 to 10\. Got -1 instead\."),
    ({"decimals": "2"}, DelibpollError, r"'decimals' .* Got '2' instead"),
    ({"decimals": 11}, DelibpollError, r"'decimals' .* Got 11 instead"),
    ({"min_base": -5}, DelibpollError, r"'min_base' parameter of banner must be an integer >= 0\. Got -5"),
    ({"min_base": 2.5}, DelibpollError, r"'min_base' .* Got 2\.5"),
    ({"suppress_below": -1}, DelibpollError, r"'suppress_below' parameter of banner must be an integer >= 1\. Got -1"),
    ({"suppress_below": True}, DelibpollError, r"'suppress_below' .* Got True"),
    ({"level": 1.5}, DelibpollError, r"'level' parameter of banner must be a float in \(0, 1\)"),
    ({"level": "0.95"}, DelibpollError, r"'level' parameter of banner"),
    ({"sig_level": 1}, DelibpollError, r"'sig_level' parameter of banner must be a number in \(0, 1\)"),
    ({"ci_method": 1}, DelibpollError, r"'ci_method' parameter of banner must be one of"),
    ({"adjust": None}, DelibpollError, r"'adjust' parameter of banner must be 'none'"),
    ({"total": 1}, DelibpollError, r"'total' parameter of banner must be True or False"),
    ({"exclude": ["maybe"]}, DelibpollError, r"'exclude' parameter of banner names \['maybe'\], which no categorical question has\. Categories of the questions: \['no', 'yes'\]"),
    ({"exclude": 5}, DelibpollError, r"'exclude' parameter of banner names \[5\]"),
    ({"exclude": ["yes", "no"]}, DelibpollError, r"Question 'q' has no categories left to show: 'exclude' removes all"),
    ({"nets": ["yes"]}, DelibpollError, r"'nets' parameter of banner must be a mapping"),
    ({"nets": {"Both": ["yes", "noo"]}}, DelibpollError, r"Net 'Both' names \['noo'\], which question 'q' does not have\. Categories of 'q': \['no', 'yes'\]"),
    ({"nets": {"Both": ["yes", "no"]}, "exclude": ["no"]}, DelibpollError, r"Net 'Both' of question 'q' includes \['no'\], which 'exclude' leaves out"),
    ({"nets": {"v": {"n": ["yes"]}}}, DelibpollError, r"Nets were given for question 'v', a numeric question"),
    ({"nets": {"": ["yes"]}}, DelibpollError, r"Net names of banner must be non-empty text"),
]


@pytest.mark.parametrize("kwargs,cls,match", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_banner_bad_arguments(design: dp.SurveyDesign, kwargs: dict[str, Any], cls: type, match: str) -> None:
    args: dict[str, Any] = {"design": design, "rows": ["q", "v"], "columns": ["g"], **kwargs}
    if args["design"] == "df":
        args["design"] = _frame()
    with pytest.raises(cls, match=match):
        banner(**args)


def test_banner_numeric_column_names_refused() -> None:
    df = _frame().rename(columns={"q": 7})
    with pytest.raises(DelibpollError, match=r"names column\(s\) \[7\] that are not text"):
        banner(dp.SurveyDesign(df), [7], ["g"])


def test_banner_values_worked_by_hand(table: Any) -> None:
    """q is 'yes' for 40 of 60 in each column: 2/3 everywhere; v's mean is 30.5 in x (1..60),
    90.5 in y (61..120) and 60.5 in total; y's mean is higher, so y carries x's letter."""
    fr = table.to_frame()
    yes = fr[fr.category == "yes"].set_index("column")["estimate"]
    assert yes.to_numpy() == pytest.approx(2 / 3, abs=1e-15)
    v = fr[fr.question == "v"].set_index("column")
    assert v.loc[["Total", "x", "y"], "estimate"].tolist() == pytest.approx([60.5, 30.5, 90.5], abs=1e-12)
    assert v.loc["y", "higher_than"] == "A" and v.loc["x", "higher_than"] == ""


# ---------------------------------------------------------------- awkward labels
LABELS = ["naïve café 中文 🙂", "a|b", "<script>x</script>", "L" * 5000, "=CMD()"]


@pytest.fixture(scope="module")
def labelled() -> Any:
    df = pd.DataFrame({"q": [LABELS[i % 5] for i in range(100)], "g": ["u", "w"] * 50})
    return banner(dp.SurveyDesign(df), ["q"], ["g"], min_base=1, decimals=1)


def test_unicode_and_long_labels_keep_their_values(labelled: Any) -> None:
    """Each label is 20 of 100 answers, 10 of 50 in each column: 20.0% everywhere."""
    fr = labelled.to_frame()
    assert set(fr.category) == set(LABELS)
    assert fr.estimate.to_numpy() == pytest.approx(0.2, abs=1e-15)
    md = labelled.to_markdown()
    assert "naïve café 中文 🙂" in md and "L" * 5000 in md and md.count("20.0%") == 15


def test_markdown_pipes_and_html_escaped(labelled: Any) -> None:
    md = labelled.to_markdown()
    assert "a\\|b" in md and "<script>" not in md and "&lt;script&gt;x&lt;/script&gt;" in md
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len({len(re.split(r"(?<!\\)\|", r)) for r in rows}) == 1


def test_html_escaped(labelled: Any) -> None:
    h = labelled.to_html()
    assert "<script>" not in h and "&lt;script&gt;x&lt;/script&gt;" in h and "a|b" in h


def test_excel_formula_label_is_text(labelled: Any, tmp_path: Path) -> None:
    import openpyxl
    ws = openpyxl.load_workbook(labelled.to_excel(tmp_path / "t.xlsx"))["Table 1"]
    cells = [c for row in ws.iter_rows() for c in row if c.value == "=CMD()"]
    assert len(cells) == 1 and cells[0].data_type == "s"


def test_excel_label_too_long_refused(tmp_path: Path) -> None:
    df = pd.DataFrame({"q": ["M" * 40000, "b"] * 10, "g": ["u", "w"] * 10})
    t = banner(dp.SurveyDesign(df), ["q"], ["g"], min_base=1)
    with pytest.raises(DelibpollError, match=r"longer than an Excel cell holds \(32767\)"):
        t.to_excel(tmp_path / "t.xlsx")


def test_csv_round_trip(table: Any, tmp_path: Path) -> None:
    back = pd.read_csv(table.to_csv(tmp_path / "t.csv"), keep_default_na=False, na_values=[""])
    pd.testing.assert_series_equal(back["estimate"], table.to_frame()["estimate"], rtol=1e-15)


@pytest.mark.parametrize("method,bad,match", [
    ("to_csv", 5, r"'path' parameter of to_csv must be a file path"),
    ("to_excel", None, r"'path' parameter of to_excel must be a file path"),
    ("to_csv", "/nonexistent-dir/x.csv", r"does not exist; create it first"),
])
def test_export_bad_paths(table: Any, method: str, bad: Any, match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        getattr(table, method)(bad)


def test_excel_title_must_be_text(table: Any, tmp_path: Path) -> None:
    with pytest.raises(DelibpollError, match=r"'title' and 'source' parameters of to_excel must be text"):
        table.to_excel(tmp_path / "t.xlsx", title=5)


# ---------------------------------------------------------------- plots
@pytest.fixture(scope="module")
def est(design: dp.SurveyDesign) -> Any:
    return dp.proportion(design, "L", by="g")


@pytest.mark.parametrize("call,match", [
    (lambda e: plot_estimates(5), r"Expected a result with \.to_frame\(\) or a DataFrame; got int"),
    (lambda e: plot_estimates(pd.DataFrame({"estimate": [0.5]})), r"the frame lacks \['ci_lower', 'ci_upper'\]"),
    (lambda e: plot_estimates(e.to_frame().iloc[:0]), r"no rows"),
    (lambda e: plot_estimates(e, title=5), r"'title' parameter of plot_estimates must be text"),
    (lambda e: plot_likert(e, negative=["disagree"], positive=["agree"], neutral=["neutral"], other=["dk", "DK"]),
     r"'other' parameter of plot_likert names category 'DK', which is not in the estimate\. Available categories: \['agree', 'disagree', 'dk', 'neutral'\]"),
    (lambda e: plot_likert(e, negative="disagree"), r"'negative' parameter of plot_likert must be a list"),
    (lambda e: plot_likert(e, negative=["disagree"], positive=["agree"]), r"not assigned"),
    (lambda e: plot_likert(pd.DataFrame({"estimate": [1.0]})), r"plot_likert needs proportions"),
    (lambda e: plot_tiers(5), r"got int"),
    (lambda e: plot_margins(_frame()), r"plot_margins needs a weighted design"),
    (lambda e: plot_weights(5), r"plot_weights needs a SurveyDesign; got int"),
    (lambda e: alt_text(5), r"not made by a delibpoll plot function"),
])
def test_plot_bad_inputs(est: Any, call: Any, match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        call(est)


def test_plot_likert_unicode_labels_in_alt_text() -> None:
    """Each answer is half of the sample: 50% in the alt text."""
    df = pd.DataFrame({"a": ["pour ✓", "contre |x|"] * 20})
    e = dp.proportion(dp.SurveyDesign(df), "a")
    p = plot_likert(e, negative=["contre |x|"], positive=["pour ✓"])
    assert "pour ✓ 50%" in alt_text(p) and "contre |x| 50%" in alt_text(p)


# ---------------------------------------------------------------- immutability
def test_banner_and_exporters_leave_inputs_unchanged(unchanged: Any, tmp_path: Path) -> None:
    df = _frame()
    d = dp.SurveyDesign(df)
    rows: list[Any] = ["q", "v", {"S": ["m1", "m2"]}]
    cols = ["g"]
    nets = {"q": {"Any": ["yes", "no"]}}
    exclude: list[Any] = []
    before_data = d.data
    with unchanged(df, rows, cols, nets, exclude):
        t = banner(d, rows, cols, nets=nets, exclude=exclude, suppress_below=2, min_base=1)
    _same_frame(before_data, d.data)
    fr = t.to_frame()
    notes = list(t.notes)
    with unchanged(fr, notes):
        t.to_markdown()
        t.to_html()
        t.to_csv(tmp_path / "t.csv")
        t.to_excel(tmp_path / "t.xlsx")
        edited = t.to_frame()
        edited.iloc[0, 0] = "edited"  # editing the returned frame does not edit the table
        fr2 = t.to_frame()
        notes2 = list(t.notes)
    pd.testing.assert_frame_equal(fr, fr2)
    assert notes == notes2


def _same_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.attrs == b.attrs


def test_plots_leave_inputs_unchanged(unchanged: Any, est: Any) -> None:
    df = _frame()
    t = dp.Targets.from_dict({"g": {"x": 0.4, "y": 0.6}})
    raked = dp.rake(dp.SurveyDesign(df), t)
    fr = est.to_frame()
    groups = {"negative": ["disagree"], "positive": ["agree"], "neutral": ["neutral"], "other": ["dk"]}
    tiers = pd.DataFrame({"question": ["q"], "category": ["yes"], "informed": [0.6], "uninformed": [0.5],
                          "informed_ci_lower": [0.5], "informed_ci_upper": [0.7],
                          "uninformed_ci_lower": [0.4], "uninformed_ci_upper": [0.6]})
    w_before, m_before, data_before = raked.weights, raked.weighting_report.margins(), raked.data
    with unchanged(fr, groups, tiers, df):
        plot_estimates(fr)
        plot_estimates(est)
        plot_likert(fr.assign(), **groups)
        plot_likert(est, **groups)
        plot_tiers(tiers)
        plot_tiers(tiers, kind="scatter", category="yes")
        plot_weights(raked)
        alt_text(plot_margins(raked))
    pd.testing.assert_frame_equal(est.to_frame(), fr)
    pd.testing.assert_series_equal(raked.weights, w_before)
    pd.testing.assert_frame_equal(raked.weighting_report.margins(), m_before)
    _same_frame(data_before, raked.data)
