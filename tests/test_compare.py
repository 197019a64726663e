"""Tests for delibpoll.deliberative: paired change, tier comparisons, multiplicity,
representativeness. References: R survey (tests/reference/r/compare.R), statsmodels, scipy,
exact identities."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import SquareTable, mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_effectsize

import delibpoll as dp
from delibpoll import DelibpollError, SmallSampleWarning, WeightingWarning

PACT = "Increase confidence"


@pytest.fixture(scope="module")
def tiers():  # type: ignore[no-untyped-def]
    t3 = dp.datasets.load_example(3)
    t1 = dp.datasets.load_example(1)
    d3 = dp.rake(dp.SurveyDesign(t3), dp.datasets.england_adult_targets(), tol=1e-12)
    d1 = dp.SurveyDesign(t1, ids="group_id")
    return d1, d3


# ---------------------------------------------------------------------- paired change


def test_paired_change_categorical_equals_r_clustered(tiers, ref) -> None:  # type: ignore[no-untyped-def]
    d1, _ = tiers
    pc = dp.paired_change(d1, "q_pact_pre", "q_pact_post")
    row = pc.to_frame().set_index("category").loc[PACT]
    assert row["change"] == pytest.approx(ref.get("tier1_example", "svymean", "estimate", variable="d_inc"), rel=1e-10)
    assert row["se"] == pytest.approx(ref.get("tier1_example", "svymean", "se", variable="d_inc"), rel=1e-6)
    assert row["df"] == ref.get("tier1_example", "degf", "df")
    assert row["change"] == pytest.approx(row["after"] - row["before"], abs=1e-15)
    q = stats.t.ppf(0.975, row["df"])
    assert row["ci_lower"] == pytest.approx(row["change"] - q * row["se"], rel=1e-12)
    # Stuart-Maxwell as statsmodels computes it, on the unweighted turnover table
    table = pc.turnover_unweighted.to_numpy()
    sm = SquareTable(table, shift_zeros=False).homogeneity()
    assert pc.test == "Stuart-Maxwell"
    assert pc.test_statistic == pytest.approx(sm.statistic, rel=1e-12)
    assert pc.test_p_value == pytest.approx(sm.pvalue, rel=1e-12)
    assert table.sum() == pc.n_pairs == 101
    t1 = d1.data
    assert pc.share_changed == pytest.approx((t1.q_pact_pre.astype(str) != t1.q_pact_post.astype(str)).mean())


def test_paired_change_binary_uses_exact_mcnemar() -> None:
    rng = np.random.default_rng(3)
    pre = rng.integers(0, 2, 60)
    post = np.where(rng.random(60) < 0.3, 1, pre)
    d = dp.SurveyDesign(pd.DataFrame({"pre": pre, "post": post}))
    pc = dp.paired_change(d, "pre", "post")
    table = pd.crosstab(pre, post).to_numpy()
    ref = mcnemar(table, exact=True)
    assert pc.test == "exact McNemar"
    assert pc.test_p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert pc.kind == "categorical"


def test_paired_change_numeric_equals_r_and_scipy(tiers, ref) -> None:  # type: ignore[no-untyped-def]
    d1, _ = tiers
    pc = dp.paired_change(d1, "trust_nhs_pre", "trust_nhs_post")
    row = pc.to_frame().iloc[0]
    assert row["change"] == pytest.approx(ref.get("tier1_example", "svymean", "estimate", variable="d_trust"), rel=1e-10)
    assert row["se"] == pytest.approx(ref.get("tier1_example", "svymean", "se", variable="d_trust"), rel=1e-6)
    t1 = d1.data
    ok = t1.trust_nhs_pre.notna() & t1.trust_nhs_post.notna()
    assert pc.n_pairs == ok.sum() and pc.n_excluded == (~ok).sum() == 2
    a, b = t1.trust_nhs_post[ok].to_numpy(float), t1.trust_nhs_pre[ok].to_numpy(float)
    assert row["t_paired"] == pytest.approx(stats.ttest_rel(a, b).statistic, rel=1e-12)
    w = stats.wilcoxon(a - b, zero_method="wilcox", correction=False, method="auto")
    assert row["p_wilcoxon"] == pytest.approx(w.pvalue, rel=1e-12)
    d = a - b
    assert row["standardised_change"] == pytest.approx(d.mean() / d.std(ddof=1), rel=1e-12)


def test_marousi_knowledge_gain_equals_r(ref) -> None:  # type: ignore[no-untyped-def]
    m = dp.datasets.load_marousi()
    d = dp.SurveyDesign(m, ids="pollgroup")
    pc = dp.paired_change(d, "t1know", "t2know")
    row = pc.to_frame().iloc[0]
    assert row["change"] == pytest.approx(ref.get("marousi", "svymean", "estimate", variable="knowgain"), rel=1e-8)
    assert row["se"] == pytest.approx(ref.get("marousi", "svymean", "se", variable="knowgain"), rel=1e-6)
    assert row["before"] == pytest.approx(ref.get("marousi", "svymean", "estimate", variable="t1know"), rel=1e-10)
    assert row["df"] == ref.get("marousi", "degf", "df") == 14


# ---------------------------------------------------------------------- tiers


def test_compare_tiers_against_r_and_formulas(tiers, ref) -> None:  # type: ignore[no-untyped-def]
    d1, d3 = tiers
    with _no_warning():  # a clean comparison issues no warning
        ct = dp.compare_tiers(d1, d3, "q_pact", before="q_pact_pre", after="q_pact_post",
                              equivalence_margin=0.1)
    fr = ct.to_frame().set_index("category")
    row = fr.loc[PACT]
    se1 = ref.get("tier1_example", "svymean", "se", variable="post_inc")
    se3 = ref.get("tier3_example_raked", "svymean", "se", variable="q_pact", category=PACT)
    assert row["informed"] == pytest.approx(ref.get("tier1_example", "svymean", "estimate", variable="post_inc"), rel=1e-10)
    assert row["uninformed"] == pytest.approx(ref.get("tier3_example_raked", "svymean", "estimate", variable="q_pact", category=PACT), rel=1e-9)
    assert row["se"] == pytest.approx(np.sqrt(se1**2 + se3**2), rel=1e-6)
    df1, df3 = ref.get("tier1_example", "degf", "df"), ref.get("tier3_example_raked", "degf", "df")
    welch = (se1**2 + se3**2) ** 2 / (se1**4 / df1 + se3**4 / df3)
    assert row["df"] == pytest.approx(welch, rel=1e-5)
    h = proportion_effectsize(row["informed"], row["uninformed"])
    assert row["cohens_h"] == pytest.approx(h, rel=1e-12)
    # Cohen's h by hand from R's two shares: 2 asin(sqrt(p1)) - 2 asin(sqrt(p3))
    p1 = ref.get("tier1_example", "svymean", "estimate", variable="post_inc")
    p3 = ref.get("tier3_example_raked", "svymean", "estimate", variable="q_pact", category=PACT)
    assert row["cohens_h"] == pytest.approx(2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p3)), rel=1e-9)
    # TOST: p_equivalence < 0.05 exactly when the 90% CI lies inside the margin
    q90 = stats.t.ppf(0.95, fr["df"])
    inside = (fr["difference"] - q90 * fr["se"] > -0.1) & (fr["difference"] + q90 * fr["se"] < 0.1)
    assert ((fr["p_equivalence"] < 0.05) == inside).all()
    assert (fr["comparison"] == "descriptive, non-randomised").all()
    assert "non-randomised" in repr(ct)


class _no_warning:
    def __enter__(self) -> None:
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(*exc)


def _two_tiers(seed: int, n1: int = 120, n3: int = 1500, shift: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    def draw(n: int, p_old: float) -> pd.DataFrame:
        age = np.where(rng.random(n) < p_old, "old", "young")
        p = np.where(age == "old", 0.7, 0.3) + shift * 0
        ans = np.where(rng.random(n) < p, "yes", "no")
        return pd.DataFrame({"age": age, "q": ans, "q_pre": ans, "g": rng.integers(0, 12, n)})
    return draw(n1, 0.8), draw(n3, 0.4)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_consistency_decomposition_identity_and_identical_tiers(seed: int) -> None:
    """Consistency check (an identity by construction, not a reference): the gap splits
    into deliberation change + baseline gap, and a tier compared with itself gives 0."""
    t1, t3 = _two_tiers(seed)
    rng = np.random.default_rng(seed)
    t1 = t1.assign(q_post=np.where(rng.random(len(t1)) < 0.2, "yes", t1["q"]))
    d1 = dp.SurveyDesign(t1, ids="g")
    d3 = dp.SurveyDesign(t3)
    fr = dp.compare_tiers(d1, d3, "q", before="q_pre", after="q_post").to_frame()
    np.testing.assert_allclose(fr["difference"], fr["deliberation_change"] + fr["baseline_gap"], atol=1e-14)
    same = dp.compare_tiers(d3, d3, "q").to_frame()
    np.testing.assert_allclose(same["difference"], 0.0, atol=1e-15)


def _stratified_tiers() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deterministic tiers that differ only in age mix. Within age, 'yes' is exactly 70% of
    the old and 30% of the young in both tiers (after; before: 50% and 20% in Tier 1).
    Tier 1: 80 old, 20 young; Tier 3: 400 old, 600 young."""
    def block(n: int, p_yes: float, age: str) -> pd.DataFrame:
        k = round(n * p_yes)
        return pd.DataFrame({"age": age, "q": ["yes"] * k + ["no"] * (n - k)})
    t1 = pd.concat([block(80, 0.7, "old"), block(20, 0.3, "young")], ignore_index=True)
    pre = (["yes"] * 40 + ["no"] * 40) + (["yes"] * 4 + ["no"] * 16)
    t1 = t1.assign(q_pre=pre, g=np.arange(100) % 10)
    t3 = pd.concat([block(400, 0.7, "old"), block(600, 0.3, "young")], ignore_index=True)
    return t1, t3


