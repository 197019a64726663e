"""Tests for delibpoll.tables (banner): numbers from the estimators, letters against
hand-computed contrasts, suppression, exports, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import delibpoll as dp
from delibpoll import DelibpollError
from delibpoll.tables import banner, column_letters


@pytest.fixture(scope="module")
def design():  # type: ignore[no-untyped-def]
    t3 = dp.datasets.load_example(3)
    return dp.rake(dp.SurveyDesign(t3), dp.datasets.england_adult_targets(), tol=1e-12)


def test_letters_scheme() -> None:
    assert column_letters(28)[:3] == ["A", "B", "C"]
    assert column_letters(28)[25:] == ["Z", "AA", "AB"]


def test_numbers_come_from_the_estimators(design) -> None:  # type: ignore[no-untyped-def]
    b = banner(design, ["q_pact", "trust_nhs"], ["info_arm", "sex"])
    fr = b.to_frame()
    for col in ["question", "category", "banner", "column", "letter", "estimate", "ci_lower",
                "ci_upper", "n", "weighted_n", "n_eff", "higher_than"]:
        assert col in fr.columns
    est = dp.proportion(design, "q_pact", by="info_arm").to_frame()
    got = fr[(fr.question == "q_pact") & (fr.banner == "info_arm")]
    np.testing.assert_allclose(got["estimate"].to_numpy(), est["estimate"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["ci_lower"].to_numpy(), est["ci_lower"].to_numpy(), rtol=1e-12)
    tot = dp.proportion(design, "q_pact").to_frame()
    np.testing.assert_allclose(fr[(fr.question == "q_pact") & (fr.column == "Total")]["estimate"], tot["estimate"], rtol=1e-12)
    m = dp.mean(design, "trust_nhs", by="sex", na="drop").to_frame()
    got = fr[(fr.question == "trust_nhs") & (fr.banner == "sex")]
    np.testing.assert_allclose(got["estimate"].to_numpy(), m["estimate"].to_numpy(), rtol=1e-12)
    assert (got["n"].to_numpy() == m["n"].to_numpy()).all()
    assert fr[fr.column == "Total"]["letter"].eq("").all()
    assert fr[fr.banner == "info_arm"]["letter"].isin(["A", "B"]).all()
    assert fr[fr.banner == "sex"]["letter"].isin(["C", "D"]).all()


@pytest.mark.parametrize("method", ["logit", "likelihood", "asin", "beta", "mean", "xlogit", "wilson"])
def test_every_ci_method_equals_proportion_by(design, method: str) -> None:  # type: ignore[no-untyped-def]
    """Banner cells are proportion(by=) cells: estimate, SE and CI for every CI method
    (``beta`` and ``likelihood`` use R's row count of the domain's subset, as proportion)."""
    fr = banner(design, ["q_pact"], ["region"], ci_method=method).to_frame()
    got = fr[fr.banner == "region"]
    est = dp.proportion(design, "q_pact", by="region", ci_method=method).to_frame()
    for col in ("estimate", "se", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(got[col].to_numpy(), est[col].to_numpy(), rtol=1e-10)
    assert np.isfinite(got["ci_lower"]).all()


def test_letters_match_hand_computed_contrasts(design) -> None:  # type: ignore[no-untyped-def]
    fr = banner(design, ["q_charge"], ["age_group"]).to_frame()
    est = dp.proportion(design, "q_charge", by="age_group")
    ages = list(design.data["age_group"].cat.categories)
    letters = dict(zip(ages, column_letters(len(ages)), strict=True))
    for cat in ["Right", "Wrong", "Don't know"]:
        for i, a in enumerate(ages):
            expected = []
            for b in ages[:i] + ages[i + 1 :]:
                c = dp.contrast(est, {"d": {(a, cat): 1, (b, cat): -1}}).to_frame().iloc[0]
                if c["p_value"] < 0.05 and c["estimate"] > 0:
                    expected.append(letters[b])
            cell = fr[(fr.category == cat) & (fr.column == a)].iloc[0]
            assert cell["higher_than"] == "".join(sorted(expected)), (cat, a)


def test_adjustment_only_removes_letters(design) -> None:  # type: ignore[no-untyped-def]
    raw = banner(design, ["q_charge"], ["age_group"]).to_frame()
    holm = banner(design, ["q_charge"], ["age_group"], adjust="holm").to_frame()
    for a, h in zip(raw["higher_than"], holm["higher_than"], strict=True):
        assert set(h) <= set(a)
    assert raw["higher_than"].str.len().sum() > holm["higher_than"].str.len().sum()


def test_suppression_cannot_be_undone(design) -> None:  # type: ignore[no-untyped-def]
    fr = banner(design, ["q_pact"], ["age_group", "sex"], suppress_below=300).to_frame()
    age = fr[(fr.banner == "age_group")]
    bases = age.groupby("column")["suppressed"].first()
    n_sup = int(bases.sum())
    # 75+ (203 respondents) is below 300: suppressed, and a second column too, so the
    # blanked value cannot be derived from the Total and the other columns
    assert bases["75+"] and n_sup >= 2
    assert age[age.suppressed][["estimate", "weighted_n", "n_eff"]].isna().all().all()
    assert not fr[fr.banner == "sex"]["suppressed"].any()
    single = banner(design, ["q_pact"], ["age_group"], suppress_below=210).to_frame()
    assert single.groupby("column")["suppressed"].first().sum() != 1


def test_nets_exclude_and_multi_response(design) -> None:  # type: ignore[no-untyped-def]
    nets = {"Any effect": ["Increase confidence", "Decrease confidence"]}
    fr = banner(design, ["q_pact", {"Priorities": ["prio_care", "prio_research"]}], ["sex"],
                nets=nets, exclude=["Don't know"]).to_frame()
    tot = fr[(fr.question == "q_pact") & (fr.column == "Total")].set_index("category")["estimate"]
    assert tot["Any effect"] == pytest.approx(tot["Increase confidence"] + tot["Decrease confidence"], rel=1e-12)
    assert "Don't know" not in tot.index
    assert tot.drop("Any effect").sum() == pytest.approx(1.0)
    pr = fr[(fr.question == "Priorities") & (fr.column == "Total")].set_index("category")["estimate"]
    w = design.weights
    assert pr["prio_care"] == pytest.approx((w * design.data["prio_care"]).sum() / w.sum(), rel=1e-12)


def test_exports(design, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    b = banner(design, ["q_pact", "q_charge"], ["sex"], suppress_below=10)
    md = b.to_markdown()
    assert "### q_pact" in md and "Base (unweighted)" in md and "Notes" in md
    assert "<caption>q_pact</caption>" in b.to_html()
    b.to_csv(tmp_path / "t.csv")
    assert len(pd.read_csv(tmp_path / "t.csv")) == len(b.to_frame())
    path = b.to_excel(tmp_path / "t.xlsx")
    with pd.ExcelFile(path) as xl:
        assert xl.sheet_names == ["Cover", "Notes", "Table 1", "Table 2"]
        t1 = pd.read_excel(xl, sheet_name="Table 1", header=1)
    assert t1.columns[0] == "Category" and "Total estimate" in t1.columns
    assert t1["Total estimate"].iloc[0] == pytest.approx(b.to_frame()["estimate"].iloc[0])


def test_bad_input(design) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DelibpollError, match="Available columns"):
        banner(design, ["nope"], ["sex"])
    with pytest.raises(DelibpollError, match="missing values"):
        banner(dp.SurveyDesign(pd.DataFrame({"q": ["a", "b"] * 10, "g": ["x", None] * 10})), ["q"], ["g"])
    with pytest.raises(DelibpollError, match="looks continuous"):
        banner(dp.SurveyDesign(pd.DataFrame({"q": ["a", "b"] * 15, "g": np.linspace(0, 1, 30)})), ["q"], ["g"])
    with pytest.raises(DelibpollError, match="0/1 columns"):
        banner(design, [{"S": ["trust_nhs"]}], ["sex"])
    # a category present in one column only: zero elsewhere, no crash, no letter from NaN
    df = pd.DataFrame({"q": ["a"] * 30 + ["b"] * 30, "g": ["x"] * 30 + ["y"] * 30})
    fr = banner(dp.SurveyDesign(df), ["q"], ["g"]).to_frame()
    assert fr[(fr.column == "x") & (fr.category == "b")]["estimate"].iloc[0] == 0.0
    assert stats is not None


def test_letters_match_r_svycontrast(ref) -> None:  # type: ignore[no-untyped-def]
    """Letters follow R's pairwise svycontrast p-values (tests/reference/r/banner.R):
    awards by school type on the clustered apiclus1 design, at the 0.05 level."""
    d = dp.SurveyDesign(ref.data("apiclus1.csv"), weights="pw", ids="dnum", fpc="fpc")
    fr = banner(d, ["awards"], ["stype"], min_base=1).to_frame()
    letters = {"E": "A", "H": "B", "M": "C"}
    for lev in ["No", "Yes"]:
        expected: dict[str, list[str]] = {"E": [], "H": [], "M": []}
        for a, b in [("E", "H"), ("E", "M"), ("H", "M")]:
            est = ref.get("apiclus1", "banner_pair", "estimate", variable="awards", domain=f"{a}-{b}", category=lev)
            p = ref.get("apiclus1", "banner_pair", "p_value", variable="awards", domain=f"{a}-{b}", category=lev)
            if p < 0.05:
                hi, lo = (a, b) if est > 0 else (b, a)
                expected[hi].append(letters[lo])
        for col, lets in expected.items():
            cell = fr[(fr.category == lev) & (fr.column == col)].iloc[0]
            assert cell["higher_than"] == "".join(sorted(lets)), (lev, col)
        got = fr[(fr.category == lev) & (fr.banner == "stype")]
        assert got["higher_than"].str.len().sum() == sum(len(v) for v in expected.values())
