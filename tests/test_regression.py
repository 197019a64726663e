"""Tests for delibpoll.regression (dp.glm: design-based GLMs, predict, Wald tests, odds ratios, predictive
margins) against R survey's svyglm, predict, confint, regTermTest and svypredmeans.

Reference values: tests/reference/r/glm.R (values/glm.csv; R 4.2.2, survey 4.1.1, svyglm run to
glm.control(epsilon = 1e-12)); the conventions are in tests/reference/SPEC_16.md section 2.
Tolerances (SPEC_16 section 0): coefficients, predictions, dispersion and deviance 1e-8
relative (IRLS); SEs, vcov, CI limits, Wald statistics and p-values 1e-6 relative; predictive
margins 1e-10 (estimates) and 1e-6 (variances). Designs: stratified with fpc (apistrat16),
clustered with fpc (apiclus1_16), raked to three margins (apistrat16_raked: raking-aware SEs
with R's 10 sweeps), the raked and unweighted England-like sample, and the JK1 and bootstrap
replicate designs whose weights R wrote (data/apiclus1_{jk1,boot}16_repweights.csv).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delibpoll as dp
from delibpoll import ConvergenceWarning, DelibpollError, DelibpollWarning, SurveyDesign

PT = 1e-8  # coefficients, predictions, dispersion, deviance (IRLS)
SE = 1e-6  # SEs, vcov, CI limits, Wald statistics, p-values

STYPE = ["E", "H", "M"]
ENROLL = ["<350", "350-499", "500-749", "750+"]
ENG_LEVELS = {
    "sex": ["Female", "Male"],
    "age_group": ["18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"],
    "education": ["No qualifications", "Level 1 and entry level qualifications",
                  "Level 2 qualifications", "Apprenticeship", "Level 3 qualifications",
                  "Level 4 qualifications and above", "Other qualifications"],
}
ENGLAND_MARGINS = ["sex", "age_group", "region", "education", "ethnicity"]

API_MODELS = {  # glm.R's api_models: formula, family, terms tested, odds ratios
    "gaussian": ("api00 ~ ell + meals + stype", "gaussian", ["stype"]),
    "quasibinomial": ("sw ~ ell + stype", "binomial", ["stype"]),
    "quasipoisson": ("enroll ~ meals + stype", "poisson", ["stype"]),
    "poisson": ("enroll ~ meals + stype", "poisson", ["stype"]),
    "interaction": ("api00 ~ ell * stype", "gaussian", ["ell:stype", "stype"]),
    "releveled": ("api00 ~ ell + meals + stype", "gaussian", []),
}
ENG_MODELS = {
    "pact_logit": ("pact_up ~ sex + age_group + education", "binomial",
                   ["age_group", "education"]),
    "agree_logit": ("agree ~ sex * age_group", "binomial", ["sex:age_group"]),
    "trust_linear": ("trust ~ sex + age_group + education", "gaussian", ["education"]),
    "trust_poisson": ("trust ~ sex + age_group + education", "poisson", ["education"]),
}
NEW_API = pd.DataFrame({"ell": [0, 20, 60], "meals": [10, 50, 90],
                        "stype": ["E", "H", "M"], "enroll": [300, 800, 1500]})
NEW_ENG = pd.DataFrame({"sex": ["Female", "Male", "Male"], "age_group": ["18-24", "45-54", "75+"],
                        "education": ["No qualifications", "Level 3 qualifications",
                                      "Level 4 qualifications and above"]})


def close(actual: float, expected: float, rel: float, abs_: float = 0.0) -> None:
    assert actual == pytest.approx(expected, rel=rel, abs=abs_), (actual, expected)


def _api(ref: Any, name: str) -> pd.DataFrame:
    df = ref.data(name)
    df["stype"] = pd.Categorical(df["stype"], categories=STYPE)
    df["enroll_band"] = pd.Categorical(df["enroll_band"], categories=ENROLL)
    df["api_band"] = pd.Categorical(df["api_band"], categories=["low", "mid", "high", "top"],
                                    ordered=True)
    return df


def _with_reps(data: pd.DataFrame, ref: Any, name: str) -> pd.DataFrame:
    rw = ref.data(name).sort_values("row").filter(regex=r"^rep\d+$").reset_index(drop=True)
    return pd.concat([data.reset_index(drop=True), rw], axis=1)


def designs16(ref: Any) -> dict[str, SurveyDesign]:
    """The designs of common16.R (shared with tests/test_ordinal.py)."""
    strat = _api(ref, "apistrat16.csv")
    clus = _api(ref, "apiclus1_16.csv")
    dstrat = SurveyDesign(strat, weights="pw", strata="stype", fpc="fpc")
    # the enroll-band margins are apipop's band counts scaled to 6194 (common16.R): the raked
    # weights R wrote meet them, so their band sums are the targets
    rw = ref.weights("apistrat16_raked")
    bands = pd.Series(rw).groupby(strat["enroll_band"].to_numpy(), observed=False).sum()
    targets = dp.Targets.from_dict({
        "stype": {"E": 4421, "H": 755, "M": 1018},
        "sch.wide": {"No": 1072, "Yes": 5122},
        "enroll_band": {k: float(v) for k, v in bands.items()},
    })
    eng = ref.data("england_like.csv", keep_default_na=False, na_values=[""])
    for v, lev in ENG_LEVELS.items():
        eng[v] = pd.Categorical(eng[v], categories=lev)
    eng["pact_up"] = (eng["q_pact"] == "Increase confidence").astype(float)
    eng["trust_band"] = pd.Categorical(
        pd.cut(eng["trust"], [-np.inf, 3, 5, 7, np.inf], labels=["0-3", "4-5", "6-7", "8-10"]),
        categories=["0-3", "4-5", "6-7", "8-10"], ordered=True)
    eng_targets = dp.Targets.from_csv(ref.root / "data" / "england_like_targets.csv")
    eng0 = SurveyDesign(eng)
    clus2 = ref.data("apiclus2.csv")
    clus2["stype"] = pd.Categorical(clus2["stype"], categories=STYPE)
    clus2["sw"] = (clus2["sch.wide"] == "Yes").astype(float)
    brr = ref.data("apistrat_brr.csv")
    brr["stype"] = pd.Categorical(brr["stype"], categories=STYPE)
    brr_lin = SurveyDesign(brr, weights="pw", strata="vstrat", ids="vpsu")
    numeric = dp.Targets.from_dict({"stype": {"E": 4421, "H": 755, "M": 1018},
                                    "enroll": 3811472.0})
    jk = _with_reps(clus, ref, "apiclus1_jk1_16_repweights.csv")
    boot = _with_reps(clus, ref, "apiclus1_boot16_repweights.csv")
    return {
        "apistrat16": dstrat,
        "apiclus1_16": SurveyDesign(clus, weights="pw", ids="dnum", fpc="fpc"),
        "apistrat16_raked": dp.rake(dstrat, targets, tol=1e-13),
        "apiclus1_16_jk1": SurveyDesign(
            jk, weights="pw", repweights=r"^rep\d+$", rep_type="jk1",
            scale=ref.get("apiclus1_16_jk1", "design", "scale"), rscales=[1.0] * 15),
        "apiclus1_16_boot": SurveyDesign(
            boot, weights="pw", repweights=r"^rep\d+$", rep_type="bootstrap",
            scale=ref.get("apiclus1_16_boot", "design", "scale"), rscales=[1.0] * 50),
        "england16_raked": dp.rake(eng0, eng_targets.select(ENGLAND_MARGINS), tol=1e-13),
        "england16_unweighted": eng0,
        # glm.R's "more designs" (SPEC_16 2.9): two stages, numeric calibration, BRR, Fay
        "apiclus2_16_glm": SurveyDesign(clus2, weights="pw", ids=["dnum", "snum"],
                                        fpc=["fpc1", "fpc2"]),
        "apistrat16_cal_linear_glm": dp.calibrate(dstrat, numeric, method="linear", tol=1e-12),
        "apistrat16_cal_raking_glm": dp.calibrate(dstrat, numeric, method="raking", tol=1e-12),
        "apistrat_brr_glm": brr_lin.with_replicates("brr"),
        "apistrat_fay_glm": brr_lin.with_replicates("fay", fay_rho=0.3),
    }


@pytest.fixture(scope="module")
def designs(ref: Any) -> dict[str, SurveyDesign]:
    return designs16(ref)


class _Values:
    """glm.csv as a dict (the pooled conftest lookup scans every file per call)."""

    def __init__(self, ref: Any) -> None:
        df = pd.read_csv(ref.root / "values" / "glm.csv", dtype=str, keep_default_na=False)
        keys = zip(df["case"], df["statistic"], df["quantity"], df["variable"],
                   df["category"], df["method"], strict=True)
        # R writes NA where it returns it (likelihood CIs on replicate designs)
        vals = [float("nan") if v == "NA" else float(v) for v in df["value"]]
        self.values = dict(zip(keys, vals, strict=True))

    def get(self, case: str, statistic: str, quantity: str, *, variable: str = "",
            category: str = "", method: str = "") -> float:
        return self.values[(case, statistic, quantity, variable, category, method)]


@pytest.fixture(scope="module")
def glm_ref(ref: Any) -> _Values:
    return _Values(ref)


def test_designs_are_r_designs(ref: Any, designs: dict[str, SurveyDesign]) -> None:
    """Precondition: raked weights equal R's (1e-8) and the design df are R's degf."""
    for case in ("apistrat16_raked", "england16_raked"):
        np.testing.assert_allclose(designs[case].weight_array, ref.weights(case), rtol=1e-8)
    for case in ("apistrat16", "apiclus1_16", "apiclus1_16_jk1", "apiclus1_16_boot",
                 "england16_raked"):
        assert designs[case].df == ref.get(case, "degf", "df")


def _r_name(model: str, name: str) -> str:
    return re.sub(r"^stype", 'relevel(stype, ref = "H")', name) if model == "releveled" else name


FIT_CASES = [(c, m) for c in ("apistrat16", "apiclus1_16", "apistrat16_raked",
                              "apiclus1_16_jk1", "apiclus1_16_boot") for m in API_MODELS]
FIT_CASES += [(c, m) for c in ("england16_raked", "england16_unweighted") for m in ENG_MODELS]
MORE_CASES = ("apiclus2_16_glm", "apistrat16_cal_linear_glm", "apistrat16_cal_raking_glm",
              "apistrat_brr_glm", "apistrat_fay_glm")
FIT_CASES += [(c, m) for c in MORE_CASES for m in ("gaussian", "quasibinomial")]


@pytest.mark.parametrize(("case", "model"), FIT_CASES)
def test_glm_against_svyglm(glm_ref: _Values, designs: dict[str, SurveyDesign], case: str,
                            model: str) -> None:
    """svyglm coefficients, SEs, t, p, residual df, vcov, dispersion, deviance, confint (t on
    the residual df, 95% and 90%; normal), odds ratios, predict and regTermTest; on the
    linearised, raked, JK1 and bootstrap designs, the England-like sample, and (glm.R's
    SPEC_16 2.9 cases) the two-stage apiclus2, numerically calibrated (linear, raking), BRR
    and Fay designs."""
    formula, family, terms = {**API_MODELS, **ENG_MODELS}[model]
    reference = {"stype": "H"} if model == "releveled" else None
    fit = dp.glm(designs[case], formula, family=family, reference=reference)  # type: ignore[arg-type]

    def r(q: str, cat: str = "", method: str = "", stat: str = "svyglm") -> float:
        return glm_ref.get(case, stat, q, variable=model, category=cat, method=method)

    assert fit.converged and not fit.boundary
    assert fit.df_residual == r("df_residual")
    assert fit.design_df == r("degf_design")
    assert len(fit.names) == r("n_coef")
    if designs[case].replicates is None:
        close(fit.dispersion, r("dispersion"), PT)
        close(fit.dispersion_se, r("dispersion_se"), SE)
    else:
        # survey 4.1.1's residuals.svrepglm divides the Pearson residuals by sqrt(pw / sum(pw))
        # after multiplying by sqrt(pw / mean(pw)): its dispersion is n times the weighted mean
        # square of the Pearson residuals that summary.svrepglm means to report (and that
        # the linearised summary.svyglm reports); delibpoll gives the latter
        close(fit.dispersion * fit.n, r("dispersion"), PT)
        assert np.isnan(fit.dispersion_se)
    close(fit.deviance, r("deviance"), PT)
    frame = fit.to_frame().set_index("term")
    ci90 = fit.conf_int(0.90)
    cin = fit.conf_int(df=float("inf"))
    for i, name in enumerate(fit.names):
        rn = _r_name(model, name)
        close(fit.coef[i], r("estimate", rn), PT, 1e-12)
        close(fit.se[i], r("se", rn), SE)
        close(frame.loc[name, "t"], r("t", rn), SE)
        # d log(p) / dt is about -t: a 1e-6 relative error in t moves p by t^2 1e-6
        close(frame.loc[name, "p_value"], r("p_value", rn), SE * max(1.0, fit.t[i] ** 2),
              1e-300)
        # CI limits near 0 cancel: 1e-6 relative, or 1e-6 of the SE
        ci_abs = SE * fit.se[i]
        close(frame.loc[name, "ci_lower"], r("ci_lower", rn, "Wald_t"), SE, ci_abs)
        close(frame.loc[name, "ci_upper"], r("ci_upper", rn, "Wald_t"), SE, ci_abs)
        close(ci90.loc[name, "ci_lower"], r("ci_lower", rn, "Wald_t_90"), SE, ci_abs)
        close(ci90.loc[name, "ci_upper"], r("ci_upper", rn, "Wald_t_90"), SE, ci_abs)
        for method in ("Wald_normal", "confint_default"):
            close(cin.loc[name, "ci_lower"], r("ci_lower", rn, method), SE, ci_abs)
            close(cin.loc[name, "ci_upper"], r("ci_upper", rn, method), SE, ci_abs)
        for j, other in enumerate(fit.names):
            # a covariance far below its variances: 1e-6 of sqrt(v_ii v_jj)
            close(fit.vcov[i, j], r("vcov", f"{rn}|{_r_name(model, other)}"), SE,
                  SE * np.sqrt(fit.vcov[i, i] * fit.vcov[j, j]))
    if family == "binomial":
        ors = fit.odds_ratios().set_index("term")
        for name in fit.names:
            close(ors.loc[name, "odds_ratio"], r("odds_ratio", name), PT)
            close(ors.loc[name, "ci_lower"], r("or_ci_lower", name, "Wald_t"), SE)
            close(ors.loc[name, "ci_upper"], r("or_ci_upper", name, "Wald_t"), SE)
    if model != "releveled":
        newdata = NEW_API if case.startswith("api") else NEW_ENG
        for type_ in ("link", "response"):
            pred = fit.predict(newdata, type=type_)  # type: ignore[arg-type]
            for k in range(3):
                close(pred.estimate[k], r("estimate", f"row{k + 1}", type_, "predict"), PT)
                close(pred.se[k], r("se", f"row{k + 1}", type_, "predict"), SE)
        pred = fit.predict(newdata)
        for a in range(3):
            for b in range(3):
                scale = np.sqrt(pred.vcov[a, a] * pred.vcov[b, b])  # as the coefficients' vcov
                close(pred.vcov[a, b], r("vcov", f"row{a + 1}|row{b + 1}", "link", "predict"), SE,
                      SE * scale)
    for term in terms:
        wt = fit.wald_test(term)
        close(wt.f, r("F", term, "Wald", "regTermTest"), SE)
        assert wt.df_num == r("df_num", term, "Wald", "regTermTest")
        assert wt.df_den == r("df_den", term, "Wald", "regTermTest")
        close(wt.p_value, r("p_value", term, "Wald", "regTermTest"), SE, 1e-300)
        wc = fit.wald_test(term, df=float("inf"))
        close(wc.chisq, r("chisq", term, "Wald_chisq", "regTermTest"), SE)
        close(wc.p_value, r("p_value", term, "Wald_chisq", "regTermTest"), SE, 1e-300)


def test_binomial_is_quasibinomial_without_warning(ref: Any,
                                                   designs: dict[str, SurveyDesign]) -> None:
    """R's binomial() and quasibinomial() give the same coefficients and SEs (R warns about
    non-integer successes; delibpoll's binomial is quasibinomial and stays silent)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = dp.glm(designs["apistrat16"], "sw ~ ell + stype", family="binomial")
    for i, name in enumerate(fit.names):
        close(fit.coef[i], ref.get("apistrat16", "svyglm", "estimate", variable="binomial",
                                   category=name), PT)
        close(fit.se[i], ref.get("apistrat16", "svyglm", "se", variable="binomial",
                                 category=name), SE)


