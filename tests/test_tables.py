"""Tests for delibpoll.banner (banner) and its exporters (delibpoll.export).

Outside references: R survey 4.1.1 (tests/reference/r/banner.R and banner_extra.R: cells,
SEs, CIs, pairwise p-values and Holm-adjusted p-values on a raked and a stratified design),
a suppression example worked by hand from the stated rule, and the exporters read back with
their own parsers (openpyxl, html.parser, the Markdown table grammar). Tests named
"consistency" compare banner with the package's own estimators only."""

from __future__ import annotations

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
    assert "Nets (computed from unrounded values): q_pact: Any effect = Increase confidence + " \
        "Decrease confidence; q_charge: Has a view = Right + Wrong." in b.notes
    assert "Excluded from percentage bases: Don't know (q_pact, q_charge)." in b.notes
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
    assert labels[:5] == sorted(AWKWARD) and labels[5:] == ["Base (unweighted)", "Base (weighted)", "Base (effective)"]
    heads = [_md_unescape(c) for c in tables[0][0][1:]]
    assert heads == ["Total", "g: <b> (A)", "g: =SUM(A1) (B)", "g: x|y (C)"]


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
    assert set(AWKWARD) <= set(p.text) and "g: x|y (C)" in p.text


def test_excel_writes_labels_as_text(awkward, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import openpyxl
    path = awkward.to_excel(tmp_path / "t.xlsx", title="=HYPERLINK(\"x\")", source="http://example.org")
    wb = openpyxl.load_workbook(path)
    found = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.value for c in found if c.data_type == "f"]  # no formula anywhere
    assert not [c.value for c in found if c.hyperlink is not None]
    vals = {c.value for c in found}
    assert "=1+2" in vals and "g: =SUM(A1) (B) estimate" in vals and "=HYPERLINK(\"x\")" in vals


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
            if cat.startswith("Base"):
                continue
            for j in range(1, 5):
                txt = row[j].split(" ")[0]
                cell = fr[(fr.question == q) & (fr.category == cat) & (fr.banner == cols[j][0]) & (fr.column == cols[j][1])].iloc[0]
                if q == "q":
                    assert re.fullmatch(r"\d+\.\d{2}%", txt), txt
                    assert abs(float(txt[:-1]) - 100 * cell.estimate) <= 0.005 + 1e-9
                else:
                    assert re.fullmatch(r"\d+\.\d{2}", txt), txt  # 15000000.00, not 1.5e+07
                    assert abs(float(txt) - cell.estimate) <= 0.005 + 1e-6
                shown += 1
    assert shown == 4 * 6
    assert re.search(r"<td>\d{8}\.\d{2}</td>", awkward.to_html())
    ws = openpyxl.load_workbook(awkward.to_excel(tmp_path / "r.xlsx"))["Table 1"]
    pcts = [c for row in ws.iter_rows(min_row=3) for c in row if isinstance(c.value, float) and c.value <= 1]
    assert pcts and {c.number_format for c in pcts} == {"0.00%"}
    ws2 = openpyxl.load_workbook(tmp_path / "r.xlsx")["Table 2"]
    assert ws2["B3"].number_format == "0.00"
    tot = fr[(fr.question == "big") & (fr.column == "Total")].estimate.iloc[0]
    assert ws2["B3"].value == pytest.approx(tot, rel=1e-14)  # Excel keeps 15 digits


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