def test_composition_only_gap_is_removed_by_adjustment_worked_by_hand() -> None:
    """Worked by hand: Tier 3's share is 0.4 * 0.7 + 0.6 * 0.3 = 0.46; Tier 1's raw share is
    0.8 * 0.7 + 0.2 * 0.3 = 0.62 (gap 0.16). Raked to Tier 3's age mix, Tier 1's share is
    0.46 (adjusted gap 0) and its before share 0.4 * 0.5 + 0.6 * 0.2 = 0.32 (adjusted
    baseline gap -0.14, raw baseline gap 0.8 * 0.5 + 0.2 * 0.2 - 0.46 = -0.02). The
    effective n of the raked Tier 1 is Kish's (sum w)^2 / sum w^2 with weights 0.4/80 and
    0.6/20: 1 / (80 * 0.005^2 + 20 * 0.03^2) = 1 / 0.02 = 50; all to 1e-9 (raking
    tolerance)."""
    t1, t3 = _stratified_tiers()
    d1 = dp.SurveyDesign(t1, ids="g")
    d3 = dp.SurveyDesign(t3)
    fr = dp.compare_tiers(d1, d3, "q", before="q_pre", after="q",
                          adjust_for=["age"]).to_frame().set_index("category")
    row = fr.loc["yes"]
    assert row["difference"] == pytest.approx(0.16, abs=1e-12)
    assert row["baseline_gap"] == pytest.approx(-0.02, abs=1e-12)
    assert row["adjusted_difference"] == pytest.approx(0.0, abs=1e-9)
    assert row["adjusted_baseline_gap"] == pytest.approx(-0.14, abs=1e-9)
    w_old, w_young = 0.4 / 80, 0.6 / 20
    kish = 1.0 / (80 * w_old**2 + 20 * w_young**2)
    assert row["n_eff_adjusted"] == pytest.approx(kish, rel=1e-9)
    assert kish == pytest.approx(50.0, rel=1e-12)