def test_rescaling_weights_changes_nothing(ref: Any, designs: dict[str, SurveyDesign]) -> None:
    """R's rescale = FALSE gives the same estimates and SEs (model gaussian_norescale)."""
    fit = dp.glm(designs["apistrat16"], "api00 ~ ell + meals + stype")
    for i, name in enumerate(fit.names):
        q = {"variable": "gaussian_norescale", "category": name}
        close(fit.coef[i], ref.get("apistrat16", "svyglm", "estimate", **q), PT)
        close(fit.se[i], ref.get("apistrat16", "svyglm", "se", **q), SE)


PM_CASES = [
    ("apistrat16", "api00 ~ ell + meals", "stype", "gaussian", "api00~ell+meals|stype"),
    ("apiclus1_16", "api00 ~ ell + meals", "stype", "gaussian", "api00~ell+meals|stype"),
    ("apistrat16_raked", "sw ~ ell + meals", "stype", "binomial", "sw~ell+meals|stype"),
    ("england16_raked", "pact_up ~ sex + education", "age_group", "binomial",
     "pact_up~sex+education|age_group"),
    # na="drop": the margins average over the fit's complete rows (R: the model's design)
    ("apistrat16", "api00 ~ ell_na + meals", "stype", "gaussian", "api00~ell_na+meals|stype"),
]


