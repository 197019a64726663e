"""Tests for replicate designs (delibpoll._replicate_build, _repweights, _replay): replicate designs equal R's as.svrepdesign/svrepdesign.

Reference values: tests/reference/r/replicates.R (values/replicates.csv) and
tests/reference/r/replicates_extra.R (values/replicates_extra.csv, and R's replicate weights in
data/*_repweights.csv). R 4.2, survey 4.1.1. Tolerances are stated in each test.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delibpoll as dp
from delibpoll import DelibpollError, DelibpollWarning, DomainWarning, SurveyDesign

RAKE = dp.Targets.from_dict(
    {"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1072, "Yes": 5122}}
)
STYPE = dp.Targets.from_dict({"stype": {"E": 4421, "H": 755, "M": 1018}})
REL = 1e-6  # relative tolerance against R for variances, SEs and CIs


def _clus(ref: Any) -> SurveyDesign:
    data = ref.data("apiclus1.csv")
    data["top"] = data["api00"] >= 845  # two schools, both in district 716
    return SurveyDesign(data, weights="pw", ids="dnum", fpc="fpc")


def _strat(ref: Any) -> SurveyDesign:
    return SurveyDesign(ref.data("apistrat.csv"), weights="pw", strata="stype", fpc="fpc")


def _r_repweights(ref: Any, name: str) -> np.ndarray:
    df = ref.data(name).sort_values("row")
    return df.filter(regex=r"^rep\d+$").to_numpy(dtype=float)


def _with_r_columns(data: pd.DataFrame, mat: np.ndarray) -> pd.DataFrame:
    cols = pd.DataFrame(mat, columns=[f"rep{j + 1}" for j in range(mat.shape[1])])
    return pd.concat([data.reset_index(drop=True), cols], axis=1)


# ---------------------------------------------------------------------- replicates.R cases
def _designs(ref: Any) -> dict[str, SurveyDesign]:
    clus = _clus(ref)
    boot = ref.data("apiclus1_boot_repweights.csv")
    return {
        "apiclus1_jk1": clus.with_replicates("jk1"),
        "apiclus1_jk1_raked": dp.rake(clus.with_replicates("jk1"), RAKE, tol=1e-12),
        "apistrat_jkn": _strat(ref).with_replicates("jkn"),
        "apiclus1_boot": SurveyDesign(
            boot, weights="pw", repweights=r"rep\d+", rep_type="bootstrap",
            scale=ref.get("apiclus1_boot", "design", "scale"),
        ),
    }


CASES = ["apiclus1_jk1", "apiclus1_jk1_raked", "apistrat_jkn", "apiclus1_boot"]


@pytest.fixture(scope="module")
def designs(ref: Any) -> dict[str, SurveyDesign]:
    return _designs(ref)


@pytest.mark.parametrize("case", CASES)
def test_replicate_estimates_equal_r(designs: dict[str, SurveyDesign], ref: Any, case: str) -> None:
    """Means, totals, proportions, CIs, domain SEs and df equal R (svymean, svytotal,
    svyciprop, svyby on as.svrepdesign / svrepdesign designs) to 1e-6 relative; estimates to
    1e-9."""
    d = designs[case]
    m = dp.mean(d, "api00").to_frame().iloc[0]
    assert m["estimate"] == pytest.approx(ref.get(case, "svymean", "estimate", variable="api00"), rel=1e-9)
    assert m["se"] == pytest.approx(ref.get(case, "svymean", "se", variable="api00"), rel=REL)
    t = dp.total(d, "enroll").to_frame().iloc[0]
    assert t["estimate"] == pytest.approx(ref.get(case, "svytotal", "estimate", variable="enroll"), rel=1e-9)
    assert t["se"] == pytest.approx(ref.get(case, "svytotal", "se", variable="enroll"), rel=REL)
    assert d.df == ref.get(case, "degf", "df")
    fr = dp.proportion(d, "awards").to_frame().set_index("category")
    for cat in ["No", "Yes"]:
        assert fr.loc[cat, "estimate"] == pytest.approx(
            ref.get(case, "svymean", "estimate", variable="awards", category=cat), rel=1e-9)
        assert fr.loc[cat, "se"] == pytest.approx(
            ref.get(case, "svymean", "se", variable="awards", category=cat), rel=REL)
    for method in ["logit", "beta", "mean", "asin"]:
        row = dp.proportion(d, "awards", ci_method=method).to_frame().set_index("category").loc["Yes"]  # type: ignore[arg-type]
        for q in ("ci_lower", "ci_upper"):
            assert row[q] == pytest.approx(
                ref.get(case, "svyciprop", q, variable="awards", category="Yes", method=method), rel=REL)
    by = dp.mean(d, "api00", by="stype").to_frame()
    for _, r in by.iterrows():
        assert r["se"] == pytest.approx(
            ref.get(case, "svyby_svymean", "se", variable="api00", domain=r["stype"]), rel=REL)


def test_scale_and_rscales_as_r(designs: dict[str, SurveyDesign], ref: Any) -> None:
    """scale and rscales as as.svrepdesign (exact up to 1e-12)."""
    reps = designs["apiclus1_jk1"]._replicates
    assert reps.scale == pytest.approx(ref.get("apiclus1_jk1", "design", "scale"), rel=1e-12)
    assert designs["apistrat_jkn"]._replicates.rscales.sum() == pytest.approx(
        ref.get("apistrat_jkn", "design", "rscales_sum"), rel=1e-12)
    for case, d in [("x_apistrat_boot", _strat), ("x_apiclus1_boot", _clus)]:
        b = d(ref).with_replicates("bootstrap", n_replicates=50, rng=0)
        assert b._replicates.scale == pytest.approx(ref.get(case, "design", "scale"), rel=1e-12)
    sb = _strat(ref).with_replicates("subbootstrap", n_replicates=50, rng=0)
    assert sb._replicates.scale == pytest.approx(ref.get("x_apistrat_subboot", "design", "scale"), rel=1e-12)


def test_mse_option(ref: Any) -> None:
    """svrepdesign(..., mse=TRUE): variance centred at the full-sample estimate (1e-6)."""
    boot = ref.data("apiclus1_boot_repweights.csv")
    d = SurveyDesign(boot, weights="pw", repweights=r"rep\d+", rep_type="bootstrap", mse=True,
                     scale=ref.get("apiclus1_boot", "design", "scale"))
    assert dp.mean(d, "api00").to_frame()["se"].iloc[0] == pytest.approx(
        ref.get("apiclus1_boot_mse", "svymean", "se", variable="api00"), rel=REL)


# ---------------------------------------------------------------------- R's replicate weights
@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("apiclus1_jk1_repweights.csv", lambda ref: _clus(ref).with_replicates("jk1")),
        ("apistrat_jkn_repweights.csv", lambda ref: _strat(ref).with_replicates("jkn")),
        ("apiclus1_jk1_raked_repweights.csv",
         lambda ref: dp.rake(_clus(ref).with_replicates("jk1"), RAKE, tol=1e-13)),
    ],
)
def test_replicate_weights_equal_r(ref: Any, name: str, make: Any) -> None:
    """Replicate weights, column by column in R's order, equal weights(design, "analysis")
    of as.svrepdesign (1e-12 relative; 1e-9 after raking, R's epsilon 1e-12 on weights)."""
    ours = make(ref).replicate_weights.to_numpy()
    theirs = _r_repweights(ref, name)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-9 if "raked" in name else 1e-12, atol=1e-9)