def test_consistency_adjustment_bootstrap_is_seeded() -> None:
    """Consistency check only (the SE itself is checked against R in
    test_adjusted_gap_and_its_ses_equal_r): the same seed gives the same replicates."""
    t1, t3 = _two_tiers(8, n1=150, n3=800)
    d1, d3 = dp.SurveyDesign(t1, ids="g"), dp.SurveyDesign(t3)
    a = dp.compare_tiers(d1, d3, "q", adjust_for=["age"], variance="bootstrap", n_replicates=30, rng=1).to_frame()
    b = dp.compare_tiers(d1, d3, "q", adjust_for=["age"], variance="bootstrap", n_replicates=30, rng=1).to_frame()
    pd.testing.assert_frame_equal(a, b)
    assert (a["adjusted_difference_se"] > 0).all()


def test_mdd_formula() -> None:
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert dp.minimum_detectable_difference(100, 4000, p=0.3, deff_informed=1.5) == pytest.approx(
        z * np.sqrt(0.21 * (1.5 / 100 + 1 / 4000)), rel=1e-12
    )
    with pytest.raises(DelibpollError):
        dp.minimum_detectable_difference(0, 10)


def test_compare_questions_family_and_holm(tiers) -> None:  # type: ignore[no-untyped-def]
    d1, d3 = tiers
    qc = dp.compare_questions(
        d1, d3,
        {"q_pact": ("q_pact_pre", "q_pact_post"), "q_charge": ("q_charge_pre", "q_charge_post"),
         "trust_nhs": ("trust_nhs_pre", "trust_nhs_post")},
        categories={"q_pact": PACT},
    )
    fr = qc.to_frame()
    assert qc.n_tests == 3
    per_q = fr.groupby("question", sort=False)["p_value_question"].first()
    expected = multipletests(per_q.to_numpy(), method="holm")[1]
    got = fr[fr["tested"]].groupby("question", sort=False)["p_adjusted"].first()
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12)
    assert fr[(fr.question == "q_pact") & fr.tested]["category"].tolist() == [PACT]
    assert qc.expected_false_positives == pytest.approx(0.15)


def test_compare_questions_bonferroni_as_statsmodels(tiers) -> None:  # type: ignore[no-untyped-def]
    """adjust="bonferroni" (the package's one multiplicity vocabulary) gives statsmodels'
    multipletests bonferroni numbers over the family of one test per question."""
    d1, d3 = tiers
    qc = dp.compare_questions(
        d1, d3,
        {"q_pact": ("q_pact_pre", "q_pact_post"), "q_charge": ("q_charge_pre", "q_charge_post"),
         "trust_nhs": ("trust_nhs_pre", "trust_nhs_post")},
        categories={"q_pact": PACT}, adjust="bonferroni",
    )
    fr = qc.to_frame()
    assert qc.adjust == "bonferroni" and qc.n_tests == 3
    per_q = fr.groupby("question", sort=False)["p_value_question"].first()
    reject, expected, _, _ = multipletests(per_q.to_numpy(), alpha=qc.alpha, method="bonferroni")
    got = fr[fr["tested"]].groupby("question", sort=False)["p_adjusted"].first()
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12)
    assert qc.n_significant == int(reject.sum())


def test_binary_question_counted_once() -> None:
    t1, t3 = _two_tiers(9)
    t1["b"] = (t1["q"] == "yes").astype(int)
    t3["b"] = (t3["q"] == "yes").astype(int)
    qc = dp.compare_questions(dp.SurveyDesign(t1), dp.SurveyDesign(t3), ["b"])
    fr = qc.to_frame()
    assert fr["tested"].sum() == 1 and fr.loc[fr.tested, "category"].iloc[0] == 1