@pytest.mark.parametrize(("case", "formula", "group", "family", "model"), PM_CASES)
def test_predictive_margins_against_svypredmeans(ref: Any, designs: dict[str, SurveyDesign],
                                                 case: str, formula: str, group: str,
                                                 family: str, model: str) -> None:
    d = designs[case]
    if "_na" in formula:
        d = _na_design(d, case)
        fit = dp.glm(d, formula, family=family, na="drop")  # type: ignore[arg-type]
        assert fit.n_dropped == 4
    else:
        fit = dp.glm(d, formula, family=family)  # type: ignore[arg-type]
    pm = dp.predictive_margins(fit, group)

    def r(q: str, cat: str) -> float:
        return ref.get(case, "svypredmeans", q, variable=model, category=cat)

    labels = [str(x) for x in pm.labels]
    for i, lab in enumerate(labels):
        close(pm.estimate[i], r("estimate", lab), 1e-10)
        close(pm.se[i], r("se", lab), SE)
        close(pm.var_model[i, i], r("var_model_part", lab), SE)
        close(pm.var_mean[i, i], r("var_mean_part", lab), SE)
        for j, other in enumerate(labels):
            close(pm.vcov[i, j], r("vcov", f"{lab}|{other}"), SE)
    fr = pm.to_frame()
    assert list(fr.columns) == [group, "estimate", "se", "ci_lower", "ci_upper", "df"]


