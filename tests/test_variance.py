"""Tests for delibpoll._variance: the grouped linearisation against the direct one.

Outside reference: the direct computation (influence values for every row, calibration
residuals as R ``svyrecvar``, with-replacement variance of PSU totals), which the R-value
tests in test_estimation, test_weighting and test_replicates pin to R ``survey``. The grouped
path must give the same numbers on every kind of design.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delibpoll as dp
from delibpoll import SurveyDesign, Targets
from delibpoll._ratios import grouped_ratios, ratio_estimates
from delibpoll._ratios import linearizer as grouped_linearizer
from delibpoll._variance import FeaturePairs, stratified_vcov

CALIBRATIONS = ("none", "rake", "rake_trim", "poststratify", "linear", "logit")


def sample(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "q": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "sex": rng.choice(["F", "M"], n),
            "age": rng.choice(["y", "m", "o"], n),
            "dom": rng.choice(["r1", "r2", "r3"], n),
            "stratum": rng.choice(["s1", "s2", "s3"], n),
            "w": rng.uniform(0.5, 4, n),
        }
    )
    # clusters nested in strata, two to six of them per stratum
    df["psu"] = df["stratum"] + "-" + rng.integers(0, 6, n).astype(str)
    df["fpc"] = df["stratum"].map({"s1": 40, "s2": 55, "s3": 70})
    df.loc[rng.random(n) < 0.1, "q"] = None
    return df


def design_for(df: pd.DataFrame, strata: bool, clusters: bool, fpc: bool, calibration: str) -> SurveyDesign:
    d = SurveyDesign(
        df,
        weights="w",
        strata="stratum" if strata else None,
        ids="psu" if clusters else None,
        fpc="fpc" if (fpc and clusters and strata) else None,
    )
    margins = Targets.from_dict({"sex": {"F": 0.52, "M": 0.48}, "age": {"y": 0.3, "m": 0.4, "o": 0.3}})
    if calibration == "rake":
        return dp.rake(d, margins)
    if calibration == "rake_trim":  # final weights differ from the raked ones
        return dp.trim(dp.rake(d, margins), upper=2.0, relative=True)
    if calibration == "poststratify":
        return dp.poststratify(d, Targets.from_dict({("sex", "age"): {
            ("F", "y"): 0.15, ("F", "m"): 0.2, ("F", "o"): 0.17,
            ("M", "y"): 0.15, ("M", "m"): 0.2, ("M", "o"): 0.13}}))
    if calibration in ("linear", "logit"):
        kw = {"bounds": (0.3, 3.0)} if calibration == "logit" else {}
        return dp.calibrate(d, margins, method=calibration, **kw)  # type: ignore[arg-type]
    return d


def direct(d: SurveyDesign, codes: np.ndarray, n_cat: int, dcodes: np.ndarray, n_dom: int,
           valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = d.n
    y = np.zeros((n, n_cat))
    rows = np.flatnonzero(valid)
    y[rows, codes[rows]] = 1.0
    dmat = np.zeros((n, n_dom))
    dmat[np.arange(n), dcodes] = valid
    num = (dmat[:, :, None] * y[:, None, :]).reshape(n, -1)
    den = np.repeat(dmat, n_cat, axis=1)
    est, vcov, _ = ratio_estimates(d, num, den)
    return est, vcov


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    strata=st.booleans(),
    clusters=st.booleans(),
    fpc=st.booleans(),
    calibration=st.sampled_from(CALIBRATIONS),
    by=st.booleans(),
)
def test_grouped_vcov_equals_direct_computation(
    seed: int, strata: bool, clusters: bool, fpc: bool, calibration: str, by: bool
) -> None:
    """Estimates to 1e-12 and every covariance to 1e-9 relative to the largest variance,
    on any combination of strata, clusters, fpc and calibration."""
    df = sample(seed, 400)
    d = design_for(df, strata, clusters, fpc, calibration)
    assert grouped_linearizer(d) is not None
    codes, cats = d.column_codes("q")
    valid = codes >= 0
    if by:
        dcodes, doms = d.column_codes("dom")
    else:
        dcodes, doms = np.zeros(d.n, dtype=np.int64), [None]
    est_g, v_g, _ = grouped_ratios(d, codes, np.eye(len(cats)), dcodes, len(doms), valid)
    est_d, v_d = direct(d, codes, len(cats), dcodes, len(doms), valid)
    np.testing.assert_allclose(est_g, est_d, rtol=1e-12, atol=0)
    scale = np.nanmax(np.abs(np.diag(v_d)))
    np.testing.assert_allclose(v_g, v_d, rtol=0, atol=1e-9 * scale)


def test_grouped_vcov_multi_response_patterns() -> None:
    """Non-indicator answer patterns (nets, multi-response sets) through ``values``."""
    df = sample(7, 300)
    d = design_for(df, True, False, False, "rake")
    codes, cats = d.column_codes("q")
    valid = codes >= 0
    # columns: a, b, and the net a+b
    values = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    dcodes, doms = d.column_codes("dom")
    est_g, v_g, _ = grouped_ratios(d, codes, values, dcodes, len(doms), valid)
    n = d.n
    num_rows = values[np.where(valid, codes, 0)] * valid[:, None]
    dmat = np.zeros((n, len(doms)))
    dmat[np.arange(n), dcodes] = valid
    num = (dmat[:, :, None] * num_rows[:, None, :]).reshape(n, -1)
    den = np.repeat(dmat, 3, axis=1)
    est_d, v_d, _ = ratio_estimates(d, num, den)
    np.testing.assert_allclose(est_g, est_d, rtol=1e-12)
    np.testing.assert_allclose(v_g, v_d, rtol=0, atol=1e-9 * np.abs(np.diag(v_d)).max())


def test_share_fixed_by_raking_has_zero_variance() -> None:
    """The raked share of a raking margin is fixed: variance exactly 0, CI the point, n_eff
    infinite (the direct computation leaves a variance at rounding level)."""
    df = sample(11, 500)
    d = design_for(df, False, False, False, "rake")
    fr = dp.proportion(d, "sex").to_frame()
    assert (fr["se"] == 0).all()
    assert (fr["ci_lower"] == fr["estimate"]).all() and np.isinf(fr["n_eff"]).all()
    assert fr["estimate"].tolist() == pytest.approx([0.52, 0.48], rel=1e-9)


def test_lonely_psu_rules_agree_between_paths() -> None:
    """The stratum rules (R's survey.lonely.psu) are shared by the two computations."""
    df = sample(3, 200)
    df.loc[df["stratum"] == "s3", "psu"] = "s3-only"  # one PSU in stratum s3
    for rule in ("remove", "adjust", "average", "certainty"):
        d = SurveyDesign(df, weights="w", strata="stratum", ids="psu", lonely_psu=rule)
        codes, cats = d.column_codes("sex")
        valid = codes >= 0
        zeros = np.zeros(d.n, dtype=np.int64)
        _, v_g, _ = grouped_ratios(d, codes, np.eye(len(cats)), zeros, 1, valid)
        _, v_d = direct(d, codes, len(cats), zeros, 1, valid)
        np.testing.assert_allclose(v_g, v_d, rtol=1e-9, atol=1e-15)


def test_stratified_vcov_fail_rule_names_the_fix() -> None:
    df = sample(3, 200)
    df.loc[df["stratum"] == "s3", "psu"] = "s3-only"
    d = SurveyDesign(df, weights="w", strata="stratum", ids="psu")
    with pytest.raises(dp.DelibpollError, match="lonely_psu"):
        stratified_vcov(np.ones((d.n, 1)), d._structure, d.lonely_psu)
    with pytest.raises(dp.DelibpollError, match="lonely_psu"):
        dp.proportion(d, "sex")


def test_linearizer_not_used_on_replicate_or_multi_step_designs() -> None:
    df = sample(5, 200)
    d = design_for(df, False, False, False, "rake")
    assert grouped_linearizer(d.with_replicates("jk1")) is None
    twice = dp.poststratify(d, Targets.from_dict({"dom": {"r1": 0.3, "r2": 0.3, "r3": 0.4}}))
    assert grouped_linearizer(twice) is None
    # and the estimates still come out, through the direct computation
    assert dp.proportion(twice, "q", na="drop").to_frame()["se"].gt(0).all()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), calibration=st.sampled_from(CALIBRATIONS),
       totals=st.booleans(), strata=st.booleans())
