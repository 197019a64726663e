"""Tests for delibpoll.banner (banner) and its exporters (delibpoll.export).

Outside references: R survey 4.1.1 (tests/reference/r/banner.R and banner_extra.R: cells,
SEs, CIs, pairwise p-values and Holm-adjusted p-values on a raked and a stratified design),
a suppression example worked by hand from the stated rule, and the exporters read back with
their own parsers (openpyxl, html.parser, the Markdown table grammar). Tests named
"consistency" compare banner with the package's own estimators only."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError
from delibpoll.banner import banner, column_letters


@pytest.fixture(scope="module")
def design():  # type: ignore[no-untyped-def]
    t3 = dp.datasets.load_example(3)
    return dp.rake(dp.SurveyDesign(t3), dp.datasets.england_adult_targets(), tol=1e-12)


def test_letters_scheme() -> None:
    assert column_letters(28)[:3] == ["A", "B", "C"]
    assert column_letters(28)[25:] == ["Z", "AA", "AB"]


def test_consistency_numbers_come_from_the_estimators(design) -> None:  # type: ignore[no-untyped-def]
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


def test_consistency_letters_match_contrast(design) -> None:  # type: ignore[no-untyped-def]
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
    assert "### Table 1: Would a Data Pact increase or decrease your confidence in how the NHS uses data?" in md and "Unweighted base" in md and "Notes" in md
    assert "<caption>Table 1: Would a Data Pact increase or decrease your confidence in how the NHS uses data?<span class='base'>" in b.to_html()
    b.to_csv(tmp_path / "t.csv")
    assert len(pd.read_csv(tmp_path / "t.csv")) == len(b.to_frame())
    path = b.to_excel(tmp_path / "t.xlsx")
    with pd.ExcelFile(path) as xl:
        assert xl.sheet_names == ["Cover", "Notes", "Contents", "Table 1", "Table 2"]
        t1 = pd.read_excel(xl, sheet_name="Table 1", header=3)
    assert t1.columns[0] == "Answer" and "Total" in t1.columns
    assert t1["Total"].iloc[0] == pytest.approx(b.to_frame()["estimate"].iloc[0])


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


# ---------------------------------------------------------------- R reference (banner_extra.R)
AGES = ["18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"]
Q_PACT = ["Increase confidence", "No impact", "Decrease confidence", "Don't know"]
NETS = {"Any change": ["Increase confidence", "Decrease confidence"]}


def _england_raked(ref):  # type: ignore[no-untyped-def]
    eng = ref.data("england_like.csv", keep_default_na=False, na_values=[""])
    eng.loc[eng["id"] % 17 == 0, "trust"] = np.nan  # as banner_extra.R
    eng["q_pact"] = pd.Categorical(eng["q_pact"], categories=Q_PACT)
    eng["age_group"] = pd.Categorical(eng["age_group"], categories=AGES)
    targets = dp.Targets.from_csv(ref.root / "data" / "england_like_targets.csv")
    margins = ["sex", "age_group", "region", "education", "ethnicity"]
    return dp.rake(dp.SurveyDesign(eng), targets.select(margins), tol=1e-12)


def _expected_letters(ref, case, question, bvar, levels, category, quantity):  # type: ignore[no-untyped-def]
    """Letters derived from R's pairwise p-values: the higher column of a pair with p < 0.05
    gets the letter of the lower one."""
    letters = dict(zip(levels, column_letters(len(levels)), strict=True))
    out: dict[str, list[str]] = {lev: [] for lev in levels}
    for i, a in enumerate(levels):
        for b in levels[i + 1:]:
            dom = f"{bvar}:{a}:{b}"
            d = ref.get(case, "banner_pair", "estimate", variable=question, domain=dom, category=category)
            p = ref.get(case, "banner_pair", quantity, variable=question, domain=dom, category=category)
            assert abs(p - 0.05) > 1e-6, "a p-value at the threshold would make the test fragile"
            if p < 0.05:
                hi, lo = (a, b) if d > 0 else (b, a)
                out[hi].append(letters[lo])
    return {k: "".join(sorted(v, key=lambda s: (len(s), s))) for k, v in out.items()}


def _check_cells(ref, case, fr, bvar) -> int:  # type: ignore[no-untyped-def]
    """Every cell of banner variable ``bvar`` (and Total) against R: estimate 1e-10 absolute,
    SE 1e-6 relative."""
    checked = 0
    for _, r in fr[fr.banner.isin([bvar, ""])].iterrows():
        kw = {"variable": r.question, "domain": f"{bvar}:{r.column}", "category": str(r.category)}
        assert r.estimate == pytest.approx(ref.get(case, "banner_cell", "estimate", **kw), abs=1e-10)
        assert r.se == pytest.approx(ref.get(case, "banner_cell", "se", **kw), rel=1e-6)
        checked += 1
    return checked


@pytest.mark.parametrize("adjust,quantity", [("none", "p_value"), ("holm", "p_holm")])
def test_banner_matches_r_on_raked_design(ref, adjust: str, quantity: str) -> None:  # type: ignore[no-untyped-def]
    """q_pact (Don't know excluded, net 'Any change') and trust (numeric, with missing
    answers) by age group on a design raked to five margins: cells, SEs, logit CIs and the
    letters (raw and Holm-adjusted p-values from R's svycontrast + p.adjust)."""
    case = "banner_england_raked"
    d = _england_raked(ref)
    assert d.df == ref.get(case, "degf", "df")
    fr = banner(d, ["q_pact", "trust"], ["age_group"], exclude=["Don't know"], nets=NETS,
                adjust=adjust, min_base=1).to_frame()
    assert set(fr[fr.question == "q_pact"].category) == {*Q_PACT[:3], "Any change"}
    assert _check_cells(ref, case, fr, "age_group") == 8 * 5  # 4 + 1 rows x 8 columns
    cells = fr[(fr.question == "q_pact") & (fr.banner == "age_group") & ~fr.is_net]
    for _, r in cells.iterrows():
        kw = {"variable": "q_pact", "domain": f"age_group:{r.column}", "category": r.category}
        assert r.ci_lower == pytest.approx(ref.get(case, "banner_cell", "ci_lower", **kw), rel=1e-6)
        assert r.ci_upper == pytest.approx(ref.get(case, "banner_cell", "ci_upper", **kw), rel=1e-6)
    n_letters = 0
    for question, cats in [("q_pact", [*Q_PACT[:3], "Any change"]), ("trust", ["trust"])]:
        for cat in cats:
            want = _expected_letters(ref, case, question, "age_group", AGES, cat, quantity)
            sub = fr[(fr.question == question) & (fr.category == cat) & (fr.banner == "age_group")]
            assert dict(zip(sub.column, sub.higher_than, strict=True)) == want, (question, cat)
            n_letters += sum(len(v) for v in want.values())
    assert n_letters > 0  # the reference has significant pairs, so the check has teeth


def test_banner_matches_r_on_stratified_design(ref) -> None:  # type: ignore[no-untyped-def]
    """awards and api00 by stype (the strata) and sch.wide on apistrat (fpc)."""
    case = "banner_apistrat"
    d = dp.SurveyDesign(ref.data("apistrat.csv"), weights="pw", strata="stype", fpc="fpc")
    assert d.df == ref.get(case, "degf", "df")
    fr = banner(d, ["awards", "api00"], ["stype", "sch.wide"], min_base=1).to_frame()
    assert _check_cells(ref, case, fr, "stype") == 3 * 4
    assert _check_cells(ref, case, fr, "sch.wide") == 3 * 3
    for bvar, levels in [("stype", ["E", "H", "M"]), ("sch.wide", ["No", "Yes"])]:
        offset = 0 if bvar == "stype" else 3  # letters run across the whole banner
        for question, cats in [("awards", ["No", "Yes"]), ("api00", ["api00"])]:
            for cat in cats:
                want = _expected_letters(ref, case, question, bvar, levels, cat, "p_value")
                shift = {a: column_letters(5)[offset + i] for i, a in enumerate(column_letters(len(levels)))}
                want = {k: "".join(shift[c] for c in v) for k, v in want.items()}
                sub = fr[(fr.question == question) & (fr.category == cat) & (fr.banner == bvar)]
                assert dict(zip(sub.column, sub.higher_than, strict=True)) == want, (question, cat, bvar)


# ---------------------------------------------------------------- nets and exclusions (#12 item 4)
def test_net_with_excluded_member_is_refused(design) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DelibpollError, match=r"Net 'Any' of question 'q_pact' includes \[\"Don't know\"\].*exclude"):
        banner(design, ["q_pact"], ["sex"], exclude=["Don't know"],
               nets={"Any": ["Increase confidence", "Don't know"]})