def test_predictive_margins_of_a_predictor_in_the_model(designs: dict[str, SurveyDesign]) -> None:
    """Consistency check: margins of a variable already in the model equal those R's refit
    with '+ group' gives (the same model)."""
    d = designs["apistrat16"]
    a = dp.predictive_margins(dp.glm(d, "api00 ~ ell + meals"), "stype")
    b = dp.predictive_margins(dp.glm(d, "api00 ~ ell + meals + stype"), "stype")
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-12)
    np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-10)


# ---------------------------------------------------------------------- by= domains
def test_glm_by_domain_equals_fit_on_zero_weights(designs: dict[str, SurveyDesign]) -> None:
    """Consistency check: a domain fit is the full design with weight 0 outside the domain
    (R's subset of a linearised design); the df is the domain's (apistrat: PSUs in the
    stratum minus 1, R's degf of the subset: E 99, H 49, M 49, SPEC_16 3.5)."""
    d = designs["apistrat16"]
    by = dp.glm(d, "api00 ~ ell + meals", by="stype")
    assert list(by) == STYPE
    assert [by[s].design_df for s in STYPE] == [99.0, 49.0, 49.0]
    w = np.asarray(d.weight_array)
    mask = np.asarray(d.column("stype") == "H")
    d0 = d.with_fixed_weights(np.where(mask, w, 0.0))
    ref_fit = dp.glm(d0, "api00 ~ ell + meals")
    np.testing.assert_allclose(by["H"].coef, ref_fit.coef, rtol=1e-12)
    np.testing.assert_allclose(by["H"].vcov, ref_fit.vcov, rtol=1e-10)
    fr = by.to_frame()
    assert list(fr.columns[:2]) == ["stype", "term"] and len(fr) == 9
    with pytest.raises(DelibpollError, match="not a domain"):
        by["X"]


