"""ratio, variance, std_dev, table and total of a categorical variable against R
(tests/reference/r/ratio.R and svyvar.R; R 4.2.2, survey 4.1.1; SPEC_16.md sections 4-5).

Tolerances: estimates 1e-10 relative, SEs and covariances 1e-8 relative (absolute 1e-9 for
entries that are zero, e.g. stratum totals fixed by the strata, or 1e-6 on raked designs,
whose raked margins R leaves at ~1e-2 after its 10 sweeps: SPEC 1.4).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from _designs16 import apiclus1, apiclus2, apistrat, apistrat_raked, replicate
from delibpoll import SurveyDesign

CASES = ["apistrat16", "apiclus1_16", "apistrat16_raked", "apiclus1_16_jk1",
         "apiclus1_16_boot"]
# R's subset(dclus2, !is.na(enroll)): a two-stage design (multistage variance); na="drop"
RATIO_CASES = [*CASES, "apiclus2_16_enroll_known"]
MULTI_CASES = [*CASES, "apiclus2_16"]  # R's dclus2 (id = ~dnum + snum, fpc = ~fpc1 + fpc2)


@pytest.fixture(scope="module")
def designs(ref: Any) -> dict[str, SurveyDesign]:
    return {
        "apistrat16": apistrat(ref), "apiclus1_16": apiclus1(ref),
        "apistrat16_raked": apistrat_raked(ref),
        "apiclus1_16_jk1": replicate(ref, "apiclus1_16_jk1"),
        "apiclus1_16_boot": replicate(ref, "apiclus1_16_boot"),
        "apiclus2_16_enroll_known": apiclus2(ref),
        "apiclus2_16": apiclus2(ref),
    }


def _close(got: float, want: float, rel: float, absolute: float = 1e-9) -> None:
    assert got == pytest.approx(want, rel=rel, abs=absolute)


@pytest.mark.parametrize("case", RATIO_CASES)
def test_ratio_equals_r(designs: dict[str, SurveyDesign], ref: Any, case: str) -> None:
    d = designs[case]
    r = dp.ratio(d, ["api.stu", "api00"], ["enroll", "api99"], na="drop")
    names = ["api.stu/enroll", "api00/enroll", "api.stu/api99", "api00/api99"]
    assert list(r.labels) == names
    for i, a in enumerate(names):
        _close(r.estimate_of(a), ref.get(case, "svyratio", "estimate", variable=a), 1e-10)
        _close(r.se_of(a), ref.get(case, "svyratio", "se", variable=a), 1e-8)
        for j, b in enumerate(names):
            _close(r.vcov[i, j], ref.get(case, "svyratio", "vcov", variable=f"{a}|{b}"),
                   1e-8, 1e-12)
    one = dp.ratio(d, "api.stu", "enroll", na="drop").to_frame()
    # R's confint(r, df = degf(design)) is our interval on the design df
    _close(one["ci_lower"].iloc[0], ref.get(case, "svyratio", "ci_lower",
                                            variable="api.stu/enroll", method="t_degf"), 1e-8)
    _close(one["ci_upper"].iloc[0], ref.get(case, "svyratio", "ci_upper",
                                            variable="api.stu/enroll", method="t_degf"), 1e-8)


@pytest.mark.parametrize("case", RATIO_CASES)
def test_ratio_by_domain_equals_r(designs: dict[str, SurveyDesign], ref: Any,
                                  case: str) -> None:
    r = dp.ratio(designs[case], "api.stu", "enroll", by="stype", na="drop")
    v = "api.stu/enroll"
    for i, s in enumerate("EHM"):
        _close(r.estimate_of((s, v)), ref.get(case, "svyby_svyratio", "estimate", variable=v,
                                              domain=s), 1e-10)
        _close(r.se_of((s, v)), ref.get(case, "svyby_svyratio", "se", variable=v, domain=s),
               1e-8)
        if case != "apistrat16_raked":  # svyby(covmat = TRUE) fails in R there (SPEC 4)
            for j, t in enumerate("EHM"):
                _close(r.vcov[i, j], ref.get(case, "svyby_svyratio", "vcov", variable=v,
                                             domain=f"{s}|{t}"), 1e-8, 1e-12)
    if case != "apistrat16_raked":
        diff = np.array([1.0, -1.0, 0.0])
        _close(float(diff @ r.estimates.to_numpy()),
               ref.get(case, "svycontrast", "estimate", variable=v, domain="E-H"), 1e-10)
        _close(float(np.sqrt(diff @ r.vcov @ diff)),
               ref.get(case, "svycontrast", "se", variable=v, domain="E-H"), 1e-8)


@pytest.mark.parametrize("case", MULTI_CASES)
def test_variance_equals_r(designs: dict[str, SurveyDesign], ref: Any, case: str) -> None:
    d = designs[case]
    v = dp.variance(d, "api00")
    _close(v.estimate_of("api00"), ref.get(case, "svyvar", "estimate", variable="api00"), 1e-10)
    _close(v.se_of("api00"), ref.get(case, "svyvar", "se", variable="api00"), 1e-8)
    sd = dp.std_dev(d, "api00")
    _close(sd.estimates.iloc[0], ref.get(case, "svyvar", "sd", variable="api00"), 1e-10)
    # the delta-method SE of sd, by hand from R's svyvar SE
    _close(sd.to_frame()["se"].iloc[0], ref.get(case, "svyvar", "se", variable="api00")
           / (2 * ref.get(case, "svyvar", "sd", variable="api00")), 1e-8)
    m = dp.variance(d, ["api00", "api99"])
    ents = ["api00:api00", "api99:api00", "api00:api99", "api99:api99"]
    assert list(m.labels) == ents
    for i, a in enumerate(ents):
        _close(m.estimate_of(a), ref.get(case, "svyvar", "estimate", variable=a), 1e-10)
        for j, b in enumerate(ents):
            _close(m.vcov[i, j], ref.get(case, "svyvar", "vcov", variable=f"{a}|{b}"), 1e-8)


# R's apiclus2 cases (svyvar.R) record stype and sch.wide only
@pytest.mark.parametrize(("case", "var"), [
    (c, v) for c in MULTI_CASES for v in ("stype", "sch.wide", "enroll_band")
    if not (c == "apiclus2_16" and v == "enroll_band")
])
def test_total_of_a_factor_equals_r(designs: dict[str, SurveyDesign], ref: Any, case: str,
                                    var: str) -> None:
    t = dp.total(designs[case], var)
    cats = list(t.labels)
    raked = case.endswith("raked")
    for i, a in enumerate(cats):
        _close(t.estimate_of(a), ref.get(case, "svytotal", "estimate", variable=var,
                                         category=str(a)), 1e-10)
        for j, b in enumerate(cats):
            want = ref.get(case, "svytotal", "vcov", variable=var, category=f"{a}|{b}")
            # R's 10 raking sweeps leave a raked margin's total a variance of ~1e-3
            _close(t.vcov[i, j], want, 1e-8, 1e-2 if raked else 1e-6)


@pytest.mark.parametrize("case", MULTI_CASES)
def test_table_equals_r(designs: dict[str, SurveyDesign], ref: Any, case: str) -> None:
    d = designs[case]
    for method, kwargs in (("", {}), ("Ntotal=100", {"ntotal": 100}), ("round", {"rounded": True})):
        tab = dp.table(d, "stype", "sch.wide", **kwargs)
        for s in tab.index:
            for c in tab.columns:
                _close(float(tab.loc[s, c]), ref.get(case, "svytable", "estimate",
                                                     variable="stype|sch.wide",
                                                     category=f"{s}|{c}", method=method), 1e-10)


def test_small_cases_by_hand() -> None:
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 6.0], "x": [1.0, 1.0, 2.0, 2.0],
                       "g": ["a", "a", "b", "b"], "w": [1.0, 3.0, 1.0, 1.0]})
    d = SurveyDesign(df, weights="w")
    # ratio (1 + 6 + 3 + 6) / (1 + 3 + 2 + 2) = 16 / 8
    assert dp.ratio(d, "y", "x").estimate_of("y/x") == 2.0
    # weighted variance in domain a: mean 1.75, sum w (y - m)^2 / sum w * n/(n-1)
    va = (1 * 0.75**2 + 3 * 0.25**2) / 4 * 2
    assert dp.variance(d, "y", by="g").estimate_of(("a", "y")) == pytest.approx(va, rel=1e-12)
    assert dp.table(d, "g").to_dict() == {"a": 4.0, "b": 2.0}
    assert dp.total(d, "g").estimates.to_dict() == {"a": 4.0, "b": 2.0}
    with pytest.raises(dp.DelibpollError, match="numeric"):
        dp.ratio(d, "g", "x")
    with pytest.raises(dp.DelibpollError, match="ntotal"):
        dp.table(d, "g", ntotal=-1)
    with pytest.raises(dp.DelibpollError, match="not in the data"):
        dp.variance(d, "nope")


# ---------------------------------------------------------------------- several variables (R)
@pytest.mark.parametrize("case", MULTI_CASES)
def test_means_of_two_variables_by_domain_equal_r(designs: dict[str, SurveyDesign], ref: Any,
                                                  case: str) -> None:
    """means(d, ["api00", "api99"], by="stype") against R svyby(~api00 + api99, ~stype,
    svymean, covmat = TRUE) (svyvar.R; on the raked design, where svyby(covmat = TRUE) fails in
    survey 4.1.1, R's equivalent svyratio(covmat = TRUE), method "via_svyratio"): estimates
    1e-10, SEs and the 6 x 6 joint covariance 1e-8, and the contrasts "E: api00 - api99" and
    "(E - H) of (api00 - api99)"; without domains, svycontrast(svymean(~api00 + api99),
    api00 - api99)."""
    d = designs[case]
    est = dp.means(d, ["api00", "api99"], by="stype")
    meth = "via_svyratio" if case == "apistrat16_raked" else ""
    for (s, v) in est.labels:
        _close(est.estimate_of((s, v)), ref.get(case, "svyby_svymean", "estimate", variable=v,
                                                domain=s), 1e-10)
        _close(est.se_of((s, v)), ref.get(case, "svyby_svymean", "se", variable=v, domain=s),
               1e-8)
    for i, (s, v) in enumerate(est.labels):
        for j, (t, u) in enumerate(est.labels):
            _close(est.vcov[i, j], ref.get(case, "svyby_svymean", "vcov",
                                           variable=f"{s}:{v}|{t}:{u}", method=meth), 1e-8,
                   1e-8 * np.sqrt(est.vcov[i, i] * est.vcov[j, j]))
    con = dp.contrast(est, {
        "E_api00_minus_api99": {("E", "api00"): 1, ("E", "api99"): -1},
        "E_minus_H_of_difference": {("E", "api00"): 1, ("H", "api00"): -1,
                                    ("E", "api99"): -1, ("H", "api99"): 1},
    }).to_frame().set_index("contrast")
    for name in con.index:
        _close(con.loc[name, "estimate"], ref.get(case, "svycontrast", "estimate",
                                                  variable=name, method=meth), 1e-10)
        _close(con.loc[name, "se"], ref.get(case, "svycontrast", "se", variable=name,
                                            method=meth), 1e-8)
    both = dp.means(d, ["api00", "api99"])
    assert list(both.labels) == ["api00", "api99"]
    diff = dp.contrast(both, {"api00-api99": {"api00": 1, "api99": -1}}).to_frame().iloc[0]
    _close(diff["estimate"], ref.get(case, "svycontrast", "estimate", variable="api00-api99"),
           1e-10)
    _close(diff["se"], ref.get(case, "svycontrast", "se", variable="api00-api99"), 1e-8)


def test_two_questions_by_sex_on_raked_england_equal_r(ref: Any) -> None:
    """The deliberative use: "support for the pact minus agreement" among women, on the raked
    England-like sample (R via svyratio, svyvar.R): 1e-10 / 1e-8."""
    from _designs16 import england_raked

    eng = england_raked(ref)
    eng = eng.with_columns({"pact_up": (eng.column("q_pact") == "Increase confidence")
                            .astype(float)})
    est = dp.means(eng, ["pact_up", "agree"], by="sex")
    for (s, v) in est.labels:
        _close(est.estimate_of((s, v)), ref.get("england16_raked", "svyby_svymean", "estimate",
                                                variable=v, domain=s), 1e-10)
        _close(est.se_of((s, v)), ref.get("england16_raked", "svyby_svymean", "se",
                                          variable=v, domain=s), 1e-8)
    c = dp.contrast(est, {"Female_pact_minus_agree": {("Female", "pact_up"): 1,
                                                      ("Female", "agree"): -1}})
    row = c.to_frame().iloc[0]
    _close(row["estimate"], ref.get("england16_raked", "svycontrast", "estimate",
                                    variable="Female_pact_minus_agree", method="via_svyratio"),
           1e-10)
    _close(row["se"], ref.get("england16_raked", "svycontrast", "se",
                              variable="Female_pact_minus_agree", method="via_svyratio"), 1e-8)


def test_means_errors_and_missing_values() -> None:
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": [1.0, 2.0, 3.0, 5.0],
                       "s": ["x", "y", "x", "y"]})
    d = SurveyDesign(df)
    with pytest.raises(dp.DelibpollError, match="'a' has 1 missing"):
        dp.means(d, ["a", "b"])
    est = dp.means(d, ["a", "b"], na="drop")
    # the same rows for both: b's mean over rows 1, 3, 4 (by hand)
    assert est.estimate_of("b") == pytest.approx((1.0 + 3.0 + 5.0) / 3, rel=1e-14)
    assert est.n_missing == 1
    with pytest.raises(dp.DelibpollError, match="'variables' parameter of means"):
        dp.means(d, [])
    with pytest.raises(dp.DelibpollError, match="needs numeric variables"):
        dp.means(d, ["a", "s"], na="drop")
