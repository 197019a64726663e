"""Tests for delibpoll.grid (likert_grid) and its exporters.

Outside reference: R survey 4.1.1 (tests/reference/r/likert.R): top/bottom-box shares, net
scores (top minus bottom) and mean scores of three statements on a design raked to five
margins, with their linearised SEs (svytotal + svycontrast; the net score of s1 also as
svymean of the indicator difference on the subset of valid answers), the pairwise
differences between statements and between the sexes with their p-values (for the letters).
Hand-worked examples check the arithmetic of a tiny unweighted grid."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError
from delibpoll._format import scientific_notation

AGES = ["18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"]
QTY = {"top": 5, "bottom": 6, "net_score": 7, "mean_score": 8}  # value index, 5-point scale


@pytest.fixture(scope="module")
def raked(ref):  # type: ignore[no-untyped-def]
    df = ref.data("likert_battery.csv", keep_default_na=False, na_values=[""])
    df["age_group"] = pd.Categorical(df["age_group"], categories=AGES)
    targets = dp.Targets.from_csv(ref.root / "data" / "england_like_targets.csv")
    margins = ["sex", "age_group", "region", "education", "ethnicity"]
    return dp.rake(dp.SurveyDesign(df), targets.select(margins), tol=1e-12)


def test_grid_matches_r_on_raked_design(ref, raked) -> None:  # type: ignore[no-untyped-def]
    """Every top, bottom, net and mean score of every statement, overall and by sex: estimate
    1e-10 absolute, SE 1e-6 relative against R."""
    assert raked.df == ref.get("likert", "degf", "df")
    g = dp.likert_grid(raked, ["s1", "s2", "s3"], scale=[1, 2, 3, 4, 5], exclude=[6], by="sex")
    assert g.groups == ("Total", "Female", "Male")
    checked = 0
    for gi, grp in enumerate(g.groups):
        for s, item in enumerate(g.items):
            for q, v in QTY.items():
                kw = {"variable": item, "domain": grp, "category": q}
                assert g.estimate[gi, s, v] == pytest.approx(
                    ref.get("likert", "grid_cell", "estimate", **kw), abs=1e-10)
                assert g.se[gi, s, v] == pytest.approx(
                    ref.get("likert", "grid_cell", "se", **kw), rel=1e-6)
                checked += 1
    assert checked == 3 * 3 * 4
    # the net score is also R's svymean of the indicator difference on the valid subset
    assert g.se[0, 0, 7] == pytest.approx(ref.get("likert", "svymean_net", "se", variable="s1"), rel=1e-6)
    # net-score CI: t interval on the df of the statement's subset (here n - 1: no strata or PSUs)
    from scipy import stats
    q = stats.t.ppf(0.975, g.n[0, 0] - 1)
    assert g.ci_lower[0, 0, 7] == pytest.approx(g.estimate[0, 0, 7] - q * g.se[0, 0, 7], rel=1e-12)


@pytest.mark.parametrize("quantity", ["net_score", "top", "mean_score"])
def test_letters_across_statements_follow_r(ref, raked, quantity: str) -> None:  # type: ignore[no-untyped-def]
    g = dp.likert_grid(raked, ["s1", "s2", "s3"], scale=[1, 2, 3, 4, 5], exclude=[6])
    v = QTY[quantity]
    want: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        kw = {"variable": f"s{a + 1}-s{b + 1}", "category": quantity}
        d = ref.get("likert", "grid_pair", "estimate", **kw)
        p = ref.get("likert", "grid_pair", "p_value", **kw)
        assert g.estimate[0, a, v] - g.estimate[0, b, v] == pytest.approx(d, abs=1e-10)
        if p < 0.05:
            hi, lo = (a, b) if d > 0 else (b, a)
            want[hi].append("ABC"[lo])
    got = {s: g.higher_than[0, s, v] for s in range(3)}
    assert got == {s: "".join(sorted(x)) for s, x in want.items()}
    assert quantity != "net_score" or sum(map(len, got.values())) > 0  # the check has teeth


def test_letters_across_banner_columns_follow_r(ref, raked) -> None:  # type: ignore[no-untyped-def]
    g = dp.likert_grid(raked, ["s1", "s2", "s3"], scale=[1, 2, 3, 4, 5], exclude=[6], by="sex")
    n_letters = 0
    for s in range(3):
        for q in ("net_score", "top", "mean_score"):
            kw = {"variable": f"s{s + 1}", "category": q}
            d = ref.get("likert", "grid_sex", "estimate", **kw)
            p = ref.get("likert", "grid_sex", "p_value", **kw)
            female, male = g.higher_than[1, s, QTY[q]], g.higher_than[2, s, QTY[q]]
            if p < 0.05:
                assert (female, male) == (("B", "") if d > 0 else ("", "A"))
                n_letters += 1
            else:
                assert (female, male) == ("", "")
    assert g.higher_than[0].tolist() == [[""] * 9] * 3  # the Total column is not tested


def test_tiny_grid_worked_by_hand() -> None:
    """Unweighted, 3-point scale, top 1 / bottom 1. s1: 2 Agree, 1 Neither, 1 Disagree and one
    Don't know (excluded): top 2/4, bottom 1/4, net 0.25, mean (1*1 + 2*1 + 3*2)/4 = 2.25."""
    pts = ["Disagree", "Neither", "Agree"]
    df = pd.DataFrame({
        "s1": pd.Categorical(["Agree", "Agree", "Neither", "Disagree", "Don't know"] * 4,
                             [*pts, "Don't know"]),
        "s2": pd.Categorical(["Agree", "Disagree", "Disagree", "Disagree", None] * 4,
                             [*pts, "Don't know"]),
    })
    g = dp.likert_grid(dp.SurveyDesign(df), ["s1", "s2"], top=1, bottom=1,
                       exclude=["Don't know"], scores={"Disagree": 1, "Neither": 2, "Agree": 3})
    fr = g.to_frame().set_index(["item", "quantity", "category"], drop=False)
    assert g.estimate[0, 0, 3:].tolist() == pytest.approx([0.5, 0.25, 0.25, 2.25], abs=1e-15)
    assert g.estimate[0, 1, 3:].tolist() == pytest.approx([0.25, 0.75, -0.5, 1.5], abs=1e-15)
    assert g.n.tolist() == [[16, 16]]
    assert "Don't know" in g.base_lines[0] and "missing answers" in g.base_lines[1]
    assert any("4 respondents with missing answers left out of the base" in n for n in g.notes)
    assert set(fr["quantity"]) == {"share", "top", "bottom", "net_score", "mean_score"}