# ---------------------------------------------------------------------- consistency and errors
@settings(max_examples=40)
@given(
    y=st.lists(st.floats(-100, 100, allow_nan=False), min_size=6, max_size=30),
    data=st.data(),
)
def test_intercept_only_gaussian_equals_mean(y: list[float], data: st.DataObject) -> None:
    """Consistency check: the gaussian glm with only an intercept is the weighted mean, and
    its SE is mean()'s (same linearisation; stratified, clustered design with calibration-free
    weights drawn from strategies)."""
    n = len(y)
    w = data.draw(st.lists(st.floats(0.5, 20), min_size=n, max_size=n))
    strata = data.draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    strata[:3], strata[3:6] = ["a"] * 3, ["b"] * 3
    df = pd.DataFrame({"y": y, "w": w, "h": strata, "psu": range(n)})
    d = SurveyDesign(df, weights="w", strata="h", ids="psu")
    fit = dp.glm(d, "y ~ 1")
    est = dp.mean(d, "y") if np.ptp(y) > 0 else None
    if est is None:
        return
    close(fit.coef[0], est.estimate_of("y"), 1e-10, 1e-10)
    close(fit.se[0], est.se_of("y"), 1e-8, 1e-10)


def test_separation_is_flagged() -> None:
    df = pd.DataFrame({"y": [0.0, 0, 0, 0, 1, 1, 1, 1], "x": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    with pytest.warns(DelibpollWarning, match="separat"):
        fit = dp.glm(SurveyDesign(df), "y ~ x", family="binomial")
    assert fit.boundary
    assert "separation" in fit.summary()


def test_nonconvergence_is_flagged() -> None:
    df = pd.DataFrame({"y": [0.0, 1, 0, 1, 1, 0, 1, 1], "x": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        fit = dp.glm(SurveyDesign(df), "y ~ x", family="binomial", max_iter=1)
    assert not fit.converged
    assert "did not converge" in fit.summary()


def test_rank_deficient_design_is_an_error() -> None:
    df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 7], "x": [1.0, 2, 3, 4, 5, 6]})
    df["x2"] = 2 * df["x"]
    with pytest.raises(DelibpollError, match=r"rank deficient: \['x2'\]"):
        dp.glm(SurveyDesign(df), "y ~ x + x2")
    # a category with no rows in a domain
    # a category with no rows in a domain
    df["g"] = ["a", "a", "a", "b", "b", "b"]
    df["h"] = ["u", "u", "u", "v", "u", "v"]
    with pytest.raises(DelibpollError, match=r"domain g='a' is rank deficient: \['hv'\]"):
        dp.glm(SurveyDesign(df), "y ~ h", by="g")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"formula": "y x"}, "'formula' parameter of glm"),
        ({"formula": "nope ~ x"}, "response 'nope'"),
        ({"formula": "y ~ nope"}, "could not be evaluated"),
        ({"formula": "y ~ x", "family": "quasibinomial"}, "Use 'binomial'"),
        ({"formula": "g ~ x"}, "must be numeric"),
        ({"formula": "y ~ x", "family": "poisson", "tol": 2}, "'tol'"),
        ({"formula": "y ~ x", "reference": {"g": "z"}}, "reference' level 'z'"),
        ({"formula": "y ~ x", "level": 95}, "'level' parameter of glm"),
    ],
)
def test_bad_input_names_the_parameter(kwargs: dict[str, Any], match: str) -> None:
    df = pd.DataFrame({"y": [1.0, 2, 3, 5], "x": [1.0, 2, 3, 4], "g": ["a", "b", "a", "b"]})
    with pytest.raises(DelibpollError, match=match):
        dp.glm(SurveyDesign(df), **kwargs)


