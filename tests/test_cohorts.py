"""Tracking across cohorts (delibpoll.deliberative.cohorts) against R and by hand.

Reference: tests/reference/r/cohorts.R (R 4.2.2, survey 4.1.1): the two SYNTHETIC example
cohorts stacked with rbind, the cohort as stratum, raked on cohort-by-variable margins;
by-cohort estimates and their joint covariance (svyratio, covmat = TRUE), svycontrast for the
differences, p-values on degf of the stacked design, p.adjust; Tier 1 stacked with discussion
groups as PSUs (svyby + svycontrast). Values in tests/reference/values/cohorts.csv.
Tolerances: estimates 1e-10 absolute, SEs 1e-8 relative, p-values 1e-8 relative.
Hand-worked: the SE of a difference of independent estimates is sqrt(se_1^2 + se_2^2), with
each se from the cohort's own, separately weighted design.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import delibpoll as dp
from delibpoll import DelibpollError, datasets

VARS = ["sex", "age_group", "region", "education", "ethnicity"]
PACT = ["Increase confidence", "No impact", "Decrease confidence", "Don't know"]
CHARGE = ["Right", "Wrong", "Don't know"]
C1, C2 = "Cohort 1", "Cohort 2"


@pytest.fixture(scope="module")
def tier3() -> dict[str, dp.SurveyDesign]:
    targets = datasets.england_adult_targets(VARS)
    return {C1: dp.rake(dp.SurveyDesign(datasets.load_example(3)), targets),
            C2: dp.rake(dp.SurveyDesign(datasets.load_example(3, cohort=2)), targets)}


@pytest.fixture(scope="module")
def tier1() -> dict[str, dp.SurveyDesign]:
    return {C1: dp.SurveyDesign(datasets.load_example(1), ids="group_id"),
            C2: dp.SurveyDesign(datasets.load_example(1, cohort=2), ids="group_id")}


@pytest.fixture(scope="module")
def comparison(tier3: dict[str, dp.SurveyDesign]) -> dp.CohortComparison:
    return dp.compare_cohorts(dp.stack_cohorts(tier3), ["q_pact", "q_charge", "trust_nhs"])


def _cats(q: str) -> list[str]:
    return PACT if q == "q_pact" else CHARGE if q == "q_charge" else [""]


def test_stacked_design_df_is_the_cohorts_summed(ref, tier3) -> None:
    stack = dp.stack_cohorts(tier3)
    assert stack.design.df == ref.get("cohorts_tier3", "degf", "df") == 4998
    fr = stack.to_frame()
    assert fr["cohort"].tolist() == [C1, C2] and fr["n"].tolist() == [4000, 1000]
    assert stack.design.column("cohort").tolist() == [C1] * 4000 + [C2] * 1000


def test_estimates_by_cohort_match_r(ref, comparison) -> None:
    est = comparison.estimates()
    for q in ("q_pact", "q_charge", "trust_nhs"):
        for c in (C1, C2):
            rows = est[(est["question"] == q) & (est["cohort"] == c)]
            for cat, (_, r) in zip(_cats(q), rows.iterrows(), strict=True):
                assert r["estimate"] == pytest.approx(
                    ref.get("cohorts_tier3", q, "estimate", domain=c, category=cat), abs=1e-10)
                assert r["se"] == pytest.approx(
                    ref.get("cohorts_tier3", q, "se", domain=c, category=cat), rel=1e-8)


def test_differences_match_r_svycontrast(ref, comparison) -> None:
    fr = comparison.to_frame()
    assert len(fr) == 8 and set(fr["comparison"]) == {"Cohort 2 - Cohort 1"}
    for _, r in fr.iterrows():
        q = r["question"]
        cat = "" if q == "trust_nhs" else r["category"]
        assert r["difference"] == pytest.approx(
            ref.get("cohorts_tier3_diff", q, "difference", category=cat), abs=1e-10)
        assert r["se"] == pytest.approx(ref.get("cohorts_tier3_diff", q, "se", category=cat), rel=1e-8)
        assert r["p_value"] == pytest.approx(
            ref.get("cohorts_tier3_diff", q, "p_value", category=cat), rel=1e-8)
        assert r["df"] == 4998
        q_t = stats.t.ppf(0.975, 4998)
        assert r["ci_upper"] == pytest.approx(r["difference"] + q_t * r["se"], rel=1e-12)


@pytest.mark.parametrize(("adjust", "r_name"), [("holm", "holm"), ("bonferroni", "bonferroni"),
                                                ("fdr_bh", "BH")])
def test_multiplicity_matches_r_p_adjust(ref, tier3, adjust, r_name) -> None:
    res = dp.compare_cohorts(tier3, ["q_pact", "q_charge", "trust_nhs"], adjust=adjust)
    got = res.to_frame()["p_adjusted"].to_numpy()
    want = [ref.get("cohorts_tier3_family", "p.adjust", "p_adjusted", method=r_name, category=str(i))
            for i in range(1, 9)]
    np.testing.assert_allclose(got, want, rtol=1e-8)
    assert (res.to_frame()["significant"] == (got < 0.05)).all()


def test_covariance_across_cohorts_is_zero(ref, tier3) -> None:
    """R's joint covariance of the two cohorts' shares is 0; so is the stacked design's."""
    stack = dp.stack_cohorts(tier3)
    est = dp.proportion(stack.design, "q_pact", by="cohort")
    v = np.asarray(est.vcov)
    for k, cat in enumerate(PACT):
        assert ref.get("cohorts_tier3_diff", "q_pact", "covariance_across_cohorts", category=cat) == 0
        assert abs(v[k, 4 + k]) < 1e-15
    assert np.abs(v[:4, 4:]).max() < 1e-15