def test_representativeness(tiers) -> None:  # type: ignore[no-untyped-def]
    d1, d3 = tiers
    t = d3.profile(["age_group"])
    r = dp.representativeness(d1, t)
    fr = r.to_frame()
    counts = d1.data["age_group"].value_counts().reindex(t.shares("age_group").index).to_numpy()
    np.testing.assert_allclose(fr["unweighted_share"], counts / counts.sum())
    pear = stats.chisquare(counts, t.shares("age_group").to_numpy() * counts.sum())
    assert r.tests["statistic"].iloc[0] == pytest.approx(pear.statistic, rel=1e-12)
    full = dp.representativeness(d3, dp.datasets.england_adult_targets())
    assert full.to_frame()["difference"].abs().max() < 1e-9  # raked to these targets


# ---------------------------------------------------------------------- bad input


def test_bad_input() -> None:
    t1, t3 = _two_tiers(10)
    d1 = dp.SurveyDesign(t1.assign(c=pd.Categorical(t1.q, categories=["yes", "no", "dk"])))
    d3 = dp.SurveyDesign(t3.assign(c=pd.Categorical(t3.q, categories=["yes", "no"])))
    with pytest.raises(DelibpollError, match=r"different category sets.*\['dk'\]"):
        dp.compare_tiers(d1, d3, "c")
    with pytest.raises(DelibpollError, match="missing from Tier 3"):
        dp.compare_tiers(dp.SurveyDesign(t1.assign(x="a")), dp.SurveyDesign(t3), "q", adjust_for=["x"])
    small = dp.SurveyDesign(t1.head(12))
    with pytest.warns(SmallSampleWarning, match="12 respondents"):
        dp.compare_tiers(small, dp.SurveyDesign(t3), "q")
    with pytest.raises(DelibpollError, match="different category sets"):
        dp.paired_change(dp.SurveyDesign(pd.DataFrame({
            "a": pd.Categorical(["x", "y"] * 5, categories=["x", "y"]),
            "b": pd.Categorical(["x", "z"] * 5, categories=["x", "z"])})), "a", "b")


def test_extreme_adjustment_warns_with_effective_n() -> None:
    rng = np.random.default_rng(11)
    n1 = 200
    t1 = pd.DataFrame({"age": np.where(rng.random(n1) < 0.97, "old", "young"),
                       "q": rng.choice(["yes", "no"], n1)})
    t3 = pd.DataFrame({"age": np.where(rng.random(3000) < 0.1, "old", "young"),
                       "q": rng.choice(["yes", "no"], 3000)})
    with pytest.warns(WeightingWarning, match=r"effective sample size is \d+\.\d of 200"):
        dp.compare_tiers(dp.SurveyDesign(t1), dp.SurveyDesign(t3), "q", adjust_for=["age"], min_cell=3)


# ---------------------------------------------------------------------- issue #12 references


@pytest.mark.parametrize("ci_method", ["logit", "beta"])
def test_compare_tiers_share_cis_are_proportions_cis_as_r_svyciprop(tiers, ref, ci_method) -> None:  # type: ignore[no-untyped-def]
    """Each tier's share gets the CI of proportion() with the caller's ci_method (default
    logit, as proportion and banner): R svyciprop(method=) on the tier's own design
    (tests/reference/r/compare_extra.R), rel 1e-6 (the SEs agree with R to ~1e-9)."""
    d1, d3 = tiers
    kw = {} if ci_method == "logit" else {"ci_method": ci_method}
    fr = dp.compare_tiers(d1, d3, "q_pact", before="q_pact_pre", after="q_pact_post",
                          **kw).to_frame().set_index("category")
    row = fr.loc[PACT]
    for col, var, case in (("informed", "q_pact_post", "tier1_example"),
                           ("informed_before", "q_pact_pre", "tier1_example"),
                           ("uninformed", "q_pact", "tier3_example_raked")):
        for side in ("ci_lower", "ci_upper"):
            want = ref.get(case, "svyciprop", side, variable=var, category=PACT, method=ci_method)
            assert row[f"{col}_{side}"] == pytest.approx(want, rel=1e-6), (col, side)
    # and they are exactly proportion()'s intervals (one estimation path)
    p3 = dp.proportion(d3, "q_pact", ci_method=ci_method).to_frame().set_index("category")
    assert row["uninformed_ci_lower"] == p3.loc[PACT, "ci_lower"]
    assert row["uninformed_ci_upper"] == p3.loc[PACT, "ci_upper"]


def test_adjusted_wald_worked_by_hand() -> None:
    """The issue's case, by hand: W = 8 on k - 1 = 3 contrasts with 11 design df gives
    F = 8 (11 - 3 + 1) / (11 * 3) = 2.1818 on (3, 9) df, p = 0.1599 (not the chi-square's
    0.046). A diagonal V makes W the sum of squared z values."""
    v = np.diag([1.0, 2.0, 4.0])
    d = np.array([1.0, 2.0, 4.0]) * np.sqrt(8 / 7)  # W = 8/7 * (1 + 2 + 4) = 8
    wt = dp.deliberative.adjusted_wald(d, v, 11.0)
    assert wt.wald == pytest.approx(8.0, rel=1e-12)
    assert wt.statistic == pytest.approx(72 / 33, rel=1e-12)
    assert (wt.df_num, wt.df_den) == (3.0, 9.0)
    assert wt.p_value == pytest.approx(stats.f.sf(72 / 33, 3, 9), rel=1e-12)
    assert wt.p_value == pytest.approx(0.15991, abs=1e-5)