@pytest.mark.parametrize("kwargs,match", [
    ({"items": "s1"}, r"'items' parameter of likert_grid must be a list"),
    ({"items": ["s1", "s1"]}, r"names \['s1'\] more than once"),
    ({"items": ["nope"]}, r"Available columns"),
    ({"top": 0}, r"'top' parameter of likert_grid must be an integer >= 1"),
    ({"top": 3, "bottom": 3}, r"overlap: the scale has 5 points"),
    ({"scale": [1, 2, 3]}, r"has answers \[4\.0, 5\.0\] that are neither scale points"),
    ({"by": "s2"}, r"'s2' is both a statement and the 'by' variable"),
    ({"scores": {1: 1}}, r"'scores' parameter of likert_grid must map every scale point"),
    ({"adjust": "sidak"}, r"'adjust' parameter of likert_grid"),
    ({"labels": 3}, r"'labels' parameter of likert_grid must be a mapping"),
])
def test_bad_input(raked, kwargs, match) -> None:  # type: ignore[no-untyped-def]
    args = {"items": ["s1", "s2"], "exclude": [6], **kwargs}
    with pytest.raises(DelibpollError, match=match):
        dp.likert_grid(raked, **args)


@pytest.fixture(scope="module")
def labelled_grid(raked):  # type: ignore[no-untyped-def]
    labels = {"s1": "The NHS: uses data well", "s2": "The NHS: keeps data safe",
              "s3": "The NHS: tells me how data is used", "values": {"s1": {
                  1: "Strongly disagree", 2: "Disagree", 3: "Neither", 4: "Agree",
                  5: "Strongly agree"}}}
    return dp.likert_grid(raked, ["s1", "s2", "s3"], scale=[1, 2, 3, 4, 5], exclude=[6],
                          by="sex", labels=labels)


def test_grid_exports_in_every_format(labelled_grid, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import openpyxl

    g = labelled_grid
    md = g.to_markdown()
    assert "### Table 1: The NHS (all respondents)" in md
    assert "| uses data well |" in md and "Agree / Strongly agree (top 2)" in md
    assert not scientific_notation(md) and not scientific_notation(g.to_html())
    net = re.findall(r"\| ([+-]?\d+) \| ([+-]?\d+ pts to [+-]?\d+ pts) \|", md)
    assert len(net) == 3  # net score in signed points beside its CI
    assert g.to_html().startswith("<!DOCTYPE html>")
    xl = openpyxl.load_workbook(g.to_excel(tmp_path / "g.xlsx"))
    assert xl.sheetnames[:3] == ["Cover", "Notes", "Contents"] and len(xl.sheetnames) == 3 + 6
    ws = xl["Table 1"]
    heads = [c.value for c in ws[4]]
    assert heads[:2] == ["Statement", "Strongly disagree"] and "Net score (pts)" in heads
    top = heads.index("Agree / Strongly agree (top 2)") + 1
    assert ws.cell(5, top).value == pytest.approx(g.estimate[0, 0, 5], rel=1e-14)
    assert ws.cell(5, top).number_format == "0%"
    back = pd.read_excel(g.to_ods(tmp_path / "g.ods"), sheet_name=None, engine="odf", header=None)
    assert list(back)[:3] == ["Cover", "Notes", "Contents"]
    assert back["Table 1"].iloc[4, top - 1] == pytest.approx(g.estimate[0, 0, 5], rel=1e-12)
    fr = pd.read_csv(g.to_csv(tmp_path / "g.csv"))
    assert len(fr) == 3 * 3 * 9 and {"item", "item_label", "quantity", "estimate"} <= set(fr)