def test_grouped_means_and_totals_of_a_scale_equal_direct(
    seed: int, calibration: str, totals: bool, strata: bool
) -> None:
    """Means and totals of a 0-10 score by domain (11 answer patterns) equal the direct
    computation, as mean() and total() use them."""
    df = sample(seed, 300)
    d = design_for(df, strata, True, False, calibration)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 11, d.n).astype(float)
    valid = rng.random(d.n) > 0.05
    y = np.where(valid, y, 0.0)
    uniq, pattern = np.unique(y, return_inverse=True)
    dcodes, doms = d.column_codes("dom")
    est_g, v_g, _ = grouped_ratios(d, pattern.ravel(), uniq[:, None], dcodes, len(doms), valid,
                                   totals=totals)
    dmat = np.zeros((d.n, len(doms)))
    dmat[np.arange(d.n), dcodes] = valid
    est_d, v_d, _ = ratio_estimates(d, dmat * y[:, None], None if totals else dmat)
    np.testing.assert_allclose(est_g, est_d, rtol=1e-12)
    np.testing.assert_allclose(v_g, v_d, rtol=0, atol=1e-9 * np.abs(np.diag(v_d)).max())


# ---------------------------------------------------------------------- multistage (R values)
MS_REL = 1e-8  # SPEC_16 section 0: closed forms, SE / vcov 1e-8 (estimates 1e-10)