def test_difference_se_by_hand_from_separate_designs(tier3, comparison) -> None:
    """Hand-worked: se(d) = sqrt(se_1^2 + se_2^2), each se from its own cohort's design."""
    fr = comparison.to_frame()
    for q in ("q_pact", "trust_nhs"):
        f = dp.mean if q == "trust_nhs" else dp.proportion
        e1 = f(tier3[C1], q, na="drop").to_frame()
        e2 = f(tier3[C2], q, na="drop").to_frame()
        rows = fr[fr["question"] == q]
        np.testing.assert_allclose(rows["difference"], e2["estimate"].to_numpy() - e1["estimate"].to_numpy(),
                                   atol=1e-12)
        np.testing.assert_allclose(rows["se"], np.sqrt(e1["se"].to_numpy() ** 2 + e2["se"].to_numpy() ** 2),
                                   rtol=1e-10)


def test_tested_category_only(tier3) -> None:
    res = dp.compare_cohorts(tier3, ["q_pact", "q_charge"],
                             categories={"q_pact": "Increase confidence", "q_charge": "Wrong"})
    assert res.to_frame()["category"].tolist() == ["Increase confidence", "Wrong"]


def test_three_cohorts_give_every_pair(tier3) -> None:
    three = {**tier3, "Cohort 3": tier3[C2]}
    fr = dp.compare_cohorts(three, "q_pact", categories={"q_pact": "No impact"}).to_frame()
    assert fr["comparison"].tolist() == ["Cohort 2 - Cohort 1", "Cohort 3 - Cohort 1",
                                         "Cohort 3 - Cohort 2"]
    assert fr["difference"].iloc[2] == 0.0


def test_deliberation_differences_match_r(ref, tier1) -> None:
    res = dp.compare_deliberation(tier1, {"q_pact": ("q_pact_pre", "q_pact_post"),
                                          "trust_nhs": ("trust_nhs_pre", "trust_nhs_post")},
                                  adjust="none")
    fr = res.to_frame()
    assert res.df == ref.get("cohorts_tier1", "degf", "df") == 26
    for _, r in fr[fr["question"] == "q_pact"].iterrows():
        c = r["category"]
        assert r["difference"] == pytest.approx(ref.get("cohorts_tier1_diff", "q_pact", "difference", category=c), abs=1e-10)
        assert r["se"] == pytest.approx(ref.get("cohorts_tier1_diff", "q_pact", "se", category=c), rel=1e-8)
        assert r["p_value"] == pytest.approx(ref.get("cohorts_tier1_diff", "q_pact", "p_value", category=c), rel=1e-8)
        assert r["df"] == 26
    t = fr[fr["question"] == "trust_nhs"].iloc[0]
    assert t["difference"] == pytest.approx(ref.get("cohorts_tier1_diff", "trust_nhs", "difference"), abs=1e-10)
    assert t["se"] == pytest.approx(ref.get("cohorts_tier1_diff", "trust_nhs", "se"), rel=1e-8)
    assert t["df"] == ref.get("cohorts_tier1_diff", "trust_nhs", "df")
    # each cohort's change is paired_change's (the one paired path)
    ch = res.changes()
    own = dp.paired_change(tier1[C2], "q_pact_pre", "q_pact_post").to_frame()
    np.testing.assert_allclose(ch[(ch["question"] == "q_pact") & (ch["cohort"] == C2)]["change"],
                               own["change"], atol=0)