def test_compare_questions_omnibus_is_adjusted_wald_f_as_r(tiers, ref) -> None:  # type: ignore[no-untyped-def]
    """The omnibus p-value of a question without a declared category is R's adjusted Wald F
    (svychisq adjWald scaling) on the two tiers' R svymean covariances, with the
    Satterthwaite df of the summed trace (compare_extra.R); rel 1e-6."""
    d1, d3 = tiers
    qc = dp.compare_questions(d1, d3, {"q_pact": ("q_pact_pre", "q_pact_post"),
                                      "q_charge": ("q_charge_pre", "q_charge_post")},
                              adjust="none")
    per_q = qc.to_frame().groupby("question", sort=False)["p_value_question"].first()
    for q in ("q_pact", "q_charge"):
        want = ref.get("omnibus_tier1_tier3", "adjWald", "p_value", variable=q)
        assert per_q[q] == pytest.approx(want, rel=1e-6), q
        # the old chi-square on k - 1 df was anti-conservative with Tier 1's 11 clusters
        w = ref.get("omnibus_tier1_tier3", "adjWald", "W", variable=q)
        k1 = ref.get("omnibus_tier1_tier3", "adjWald", "ndf", variable=q)
        assert per_q[q] > stats.chi2.sf(w, k1)


def test_representativeness_adjusted_wald_as_r(tiers, ref) -> None:  # type: ignore[no-untyped-def]
    """Tier 1 against Tier 3's weighted age profile: R's adjusted Wald F on R's svymean
    covariance with degf = 11 (compare_extra.R); rel 1e-6."""
    d1, d3 = tiers
    r = dp.representativeness(d1, d3.profile(["age_group"]))
    row = r.tests[r.tests["test"].str.contains("Wald")].iloc[0]
    case = "repr_tier1_age"
    assert row["statistic"] == pytest.approx(ref.get(case, "adjWald", "F", variable="age_group"), rel=1e-6)
    assert row["df_den"] == ref.get(case, "adjWald", "ddf", variable="age_group")
    assert row["p_value"] == pytest.approx(ref.get(case, "adjWald", "p_value", variable="age_group"), rel=1e-6)


def _boot_designs(ref):  # type: ignore[no-untyped-def]
    """The two tiers with R's bootstrap replicate weights (compare_extra.R) as given data;
    Tier 3 raked to the England margins (the raking replayed on every replicate)."""
    t1 = dp.datasets.load_example(1)
    t3 = dp.datasets.load_example(3)
    rw1 = ref.data("tier1_boot_repweights.csv")
    rw3 = ref.data("tier3_boot_repweights.csv")
    assert (rw1["participant_id"].to_numpy() == t1["participant_id"].to_numpy()).all()
    cols = [c for c in rw1.columns if c.startswith("rw_")]
    t1 = t1.assign(one=1.0)
    t3 = t3.assign(one=1.0)
    d1 = dp.SurveyDesign(pd.concat([t1, rw1[cols]], axis=1), ids="group_id", weights="one",
                         repweights=r"^rw_\d+$", rep_type="bootstrap",
                         scale=ref.get("adjusted_gap", "design", "scale", method="tier1"))
    d3 = dp.SurveyDesign(pd.concat([t3, rw3[cols]], axis=1), weights="one", repweights=r"^rw_\d+$",
                         rep_type="bootstrap",
                         scale=ref.get("adjusted_gap", "design", "scale", method="tier3"))
    return d1, dp.rake(d3, dp.datasets.england_adult_targets(), tol=1e-12)


def test_adjusted_gap_and_its_ses_equal_r(tiers, ref) -> None:  # type: ignore[no-untyped-def]
    """The composition-adjusted gap (Tier 1 raked to Tier 3's weighted sex and age profile)
    against R (compare_extra.R: R's rake, difference of svymeans): the estimate (rel 1e-8),
    its SE with the profile fixed (linearised, rel 1e-6), and the replicate SE on R's own
    bootstrap replicate weights (Tier 1's raking re-run per Tier 1 replicate; Tier 3's
    raking replayed, its profile and share re-estimated and Tier 1 re-raked per Tier 3
    replicate), rel 1e-6: the same replicate weights leave no Monte-Carlo error, only
    raking tolerance (1e-10 to 1e-12)."""
    d1, d3 = tiers
    kw = {"before": "q_pact_pre", "after": "q_pact_post", "adjust_for": ["sex", "age_group"]}
    fixed = dp.compare_tiers(d1, d3, "q_pact", **kw).to_frame().set_index("category").loc[PACT]
    b1, b3 = _boot_designs(ref)
    boot = dp.compare_tiers(b1, b3, "q_pact", variance="bootstrap", **kw)
    brow = boot.to_frame().set_index("category").loc[PACT]
    for col, y in (("adjusted_difference", "post_inc"), ("adjusted_baseline_gap", "pre_inc")):
        assert fixed[col] == pytest.approx(ref.get("adjusted_gap", "svymean", "estimate", variable=y), rel=1e-8)
        assert brow[col] == pytest.approx(fixed[col], rel=1e-8)
        assert fixed[f"{col}_se"] == pytest.approx(
            ref.get("adjusted_gap", "svymean", "se_fixed_profile", variable=y), rel=1e-6)
        assert brow[f"{col}_se"] == pytest.approx(
            ref.get("adjusted_gap", "bootstrap", "se", variable=y), rel=1e-6)
    assert "40 of Tier 1, 40 of Tier 3" in boot.adjustment["variance"]


