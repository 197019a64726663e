"""Reliability cases of delibpoll.deliberative: bad or awkward inputs to paired_change,
compare_tiers, compare_questions, representativeness and minimum_detectable_difference.
Each asserts the exact outcome: a clear DelibpollError naming the problem, a marked result
with its package warning, or the correct value (worked by hand in the test)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import delibpoll as dp
from delibpoll import DelibpollError, DelibpollWarning, SmallSampleWarning


def _pair_frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pre = rng.choice(["a", "b", "c"], n)
    post = np.where(rng.random(n) < 0.3, "a", pre)
    return pd.DataFrame({
        "pre": pre, "post": post, "g": np.arange(n) % 8,
        "x_pre": rng.integers(0, 11, n).astype(float), "sex": rng.choice(["F", "M"], n),
    }).assign(x_post=lambda d: d["x_pre"] + rng.integers(-2, 3, n))


def _tiers(seed: int = 1) -> tuple[dp.SurveyDesign, dp.SurveyDesign]:
    t1 = _pair_frame(60, seed)
    rng = np.random.default_rng(seed + 100)
    t3 = pd.DataFrame({"post": rng.choice(["a", "b", "c"], 600), "sex": rng.choice(["F", "M"], 600),
                       "x_post": rng.integers(0, 11, 600).astype(float)})
    return dp.SurveyDesign(t1, ids="g"), dp.SurveyDesign(t3)


D1, D3 = _tiers()
TARGETS = dp.Targets.from_dict({"sex": {"F": 0.5, "M": 0.5}})


# ---------------------------------------------------------------------- wrong types
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: dp.paired_change(_pair_frame(), "pre", "post"), "needs a SurveyDesign"),
        (lambda: dp.compare_tiers(D1.data, D3, "post"), "needs a SurveyDesign"),
        (lambda: dp.compare_tiers(D1, "tier3", "post"), "needs a SurveyDesign"),
        (lambda: dp.representativeness(D1, {"sex": {"F": 0.5, "M": 0.5}}), "needs Targets"),
        (lambda: dp.compare_tiers(D1, D3, "post", ci_method="wald"), "'ci_method' parameter of compare_tiers"),
        (lambda: dp.compare_tiers(D1, D3, "post", variance="jackknife"), "'variance' parameter of compare_tiers"),
        (lambda: dp.compare_tiers(D1, D3, "post", adjust_for=["sex"], variance="bootstrap", n_replicates=0),
         r"'n_replicates' parameter of compare_tiers must be an integer >= 2.*Got 0"),
        (lambda: dp.compare_tiers(D1, D3, "post", n_replicates=2.5), "'n_replicates' parameter"),
        (lambda: dp.compare_tiers(D1, D3, "post", n_replicates=True), "'n_replicates' parameter"),
        (lambda: dp.compare_tiers(D1, D3, "post", rng="seed"), "'rng' parameter of compare_tiers"),
        (lambda: dp.compare_tiers(D1, D3, "post", equivalence_margin=-0.1), "'equivalence_margin'"),
        (lambda: dp.compare_tiers(D1, D3, "post", kind="ordinal"), "'kind' parameter"),
        (lambda: dp.compare_questions(D1, D3, ["post"], adjust="sidak"), "'adjust' parameter"),
        (lambda: dp.compare_questions(D1, D3, []), "at least one question"),
        (lambda: dp.minimum_detectable_difference(0, 100), "'n_informed' parameter"),
        (lambda: dp.minimum_detectable_difference(100, 100, p=1.0), "p, alpha and power"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_wrong_types_and_values_raise_clear_errors(call: Any, match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        call()


# ---------------------------------------------------------------------- unknown columns
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: dp.paired_change(D1, "pre", "nope"), r"names column\(s\) \['nope'\]"),
        (lambda: dp.compare_tiers(D1, D3, "nope"), r"names column\(s\) \['nope'\]"),
        (lambda: dp.compare_tiers(D1, D3, "post", before="nope"), r"names column\(s\) \['nope'\]"),
        (lambda: dp.compare_tiers(D1, D3, "post", adjust_for=["age"]), "Adjustment covariate 'age' is missing"),
        (lambda: dp.representativeness(D1, dp.Targets.from_dict({"age": {"y": 0.5, "o": 0.5}})),
         r"names column\(s\) \['age'\]"),
        (lambda: dp.compare_questions(D1, D3, {"post": ("nope", "post")}), r"\['nope'\]"),
    ],
)
def test_unknown_columns_are_named(call: Any, match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        call()


# ---------------------------------------------------------------------- awkward data
def test_before_after_with_different_declared_categories() -> None:
    df = pd.DataFrame({"b": pd.Categorical(["x", "y"] * 6, categories=["x", "y"]),
                       "a": pd.Categorical(["x", "z"] * 6, categories=["x", "z"])})
    with pytest.raises(DelibpollError, match=r"different category sets: \['y'\] only in the first"):
        dp.paired_change(dp.SurveyDesign(df), "b", "a")


def test_before_after_with_a_category_only_after_is_marked() -> None:
    df = pd.DataFrame({"b": ["x", "y"] * 6, "a": ["x", "y", "z"] * 4})
    with pytest.warns(DelibpollWarning, match=r"Categories \['z'\] do not occur in 'b'"):
        pc = dp.paired_change(dp.SurveyDesign(df), "b", "a")
    fr = pc.to_frame().set_index("category")
    assert fr.loc["z", "before"] == 0.0 and fr.loc["z", "after"] == pytest.approx(1 / 3)


def test_all_identical_answers_give_no_change_p_1() -> None:
    df = pd.DataFrame({"b": [1.0, 2.0, 3.0] * 5, "a": [1.0, 2.0, 3.0] * 5})
    pc = dp.paired_change(dp.SurveyDesign(df), "b", "a")
    row = pc.to_frame().iloc[0]
    assert (row["change"], row["se"], row["p_value"], row["p_wilcoxon"]) == (0.0, 0.0, 1.0, 1.0)


def test_all_identical_categorical_answers_in_both_tiers() -> None:
    d1 = dp.SurveyDesign(pd.DataFrame({"q": ["yes"] * 40}))
    d3 = dp.SurveyDesign(pd.DataFrame({"q": ["yes"] * 200}))
    with pytest.warns(DelibpollWarning, match="constant"):
        fr = dp.compare_tiers(d1, d3, "q").to_frame()
    assert fr["difference"].tolist() == [0.0] and fr["se"].tolist() == [0.0]


def test_one_participant_is_refused() -> None:
    d = dp.SurveyDesign(pd.DataFrame({"b": ["x"], "a": ["y"]}))
    with pytest.raises(DelibpollError, match="at least 2 people with both 'b' and 'a'; found 1"):
        dp.paired_change(d, "b", "a")


@pytest.mark.parametrize("role", ["before", "after", "both"])
def test_missing_answers_in_every_role_are_excluded_and_counted(role: str) -> None:
    df = _pair_frame(30)
    if role in ("before", "both"):
        df.loc[[0, 1], "pre"] = None
    if role in ("after", "both"):
        df.loc[[1, 2], "post"] = None
    n_missing = {"before": 2, "after": 2, "both": 3}[role]
    pc = dp.paired_change(dp.SurveyDesign(df), "pre", "post")
    assert (pc.n_pairs, pc.n_excluded) == (30 - n_missing, n_missing)
    ok = df["pre"].notna() & df["post"].notna()
    fr = pc.to_frame().set_index("category")
    assert fr.loc["a", "before"] == pytest.approx((df.loc[ok, "pre"] == "a").mean(), rel=1e-12)


def test_missing_adjustment_covariate_is_refused() -> None:
    t1 = D1.data
    t1.loc[0, "sex"] = None
    with pytest.raises(DelibpollError, match="'sex' has missing values in Tier 1"):
        dp.compare_tiers(dp.SurveyDesign(t1), D3, "post", adjust_for=["sex"])


def test_tier1_with_no_clusters_uses_n_minus_1_df() -> None:
    t1 = D1.data
    fr = dp.compare_tiers(dp.SurveyDesign(t1), D3, "post").to_frame()
    se1 = fr["se"] ** 2  # Welch df by hand from the two tiers' own SEs and dfs (59, 599)
    p1 = dp.proportion(dp.SurveyDesign(t1), "post").to_frame()["se"].to_numpy()
    p3 = dp.proportion(D3, "post").to_frame()["se"].to_numpy()
    welch = (p1**2 + p3**2) ** 2 / (p1**4 / 59 + p3**4 / 599)
    np.testing.assert_allclose(fr["df"], welch, rtol=1e-12)
    np.testing.assert_allclose(se1, p1**2 + p3**2, rtol=1e-12)


def test_too_few_design_df_for_the_omnibus_test_is_marked() -> None:
    rng = np.random.default_rng(3)
    t1 = pd.DataFrame({"q": rng.choice(list("abcdef"), 60), "g": np.arange(60) % 3})
    t3 = pd.DataFrame({"q": rng.choice(list("abcdef"), 500)})
    with pytest.warns(SmallSampleWarning):
        qc = dp.compare_questions(dp.SurveyDesign(t1, ids="g"), dp.SurveyDesign(t3), ["q"])
    assert np.isnan(qc.to_frame()["p_value_question"].iloc[0])


def test_joint_margin_with_an_untargeted_cell_is_refused() -> None:
    d = dp.SurveyDesign(pd.DataFrame({"s": ["F", "M", "F", "M"], "a": ["y", "y", "o", "o"]}))
    t = dp.Targets.from_dict({("s", "a"): {("F", "y"): 0.3, ("M", "y"): 0.3, ("F", "o"): 0.4}})
    with pytest.raises(DelibpollError, match=r"'s\|a' has categories .*M.*o.* with no target"):
        dp.representativeness(d, t)


@pytest.mark.parametrize("dtype", ["string", "category", "object"])
def test_nullable_and_string_dtypes_give_the_object_result(dtype: str) -> None:
    df = _pair_frame(30)
    df.loc[3, "post"] = None
    base = dp.paired_change(dp.SurveyDesign(df), "pre", "post").to_frame()
    typed = df.astype({"pre": dtype, "post": dtype})
    got = dp.paired_change(dp.SurveyDesign(typed), "pre", "post").to_frame()
    pd.testing.assert_frame_equal(base.drop(columns="category"), got.drop(columns="category"))


def test_nullable_integer_numeric_items() -> None:
    df = _pair_frame(30)
    df.loc[2, "x_post"] = np.nan
    base = dp.paired_change(dp.SurveyDesign(df), "x_pre", "x_post").to_frame()
    typed = df.astype({"x_pre": "Int64", "x_post": "Int64"})
    got = dp.paired_change(dp.SurveyDesign(typed), "x_pre", "x_post").to_frame()
    pd.testing.assert_frame_equal(base, got)
    d = (df["x_post"] - df["x_pre"]).dropna()
    assert got["change"].iloc[0] == pytest.approx(d.mean(), rel=1e-12)
    assert got["t_paired"].iloc[0] == pytest.approx(stats.ttest_1samp(d, 0).statistic, rel=1e-12)


def test_representativeness_of_a_raked_design_is_exact() -> None:
    raked = dp.rake(dp.SurveyDesign(D1.data), TARGETS, tol=1e-12)
    fr = dp.representativeness(raked, TARGETS).to_frame()
    np.testing.assert_allclose(fr["difference"], 0.0, atol=1e-12)


# ---------------------------------------------------------------------- result immutability
def test_results_are_immutable_in_fact() -> None:
    ct = dp.compare_tiers(D1, D3, "post", before="pre", adjust_for=["sex"])
    with pytest.raises(TypeError):
        ct.adjustment["covariates"] = ["x"]  # type: ignore[index]
    with pytest.raises(TypeError):
        ct.adjustment["collapsed"]["sex"] = {}  # type: ignore[index]
    with pytest.raises(ValueError, match="read-only"):
        ct._vcov["informed"][0, 0] = 1.0
    fr = ct.to_frame()
    fr.loc[0, "difference"] = 99.0
    assert ct.to_frame().loc[0, "difference"] != 99.0
    pc = dp.paired_change(D1, "pre", "post")
    tw, tu = pc.turnover, pc.turnover_unweighted
    tw.iloc[0, 0] = -1.0
    tu.iloc[0, 0] = -1
    assert pc.turnover.iloc[0, 0] >= 0 and pc.turnover_unweighted.iloc[0, 0] >= 0
    qc = dp.compare_questions(D1, D3, {"post": ("pre", "post")})
    with pytest.raises(TypeError):
        qc.comparisons["other"] = ct  # type: ignore[index]
    r = dp.representativeness(D1, TARGETS)
    tests = r.tests
    tests.loc[0, "p_value"] = -1.0
    assert r.tests.loc[0, "p_value"] >= 0


# ---------------------------------------------------------------------- inputs unchanged
def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    t1 = _pair_frame(50, 7)
    t1.attrs = {"variable_labels": {"pre": "Before"}}
    t3 = D3.data
    return t1, t3


CALLS = {
    "paired_change": lambda t1, t3, tg: dp.paired_change(dp.SurveyDesign(t1, ids="g"), "pre", "post"),
    "paired_change_numeric": lambda t1, t3, tg: dp.paired_change(dp.SurveyDesign(t1), "x_pre", "x_post"),
    "compare_tiers": lambda t1, t3, tg: dp.compare_tiers(
        dp.SurveyDesign(t1, ids="g"), dp.SurveyDesign(t3), "post", before="pre", equivalence_margin=0.1),
    "compare_tiers_adjusted_bootstrap": lambda t1, t3, tg: dp.compare_tiers(
        dp.SurveyDesign(t1, ids="g"), dp.SurveyDesign(t3), "post", before="pre", adjust_for=["sex"],
        variance="bootstrap", n_replicates=5, rng=1),
    "compare_questions": lambda t1, t3, tg: dp.compare_questions(
        dp.SurveyDesign(t1), dp.SurveyDesign(t3), {"post": ("pre", "post"), "x_post": ("x_pre", "x_post")}),
    "representativeness": lambda t1, t3, tg: dp.representativeness(dp.SurveyDesign(t1), tg),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_compare_functions_leave_their_inputs_unchanged(name: str, unchanged: Any) -> None:
    t1, t3 = _frames()
    with unchanged(t1, t3, TARGETS.to_frame()):
        CALLS[name](t1, t3, TARGETS)


def test_designs_passed_in_are_unchanged(unchanged: Any) -> None:
    t1, t3 = _frames()
    d1, d3 = dp.SurveyDesign(t1, ids="g"), dp.SurveyDesign(t3)
    w1, w3 = d1.weights, d3.weights
    with unchanged(t1, t3):
        dp.compare_tiers(d1, d3, "post", adjust_for=["sex"], variance="bootstrap", n_replicates=4, rng=2)
    pd.testing.assert_series_equal(d1.weights, w1)
    pd.testing.assert_series_equal(d3.weights, w3)
    assert d1.replicate_weights is None and d3.replicate_weights is None