def _clus2(ref: object, **kw: object) -> SurveyDesign:
    data = ref.data("apiclus2.csv")  # type: ignore[attr-defined]
    args: dict[str, object] = {"weights": "pw", "ids": ["dnum", "snum"],
                               "fpc": ["fpc1", "fpc2"]}
    args.update(kw)
    return SurveyDesign(data, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(("case", "kw"), [
    ("apiclus2_16", {}),
    ("apiclus2_16_one_stage", {"ids": "dnum", "fpc": "fpc1"}),
])
def test_multistage_estimates_equal_r(ref: object, case: str, kw: dict[str, object]) -> None:
    """R svydesign(id=~dnum+snum, fpc=~fpc1+fpc2) on apiclus2 (tests/reference/r/
    multistage.R): means, totals (numeric and factor), t intervals on degf, domain means and
    totals with their covariance, a ratio, quantiles; estimates 1e-10, SEs 1e-8. The one-stage
    design (ids=~dnum, fpc=~fpc1) is R's ultimate-cluster variance, 0.7% lower for api00."""
    d = _clus2(ref, **kw)
    get = ref.get  # type: ignore[attr-defined]
    assert d.df == get(case, "degf", "df")
    for var in ("api00", "api.stu", "enroll"):
        na = "drop" if var == "enroll" else "error"
        for fun, stat in ((dp.mean, "svymean"), (dp.total, "svytotal")):
            fr = fun(d, var, na=na).to_frame().iloc[0]  # type: ignore[operator]
            assert fr["estimate"] == pytest.approx(get(case, stat, "estimate", variable=var),
                                                   rel=1e-10)
            assert fr["se"] == pytest.approx(get(case, stat, "se", variable=var), rel=MS_REL)
    fr = dp.mean(d, "api00").to_frame().iloc[0]
    assert fr["ci_lower"] == pytest.approx(
        get(case, "svymean", "ci_lower", variable="api00", method="t_degf"), rel=MS_REL)
    assert fr["ci_upper"] == pytest.approx(
        get(case, "svymean", "ci_upper", variable="api00", method="t_degf"), rel=MS_REL)
    for var, levels in (("stype", ("E", "H", "M")), ("sch.wide", ("No", "Yes"))):
        p = dp.proportion(d, var)
        t = dp.total(d, var)
        for lev in levels:
            assert p.estimate_of(lev) == pytest.approx(
                get(case, "svymean", "estimate", variable=var, category=lev), rel=1e-10)
            assert p.se_of(lev) == pytest.approx(
                get(case, "svymean", "se", variable=var, category=lev), rel=MS_REL)
            assert t.estimate_of(lev) == pytest.approx(
                get(case, "svytotal", "estimate", variable=var, category=lev), rel=1e-10)
            assert t.se_of(lev) == pytest.approx(
                get(case, "svytotal", "se", variable=var, category=lev), rel=MS_REL)
    by_m = dp.mean(d, "api00", by="stype")
    by_t = dp.total(d, "api00", by="stype")
    for g in ("E", "H", "M"):
        for est, stat in ((by_m, "svyby_svymean"), (by_t, "svyby_svytotal")):
            assert est.estimate_of(g) == pytest.approx(
                get(case, stat, "estimate", variable="api00", domain=g), rel=1e-10)
            assert est.se_of(g) == pytest.approx(
                get(case, stat, "se", variable="api00", domain=g), rel=MS_REL)
    for i, a in enumerate("EHM"):
        for j, b in enumerate("EHM"):
            assert by_m.vcov[i, j] == pytest.approx(
                get(case, "svyby_svymean", "vcov", variable="api00", domain=f"{a}|{b}"),
                rel=MS_REL)
    r = dp.ratio(d, "api.stu", "enroll", na="drop").to_frame().iloc[0]
    assert r["estimate"] == pytest.approx(
        get(case, "svyratio", "estimate", variable="api.stu/enroll"), rel=1e-10)
    assert r["se"] == pytest.approx(get(case, "svyratio", "se", variable="api.stu/enroll"),
                                    rel=MS_REL)
    q = dp.quantile(d, "api00", [0.25, 0.5, 0.75]).to_frame()
    for p_, row in zip(("0.25", "0.5", "0.75"), q.itertuples(), strict=True):
        for col in ("estimate", "ci_lower", "ci_upper"):
            assert getattr(row, col) == get(case, "svyquantile", col, variable="api00",
                                            category=p_, method="math|mean")
        assert row.se == pytest.approx(get(case, "svyquantile", "se", variable="api00",
                                           category=p_, method="math|mean"), rel=MS_REL)


def test_multistage_terms_equal_r(ref: object) -> None:
    """The two parts of the api00 total's variance (R survey:::multistage's recursion):
    the first-stage term and n1/N1 times the within-PSU second-stage term, 1e-8."""
    from delibpoll._variance import second_stage_vcov

    d = _clus2(ref)
    x = (d.weight_array * d.data["api00"].to_numpy(dtype=float))[:, None]
    st_ = d.structure
    total = stratified_vcov(x, st_, "fail")[0, 0]
    stage2 = second_stage_vcov(x, st_, "fail")[0, 0]
    get = ref.get  # type: ignore[attr-defined]
    assert stage2 == pytest.approx(get("apiclus2_16", "multistage_terms", "stage2",
                                       variable="api00", method="svytotal"), rel=MS_REL)
    assert total - stage2 == pytest.approx(get("apiclus2_16", "multistage_terms", "stage1",
                                               variable="api00", method="svytotal"), rel=MS_REL)
    one = _clus2(ref, ids="dnum", fpc="fpc1")
    assert stratified_vcov(x, one.structure, "fail")[0, 0] == pytest.approx(total - stage2,
                                                                           rel=1e-12)


def test_multistage_stage2_by_hand() -> None:
    """The second-stage term worked by hand: 2 PSUs of N1 = 4, SSUs (N2 = 5) with totals
    [1, 3] and [2, 2, 8]: V1 = (1 - 2/4) 2/1 (16 + 16) and
    V2 = (2/4) [(1 - 2/5) 2/1 (1 + 1) + (1 - 3/5) 3/2 (4 + 4 + 16)]."""
    df = pd.DataFrame({"p": [1, 1, 2, 2, 2], "s": [1, 2, 1, 2, 3], "y": [1.0, 3, 2, 2, 8],
                       "f1": 4, "f2": 5})
    d = SurveyDesign(df, ids=["p", "s"], fpc=["f1", "f2"])
    x = df[["y"]].to_numpy(dtype=float)
    first = (1 - 2 / 4) * 2 / 1 * ((4 - 8) ** 2 + (12 - 8) ** 2)  # PSU totals 4 and 12
    second = (2 / 4) * ((1 - 2 / 5) * 2 * 2 + (1 - 3 / 5) * 1.5 * 24)
    assert stratified_vcov(x, d.structure, "fail")[0, 0] == pytest.approx(first + second,
                                                                          rel=1e-12)
    assert d.stages == (("p", "f1"), ("s", "f2"))


def test_multistage_lonely_ssu_and_bad_input(ref: object) -> None:
    """A PSU with one sampled SSU adds nothing at stage 2 when N2 = 1 (apiclus2: ten such
    districts, R's onestage); with N2 > 1 the lonely-PSU rule applies ("fail" raises)."""
    df = pd.DataFrame({"p": [1, 1, 2], "s": [1, 2, 1], "y": [1.0, 3, 2], "f1": 4,
                       "f2": [5, 5, 3]})
    with pytest.raises(dp.DelibpollError, match="single second-stage unit"):
        dp.mean(SurveyDesign(df, ids=["p", "s"], fpc=["f1", "f2"]), "y")
    ok = dp.mean(SurveyDesign(df, ids=["p", "s"], fpc=["f1", "f2"], lonely_psu="remove"), "y")
    df2 = df.assign(f2=[5, 5, 1])
    assert ok.se_of("y") == pytest.approx(
        dp.mean(SurveyDesign(df2, ids=["p", "s"], fpc=["f1", "f2"]), "y").se_of("y"),
        rel=1e-12)
    with pytest.raises(dp.DelibpollError, match="one fpc column per stage"):
        SurveyDesign(df, ids=["p", "s"], fpc="f1")
    with pytest.raises(dp.DelibpollError, match="one or two"):
        SurveyDesign(df, ids=["p", "s", "y"])
    with pytest.raises(dp.DelibpollError, match="constant per first-stage unit"):
        SurveyDesign(df.assign(f2=[5, 6, 3]), ids=["p", "s"], fpc=["f1", "f2"])
    with pytest.raises(dp.DelibpollError, match="not in the data"):
        SurveyDesign(df, ids=["p", "nope"], fpc=["f1", "f2"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.integers(1, 60),
       st.integers(0, 2**32 - 1))
def test_feature_pairs_cross_is_the_indicator_cross_product(
    sizes: list[int], n_cells: int, seed: int
) -> None:
    # sum_c v_c F[c] F[c]^T of the cells' stacked margin indicators F, worked densely
    rng = np.random.default_rng(seed)
    offs = np.cumsum([0] + sizes[:-1])
    feats = [rng.integers(0, k, n_cells) + o for k, o in zip(sizes, offs, strict=True)]
    t = int(sum(sizes))
    dense = np.zeros((n_cells, t))
    for f in feats:
        dense[np.arange(n_cells), f] = 1.0
    v = rng.random(n_cells) * 10
    want = dense.T @ (dense * v[:, None])
    got = FeaturePairs.of(feats, t).cross(v)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13 * float(v.sum()))