# ---------------------------------------------------------------------- replicates_extra.R
def _extra_designs(ref: Any) -> dict[str, SurveyDesign]:
    clus, strat = _clus(ref), _strat(ref)
    jk1 = clus.with_replicates("jk1")
    jk1_w = _r_repweights(ref, "apiclus1_jk1_repweights.csv")
    jkn = strat.with_replicates("jkn")
    full = ref.data("apistrat.csv")
    full.loc[full["stype"] == "H", "fpc"] = int((full["stype"] == "H").sum())
    scale = 14 / 15 * (757 - 15) / 757
    cal = dp.Targets.from_dict({"stype": {"E": 4421, "H": 755, "M": 1018},
                                "sch.wide": {"No": 1072, "Yes": 5122}})
    return {
        "x_apiclus1_jk1": jk1,
        "x_apiclus1_jk1_mse": clus.with_replicates("jk1", mse=True),
        "x_apiclus1_jk1_raked": dp.rake(jk1, RAKE, tol=1e-13),
        "x_apiclus1_jk1_poststrat": dp.poststratify(jk1, STYPE),
        "x_apiclus1_jk1_cal_linear": dp.calibrate(jk1, cal, method="linear", tol=1e-13),
        "x_apiclus1_jk1_user": SurveyDesign(
            _with_r_columns(clus.data, jk1_w), weights="pw", repweights=r"rep\d+",
            rep_type="jk1", scale=scale),
        "x_apistrat_jkn": jkn,
        "x_apistrat_jkn_user": SurveyDesign(
            _with_r_columns(strat.data, _r_repweights(ref, "apistrat_jkn_repweights.csv")),
            weights="pw", repweights=r"^rep\d+$", rep_type="jkn", rscales=jkn._replicates.rscales),
        "x_apistrat_full_jkn": SurveyDesign(full, weights="pw", strata="stype", fpc="fpc")
        .with_replicates("jkn"),
    }


EXTRA = ["x_apiclus1_jk1", "x_apiclus1_jk1_mse", "x_apiclus1_jk1_raked",
         "x_apiclus1_jk1_poststrat", "x_apiclus1_jk1_cal_linear", "x_apiclus1_jk1_user",
         "x_apistrat_jkn", "x_apistrat_jkn_user", "x_apistrat_full_jkn"]


@pytest.fixture(scope="module")
def extra(ref: Any) -> dict[str, SurveyDesign]:
    return _extra_designs(ref)


@pytest.mark.parametrize("case", EXTRA)
def test_extra_cases_equal_r(extra: dict[str, SurveyDesign], ref: Any, case: str) -> None:
    """JK1 with mse, raked, post-stratified and linearly calibrated (weighting replayed on the
    replicates, as R's rake/postStratify/calibrate on a svyrep.design), R's JK1/JKn weights
    read back, and JKn with a fully sampled stratum (its replicates dropped, as R): mean,
    total, proportion SEs, df and number of replicates (1e-6 relative)."""
    d = extra[case]
    m = dp.mean(d, "api00").to_frame().iloc[0]
    assert m["estimate"] == pytest.approx(ref.get(case, "svymean", "estimate", variable="api00"), rel=1e-9)
    assert m["se"] == pytest.approx(ref.get(case, "svymean", "se", variable="api00"), rel=REL)
    t = dp.total(d, "enroll").to_frame().iloc[0]
    assert t["se"] == pytest.approx(ref.get(case, "svytotal", "se", variable="enroll"), rel=REL)
    fr = dp.proportion(d, "awards").to_frame().set_index("category")
    for cat in ["No", "Yes"]:
        assert fr.loc[cat, "se"] == pytest.approx(
            ref.get(case, "svymean", "se", variable="awards", category=cat), rel=REL)
    assert d.df == ref.get(case, "degf", "df")
    assert d._replicates.n_replicates == ref.get(case, "design", "n_replicates")


@pytest.mark.parametrize("case", ["x_apiclus1_jk1", "x_apiclus1_jk1_raked"])
@pytest.mark.parametrize("method", ["logit", "beta", "mean", "asin", "xlogit"])
def test_domain_cis_equal_r(extra: dict[str, SurveyDesign], ref: Any, case: str, method: str) -> None:
    """svyby(~I(awards == "Yes"), ~stype, design, svyciprop, method=): each domain's df is
    the rank of its own replicate weights minus 1 (R's subset drops rows), Korn-Graubard uses
    the domain's rows; estimates, SEs and CI limits to 1e-6 relative."""
    d = extra[case]
    fr = dp.proportion(d, "awards", by="stype", ci_method=method).to_frame()  # type: ignore[arg-type]
    fr = fr[fr["category"] == "Yes"].set_index("stype")
    for s in ["E", "H", "M"]:
        assert fr.loc[s, "df"] == ref.get(case, "degf", "df", domain=s)
        kw = {"variable": "awards", "domain": s, "category": "Yes", "method": method}
        assert fr.loc[s, "estimate"] == pytest.approx(ref.get(case, "svyby_svyciprop", "estimate", **kw), rel=1e-9)
        assert fr.loc[s, "se"] == pytest.approx(ref.get(case, "svyby_svyciprop", "se", **kw), rel=REL)
        assert fr.loc[s, "ci_lower"] == pytest.approx(ref.get(case, "svyby_svyciprop", "ci_lower", **kw), rel=REL)
        assert fr.loc[s, "ci_upper"] == pytest.approx(ref.get(case, "svyby_svyciprop", "ci_upper", **kw), rel=REL)
    tot = dp.total(d, "enroll", by="stype").to_frame().set_index("stype")
    for s in ["E", "H", "M"]:
        assert tot.loc[s, "se"] == pytest.approx(
            ref.get(case, "svyby_svytotal", "se", variable="enroll", domain=s), rel=REL)