def test_gap_differences_match_r(ref, tier1, tier3) -> None:
    res = dp.compare_deliberation(tier1, {"q_pact": ("q_pact_pre", "q_pact_post")}, tier3=tier3)
    gaps = res.gaps()
    for c in (C1, C2):
        rows = gaps[gaps["cohort"] == c]
        for cat, (_, r) in zip(PACT, rows.iterrows(), strict=True):
            assert r["gap"] == pytest.approx(ref.get("cohorts_gap", "q_pact", "gap", domain=c, category=cat), abs=1e-10)
            assert r["se"] == pytest.approx(ref.get("cohorts_gap", "q_pact", "se", domain=c, category=cat), rel=1e-8)
    gd = res.gap_differences()
    for cat, (_, r) in zip(PACT, gd.iterrows(), strict=True):
        assert r["difference"] == pytest.approx(ref.get("cohorts_gap_diff", "q_pact", "difference", category=cat), abs=1e-10)
        assert r["se"] == pytest.approx(ref.get("cohorts_gap_diff", "q_pact", "se", category=cat), rel=1e-8)
        ra, rb = gaps.iloc[PACT.index(cat)], gaps.iloc[4 + PACT.index(cat)]
        va, vb = ra["se"] ** 2, rb["se"] ** 2  # Welch-Satterthwaite by hand
        assert r["df"] == pytest.approx((va + vb) ** 2 / (va**2 / ra["df"] + vb**2 / rb["df"]), rel=1e-12)


def test_banner_letters_across_cohorts_use_design_covariance(ref, tier3) -> None:
    """A banner with the cohort as column variable: letters from R's t of each difference
    (svycontrast on the stacked design, covariance 0 across cohorts) on the design df."""
    stack = dp.stack_cohorts(tier3)
    fr = dp.banner(stack.design, ["q_pact", "q_charge"], ["cohort"], total=False).to_frame()
    crit = stats.t.ppf(0.975, ref.get("cohorts_tier3", "degf", "df"))
    for q in ("q_pact", "q_charge"):
        for cat in _cats(q):
            t = (ref.get("cohorts_tier3_diff", q, "difference", category=cat)
                 / ref.get("cohorts_tier3_diff", q, "se", category=cat))
            cells = fr[(fr["question"] == q) & (fr["category"] == cat)].set_index("column")
            assert cells.loc[C2, "higher_than"] == ("A" if t > crit else "")
            assert cells.loc[C1, "higher_than"] == ("B" if t < -crit else "")
            assert cells.loc[C2, "se"] == pytest.approx(
                ref.get("cohorts_tier3", q, "se", domain=C2, category=cat), rel=1e-8)
    assert (fr[(fr["question"] == "q_pact") & (fr["category"] == "Increase confidence")]
            .set_index("column").loc[C1, "higher_than"]) == "B"


@given(a=st.lists(st.floats(0, 10, allow_nan=False), min_size=3, max_size=12, unique=True),
       b=st.lists(st.floats(0, 10, allow_nan=False), min_size=3, max_size=12, unique=True),
       wa=st.floats(0.5, 3.0), wb=st.floats(0.5, 3.0))