def test_net_with_misspelt_member_is_refused(design) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DelibpollError, match=r"names \['Decrease confidnce'\], which question 'q_pact' does not have\. Categories of 'q_pact': \['Increase confidence'"):
        banner(design, ["q_pact", "q_charge"], ["sex"],
               nets={"Any": ["Increase confidence", "Decrease confidnce"]})
    with pytest.raises(DelibpollError, match=r"Net 'Any' .* matches no categorical question.*'Right'"):
        banner(design, ["q_pact", "q_charge"], ["sex"], nets={"Any": ["Incr", "Decr"]})
    with pytest.raises(DelibpollError, match=r"'exclude' parameter of banner names \['Dont know'\].*Don't know"):
        banner(design, ["q_pact"], ["sex"], exclude=["Dont know"])


def test_notes_describe_only_what_was_computed(design) -> None:  # type: ignore[no-untyped-def]
    """A global net applies to the questions holding its members; the notes name them."""
    b = banner(design, ["q_pact", "q_charge"], ["sex"], exclude=["Don't know"],
               nets={"Any effect": ["Increase confidence", "Decrease confidence"],
                     "q_charge": {"Has a view": ["Right", "Wrong"]}})
    fr = b.to_frame()
    assert set(fr[fr.is_net].groupby("question").category.first().items()) == {
        ("q_pact", "Any effect"), ("q_charge", "Has a view")}
    assert "Nets (computed from unrounded values): Would a Data Pact increase or decrease your confidence in how the NHS uses data?: Any effect = Increase confidence + " \
        "Decrease confidence; Is it right or wrong for the NHS to make money by charging for access to data?: Has a view = Right + Wrong." in b.notes
    n_dk = int((design.data["q_pact"] == "Don't know").sum())  # counted from the data
    assert f"Would a Data Pact increase or decrease your confidence in how the NHS uses data?: Don't know ({n_dk:,} respondents) left out of the base, as asked " \
        "(exclude=)." in b.notes
    # "Has a view" = Right + Wrong = 100% of the base once Don't know is excluded (by hand)
    assert fr[fr.category == "Has a view"].estimate.to_numpy() == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(DelibpollError, match="Nets were given for question 'trust_nhs', a numeric"):
        banner(design, ["trust_nhs"], ["sex"], nets={"trust_nhs": {"x": [1]}})
    with pytest.raises(DelibpollError, match="question 'nope', which is not among the rows"):
        banner(design, ["q_pact"], ["sex"], nets={"nope": {"x": ["Right"]}})