def test_response_range_and_missing_values() -> None:
    df = pd.DataFrame({"y": [1.0, 2, 3, 5], "x": [1.0, np.nan, 3, 4]})
    with pytest.raises(DelibpollError, match="in \\[0, 1\\]"):
        dp.glm(SurveyDesign(df.fillna(0)), "y ~ x", family="binomial")
    with pytest.raises(DelibpollError, match=r"missing values: 'x' \(1\); 1 row\(s\) are "
                                             "incomplete. Pass na='drop'"):
        dp.glm(SurveyDesign(df), "y ~ x")
    with pytest.raises(DelibpollError, match="'na' parameter of glm"):
        dp.glm(SurveyDesign(df), "y ~ x", na="omit")  # type: ignore[call-overload]
    with pytest.raises(DelibpollError, match="non-negative"):
        dp.glm(SurveyDesign(df.fillna(0).assign(y=[-1.0, 2, 3, 4])), "y ~ x", family="poisson")


def test_predict_and_wald_errors(designs: dict[str, SurveyDesign]) -> None:
    fit = dp.glm(designs["apistrat16"], "api00 ~ ell + stype")
    with pytest.raises(DelibpollError, match=r"categories \['X'\] of 'stype'"):
        fit.predict(pd.DataFrame({"ell": [1.0], "stype": ["X"]}))
    with pytest.raises(DelibpollError, match="lacks the predictor"):
        fit.predict(pd.DataFrame({"ell": [1.0]}))
    with pytest.raises(DelibpollError, match="'type' parameter"):
        fit.predict(NEW_API, type="mean")  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="must be a term of the model"):
        fit.wald_test("meals")
    with pytest.raises(DelibpollError, match="binomial model"):
        fit.odds_ratios()
    with pytest.raises(DelibpollError, match="needs a categorical variable"):
        dp.predictive_margins(fit, "ell")


def test_results_are_read_only_and_display(designs: dict[str, SurveyDesign]) -> None:
    fit = dp.glm(designs["apistrat16"], "sw ~ ell + stype", family="binomial")
    with pytest.raises(ValueError):
        fit.coef[0] = 1.0
    assert list(fit.to_frame().columns) == ["term", "estimate", "se", "t", "p_value",
                                            "ci_lower", "ci_upper", "df"]
    text = fit.summary()
    assert "Coefficients:" in text and "stypeH" in text and "residual df 194" in text
    assert "<table" in fit._repr_html_() and "GLMResult" in repr(fit)
    assert "Wald test for stype: F =" in repr(fit.wald_test("stype"))


# ---------------------------------------------------------------------- missing values (R)
def _na_design(d: SurveyDesign, case: str) -> SurveyDesign:
    """common16.R's na_strat / na_clus: ell_na and stype_na are ell and stype with missing
    values in fixed rows (R's 1-based rows minus 1); in apiclus1 every row of the first
    district in the data loses ell, so a whole PSU leaves the fit."""
    ell = d.column("ell").to_numpy(dtype=float).copy()
    stype = d.column("stype").astype(object).to_numpy().copy()
    if case.startswith("apistrat"):
        ell[[2, 49, 119, 179]] = np.nan
        stype[[6, 59]] = np.nan
    else:
        dnum = d.column("dnum").to_numpy()
        ell[dnum == dnum[0]] = np.nan
        stype[[19, 89]] = np.nan
    return d.with_columns({"ell_na": ell, "stype_na": pd.Categorical(stype, categories=STYPE)})


NA_MODELS = {"gaussian_na": ("api00 ~ ell_na + stype_na", "gaussian"),
             "quasibinomial_na": ("sw ~ ell_na + stype_na", "binomial")}


@pytest.mark.parametrize("model", list(NA_MODELS))
@pytest.mark.parametrize("case", ["apistrat16", "apistrat16_raked", "apiclus1_16",
                                  "apiclus1_16_jk1"])