@pytest.mark.parametrize("method", ["logit", "mean", "beta"])
def test_replicate_with_zero_proportion_as_r(extra: dict[str, SurveyDesign], ref: Any, method: str) -> None:
    """api00 >= 845: two schools, both in one district, so the replicate that deletes it has a
    proportion of 0. R's svyglm refit stops its IRLS near logit = -20; the logit CI uses that
    (emulated exactly). svyciprop(~top, jk1, method=) to 1e-6 relative."""
    fr = dp.proportion(extra["x_apiclus1_jk1"], "top", ci_method=method).to_frame()  # type: ignore[arg-type]
    row = fr.set_index("category").loc[True]
    kw = {"variable": "top", "category": "TRUE", "method": method}
    assert row["estimate"] == pytest.approx(ref.get("x_apiclus1_jk1", "svyciprop", "estimate", **kw), rel=1e-9)
    assert row["ci_lower"] == pytest.approx(ref.get("x_apiclus1_jk1", "svyciprop", "ci_lower", **kw), rel=REL)
    assert row["ci_upper"] == pytest.approx(ref.get("x_apiclus1_jk1", "svyciprop", "ci_upper", **kw), rel=REL)


def test_missing_values_dropped_as_r(extra: dict[str, SurveyDesign], ref: Any) -> None:
    """svymean(~acs.k3, jk1, na.rm=TRUE) and degf of the non-missing rows (1e-6)."""
    fr = dp.mean(extra["x_apiclus1_jk1"], "acs.k3", na="drop").to_frame().iloc[0]
    assert fr["se"] == pytest.approx(
        ref.get("x_apiclus1_jk1", "svymean_narm", "se", variable="acs.k3"), rel=REL)
    assert fr["df"] == ref.get("x_apiclus1_jk1", "degf_narm", "df", variable="acs.k3")


def test_deff_and_chisq_on_replicates_as_r(extra: dict[str, SurveyDesign], ref: Any) -> None:
    """svymean(deff="replace") and svychisq (Rao-Scott F, ddf = degf) on a JK1 design
    (1e-6 relative)."""
    d = extra["x_apiclus1_jk1"]
    case = "x_apiclus1_jk1"
    assert dp.mean(d, "api00").to_frame()["deff"].iloc[0] == pytest.approx(
        ref.get(case, "svymean_deff", "deff", variable="api00"), rel=REL)
    fr = dp.proportion(d, "awards").to_frame().set_index("category")
    for cat in ("No", "Yes"):
        assert fr.loc[cat, "deff"] == pytest.approx(
            ref.get(case, "svymean_deff", "deff", variable="awards", category=cat), rel=REL)
    ch = dp.chisq_test(d, "awards", "sch.wide")
    kw = {"variable": "awards:sch.wide"}
    assert ch.statistic == pytest.approx(ref.get(case, "svychisq", "statistic", **kw), rel=REL)
    assert ch.df_den == ref.get(case, "svychisq", "ddf", **kw)
    assert ch.p_value == pytest.approx(ref.get(case, "svychisq", "p_value", **kw), rel=REL)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_psu=st.integers(3, 12), strata=st.integers(1, 3))
def test_jackknife_total_equals_linearised(seed: int, n_psu: int, strata: int) -> None:
    """For a total the jackknife variance equals the with-replacement linearised one exactly
    (JK1: n/(n-1) sum (t_j - mean)^2 either way; JKn per stratum), with or without an fpc;
    the df is PSUs minus strata (1e-9)."""
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(strata):
        for c in range(n_psu):
            for _ in range(int(rng.integers(1, 4))):
                rows.append({"h": h, "c": f"{h}-{c}", "y": rng.normal(10, 3),
                             "w": rng.uniform(1, 5), "N": 4 * n_psu})
    df = pd.DataFrame(rows)
    for fpc in (None, "N"):
        lin = SurveyDesign(df, weights="w", strata="h" if strata > 1 else None, ids="c", fpc=fpc)
        rep = lin.with_replicates("jkn" if strata > 1 else "jk1")
        se_lin = dp.total(lin, "y").to_frame()["se"].iloc[0]
        se_rep = dp.total(rep, "y").to_frame()["se"].iloc[0]
        assert se_rep == pytest.approx(se_lin, rel=1e-9)
        assert rep.df == strata * n_psu - strata


@pytest.mark.parametrize("opt", ["remove", "certainty", "average", "adjust"])
def test_jkn_lonely_psu_as_r(ref: Any, opt: str) -> None:
    """as.svrepdesign(type="JKn") with a single-PSU stratum under each
    options(survey.lonely.psu=): SE (1e-6), df, scale and number of replicates."""
    d = SurveyDesign(ref.data("apistrat_lonely.csv"), weights="pw", strata="stype", fpc="fpc",
                     lonely_psu=opt).with_replicates("jkn")  # type: ignore[arg-type]
    case = "x_apistrat_lonely_jkn"
    assert dp.mean(d, "api00").to_frame()["se"].iloc[0] == pytest.approx(
        ref.get(case, "svymean", "se", variable="api00", method=opt), rel=REL)
    assert d.df == ref.get(case, "degf", "df", method=opt)
    assert d._replicates.scale == pytest.approx(ref.get(case, "design", "scale", method=opt), rel=1e-12)
    assert d._replicates.n_replicates == ref.get(case, "design", "n_replicates", method=opt)