def test_representativeness_compares_joint_margins_as_r(tiers, ref) -> None:  # type: ignore[no-untyped-def]
    """A joint sex x age margin is compared cell by cell (it was skipped: 0 rows): the
    unweighted Tier 3 sample against its raked cells, adjusted Wald F as R
    (compare_extra.R, rel 1e-6); each cell's unweighted share from the counts by hand."""
    _, d3 = tiers
    t = d3.profile([("sex", "age_group")])
    raw = dp.SurveyDesign(d3.data)
    r = dp.representativeness(raw, t)
    fr = r.to_frame()
    counts = d3.data.groupby(["sex", "age_group"], observed=True).size()
    assert len(fr) == len(counts) == 14
    assert set(fr["variable"]) == {"sex|age_group"}
    got = fr.set_index("category")["unweighted_share"]
    for cell, c in counts.items():
        assert got[cell] == pytest.approx(c / counts.sum(), rel=1e-12)
    target = t.shares(("sex", "age_group"))
    assert fr.set_index("category")["target_share"][("Female", "18-24")] == target[("Female", "18-24")]
    row = r.tests[r.tests["test"].str.contains("Wald")].iloc[0]
    case, var = "repr_tier3_sex_age", "sex|age_group"
    assert row["statistic"] == pytest.approx(ref.get(case, "adjWald", "F", variable=var), rel=1e-6)
    assert row["df_den"] == ref.get(case, "adjWald", "ddf", variable=var)


@pytest.mark.parametrize(
    ("before", "after", "kind", "changed"),
    [([3, 4, 5, 6] * 5, [3, 4, 5, 6] * 5, "numeric", False),
     ([3, 4, 5, 6] * 5, [4, 5, 6, 7] * 5, "numeric", True),
     (["x", "y", "z"] * 5, ["x", "y", "z"] * 5, "categorical", False),
     (pd.Categorical(["x"] * 12, categories=["x", "y"]),
      pd.Categorical(["y"] * 12, categories=["x", "y"]), "categorical", True)],
    ids=["identical-numeric", "constant-shift", "identical-categorical", "all-x-move-to-y"],
)
def test_paired_change_degenerate_changes_are_defined_or_marked(before, after, kind, changed) -> None:  # type: ignore[no-untyped-def]
    """Every pair changes by the same amount, so the change is exact (by hand: the
    difference of the two means) with SE 0 and no numpy RuntimeWarning (warnings are
    errors). No change at all: no evidence of change, p = 1 (and Stuart-Maxwell with no
    discordant pairs 0 / p = 1, as exact McNemar). The same non-zero change for everyone:
    the t test is c / 0, NaN with a package warning."""
    d = dp.SurveyDesign(pd.DataFrame({"b": before, "a": after}))
    if changed:
        with pytest.warns(dp.DelibpollWarning, match="same non-zero change.*standard error 0"):
            pc = dp.paired_change(d, "b", "a")
    else:
        pc = dp.paired_change(d, "b", "a")
    fr = pc.to_frame()
    assert pc.kind == kind
    assert (fr["se"] == 0).all()
    if kind == "numeric":
        assert fr["change"].iloc[0] == pytest.approx(np.mean(after) - np.mean(before), abs=1e-12)  # type: ignore[call-overload]
        assert np.isnan(fr["t_paired"].iloc[0])
        if changed:
            assert np.isnan(pc.test_p_value) and np.isnan(fr["p_paired_t"].iloc[0])
        else:
            assert pc.test_p_value == 1.0 and fr["p_paired_t"].iloc[0] == 1.0
    elif changed:
        # all 12 move x -> y: changes -1 and +1 exactly, t undefined; exact McNemar with
        # b = 12, c = 0 by hand: p = 2 * 0.5**12
        assert fr.set_index("category")["change"].to_dict() == {"x": -1.0, "y": 1.0}
        assert fr["p_value"].isna().all()
        assert pc.test == "exact McNemar" and pc.test_p_value == pytest.approx(2 * 0.5**12, rel=1e-12)
    else:
        assert (fr["change"] == 0).all() and (fr["p_value"] == 1.0).all()
        assert (pc.test_statistic, pc.test_p_value) == (0.0, 1.0)