def test_glm_missing_values_drop_as_svyglm_na_omit(glm_ref: _Values,
                                                   designs: dict[str, SurveyDesign],
                                                   case: str, model: str) -> None:
    """na="drop" against R svyglm's default na.action = na.omit (glm.R, SPEC_16 2.10):
    coefficients 1e-8, SEs / vcov / dispersion / Wald F 1e-6, residual df (linearised: degf
    of the complete rows, 188 and 10 where a whole PSU leaves; JK1: the full design's, 11) and
    the number of rows dropped exactly; the input design is not modified."""
    formula, family = NA_MODELS[model]
    d = _na_design(designs[case], case)
    before = d.data.copy()
    fit = dp.glm(d, formula, family=family, na="drop")  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(d.data, before)

    def r(q: str, cat: str = "", method: str = "", stat: str = "svyglm") -> float:
        return glm_ref.get(case, stat, q, variable=model, category=cat, method=method)

    assert fit.n_dropped == r("n_dropped")
    assert fit.df_residual == r("df_residual")
    assert fit.n == d.n - fit.n_dropped
    assert f"({fit.n_dropped} incomplete row(s) dropped)" in fit.summary()
    for i, name in enumerate(fit.names):
        close(fit.coef[i], r("estimate", name), PT, 1e-12)
        close(fit.se[i], r("se", name), SE)
        for j, other in enumerate(fit.names):
            close(fit.vcov[i, j], r("vcov", f"{name}|{other}"), SE,
                  SE * np.sqrt(fit.vcov[i, i] * fit.vcov[j, j]))
    close(fit.deviance, r("deviance"), PT)
    if d.replicates is None:
        close(fit.dispersion, r("dispersion"), PT)
        close(fit.dispersion_se, r("dispersion_se"), SE)
    else:  # survey 4.1.1's replicate dispersion is n times the mean square (see above)
        close(fit.dispersion * fit.n, r("dispersion"), PT)
    wt = fit.wald_test("stype_na")
    close(wt.f, r("F", "stype_na", "Wald", "regTermTest"), SE)
    assert wt.df_den == r("df_den", "stype_na", "Wald", "regTermTest")
    close(wt.p_value, r("p_value", "stype_na", "Wald", "regTermTest"), SE, 1e-300)


def test_glm_missing_values_default_error_names_columns(designs: dict[str, SurveyDesign]
                                                        ) -> None:
    """The default na="error" names every incomplete column with its count and the fix; the
    response's missing values count too; by-domain fits report their own dropped rows."""
    d = _na_design(designs["apistrat16"], "apistrat16")
    msg = (r"glm: model variables have missing values: 'ell_na' \(4\), 'stype_na' \(2\); 6 "
           r"row\(s\) are incomplete. Pass na='drop'")
    with pytest.raises(DelibpollError, match=msg):
        dp.glm(d, "api00 ~ ell_na + stype_na")
    with pytest.raises(DelibpollError, match=r"'api00_na' \(1\)"):
        dp.glm(d.with_columns({"api00_na": np.r_[np.nan, d.column("api00").to_numpy()[1:]]}),
               "api00_na ~ ell")
    by = dp.glm(d, "api00 ~ ell_na", by="stype", na="drop")
    # rows 3, 50, 120, 180 (R's numbering) lie in the E, E, H, M strata of apistrat16
    strata = d.column("stype").to_numpy()[[2, 49, 119, 179]]
    assert {g: by[g].n_dropped for g in STYPE} == {
        g: int(np.sum(strata == g)) for g in STYPE}
    assert sum(by[g].n for g in STYPE) == d.n - 4


# ---------------------------------------------------------------------- likelihood CIs (R)
LIK_CASES = [("apistrat16", "quasibinomial"), ("apiclus1_16", "quasibinomial"),
             ("apistrat16_raked", "quasibinomial"), ("england16_raked", "pact_logit"),
             ("apistrat16", "quasipoisson")]


@pytest.mark.parametrize(("case", "model"), LIK_CASES)
def test_likelihood_conf_int_against_r(glm_ref: _Values, designs: dict[str, SurveyDesign],
                                       case: str, model: str) -> None:
    """conf_int(method="likelihood") against R confint(fit, method = "likelihood") at 95% and
    90%: SPEC_16 2.5's tolerance 1e-4 relative (R interpolates a spline through the profile;
    the same spline is used here, and the ends agree to ~5e-6 or better). For quasipoisson
    R's interval is ~10x the Wald one (the dispersion enters twice): reproduced, with a
    warning."""
    formula, family, _ = {**API_MODELS, **ENG_MODELS}[model]
    fit = dp.glm(designs[case], formula, family=family)  # type: ignore[arg-type]
    for level, method in ((0.95, "likelihood"), (0.90, "likelihood_90")):
        if model == "quasipoisson":
            with pytest.warns(DelibpollWarning, match="dispersion is 108"):
                ci = fit.conf_int(level, method="likelihood")
        else:
            ci = fit.conf_int(level, method="likelihood")
        for name in fit.names:
            for col in ("ci_lower", "ci_upper"):
                close(ci.loc[name, col], glm_ref.get(case, "svyglm", col, variable=model,
                                                     category=name, method=method), 1e-4)