def test_user_jk1_scale_guessed_with_warning(ref: Any) -> None:
    """svrepdesign(type="JK1") without scale guesses (R-1)/R and warns, as R (1e-12, 1e-6)."""
    clus = _clus(ref)
    data = _with_r_columns(clus.data, _r_repweights(ref, "apiclus1_jk1_repweights.csv"))
    with pytest.warns(DelibpollWarning, match="guessing n = number of replicates"):
        d = SurveyDesign(data, weights="pw", repweights=r"rep\d+", rep_type="jk1")
    case = "x_apiclus1_jk1_user_guess"
    assert d._replicates.scale == pytest.approx(ref.get(case, "design", "scale"), rel=1e-12)
    assert dp.mean(d, "api00").to_frame()["se"].iloc[0] == pytest.approx(
        ref.get(case, "svymean", "se", variable="api00"), rel=REL)


def test_multipliers_equal_combined_weights(extra: dict[str, SurveyDesign], ref: Any) -> None:
    """combined_weights=False (columns are multipliers of the sampling weights) gives the same
    analysis weights and SEs as the combined columns (1e-12)."""
    clus = _clus(ref)
    w = _r_repweights(ref, "apiclus1_jk1_repweights.csv")
    mult = w / clus.data["pw"].to_numpy()[:, None]
    d = SurveyDesign(_with_r_columns(clus.data, mult), weights="pw", repweights=r"rep\d+",
                     rep_type="jk1", scale=14 / 15 * (757 - 15) / 757, combined_weights=False)
    np.testing.assert_allclose(d.replicate_weights.to_numpy(), w, rtol=1e-12)
    assert dp.mean(d, "api00").to_frame()["se"].iloc[0] == pytest.approx(
        ref.get("x_apiclus1_jk1_user", "svymean", "se", variable="api00"), rel=1e-9)


# ---------------------------------------------------------------------- weighting replay
def test_weighting_replayed_on_replicates_in_either_order(ref: Any) -> None:
    """rake(d.with_replicates()) == rake(d).with_replicates(); every replicate meets the
    margins (1e-9)."""
    clus = _clus(ref)
    a = dp.rake(clus.with_replicates("jk1"), RAKE, tol=1e-12)
    b = dp.rake(clus, RAKE, tol=1e-12).with_replicates("jk1")
    np.testing.assert_allclose(a.replicate_weights.to_numpy(), b.replicate_weights.to_numpy(), rtol=1e-9)
    w = a.replicate_weights
    for var, margin in (("stype", {"E": 4421, "H": 755, "M": 1018}), ("sch.wide", {"No": 1072, "Yes": 5122})):
        sums = w.groupby(a.data[var].to_numpy()).sum()
        for cat, target in margin.items():
            np.testing.assert_allclose(sums.loc[cat].to_numpy(), target, rtol=1e-9)


def test_every_weighting_step_replayed(ref: Any) -> None:
    """A log of poststratify -> trim -> rake is replayed on each replicate column exactly as
    the step replays on one weight column."""
    clus = _clus(ref)
    d = dp.rake(dp.trim(dp.poststratify(clus, STYPE), upper=60), RAKE, tol=1e-12)
    rep = d.with_replicates("jk1")
    base = clus.with_replicates("jk1").replicate_weights.to_numpy()
    for j in [0, 7, 14]:
        col = base[:, j]
        for step in d.weighting_log:
            col = step.apply(col)
        np.testing.assert_allclose(rep.replicate_weights.to_numpy()[:, j], col, rtol=1e-10)
    np.testing.assert_allclose(rep.weights.to_numpy(), d.weights.to_numpy(), rtol=0)


def test_input_design_unchanged_and_row_order_invariant(ref: Any) -> None:
    """with_replicates returns a new design; shuffling the rows permutes the replicate weights
    (columns keep R's order, by first appearance, so compare as sets) and leaves SEs alone."""
    clus = _clus(ref)
    before = clus.weights.to_numpy().copy()
    d = clus.with_replicates("jk1")
    assert clus._replicates is None and d is not clus
    np.testing.assert_array_equal(clus.weights.to_numpy(), before)
    perm = np.random.default_rng(5).permutation(clus.n)
    shuffled = SurveyDesign(clus.data.iloc[perm], weights="pw", ids="dnum", fpc="fpc")
    s = shuffled.with_replicates("jk1")
    for var in ("api00", "enroll"):
        assert dp.mean(s, var).to_frame()["se"].iloc[0] == pytest.approx(
            dp.mean(d, var).to_frame()["se"].iloc[0], rel=1e-10)


# ---------------------------------------------------------------------- bootstraps
def _small_design(seed: int = 0, fpc: bool = False) -> SurveyDesign:
    rng = np.random.default_rng(seed)
    n = 300
    df = pd.DataFrame({
        "y": rng.normal(size=n), "h": rng.choice(["a", "b"], n), "c": rng.integers(0, 30, n),
        "q": rng.choice(["yes", "no"], n),
    })
    if fpc:
        df["N"] = np.where(df["h"] == "a", 40, 60)
    return SurveyDesign(df, strata="h", ids="c", fpc="N" if fpc else None)


def test_bootstrap_seeded_and_no_global_rng() -> None:
    """Same seed, same replicates; numpy's global RNG is neither used nor advanced."""
    d = _small_design()
    np.random.seed(123)  # noqa: NPY002 - checking that the global RNG is left alone
    state = np.random.get_state()[1].copy()  # type: ignore[index]  # noqa: NPY002
    a = d.with_replicates("bootstrap", n_replicates=40, rng=1)
    b = d.with_replicates("bootstrap", n_replicates=40, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a.replicate_weights.to_numpy(), b.replicate_weights.to_numpy())
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # type: ignore[index]  # noqa: NPY002
    c = d.with_replicates("bootstrap", n_replicates=40, rng=2)
    assert not np.array_equal(a.replicate_weights.to_numpy(), c.replicate_weights.to_numpy())