def test_property_independent_cohorts_combine_by_hand(a, b, wa, wb) -> None:
    """For any two cohorts (weights constant within each), the difference of means and its
    SE are those of the separate designs combined as independent: sqrt(se_a^2 + se_b^2),
    with se^2 = sum w^2 (y - ybar)^2 / (sum w)^2 * n / (n - 1) worked by hand."""
    def design(y: list[float], w: float) -> dp.SurveyDesign:
        return dp.SurveyDesign(pd.DataFrame({"y": y, "w": w}), weights="w")

    res = dp.compare_cohorts({"A": design(a, wa), "B": design(b, wb)}, "y", adjust="none",
                             kind={"y": "numeric"})
    r = res.to_frame().iloc[0]

    def hand(y: list[float]) -> tuple[float, float]:
        arr = np.array(y)
        n = len(arr)
        return float(arr.mean()), float(np.sqrt(((arr - arr.mean()) ** 2).sum() / n**2 * n / (n - 1)))

    (ma, sa), (mb, sb) = hand(a), hand(b)
    assert r["difference"] == pytest.approx(mb - ma, abs=1e-9)
    assert r["se"] == pytest.approx(np.hypot(sa, sb), rel=1e-9, abs=1e-12)
    assert res.df == len(a) + len(b) - 2


# ---------------------------------------------------------------------- errors
def test_one_cohort_only(tier3) -> None:
    with pytest.raises(DelibpollError, match="at least two cohorts"):
        dp.stack_cohorts({C1: tier3[C1]})
    with pytest.raises(DelibpollError, match="mapping of cohort labels"):
        dp.compare_cohorts([tier3[C1], tier3[C2]], "q_pact")  # type: ignore[arg-type]


def test_question_missing_in_one_cohort(tier3) -> None:
    with pytest.raises(DelibpollError, match="'q_gp_planning' is not a column of cohort 'Cohort 1'"):
        dp.compare_cohorts(tier3, ["q_pact", "q_gp_planning"])
    with pytest.raises(DelibpollError, match="no answers in cohort 'Cohort 1'"):
        dp.compare_cohorts(dp.stack_cohorts(tier3), "q_gp_planning")


def test_categories_differ_between_cohorts(tier3) -> None:
    d2 = tier3[C2]
    recoded = d2.with_columns({"q_pact": d2.column("q_pact").cat.rename_categories(
        {"Don't know": "Not sure"})})
    with pytest.raises(DelibpollError, match=r"different categories in cohort 'Cohort 1' and cohort "
                                             r"'Cohort 2': \[\"Don't know\"\] only in 'Cohort 1', "
                                             r"\['Not sure'\] only in 'Cohort 2'"):
        dp.compare_cohorts({C1: tier3[C1], C2: recoded}, "q_pact")


def test_mismatched_weights(tier3) -> None:
    plain = dp.SurveyDesign(datasets.load_example(3, cohort=2))
    with pytest.raises(DelibpollError, match="weighted the same way.*'Cohort 1': raking on 5 "
                                             "margins; 'Cohort 2': no calibration"):
        dp.stack_cohorts({C1: tier3[C1], C2: plain})
    fixed = {c: d.with_fixed_weights(d.weight_array) for c, d in tier3.items()}
    assert dp.stack_cohorts({C1: fixed[C1], C2: plain}).design.n == 5000


def test_other_stacking_errors(tier3) -> None:
    with pytest.raises(DelibpollError, match="already has a column 'sex'"):
        dp.stack_cohorts(tier3, column="sex")
    reps = tier3[C1].with_replicates("jk1")
    with pytest.raises(DelibpollError, match="replicate weights"):
        dp.stack_cohorts({C1: reps, C2: tier3[C2]})
    with pytest.raises(DelibpollError, match="'adjust' parameter"):
        dp.compare_cohorts(tier3, "q_pact", adjust="sidak")  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="'Maybe' for 'q_pact', which is not one of its"):
        dp.compare_cohorts(tier3, "q_pact", categories={"q_pact": "Maybe"})
    with pytest.raises(DelibpollError, match="names 'q_charge', which is not one of the questions"):
        dp.compare_cohorts(tier3, "q_pact", categories={"q_charge": "Wrong"})