# ---------------------------------------------------------------- argument checks (#12 item 20)
@pytest.mark.parametrize("kwargs,match", [
    ({"decimals": -1}, r"'decimals' parameter of banner must be an integer from 0 to 10\. Got -1"),
    ({"decimals": 1.5}, r"'decimals' .* Got 1\.5"),
    ({"decimals": True}, r"'decimals' .* Got True"),
    ({"min_base": -5}, r"'min_base' parameter of banner must be an integer >= 0\. Got -5"),
    ({"suppress_below": 0}, r"'suppress_below' parameter of banner must be an integer >= 1"),
    ({"suppress_below": "10"}, r"'suppress_below' .* Got '10'"),
    ({"rows": []}, r"'rows' parameter of banner is empty"),
    ({"rows": ["q_pact", "q_pact"]}, r"names question\(s\) \['q_pact'\] more than once"),
    ({"rows": ["q_pact", "sex"]}, r"Column\(s\) \['sex'\] are both a row and a banner variable"),
    ({"rows": [{"S": []}]}, r"Multi-response set 'S' of banner must be a non-empty list"),
    ({"rows": [3.5j]}, r"'rows' parameter of banner must list column names"),
    ({"columns": ["sex", "sex"]}, r"'columns' parameter of banner names \['sex'\] more than once"),
    ({"columns": ["nope"]}, r"'columns' parameter names column\(s\) \['nope'\].*Available columns: \['respondent_id'"),
    ({"columns": [], "total": False}, r"no columns to show"),
    ({"columns": {"sex": 1}}, r"'columns' parameter of banner must be a banner variable"),
    ({"total": "yes"}, r"'total' parameter of banner must be True or False"),
    ({"level": 95}, r"'level' parameter of banner must be a float in \(0, 1\)"),
    ({"sig_level": 0}, r"'sig_level' parameter of banner must be a number in \(0, 1\)"),
    ({"ci_method": "exact"}, r"'ci_method' parameter of banner must be one of \['logit'"),
    ({"adjust": "sidak"}, r"'adjust' parameter of banner must be 'none', 'holm'"),
    ({"exclude": {"a": 1}}, r"'exclude' parameter of banner must be a list of category labels"),
    ({"nets": ["a"]}, r"'nets' parameter of banner must be a mapping"),
    ({"nets": {"Any": []}}, r"Net 'Any' of banner must list at least one category"),
    ({"nets": {"Any": "Right"}}, r"Net 'Any' of banner must list at least one category"),
    ({"nets": {"Any": ["Right", "Right"]}}, r"Net 'Any' of banner names \['Right'\] more than once"),
    ({"nets": {"Right": ["Right", "Wrong"]}}, r"Net 'Right' of question 'q_charge' has the name of a category"),
])
def test_every_argument_is_checked(design, kwargs, match) -> None:  # type: ignore[no-untyped-def]
    args = {"rows": ["q_charge"], "columns": ["sex"], **kwargs}
    with pytest.raises(DelibpollError, match=match):
        banner(design, **args)


def test_numeric_column_names_are_refused_clearly() -> None:
    df = pd.DataFrame({1: ["a", "b"] * 10, 2: ["x", "y"] * 10, "q": ["a", "b"] * 10})
    with pytest.raises(DelibpollError, match=r"'rows' parameter of banner names column\(s\) \[1\] that are not text.*rename"):
        banner(dp.SurveyDesign(df), [1], ["q"])
    with pytest.raises(DelibpollError, match=r"'columns' parameter of banner names column\(s\) \[2\] that are not text"):
        banner(dp.SurveyDesign(df), ["q"], [2])
    fr = banner(dp.SurveyDesign(df.rename(columns=str)), ["1"], ["2"], min_base=1).to_frame()
    # a and x always together: 100% a in column x, 0% in y (worked by hand)
    got = fr[(fr.category == "a") & (fr.banner == "2")].set_index("column").estimate
    assert got["x"] == 1.0 and got["y"] == 0.0


# ---------------------------------------------------------------- exporters (#12 item 5)
AWKWARD = ["a|b", "<script>alert(1)</script>", "line\nbreak", "=1+2", "R&D *bold* _x_ [l](u)"]


@pytest.fixture(scope="module")
def awkward():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(12)
    n = 200
    df = pd.DataFrame({
        "q": rng.choice(AWKWARD, n),
        "g": rng.choice(["x|y", "<b>", "=SUM(A1)"], n),
        "big": rng.normal(1.5e7, 1e6, n),
        "w": rng.uniform(0.5, 2.0, n),
    })
    return banner(dp.SurveyDesign(df, weights="w"), ["q", "big"], ["g"], min_base=1, decimals=2)


def _md_tables(md: str) -> list[list[list[str]]]:
    """The Markdown tables as lists of rows of cells, split on unescaped pipes (GFM)."""
    import re
    tables: list[list[list[str]]] = []
    cur: list[list[str]] = []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            cur.append([c.strip() for c in cells])
        elif cur:
            tables.append(cur)
            cur = []
    return tables