@pytest.mark.parametrize("method", ["bootstrap", "subbootstrap"])
def test_bootstrap_draws_as_r(method: str) -> None:
    """Per replicate and stratum, n_h (bootstrap) or n_h - 1 (Rao-Wu, times n_h/(n_h-1)) PSU
    draws, as R's bootweights/subbootweights; the same multiplier for every row of a PSU."""
    d = _small_design()
    rep = d.with_replicates(method, n_replicates=200, rng=3)  # type: ignore[arg-type]
    st = d._structure
    mult = rep.replicate_weights.to_numpy()  # base weights are 1
    first = np.unique(st.psu, return_index=True)[1]
    per_psu = mult[first]
    np.testing.assert_array_equal(mult, per_psu[st.psu])
    for h, nh in enumerate(st.n_psu_h):
        draws = per_psu[st.psu_stratum == h].sum(axis=0)
        if method == "bootstrap":
            np.testing.assert_allclose(draws, nh)
        else:
            np.testing.assert_allclose(draws, (nh - 1) * nh / (nh - 1))
    assert abs(per_psu.mean() - 1) < 0.05


def test_bootstrap_with_fpc_draws_without_replacement() -> None:
    """With an fpc, R draws n_h PSUs without replacement from N_h copies: no PSU is drawn
    more often than its copies (N_h / n_h rounded up); totals n_h per stratum."""
    d = _small_design(fpc=True)
    rep = d.with_replicates("bootstrap", n_replicates=300, rng=4)
    st = d._structure
    per_psu = rep.replicate_weights.to_numpy()[np.unique(st.psu, return_index=True)[1]]
    pops = {0: 40, 1: 60}
    for h, nh in enumerate(st.n_psu_h):
        block = per_psu[st.psu_stratum == h]
        np.testing.assert_allclose(block.sum(axis=0), nh)
        assert block.max() <= np.ceil(pops[h] / nh)
    # the fpc shrinks the replicate variance towards (1 - f) times the with-replacement one
    se_fpc = dp.mean(rep, "y").to_frame()["se"].iloc[0]
    se_lin = dp.mean(d, "y").to_frame()["se"].iloc[0]
    assert se_fpc == pytest.approx(se_lin, rel=0.25)


def test_bootstrap_se_close_to_linearised() -> None:
    """With many replicates the bootstrap SE approaches the linearised one (20%)."""
    d = _small_design()
    se_lin = dp.mean(d, "y").to_frame()["se"].iloc[0]
    for method in ("bootstrap", "subbootstrap"):
        se = dp.mean(d.with_replicates(method, n_replicates=400, rng=3), "y").to_frame()["se"].iloc[0]  # type: ignore[arg-type]
        assert se == pytest.approx(se_lin, rel=0.2)
    assert d.with_replicates("subbootstrap", n_replicates=40, rng=2)._replicates.scale == pytest.approx(1 / 39)


def test_bootstrap_then_rake_replays_on_all_replicates() -> None:
    """500 bootstrap replicates raked in one pass: every replicate meets the margins."""
    t3 = dp.datasets.load_example(3)
    targets = dp.datasets.england_adult_targets(["sex", "age_group", "region"])
    d = dp.rake(dp.SurveyDesign(t3).with_replicates("bootstrap", n_replicates=50, rng=1), targets)
    w = d.replicate_weights
    shares = w.groupby(t3["sex"].to_numpy()).sum() / w.sum()
    for cat, share in targets.shares("sex").items():
        np.testing.assert_allclose(shares.loc[cat].to_numpy(), share, rtol=1e-8)


# ---------------------------------------------------------------------- helpers and edge cases
def test_domain_in_one_psu_warns_and_drops_empty_replicates(ref: Any) -> None:
    """A domain inside one district: the replicate deleting it gives 0/0 and is left out of
    the variance (R's svrVar na.omit, with a warning); df 0 and SE 0 as R."""
    d = _clus(ref).with_replicates("jk1")
    with pytest.warns(DomainWarning):
        fr = dp.mean(d, "api00", by="dnum").to_frame()
    assert (fr["df"] == 0).all()
    np.testing.assert_allclose(fr["se"].to_numpy(), 0, atol=1e-8)


def test_rank_df_and_repr(extra: dict[str, SurveyDesign]) -> None:
    d = extra["x_apiclus1_jk1"]
    assert d.df == 14.0
    assert "15 jk1 replicates" in repr(d)
    assert d.replicate_weights.columns[0] == "rep_1"