def test_deliberation_errors(tier1, tier3) -> None:
    qs = {"q_pact": ("q_pact_pre", "q_pact_post")}
    with pytest.raises(DelibpollError, match="same cohorts as 'tier1'"):
        dp.compare_deliberation(tier1, qs, tier3={C2: tier3[C2], C1: tier3[C1]})
    with pytest.raises(DelibpollError, match=r"'q_committee_pre' \(question 'q_committee'\) is not a column of cohort 'Cohort 2'"):
        dp.compare_deliberation(tier1, {"q_committee": ("q_committee_pre", "q_committee_post")})
    with pytest.raises(DelibpollError, match="at least two cohorts"):
        dp.compare_deliberation({C1: tier1[C1]}, qs)


def test_results_are_frozen_and_copied(comparison) -> None:
    with pytest.raises(AttributeError):
        comparison.adjust = "none"  # type: ignore[misc]
    fr = comparison.to_frame()
    fr.loc[0, "difference"] = 99.0
    assert comparison.to_frame()["difference"].iloc[0] != 99.0
    assert "Cohort 2 - Cohort 1" in repr(comparison)
    assert "independent samples" in comparison.note


@pytest.mark.parametrize("how", ["poststratify", "calibrate", "fpc"])
def test_stacking_keeps_each_cohorts_variance(how) -> None:
    """Consistency check of the other calibration kinds (post-stratification, GREG) and of
    strata/clusters/fpc: each cohort's share and SE on the stacked design equal those on its
    own design (the R reference above covers raking)."""
    rng = np.random.default_rng(17)

    def cohort(n: int) -> pd.DataFrame:
        return pd.DataFrame({
            "q": rng.choice(["a", "b", "c"], n), "sex": rng.choice(["F", "M"], n),
            "region": rng.choice(["N", "S"], n), "psu": rng.integers(0, 6, n),
            "w": rng.uniform(0.5, 2.0, n)})

    targets = dp.Targets.from_dict({"sex": {"F": 0.52, "M": 0.48}})
    designs = {}
    for label, n in (("A", 300), ("B", 200)):
        df = cohort(n)
        if how == "fpc":
            df["fpc"] = np.where(df["region"] == "N", 40, 60)
            designs[label] = dp.SurveyDesign(df, weights="w", strata="region",
                                             ids="psu", fpc="fpc")
            continue
        d0 = dp.SurveyDesign(df, weights="w", strata="region", ids="psu")
        designs[label] = (dp.poststratify(d0, targets) if how == "poststratify"
                          else dp.calibrate(d0, targets, method="linear"))
    stack = dp.stack_cohorts(designs)
    assert stack.design.df == sum(d.df for d in designs.values())
    est = dp.proportion(stack.design, "q", by="cohort").to_frame()
    for label, d in designs.items():
        own = dp.proportion(d, "q").to_frame()
        mine = est[est["cohort"] == label]
        np.testing.assert_allclose(mine["estimate"], own["estimate"], atol=1e-12)
        np.testing.assert_allclose(mine["se"], own["se"], rtol=1e-10)
    v = np.asarray(dp.proportion(stack.design, "q", by="cohort").vcov)
    assert np.abs(v[:3, 3:]).max() < 1e-14


def test_conf_int_at_another_level(comparison, tier1) -> None:
    """conf_int recomputes the intervals: at the result's level exactly its columns; at 90%
    difference -/+ t_{0.95, df} se worked by hand."""
    fr = comparison.to_frame()
    np.testing.assert_allclose(comparison.conf_int()[["ci_lower", "ci_upper"]], fr[["ci_lower", "ci_upper"]])
    ci90 = comparison.conf_int(0.9)
    q = stats.t.ppf(0.95, 4998)
    np.testing.assert_allclose(ci90["ci_upper"], fr["difference"] + q * fr["se"], rtol=1e-12)
    d = dp.compare_deliberation(tier1, {"trust_nhs": ("trust_nhs_pre", "trust_nhs_post")})
    r = d.to_frame().iloc[0]
    assert d.conf_int(0.8)["ci_lower"].iloc[0] == pytest.approx(
        r["difference"] - stats.t.ppf(0.9, r["df"]) * r["se"], rel=1e-12)
    assert "Differences in deliberation change" in d._repr_html_()
    with pytest.raises(DelibpollError, match="level"):
        comparison.conf_int(95)