def _md_unescape(cell: str) -> str:
    import html as _html
    import re
    return _html.unescape(re.sub(r"\\(.)", r"\1", cell.replace("<br>", "\n")))


def test_markdown_escapes_labels(awkward) -> None:  # type: ignore[no-untyped-def]
    md = awkward.to_markdown()
    assert "<script>" not in md and "<b>" not in md and "&lt;script&gt;" in md
    tables = _md_tables(md)
    assert len(tables) == 2
    for t in tables:
        assert len({len(r) for r in t}) == 1  # no label shifted a column
    labels = [_md_unescape(r[0]) for r in tables[0][2:]]
    assert labels[:5] == sorted(AWKWARD) and labels[5:] == ["Unweighted base", "Weighted base", "Effective base"]
    heads = [_md_unescape(c) for c in tables[0][0][1:]]
    assert heads == ["Total", "G: <b> (A)", "G: =SUM(A1) (B)", "G: x|y (C)"]


def test_html_escapes_labels(awkward) -> None:  # type: ignore[no-untyped-def]
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[str] = []
            self.text: list[str] = []

        def handle_starttag(self, tag, attrs) -> None:  # type: ignore[no-untyped-def]
            self.tags.append(tag)

        def handle_data(self, data: str) -> None:
            self.text.append(data)

    p = Cells()
    p.feed(awkward.to_html())
    assert "script" not in p.tags and "b" not in p.tags
    assert set(AWKWARD) <= set(p.text) and "G: x|y (C)" in p.text


def test_excel_writes_labels_as_text(awkward, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import openpyxl
    path = awkward.to_excel(tmp_path / "t.xlsx", title="=HYPERLINK(\"x\")", source="http://example.org")
    wb = openpyxl.load_workbook(path)
    found = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.value for c in found if c.data_type == "f"]  # no formula anywhere
    links = [c for c in found if c.hyperlink is not None]  # only the Contents sheet's own
    assert {c.parent.title for c in links} == {"Contents"}
    assert sorted(c.hyperlink.location for c in links) == ["'Table 1'!A1", "'Table 2'!A1"]
    assert not [c for c in links if c.hyperlink.target]  # no external link
    vals = {c.value for c in found}
    assert "=1+2" in vals and "G: =SUM(A1) (B)" in vals and "=HYPERLINK(\"x\")" in vals