def test_user_rep_types_default_scales() -> None:
    """R svrepdesign defaults: bootstrap 1/(R-1), brr 1/R, successive-difference 4/R,
    jkn rscales from multipliers (with a warning), other 1 (with a warning)."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": rng.normal(size=20), "w": 2.0})
    for j in range(4):
        df[f"r{j}"] = 2.0 * rng.choice([0.0, 2.0], 20)
    cols = [f"r{j}" for j in range(4)]
    assert SurveyDesign(df, weights="w", repweights=cols)._replicates.scale == pytest.approx(1 / 3)
    assert SurveyDesign(df, weights="w", repweights=cols, rep_type="brr")._replicates.scale == 0.25
    assert SurveyDesign(df, weights="w", repweights="^r", rep_type="successive-difference")._replicates.scale == 1.0
    with pytest.warns(DelibpollWarning, match="rscales"):
        d = SurveyDesign(df, weights="w", repweights=cols, rep_type="jkn", combined_weights=False)
    np.testing.assert_allclose(d._replicates.rscales, 1 / df[cols].max().to_numpy())
    with pytest.warns(DelibpollWarning, match="set to 1"):
        SurveyDesign(df, weights="w", repweights=cols, rep_type="other")
    with pytest.warns(DelibpollWarning, match="ignored"):
        SurveyDesign(df, weights="w", repweights=cols, rep_type="brr", scale=0.5)
    with pytest.warns(DelibpollWarning, match="No sampling weights"):
        SurveyDesign(df, repweights=cols)


def test_bad_input(ref: Any) -> None:
    clus, strat = _clus(ref), _strat(ref)
    with pytest.raises(DelibpollError, match="must be one of"):
        clus.with_replicates("mrbbootstrap")  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="Use method='jkn'"):
        strat.with_replicates("jk1")
    with pytest.raises(DelibpollError, match="needs n_replicates"):
        clus.with_replicates("bootstrap")
    with pytest.raises(DelibpollError, match="integer >= 2"):
        clus.with_replicates("subbootstrap", n_replicates=1)
    with pytest.raises(DelibpollError, match="does not apply to method='jk1'. Leave it out"):
        clus.with_replicates("jk1", n_replicates=10)
    with pytest.raises(DelibpollError, match="numpy Generator or an integer seed"):
        clus.with_replicates("bootstrap", n_replicates=10, rng="seed")  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="at least 2 PSUs"):
        SurveyDesign(pd.DataFrame({"y": [1.0, 2.0], "c": [1, 1]}), ids="c").with_replicates("jk1")
    with pytest.raises(DelibpollError, match="Every stratum has a single PSU"):
        SurveyDesign(pd.DataFrame({"y": [1.0, 2.0], "h": [1, 2]}), strata="h").with_replicates(
            "bootstrap", n_replicates=5, rng=0)
    lonely = SurveyDesign(ref.data("apistrat_lonely.csv"), weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(DelibpollError, match="Stratum 'X' has only one PSU"):
        lonely.with_replicates("jkn")
    with pytest.raises(DelibpollError, match="Stratum 'X' has only one PSU, so the subbootstrap"):
        lonely.with_replicates("subbootstrap", n_replicates=10)
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0], "w": 1.0, "r1": [1.0, np.nan, 1.0], "r2": [1.0, -1.0, 2.0],
                       "r3": [1.0, 2.0, 1.0], "r4": ["a", "b", "c"], "r5": [2.0, 1.0, 1.0]})
    with pytest.raises(DelibpollError, match=r"\['r1'\] have missing values"):
        SurveyDesign(df, weights="w", repweights=["r1", "r3"])
    with pytest.raises(DelibpollError, match=r"\['r2'\] have negative values"):
        SurveyDesign(df, weights="w", repweights=["r2", "r3"])
    with pytest.raises(DelibpollError, match="not numeric"):
        SurveyDesign(df, weights="w", repweights=["r3", "r4"])
    with pytest.raises(DelibpollError, match="No columns match"):
        SurveyDesign(df, weights="w", repweights="zz.*")
    with pytest.raises(DelibpollError, match="not in the data"):
        SurveyDesign(df, weights="w", repweights=["r3", "nope"])
    with pytest.raises(DelibpollError, match="'rep_type' parameter"):
        SurveyDesign(df, weights="w", repweights=["r3", "r5"], rep_type="Fay")  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="needs rscales"):
        SurveyDesign(df, weights="w", repweights=["r3", "r5"], rep_type="jkn")
    with pytest.raises(DelibpollError, match="rscales' parameter has 3 values"):
        SurveyDesign(df, weights="w", repweights=["r3", "r5"], rscales=[1, 1, 1])
    with pytest.raises(DelibpollError, match="more than once"):
        SurveyDesign(df, weights="w", repweights=["r3", "r3"])
    with pytest.raises(DelibpollError, match="at least 2 columns"):
        SurveyDesign(df, weights="w", repweights=["r3"])
    with pytest.raises(DelibpollError, match="likelihood"):
        dp.proportion(clus.with_replicates("jk1"), "awards", ci_method="likelihood")


def test_no_warning_on_ordinary_use(extra: dict[str, SurveyDesign]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dp.proportion(extra["x_apiclus1_jk1_raked"], "awards", by="stype")


@pytest.mark.parametrize("method", ["rake", "poststratify", "calibrate"])
def test_replicate_that_cannot_meet_margins_warns(method: str) -> None:
    """A bootstrap replicate with no weight in a rare category cannot be weighted to the
    margins: replaying the step says how many replicates missed and what to do."""
    rng = np.random.default_rng(5)
    n = 200
    df = pd.DataFrame({"g": ["rare"] + ["common"] * (n - 1), "x": rng.normal(size=n)})
    targets = dp.Targets.from_dict({"g": {"rare": 0.01, "common": 0.99}})
    reps = SurveyDesign(df).with_replicates("bootstrap", n_replicates=50, rng=1)
    weigh = {"rake": dp.rake, "poststratify": dp.poststratify,
             "calibrate": lambda d, t: dp.calibrate(d, t, method="raking")}[method]
    with pytest.warns(dp.WeightingWarning, match=r"of them could not be brought to the margins"):
        out = weigh(reps, targets)
    # the full-sample weights still meet the margins
    w = out.weights.to_numpy()
    assert w[0] / w.sum() == pytest.approx(0.01, rel=1e-8)
    # when every replicate keeps every category, replaying is silent
    common = pd.DataFrame({"g": ["a", "b"] * 50, "x": rng.normal(size=100)})
    jk = SurveyDesign(common).with_replicates("jk1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weigh(jk, dp.Targets.from_dict({"g": {"a": 0.4, "b": 0.6}}))


def test_trim_on_replicates_keeps_left_out_rows_out() -> None:
    """Trimming replayed on bootstrap replicates: zero replicate weights stay zero, every
    other replicate weight is within the bounds and each replicate keeps its total."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"w": rng.lognormal(0, 0.6, 300), "y": rng.normal(size=300)})
    d = SurveyDesign(df, weights="w").with_replicates("bootstrap", n_replicates=20, rng=2)
    before = d.replicate_weights
    assert before is not None
    lo, hi = 0.5, 2.5
    out = dp.trim(d, lower=lo, upper=hi, strict=True)
    after = out.replicate_weights
    assert after is not None
    zero = before.to_numpy() == 0
    assert zero.any()
    assert (after.to_numpy()[zero] == 0).all()
    kept = after.to_numpy()[~zero]
    assert kept.min() >= lo - 1e-9 and kept.max() <= hi + 1e-9
    np.testing.assert_allclose(after.sum().to_numpy(), before.sum().to_numpy(), rtol=1e-12)