def test_share_changed_ci_is_the_logit_proportion_interval_worked_by_hand() -> None:
    """#12 item 10's sibling: the share who changed had a Wald interval (p +- q se), which is
    zero-width when nobody changed. It is now a proportion's interval (default logit). By
    hand, for 20 unweighted, unclustered pairs of which 5 changed: p = 0.25, the linearised SE
    of a mean of 0/1 values with weights 1 is sqrt(p (1 - p) / (n - 1)) (R svymean), and the
    logit interval is expit(logit(p) +- t(0.975, 19) se / (p (1 - p))) (R svyciprop); 1e-12."""
    from scipy import stats
    from scipy.special import expit, logit

    before = ["yes"] * 10 + ["no"] * 10
    after = ["no"] * 3 + ["yes"] * 7 + ["yes"] * 2 + ["no"] * 8
    d = dp.SurveyDesign(pd.DataFrame({"b": before, "a": after}))
    pc = dp.paired_change(d, "b", "a")
    p, n = 0.25, 20
    se = np.sqrt(p * (1 - p) / (n - 1))
    half = stats.t.ppf(0.975, n - 1) * se / (p * (1 - p))
    assert pc.share_changed == pytest.approx(p, rel=1e-12)
    assert pc.share_changed_ci[0] == pytest.approx(expit(logit(p) - half), rel=1e-12)
    assert pc.share_changed_ci[1] == pytest.approx(expit(logit(p) + half), rel=1e-12)
    # nobody changed: never the zero-width [0, 0]; the NCHS rule with ci_method="beta"
    same = dp.paired_change(dp.SurveyDesign(pd.DataFrame({"b": before, "a": before})), "b", "a",
                            ci_method="beta")
    n_eff = 20 * (stats.t.ppf(0.025, 19) / stats.t.ppf(0.025, 19)) ** 2
    assert same.share_changed == 0.0
    assert same.share_changed_ci == pytest.approx((0.0, stats.beta.ppf(0.975, 1, n_eff)), rel=1e-12)


def test_conf_int_reproduces_stored_intervals_and_other_levels(tiers) -> None:  # type: ignore[no-untyped-def]
    """conf_int() at the result's level is exactly the frame's CI; at another level it is
    estimate -/+ scipy's t quantile on the row's df times the SE."""
    d1, d3 = tiers
    ct = dp.compare_tiers(d1, d3, "q_pact", before="q_pact_pre", after="q_pact_post")
    fr = ct.to_frame().set_index("category")
    ci = ct.conf_int()
    np.testing.assert_array_equal(ci["ci_lower"].to_numpy(), fr["ci_lower"].to_numpy())
    np.testing.assert_array_equal(ci["ci_upper"].to_numpy(), fr["ci_upper"].to_numpy())
    assert list(ci.index) == list(fr.index)
    ci90 = ct.conf_int(0.9)
    q = stats.t.ppf(0.95, fr["df"].to_numpy())
    np.testing.assert_allclose(ci90["ci_lower"].to_numpy(), (fr["difference"] - q * fr["se"]).to_numpy(), rtol=1e-12)
    pc = dp.paired_change(d1, "q_pact_pre", "q_pact_post")
    pf = pc.to_frame().set_index("category")
    np.testing.assert_array_equal(pc.conf_int()["ci_upper"].to_numpy(), pf["ci_upper"].to_numpy())
    q = stats.t.ppf(0.995, pf["df"].to_numpy())
    np.testing.assert_allclose(pc.conf_int(0.99)["ci_upper"].to_numpy(),
                               (pf["change"] + q * pf["se"]).to_numpy(), rtol=1e-12)
    with pytest.raises(DelibpollError, match="'level' parameter of TierComparison.conf_int"):
        ct.conf_int(95)


# ------------------------------------------------- adjustment methods (issue #17)

ADJ_KW = {"before": "q_pact_pre", "after": "q_pact_post", "adjust_for": ["sex", "age_group"]}


@pytest.mark.parametrize("method", ["propensity", "entropy"])
def test_adjustment_methods_equal_r(tiers, ref, method) -> None:  # type: ignore[no-untyped-def]
    """Propensity weighting (R svyglm quasibinomial on both tiers stacked, Tier 1 reweighted
    by (1-p)/p) and entropy balancing (R calibrate(calfun="raking") to Tier 3's weighted
    category shares), adjustment.R: the adjusted post gap and the placebo (pre) gap, rel
    1e-7 (IRLS / calibration tolerance 1e-10 to 1e-12); Tier 1's fixed-variance SE, rel 1e-6;
    the bootstrap SE on R's own
    replicate weights with the adjustment re-run on every replicate of both tiers, rel 1e-6."""
    d1, d3 = tiers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dp.WeightingWarning)
        res = dp.compare_tiers(d1, d3, "q_pact", method=method, **ADJ_KW)
        b1, b3 = _boot_designs(ref)
        boot = dp.compare_tiers(b1, b3, "q_pact", method=method, variance="bootstrap", **ADJ_KW)
    row = res.to_frame().set_index("category").loc[PACT]
    brow = boot.to_frame().set_index("category").loc[PACT]
    for col, y in (("adjusted_difference", "post_inc"), ("adjusted_baseline_gap", "pre_inc")):
        assert row[col] == pytest.approx(ref.get(method, "adjusted_gap", "estimate", variable=y), rel=1e-7)
        assert brow[f"{col}_se"] == pytest.approx(ref.get(method, "bootstrap", "se", variable=y), rel=1e-6)
    assert res.adjustment["method"] == method
    assert res.balance is not None
    # Tier 1's part of the variance="fixed" SE: R svymean on the calibrated design
    # (calibration-aware) for entropy, on the propensity weights taken as fixed for propensity
    i = list(res.to_frame()["category"]).index(PACT)
    se3_sq = row["se"] ** 2 - res.vcov["informed"][i, i]
    se1 = np.sqrt(row["adjusted_difference_se"] ** 2 - se3_sq)
    quantity = "se_fixed_profile" if method == "entropy" else "se_fixed_weights"
    assert se1 == pytest.approx(ref.get(method, "adjusted_share", quantity, variable="post_inc"),
                                rel=1e-6)
    if method == "entropy":  # calibration meets every category share exactly
        assert res.balance.to_frame()["asmd_after"].max() < 1e-8
    else:
        assert res.to_frame()["n_eff_adjusted"].iloc[0] == pytest.approx(
            ref.get("propensity", "kish", "n_eff"), rel=1e-8)