def test_likelihood_conf_int_on_replicates_and_errors(glm_ref: _Values,
                                                      designs: dict[str, SurveyDesign]) -> None:
    """On a replicate design survey 4.1.1 returns NA (its replicate dispersion is n times the
    mean square, so the profile never reaches the cutoff; recorded in glm.csv). delibpoll
    profiles with the mean square: a consistency check only (no outside reference): the
    interval contains the estimate and lies within 25% of the Wald interval's half-widths."""
    case = "apiclus1_16_jk1"
    fit = dp.glm(designs[case], "sw ~ ell + stype", family="binomial")
    ci = fit.conf_int(method="likelihood")
    wald = fit.conf_int()
    for i, name in enumerate(fit.names):
        assert np.isnan(glm_ref.get(case, "svyglm", "ci_lower", variable="quasibinomial",
                                    category=name, method="likelihood"))
        lo, hi = ci.loc[name, "ci_lower"], ci.loc[name, "ci_upper"]
        assert lo < fit.coef[i] < hi
        half = wald.loc[name, "ci_upper"] - fit.coef[i]
        assert abs((fit.coef[i] - lo) - half) < 0.25 * half
        assert abs((hi - fit.coef[i]) - half) < 0.25 * half
    with pytest.raises(DelibpollError, match="'method' parameter of GLMResult.conf_int"):
        fit.conf_int(method="profile")  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="'level' parameter"):
        fit.conf_int(95, method="likelihood")


def test_fmm_spline_equals_r_spline() -> None:
    """The spline the likelihood interval interpolates with, against R's
    spline(x, y, n = 9, method = "fmm") for x = c(0, 1, 2.5, 3, 5), y = c(0, 1, 0.5, 2, -1)
    (printed by R 4.2.2, 15 significant digits), 1e-13."""
    from delibpoll._glm import fmm_spline

    x = np.array([0.0, 1, 2.5, 3, 5])
    y = np.array([0.0, 1, 0.5, 2, -1])
    got = fmm_spline(x, y, np.linspace(0, 5, 9))
    expected = [0.0, 1.10584771455224, 0.75458644278607, 0.11962647699005, 0.5,
                2.39770872201493, 3.72364738805970, 3.01425489738806, -1.0]
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("formula", [
    "api00 ~ ell + meals + stype", "api00 ~ stype + ell", "sw ~ `sch.wide` + enroll_band",
    "api00 ~ api_band + stype + meals",
])
def test_main_effects_matrix_equals_formulaic(designs: dict[str, SurveyDesign],
                                              formula: str) -> None:
    """Consistency check (not an outside reference): the direct construction of a
    main-effects model matrix gives formulaic's matrix, R names and term columns exactly, and
    predict encodes new rows the same way."""
    import formulaic

    from delibpoll._formula import build_model, new_matrix, r_name

    d = designs["apistrat16"]
    model = build_model(d.data, formula, "test")
    assert model.spec is None
    rhs = formula.split("~")[1]
    mm = formulaic.model_matrix(rhs, model_frame_data(d.data), output="pandas")
    np.testing.assert_array_equal(model.x, mm.to_numpy(dtype=float))
    assert model.names == tuple(r_name(str(c)) for c in mm.columns)
    assert dict(model.terms) == {str(t): tuple(i) for t, i in mm.model_spec.term_indices.items()}
    np.testing.assert_array_equal(new_matrix(model, d.data.iloc[:7], "test"),
                                  mm.to_numpy(dtype=float)[:7])


def model_frame_data(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as sorted categoricals, as the package prepares them."""
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            continue
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = pd.Categorical(out[c], categories=sorted(out[c].dropna().unique()))
    return out


@pytest.mark.parametrize("case", ["apistrat16", "apistrat16_raked"])
def test_domain_fit_deviance_and_likelihood_ci_equal_r(glm_ref: _Values,
                                                       designs: dict[str, SurveyDesign],
                                                       case: str) -> None:
    """glm(..., by="stype")["E"] against R svyglm on subset(d, stype == "E") (glm.R, SPEC_16
    2.11): coefficients 1e-8, SEs and dispersion 1e-6, deviance 1e-8 (R rescales the weights
    over the rows its subset keeps: the domain's, or every row of a raked design) and the
    likelihood CI 1e-4."""
    fit = dp.glm(designs[case], "sw ~ ell", family="binomial", by="stype")["E"]

    def r(q: str, cat: str = "", method: str = "") -> float:
        return glm_ref.get(case, "svyglm_domain", q, variable="sw~ell|stype=E", category=cat,
                           method=method)

    close(fit.deviance, r("deviance"), PT)
    close(fit.dispersion, r("dispersion"), SE)
    ci = fit.conf_int(method="likelihood")
    for i, name in enumerate(fit.names):
        close(fit.coef[i], r("estimate", name), PT)
        close(fit.se[i], r("se", name), SE)
        close(ci.loc[name, "ci_lower"], r("ci_lower", name, "likelihood"), 1e-4)
        close(ci.loc[name, "ci_upper"], r("ci_upper", name, "likelihood"), 1e-4)