def test_replicate_weights_are_immutable_in_fact(ref: Any) -> None:
    """#12 item 12: the ReplicateWeights arrays are read-only; design.replicate_weights is a
    copy (editing it leaves the design's variances alone)."""
    import dataclasses

    d = _clus(ref).with_replicates("jk1")
    reps = d._replicates
    se = dp.mean(d, "api00").to_frame()["se"].iloc[0]
    with pytest.raises(ValueError, match="read-only"):
        reps.weights[0, 0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        reps.rscales[0] = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        reps.scale = 2.0  # type: ignore[misc]
    frame = d.replicate_weights
    frame.iloc[:, 0] = 0.0
    assert d.replicate_weights.iloc[:, 0].ne(0.0).any()
    assert dp.mean(d, "api00").to_frame()["se"].iloc[0] == se


def _lonely_text_ids(ref: Any, rule: str) -> SurveyDesign:
    df = ref.data("apistrat_lonely.csv")
    df["id"] = [f"s{i + 1}" for i in range(len(df))]
    return SurveyDesign(df, weights="pw", strata="stype", ids="id",
                        lonely_psu=rule)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["bootstrap", "subbootstrap"])
def test_bootstraps_apply_the_lonely_psu_rule(ref: Any, method: str) -> None:
    """#12 item 6: a single-PSU stratum silently added zero variance to the bootstrap where the
    linearised variance raises. Now lonely_psu='fail' raises for both bootstraps (as for the
    linearised variance and JKn), 'adjust' and 'average' (no bootstrap form) raise, and
    'remove'/'certainty' keep the PSU with multiplier 1 in every replicate, as R's
    bootweights (x_apistrat_lonely_boot in estimation_extra.R: multipliers exactly 1, scale
    to 1e-12)."""
    lin = _lonely_text_ids(ref, "fail")
    with pytest.raises(DelibpollError, match="1 stratum.s. have only one PSU"):
        dp.mean(lin, "api00")
    with pytest.raises(DelibpollError, match=f"Stratum 'X' has only one PSU, so the {method}"):
        lin.with_replicates(method, n_replicates=20, rng=1)  # type: ignore[arg-type]
    for rule in ("adjust", "average"):
        with pytest.raises(DelibpollError, match=f"lonely_psu='{rule}' has no {method} form"):
            _lonely_text_ids(ref, rule).with_replicates(  # type: ignore[call-overload]
                method, n_replicates=20, rng=1)
    case = "apistrat_lonely_boot"
    for rule in ("remove", "certainty"):
        d = _lonely_text_ids(ref, rule).with_replicates(method, n_replicates=20, rng=1)  # type: ignore[arg-type]
        x = (d.data["stype"] == "X").to_numpy()
        mult = d.replicate_weights.to_numpy()[x] / d.data["pw"].to_numpy()[x, None]
        assert mult.min() == ref.get(case, "design", "lonely_multiplier_min", method=rule)
        assert mult.max() == ref.get(case, "design", "lonely_multiplier_max", method=rule)
        assert np.isfinite(d.replicate_weights.to_numpy()).all()
        if method == "bootstrap":
            assert d._replicates.scale == pytest.approx(
                ref.get(case, "design", "scale", method=rule), rel=1e-12)
        assert np.isfinite(dp.mean(d, "api00").to_frame()["se"].iloc[0])


# ---------------------------------------------------------------------- BRR and Fay (brr.R)
def _brr_lin(ref: Any) -> SurveyDesign:
    return SurveyDesign(ref.data("apistrat_brr.csv"), weights="pw", strata="vstrat", ids="vpsu")


def _brr_designs(ref: Any) -> dict[str, SurveyDesign]:
    lin = _brr_lin(ref)
    return {
        "apistrat_brr": lin.with_replicates("brr"),
        "apistrat_brr_mse": lin.with_replicates("brr", mse=True),
        "apistrat_fay": lin.with_replicates("fay", fay_rho=0.3),
        "apistrat_brr_linear": lin,
    }


@pytest.fixture(scope="module")
def brr(ref: Any) -> dict[str, SurveyDesign]:
    return _brr_designs(ref)


@pytest.mark.parametrize(("method", "name", "rho"), [
    ("brr", "apistrat_brr_repweights.csv", None), ("fay", "apistrat_fay_repweights.csv", 0.3),
])
def test_brr_fay_weights_equal_r(ref: Any, method: str, name: str, rho: float | None) -> None:
    """as.svrepdesign(type="BRR"|"Fay", fay.rho=0.3): the 24 replicate columns in R's order
    (R's Hadamard matrix, character-sorted strata, first PSU "up"), 1e-12 relative."""
    d = _brr_lin(ref).with_replicates(method, fay_rho=rho)  # type: ignore[arg-type]
    ours = d.replicate_weights.to_numpy()
    theirs = _r_repweights(ref, name)
    assert ours.shape == theirs.shape == (200, 24)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", ["apistrat_brr", "apistrat_brr_mse", "apistrat_fay"])
def test_brr_fay_design_as_r(brr: dict[str, SurveyDesign], ref: Any, case: str) -> None:
    d = brr[case]
    assert d.df == ref.get(case, "degf", "df")
    assert d.replicate_weights.shape[1] == ref.get(case, "design", "n_replicates")


@pytest.mark.parametrize("case", ["apistrat_brr", "apistrat_brr_mse", "apistrat_fay",
                                  "apistrat_brr_linear"])