def test_propensity_irls_coefficients_equal_r(tiers, ref) -> None:  # type: ignore[no-untyped-def]
    """The propensity model's coefficients against R svyglm(quasibinomial), rel 1e-8."""
    from delibpoll.deliberative import tiers as tiers_mod

    d1, d3 = tiers
    x1, x3 = tiers_mod._model_matrix([d1, d3], ["sex", "age_group"])
    x = np.vstack([x1, x3])
    y = np.r_[np.ones(d1.n), np.zeros(d3.n)]
    beta = tiers_mod._logistic_irls(x, y, np.r_[d1.weight_array, d3.weight_array], "t")
    names = ["(Intercept)", "sexMale", "age_group25-34", "age_group35-44", "age_group45-54",
             "age_group55-64", "age_group65-74", "age_group75+"]
    expected = [ref.get("propensity", "svyglm", "coef", variable=n) for n in names]
    np.testing.assert_allclose(beta, expected, rtol=1e-8)


def test_raking_merges_show_up_as_imbalance_and_warn() -> None:
    """Worked by hand: Tier 1 has 2 people aged 'c' (< min_cell=5), merged with 'b'; the
    merged cell is raked as one, so 'b' and 'c' are not balanced one by one and the
    comparison warns; entropy balancing (no merging) balances them exactly (ASMD 0)."""
    rng = np.random.default_rng(3)
    t1 = pd.DataFrame({"age": ["a"] * 60 + ["b"] * 38 + ["c"] * 2,
                       "q": rng.choice(["y", "n"], 100)})
    t3 = pd.DataFrame({"age": ["a"] * 300 + ["b"] * 300 + ["c"] * 400,
                       "q": rng.choice(["y", "n"], 1000)})
    d1, d3 = dp.SurveyDesign(t1), dp.SurveyDesign(t3)
    with pytest.warns(dp.WeightingWarning, match="ASMD above 0.1"):
        r = dp.compare_tiers(d1, d3, "q", adjust_for=["age"])
    assert r.balance is not None and not r.balance.balanced
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dp.WeightingWarning)  # n_eff collapses (2 people for 40%)
        e = dp.compare_tiers(d1, d3, "q", adjust_for=["age"], method="entropy")
    assert e.balance is not None
    assert e.balance.to_frame()["asmd_after"].max() == pytest.approx(0.0, abs=1e-8)
    # Kish by hand: weights 0.3/60, 0.3/38, 0.4/2
    w = np.r_[np.full(60, 0.3 / 60), np.full(38, 0.3 / 38), np.full(2, 0.4 / 2)]
    assert e.balance.n_eff_after == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-8)


def test_bad_adjustment_method_names_the_parameter() -> None:
    t1, t3 = _two_tiers(8, n1=150, n3=800)
    with pytest.raises(dp.DelibpollError, match="method"):
        dp.compare_tiers(dp.SurveyDesign(t1), dp.SurveyDesign(t3), "q", adjust_for=["age"],
                         method="ipw")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- #17: the pipeline's options
def test_compare_questions_passes_method_and_balance_threshold(tiers) -> None:  # type: ignore[no-untyped-def]
    """Consistency: compare_questions(method=, balance_threshold=) gives each question the
    compare_tiers result with the same options (the pipeline's [comparison] adjust_method and
    balance_threshold)."""
    d1, d3 = tiers
    qc = dp.compare_questions(d1, d3, {"q_pact": ("q_pact_pre", "q_pact_post")},
                              adjust_for=["sex", "age_group"], method="entropy",
                              balance_threshold=0.05)
    one = dp.compare_tiers(d1, d3, "q_pact", before="q_pact_pre", after="q_pact_post",
                           adjust_for=["sex", "age_group"], method="entropy",
                           balance_threshold=0.05)
    got = qc.comparisons["q_pact"]
    np.testing.assert_allclose(got.to_frame()["adjusted_difference"],
                               one.to_frame()["adjusted_difference"], rtol=1e-12)
    assert got.adjustment["method"] == "entropy"
    assert got.balance is not None and got.balance.threshold == 0.05
    assert got.balance.balanced  # entropy balancing meets every category


def test_balance_threshold_is_checked(tiers) -> None:  # type: ignore[no-untyped-def]
    d1, d3 = tiers
    for bad in (0, -0.1, "0.1", True):
        with pytest.raises(DelibpollError, match="'balance_threshold' parameter of compare_tiers"):
            dp.compare_tiers(d1, d3, "q_pact", after="q_pact_post", adjust_for=["sex"],
                             balance_threshold=bad)