def test_exports_round_trip_the_numbers_with_the_stated_decimals(awkward, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """decimals=2: Markdown and HTML show every estimate in fixed notation with 2 decimals,
    equal to the unrounded estimate rounded half-even by Python's round (within float
    representation); the spreadsheet stores the unrounded numbers with a 2-decimal format."""
    import re

    import openpyxl
    fr = awkward.to_frame()
    tables = _md_tables(awkward.to_markdown())
    cols = [None, ("", "Total"), ("g", "<b>"), ("g", "=SUM(A1)"), ("g", "x|y")]
    shown = 0
    for t, q in zip(tables, ["q", "big"], strict=True):
        for row in t[2:]:
            cat = _md_unescape(row[0])
            if cat.endswith("base"):
                continue
            for j in range(1, 5):
                txt = row[j].split(" ")[0]
                cell = fr[(fr.question == q) & (fr.category_label == cat) & (fr.banner == cols[j][0]) & (fr.column == cols[j][1])].iloc[0]
                if q == "q":
                    assert re.fullmatch(r"\d+\.\d{2}%", txt), txt
                    assert abs(float(txt[:-1]) - 100 * cell.estimate) <= 0.005 + 1e-9
                else:
                    assert re.fullmatch(r"\d{2},\d{3},\d{3}\.\d{2}", txt), txt  # 15,000,000.00, not 1.5e+07
                    txt = txt.replace(",", "")
                    assert abs(float(txt) - cell.estimate) <= 0.005 + 1e-6
                shown += 1
    assert shown == 4 * 6
    assert re.search(r"<td>\d{2},\d{3},\d{3}\.\d{2}</td>", awkward.to_html())
    ws = openpyxl.load_workbook(awkward.to_excel(tmp_path / "r.xlsx"))["Table 1"]
    pcts = [c for row in ws.iter_rows(min_row=5, max_row=9) for c in row if isinstance(c.value, float)]
    assert pcts and {c.number_format for c in pcts} == {"0.00%"}
    ws2 = openpyxl.load_workbook(tmp_path / "r.xlsx")["Table 2"]
    assert ws2["B5"].number_format == "#,##0.00"
    tot = fr[(fr.question == "big") & (fr.column == "Total")].estimate.iloc[0]
    assert ws2["B5"].value == pytest.approx(tot, rel=1e-14)  # Excel keeps 15 digits


def test_markdown_has_no_negative_zero() -> None:
    """A mean of -0.001 shown with 1 decimal is 0.0, not -0.0 (worked by hand)."""
    df = pd.DataFrame({"v": [-0.002, 0.0, -0.001] * 10, "g": ["x", "y", "z"] * 10})
    md = banner(dp.SurveyDesign(df), ["v"], ["g"], min_base=1, decimals=1).to_markdown()
    assert "-0.0" not in md and "| 0.0 " in md


def test_export_paths_are_checked(design, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    b = banner(design, ["q_charge"], ["sex"])
    with pytest.raises(DelibpollError, match="does not exist; create it first"):
        b.to_excel(tmp_path / "nope" / "t.xlsx")
    with pytest.raises(DelibpollError, match="does not exist; create it first"):
        b.to_csv(tmp_path / "nope" / "t.csv")
    with pytest.raises(DelibpollError, match=r"'path' parameter of to_csv must be a file path"):
        b.to_csv(12)  # type: ignore[arg-type]


def test_suppression_rule_worked_by_hand() -> None:
    """Hand-worked example of the suppression rule, suppress_below=5, unweighted.

    Banner g has bases A=3, B=8, C=20, D=25. Primary: A (3 < 5). Exactly one column is
    primary, so secondary suppression also blanks the next-smallest, B (8). C and D are shown.
    Banner h has bases E=2, F=54: primary E, and the only other column F is blanked too.
    Banner k has bases G=3, H=4, I=49: two primaries (G, H), no secondary needed; I shown.
    Total (56) is shown. In g, C has 19 of 20 "yes" and A 0 of 3: C is significantly higher
    than A, but A is blanked, so C carries no letter A (it would tell about A's value); C
    against D (19/20 against 10/25) is a shown pair, so C keeps D's letter.
    Expected shown shares of "yes": C 19/20 = 0.95, D 10/25 = 0.4, I by construction below.
    """
    g = ["A"] * 3 + ["B"] * 8 + ["C"] * 20 + ["D"] * 25
    q = ["no"] * 3 + ["yes"] + ["no"] * 7 + ["yes"] * 19 + ["no"] + ["yes"] * 10 + ["no"] * 15
    h = ["E"] * 2 + ["F"] * 54
    k = ["G"] * 3 + ["H"] * 4 + ["I"] * 49
    df = pd.DataFrame({"q": q, "g": g, "h": h, "k": k})
    fr = banner(dp.SurveyDesign(df), ["q"], ["g", "h", "k"], suppress_below=5, min_base=1).to_frame()
    cells = fr[fr.category == "yes"].set_index("column")
    assert cells.suppressed.to_dict() == {"Total": False, "A": True, "B": True, "C": False, "D": False,
                                          "E": True, "F": True, "G": True, "H": True, "I": False}
    assert cells.loc[["A", "B", "E", "F", "G", "H"], ["estimate", "se", "weighted_n"]].isna().all().all()
    assert cells.loc["C", "estimate"] == pytest.approx(0.95, abs=1e-15)
    assert cells.loc["D", "estimate"] == pytest.approx(0.4, abs=1e-15)
    assert cells.loc["I", "estimate"] == pytest.approx(29 / 49, abs=1e-15)  # 30 yes less A-H's 1
    assert cells.loc["Total", "estimate"] == pytest.approx(30 / 56, abs=1e-15)
    assert cells.loc["C", "higher_than"] == "D"  # letters: A..D, E F, G H I
    assert set(cells.loc[["A", "B", "E", "F", "G", "H"], "higher_than"]) == {""}


@pytest.mark.parametrize("method", ["beta", "wilson", "logit"])
def test_banner_share_of_zero_gets_the_nchs_interval_not_a_point(ref, method: str) -> None:  # type: ignore[no-untyped-def]
    """#12 item 18 in the banner: 0 of the 14 high schools of apiclus1 are "top" (api00 >=
    845). The cell's interval was [0, 0]; now the NCHS rule for beta and wilson, worked by
    hand from scipy quantiles with n = 14 and the domain's df from R (estimation_extra.R),
    rel 1e-12, and NaN for logit; ``ci_note`` says which."""
    from scipy import stats

    data = ref.data("apiclus1.csv")
    data["top"] = np.where(data["api00"] >= 845, "yes", "no")
    d = dp.SurveyDesign(data, weights="pw", ids="dnum", fpc="fpc")
    fr = banner(d, ["top"], ["stype"], ci_method=method, min_base=0).to_frame()
    h = fr[(fr["column"] == "H") & (fr["category"] == "yes")].iloc[0]
    assert h["estimate"] == 0.0 and h["n"] == 14
    df_h = ref.get("apiclus1_top", "degf", "df", domain="H")
    if method == "beta":
        n_eff = 14 * (stats.t.ppf(0.025, 13) / stats.t.ppf(0.025, df_h)) ** 2
        upper = stats.beta.ppf(0.975, 1, n_eff)
    elif method == "wilson":
        z2 = stats.t.ppf(0.975, df_h) ** 2
        upper = (z2 / 14) / (1 + z2 / 14)
    if method == "logit":
        assert np.isnan(h["ci_lower"]) and np.isnan(h["ci_upper"])
        assert h["ci_note"] == "SE 0 (p=0/1): no CI"
    else:
        assert h["ci_lower"] == 0.0
        assert h["ci_upper"] == pytest.approx(upper, rel=1e-12)
        assert h["ci_note"] == "SE 0 (p=0/1): NCHS n_eff=n"
    others = fr[(fr["column"] != "H") & (fr["category"] == "yes")]
    assert (others["ci_note"] == "").all() and (others["ci_upper"] > others["ci_lower"]).all()


# ---------------------------------------------------------------- publishable outputs (#14)
SAV = dp.datasets.data_path("example", "tier3.sav")
PACT = "Would a Data Pact increase or decrease your confidence in how the NHS uses data?"


@pytest.fixture(scope="module")
def from_sav():  # type: ignore[no-untyped-def]
    """The example .sav as read_survey reads it (variable and value labels, missing codes)."""
    df = dp.read_survey(SAV)
    return df, dp.rake(dp.SurveyDesign(df), dp.datasets.england_adult_targets(), tol=1e-12)


@pytest.fixture(scope="module")
def sav_table(from_sav):  # type: ignore[no-untyped-def]
    return banner(from_sav[1], ["q_pact", "trust_nhs", "q_committee",
                                {"Priorities": ["prio_care", "prio_research"]}],
                  ["sex", "info_arm"], exclude=["Don't know"], min_base=2000,
                  nets={"q_pact": {"Any effect": ["Increase confidence", "Decrease confidence"]}},
                  labels={"info_arm": "Information arm", "sex:Female": "Women",
                          "sex:Male": "Men"})


def test_words_not_names(from_sav, sav_table) -> None:  # type: ignore[no-untyped-def]
    """Titles, row and column labels come from the file's labels (read with pyreadstat by
    read_survey), under the author's labels; the frame keeps the data's names and codes."""
    t = sav_table
    vl = from_sav[0].attrs["variable_labels"]
    assert t.question_labels == (vl["q_pact"], vl["trust_nhs"], vl["q_committee"],
                                 "Priority for the value of data")
    assert t.category_labels[3] == ("Improving NHS care and services",
                                    "Medical research and new treatments")
    assert t.category_labels[1] == ("Mean",)
    assert t.banner_labels == ("", "Sex", "Sex", "Information arm", "Information arm")
    assert t.column_labels == ("Total", "Women", "Men", "Control", "Reassured")
    fr = t.to_frame()
    assert {"q_pact", "trust_nhs", "Priorities"} <= set(fr.question)
    assert set(fr[fr.question == "Priorities"].category) == {"prio_care", "prio_research"}
    assert set(fr[fr.banner == "sex"].column) == {"Female", "Male"}
    assert set(fr[fr.banner == "sex"].column_label) == {"Women", "Men"}
    md, page = t.to_markdown(), t.to_html()
    for name in ("q_pact", "trust_nhs", "q_committee", "prio_care", "info_arm", "sex:"):
        assert name not in md and name not in page
    assert f"### Table 1: {PACT}" in md and "| Men: " not in md and "Sex: Men (B)" in md
    # no label at all: a readable fallback, never the snake_case name
    df = pd.DataFrame({"age_group": ["a_b", "c"] * 20, "q_my_item": ["x", "y"] * 20})
    plain = banner(dp.SurveyDesign(df), ["q_my_item"], ["age_group"], min_base=1)
    assert plain.question_labels == ("My item",) and plain.banner_labels[1] == "Age group"
    assert plain.column_labels[1] == "A b"
    with pytest.raises(DelibpollError, match=r"'labels' parameter of banner must be a mapping"):
        banner(dp.SurveyDesign(df), ["q_my_item"], ["age_group"], labels=["x"])
    with pytest.raises(DelibpollError, match=r"labels key 'q_my_item' has 3 \(int\)"):
        banner(dp.SurveyDesign(df), ["q_my_item"], ["age_group"], labels={"q_my_item": 3})


def test_base_lines_and_notes_state_what_left_the_base(from_sav, sav_table) -> None:  # type: ignore[no-untyped-def]
    """Counts worked from the data: exclude= (Don't know) and the file's missing codes
    (trust_nhs 99 = Don't know, q_committee -9 = Not answered), which read_survey made NaN."""
    df, t = from_sav[0], sav_table
    n_trust = int(df["trust_nhs"].notna().sum())
    n_dk = int((df["q_committee"] == "Don't know").sum())
    n_na = int(df["q_committee"].isna().sum())
    assert t.base_lines[1] == ("Base: all respondents, excluding missing answers (Don't know, "
                               f"code 99) (unweighted n = {n_trust:,})")
    assert t.base_lines[2] == ("Base: all respondents, excluding Don't know and missing answers "
                               f"(Not answered, code -9) (unweighted n = {4000 - n_dk - n_na:,})")
    assert t.base_lines[3] == "Base: all respondents (unweighted n = 4,000)"
    assert (f"Preferred model for data access committees: Don't know ({n_dk} respondents) left "
            f"out of the base, as asked (exclude=); {n_na} respondents with missing answers "
            "(Not answered, code -9) left out of the base.") in t.notes
    md = t.to_markdown()
    assert all(line in md for line in t.base_lines)
    b = banner(from_sav[1], ["q_pact"], ["sex"], base_description="all adults in England")
    assert b.base_lines == ("Base: all adults in England (unweighted n = 4,000)",)
    with pytest.raises(DelibpollError, match="'base_description' parameter of banner"):
        banner(from_sav[1], ["q_pact"], ["sex"], base_description="  ")


class _Tree:
    """A small DOM from html.parser: every start tag with its attributes, and texts."""

    def __init__(self, page: str) -> None:
        from html.parser import HTMLParser

        tags: list[tuple[str, dict[str, str | None]]] = []
        texts: list[str] = []
        decl: list[str] = []

        class P(HTMLParser):
            def handle_starttag(self, tag, attrs) -> None:  # type: ignore[no-untyped-def]
                tags.append((tag, dict(attrs)))

            def handle_data(self, data: str) -> None:
                texts.append(data)

            def handle_decl(self, d: str) -> None:
                decl.append(d)

        P().feed(page)
        self.tags, self.texts, self.decl = tags, texts, decl

    def all(self, name: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == name]


def test_html_is_a_standalone_accessible_document(sav_table) -> None:  # type: ignore[no-untyped-def]
    page = sav_table.to_html(title="Cohort 1 tables")
    tree = _Tree(page)
    assert tree.decl == ["DOCTYPE html"] and page.startswith("<!DOCTYPE html>")
    assert tree.all("html")[0]["lang"] == "en" and tree.all("meta")[0]["charset"] == "utf-8"
    assert "Cohort 1 tables" in tree.texts and len(tree.all("style")) == 1
    assert len(tree.all("table")) == len(tree.all("caption")) == 4
    assert all(a.get("scope") in ("col", "row", "colgroup") for a in tree.all("th"))
    frag = sav_table.to_html(fragment=True)
    assert "<html" not in frag and "<table" in frag and sav_table._repr_html_() == frag
    classic = _Tree(sav_table.to_html(layout="classic"))
    groups = [a for a in classic.all("th") if a.get("scope") == "colgroup"]
    assert [a["colspan"] for a in groups] == ["2", "2"] * 4  # Sex, Information arm per table
    assert "(A)" in classic.texts and "(D)" in classic.texts
    with pytest.raises(DelibpollError, match="'layout' parameter of to_html must be 'accessible'"):
        sav_table.to_html(layout="ctables")


def test_markdown_layouts(sav_table) -> None:  # type: ignore[no-untyped-def]
    acc = _md_tables(sav_table.to_markdown())[0]
    assert acc[0][:3] == ["Answer", "Total", "Sex: Women (A)"]
    assert [r[0] for r in acc[2:]][-4:] == ["Unweighted base", "Weighted base", "Effective base",
                                            "Small base (unweighted n below 2,000) \\[u\\]"]
    cl = _md_tables(sav_table.to_markdown(layout="classic"))[0]
    assert cl[0][:3] == ["Answer", "Total", "Sex: Women"]
    assert cl[2] == ["", "", "(A)", "(B)", "(C)", "(D)"]  # letters under the categories
    assert cl[3][0] == "Unweighted base" and cl[3][1] == "4,000" or cl[3][1].endswith(",707")
    assert cl[-1][0] == "\\*\\*Any effect\\*\\*" or cl[-1][0] == "**Any effect**"


def _fmt_rule(text: str) -> bool:
    """Reader's numbers: percentages with the table's decimals, bases with separators."""
    return bool(re.fullmatch(r"\d{1,3}%( [A-Z]+)?|\d{1,3}(,\d{3})*|\d+\.\d( [A-Z]+)?|\[[cuxz]\]|",
                             text))


def test_numbers_formatted_for_readers(sav_table) -> None:  # type: ignore[no-untyped-def]
    from delibpoll._format import scientific_notation

    md = sav_table.to_markdown()
    assert not scientific_notation(md) and not scientific_notation(sav_table.to_html())
    for t in _md_tables(md):
        for row in t[2:]:
            for cell in row[1:]:
                assert _fmt_rule(cell.replace("\\[", "[").replace("\\]", "]")), cell
    # the same decimals within a column: every percentage of decimals=1 has one decimal
    one = banner(dp.SurveyDesign(dp.read_survey(SAV)), ["q_pact"], ["sex"], decimals=1)
    cells = [c for r in _md_tables(one.to_markdown())[0][2:6] for c in r[1:]]
    assert cells and all(re.fullmatch(r"\d{1,3}\.\d%( [A-Z]+)?", c) for c in cells), cells
    assert "| Unweighted base | 4,000 | 2,178 | 1,822 |" in one.to_markdown()


def test_excel_contents_print_setup_and_columns(sav_table, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import openpyxl

    from delibpoll.export._sheets import FIT_WIDTH

    path = sav_table.to_excel(tmp_path / "t.xlsx", title="Cohort 1")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Cover", "Notes", "Contents", "Table 1", "Table 2", "Table 3",
                             "Table 4"]
    contents = wb["Contents"]
    assert [contents.cell(r, 2).value for r in range(3, 7)] == list(sav_table.question_labels)
    assert [contents.cell(r, 1).hyperlink.location for r in range(3, 7)] == [
        f"'Table {i}'!A1" for i in range(1, 5)]
    for i in range(1, 5):
        ws = wb[f"Table {i}"]
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
        assert ws.print_title_rows == "$4:$4"  # the header row repeats on every page
        heads = [c.value for c in ws[4] if c.value is not None]
        assert "Total: significantly higher than (letters)" not in heads  # never tested
        for j, h in enumerate(heads):  # no empty column: every letters column has a letter
            if h.endswith("(letters)"):
                assert any(ws.cell(r, j + 1).value for r in range(5, ws.max_row + 1)), h
        width = sum(ws.column_dimensions[c].width for c in "ABCDEFGHIJKLM"
                    if c in ws.column_dimensions)
        assert ws.sheet_properties.pageSetUpPr.fitToPage == (width <= FIT_WIDTH)
        labels = [ws.cell(r, 1).value for r in range(5, ws.max_row + 1)]
        assert labels[-1] == "Small base (unweighted n below 2,000) [u]"
        flags = [ws.cell(ws.max_row, j).value for j in range(2, len(heads) + 1)]
        assert set(flags) <= {"[u]", None} and "[u]" in flags
        assert all("[u]" not in str(ws.cell(r, j).value) for r in range(5, ws.max_row)
                   for j in range(2, len(heads) + 1))  # not in the letters columns
        assert ws.column_dimensions["A"].width >= min(60, max(len(str(x)) for x in labels) + 2)
    classic = openpyxl.load_workbook(sav_table.to_excel(tmp_path / "c.xlsx", layout="classic"))
    ws = classic["Table 1"]
    assert sorted(str(m) for m in ws.merged_cells.ranges) == ["C4:D4", "E4:F4"]
    assert ws["C4"].value == "Sex" and ws["C5"].value == "Women" and ws["C6"].value == "(A)"
    assert ws.print_title_rows == "$4:$6" and ws["A7"].value == "Unweighted base"


def test_ods_has_the_sheets_of_the_xlsx(sav_table, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import zipfile

    path = sav_table.to_ods(tmp_path / "t.ods", title="Cohort 1")
    sheets = pd.read_excel(path, sheet_name=None, engine="odf", header=None)
    assert list(sheets) == ["Cover", "Notes", "Contents", "Table 1", "Table 2", "Table 3",
                            "Table 4"]
    t1 = sheets["Table 1"]
    assert t1.iloc[0, 0] == f"Table 1: {PACT}" and t1.iloc[3, 0] == "Answer"
    fr = sav_table.to_frame()
    first = fr[(fr.question == "q_pact") & (fr.column == "Total")].estimate.iloc[0]
    assert t1.iloc[4, 1] == pytest.approx(first, rel=1e-12)  # stored as a number
    content = zipfile.ZipFile(path).read("content.xml").decode()
    assert 'office:value-type="percentage"' in content and "<table:table-header-rows>" in content
    assert "xlink:href=\"#Table 1.A1\"" in content
    styles = zipfile.ZipFile(path).read("styles.xml").decode()
    assert 'style:print-orientation="landscape"' in styles and 'fo:page-width="29.7cm"' in styles
    again = sav_table.to_ods(tmp_path / "t2.ods", title="Cohort 1")
    assert again.read_bytes() == path.read_bytes()  # reproducible
    with pytest.raises(DelibpollError, match="does not exist; create it first"):
        sav_table.to_ods(tmp_path / "nope" / "t.ods")


def test_outputs_render(sav_table, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The standalone HTML renders in headless Chromium and the xlsx/ods convert to PDF
    in LibreOffice (skipped where they are not installed)."""
    import shutil
    import subprocess

    chromium, soffice = shutil.which("chromium"), shutil.which("soffice")
    if not chromium or not soffice:
        pytest.skip("chromium or LibreOffice not installed")
    html_path = tmp_path / "t.html"
    html_path.write_text(sav_table.to_html(layout="classic"), encoding="utf-8")
    png = tmp_path / "t.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", f"--screenshot={png}",
                    "--window-size=900,1400", str(html_path)], check=True, timeout=120,
                   capture_output=True)
    assert png.stat().st_size > 10_000
    files = [sav_table.to_excel(tmp_path / "t.xlsx"), sav_table.to_ods(tmp_path / "u.ods")]
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), *map(str, files)],
                   check=True, timeout=240, capture_output=True)
    for name in ("t.pdf", "u.pdf"):
        assert (tmp_path / name).read_bytes()[:5] == b"%PDF-"


def test_small_base_note_only_when_a_column_has_a_small_base() -> None:
    """The [u] note explains a flag; with no column below min_base there is no flag to
    explain (bases worked by hand: 60 and 40 respondents)."""
    df = pd.DataFrame({"q": ["a", "b"] * 50, "g": ["x"] * 60 + ["y"] * 40})
    d = dp.SurveyDesign(df)
    assert not any("[u]" in n for n in banner(d, ["q"], ["g"], min_base=30).notes)
    flagged = banner(d, ["q"], ["g"], min_base=50)
    assert any("[u]" in n and "below 50" in n for n in flagged.notes)
    fr = flagged.to_frame()
    assert set(fr.loc[fr["low_base"], "column"]) == {"y"}


def test_sheet_rows_fit_wrapped_labels_and_columns_fit_text_cells(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A row label wrapped over lines gets the height of its lines, and a value column is as
    wide as its longest text cell (a CI such as '-0.078 to 1.206'), so nothing overlaps
    (seen in LibreOffice's rendering of the pipeline's deliberation workbook, issue #17)."""
    import openpyxl

    from delibpoll.export._common import Cell, Document, Head, Row, View
    from delibpoll.export.excel import document_excel

    long = "The national data opt-out lets people stop their confidential data being used " * 2
    v = View("T", "Base: 9", "Item", (Head("", "Share"), Head("", "95% CI")),
             (Row(long.strip(), (Cell("76%", 0.76, "percent", 0), Cell("-0.078 to 1.206"))),
              Row("Short", (Cell("5%", 0.05, "percent", 0), Cell("1 to 2")))))
    ws = openpyxl.load_workbook(document_excel(Document((v,), ("note",)), tmp_path / "t.xlsx",
                                               title="T"))["Table 1"]
    label_row = next(r for r in range(1, 20) if ws.cell(r, 1).value == long.strip())
    width = ws.column_dimensions["A"].width
    lines = -(-len(long.strip()) // int(width - 2))
    assert ws.row_dimensions[label_row].height >= 13 * lines  # room for every line
    assert ws.row_dimensions[label_row + 1].height is None  # a short label keeps the default
    assert ws.column_dimensions["C"].width >= len("-0.078 to 1.206")
    assert ws.cell(label_row, 2).value == 0.76  # numbers stay numbers