def test_brr_fay_estimates_equal_r(brr: dict[str, SurveyDesign], ref: Any, case: str) -> None:
    """svymean (with vcov and t CI on degf), svytotal, factor mean, svyratio, svyvar, svyby and
    svyquantile on BRR / Fay designs: estimates 1e-10, SEs/vcov/CIs 1e-8 (SPEC_16 section 0);
    quantile CI ends exact (data values)."""
    d = brr[case]
    get = ref.get
    for var in ("api00", "enroll"):
        est = dp.mean(d, var)
        assert est.estimate_of(var) == pytest.approx(get(case, "svymean", "estimate",
                                                         variable=var), rel=1e-10)
        assert est.se_of(var) == pytest.approx(get(case, "svymean", "se", variable=var),
                                               rel=1e-8)
        ci = est.to_frame().iloc[0]
        assert ci["ci_lower"] == pytest.approx(
            get(case, "svymean", "ci_lower", variable=var, method="t_degf"), rel=1e-8)
        assert ci["ci_upper"] == pytest.approx(
            get(case, "svymean", "ci_upper", variable=var, method="t_degf"), rel=1e-8)
    tot = dp.total(d, "enroll")
    assert tot.estimate_of("enroll") == pytest.approx(
        get(case, "svytotal", "estimate", variable="enroll"), rel=1e-10)
    assert tot.se_of("enroll") == pytest.approx(
        get(case, "svytotal", "se", variable="enroll"), rel=1e-8)
    sw = dp.proportion(d, "sch.wide")
    for lev in ("No", "Yes"):
        assert sw.estimate_of(lev) == pytest.approx(
            get(case, "svymean", "estimate", variable="sch.wide", category=lev), rel=1e-10)
        assert sw.se_of(lev) == pytest.approx(
            get(case, "svymean", "se", variable="sch.wide", category=lev), rel=1e-8)
    rat = dp.ratio(d, "api.stu", "enroll")
    assert float(rat.to_frame()["estimate"].iloc[0]) == pytest.approx(
        get(case, "svyratio", "estimate", variable="api.stu/enroll"), rel=1e-10)
    assert float(rat.to_frame()["se"].iloc[0]) == pytest.approx(
        get(case, "svyratio", "se", variable="api.stu/enroll"), rel=1e-8)
    var_ = dp.variance(d, "api00")
    assert float(var_.to_frame()["estimate"].iloc[0]) == pytest.approx(
        get(case, "svyvar", "estimate", variable="api00"), rel=1e-10)
    assert float(var_.to_frame()["se"].iloc[0]) == pytest.approx(
        get(case, "svyvar", "se", variable="api00"), rel=1e-8)
    by = dp.mean(d, "api00", by="stype")
    for g in ("E", "H", "M"):
        assert by.estimate_of(g) == pytest.approx(
            get(case, "svyby_svymean", "estimate", variable="api00", domain=g), rel=1e-10)
        assert by.se_of(g) == pytest.approx(
            get(case, "svyby_svymean", "se", variable="api00", domain=g), rel=1e-8)
    if case == "apistrat_brr_linear":
        return
    q = dp.quantile(d, "api00", [0.25, 0.5, 0.75]).to_frame()
    for p, row in zip(("0.25", "0.5", "0.75"), q.itertuples(), strict=True):
        for col in ("estimate", "ci_lower", "ci_upper"):
            assert getattr(row, col) == get(case, "svyquantile", col, variable="api00",
                                            category=p, method="math|mean")
        assert row.se == pytest.approx(get(case, "svyquantile", "se", variable="api00",
                                           category=p, method="math|mean"), rel=1e-8)


def test_brr_vcov_equals_r(brr: dict[str, SurveyDesign], ref: Any) -> None:
    """The variances of the means (diagonal of R vcov(svymean(~api00 + enroll))), 1e-8."""
    for case in ("apistrat_brr", "apistrat_fay"):
        d = brr[case]
        for v1 in ("api00", "enroll"):
            est = dp.mean(d, v1)
            assert est.vcov[0, 0] == pytest.approx(
                ref.get(case, "svymean", "vcov", variable=f"{v1}|{v1}"), rel=1e-8)


def test_fay_scale_and_supplied_weights(ref: Any) -> None:
    """Supplied Fay weights with rep_type="fay" take R's scale 1/(R (1-rho)^2) and give the
    same SEs as built ones (R svrepdesign(type="Fay", rho=0.3)), 1e-8."""
    data = _with_r_columns(ref.data("apistrat_brr.csv"),
                           _r_repweights(ref, "apistrat_fay_repweights.csv"))
    d = SurveyDesign(data, weights="pw", repweights=r"^rep\d+$", rep_type="fay", fay_rho=0.3)
    assert d.df == ref.get("apistrat_fay", "degf", "df")
    assert dp.mean(d, "api00").se_of("api00") == pytest.approx(
        ref.get("apistrat_fay", "svymean", "se", variable="api00"), rel=1e-8)
    b = SurveyDesign(_with_r_columns(ref.data("apistrat_brr.csv"),
                                     _r_repweights(ref, "apistrat_brr_repweights.csv")),
                     weights="pw", repweights=r"^rep\d+$", rep_type="brr")
    assert dp.mean(b, "api00").se_of("api00") == pytest.approx(
        ref.get("apistrat_brr", "svymean", "se", variable="api00"), rel=1e-8)


def test_brr_on_bad_designs_errors(ref: Any) -> None:
    lin = _brr_lin(ref)
    with pytest.raises(DelibpollError, match="fay_rho"):
        lin.with_replicates("fay")
    with pytest.raises(DelibpollError, match="fay_rho"):
        lin.with_replicates("fay", fay_rho=1.0)
    with pytest.raises(DelibpollError, match="fay_rho"):
        lin.with_replicates("brr", fay_rho=0.3)
    with pytest.raises(DelibpollError, match="n_replicates"):
        lin.with_replicates("brr", n_replicates=10)
    with pytest.raises(DelibpollError, match="stratified"):
        SurveyDesign(ref.data("apistrat_brr.csv"), ids="vpsu").with_replicates("brr")
    with pytest.raises(DelibpollError, match="exactly 2 PSUs.*'stype'"):
        _strat(ref).with_replicates("brr")
    with pytest.raises(DelibpollError, match="fay_rho"):
        SurveyDesign(ref.data("apistrat_brr.csv"), fay_rho=0.3)
    with pytest.raises(DelibpollError, match="fay_rho"):
        SurveyDesign(_with_r_columns(ref.data("apistrat_brr.csv"), np.ones((200, 4))),
                     repweights=r"^rep\d+$", rep_type="fay")


def test_brr_row_order_and_input_unchanged(ref: Any) -> None:
    """Shuffling rows permutes the replicate rows only if the first-appearing PSU of each
    stratum is kept; the caller's frame is never modified."""
    data = ref.data("apistrat_brr.csv")
    before = data.copy()
    d = SurveyDesign(data, weights="pw", strata="vstrat", ids="vpsu").with_replicates("brr")
    pd.testing.assert_frame_equal(data, before)
    rev = data.iloc[::-1]
    d2 = SurveyDesign(rev, weights="pw", strata="vstrat", ids="vpsu").with_replicates("brr")
    # reversed order: the other PSU of each pair is "up", so every replicate's halves swap,
    # which leaves BRR's variance of a linear statistic unchanged (full orthogonal balance)
    assert dp.mean(d2, "api00").se_of("api00") == pytest.approx(
        dp.mean(d, "api00").se_of("api00"), rel=1e-10)
