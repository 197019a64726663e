"""Tests for delibpoll.estimation: proportion, mean, total.

Outside references: R ``survey`` values from ``tests/reference/r/estimation.R`` (committed
CSVs), exact formulas for simple random samples, statsmodels' Wilson interval.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

import delibpoll as dp
from delibpoll import DelibpollError, DelibpollWarning, DomainWarning, SurveyDesign


def srs(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "q": rng.choice(["yes", "no", "dk"], n, p=[0.5, 0.35, 0.15]),
            "x": rng.normal(5, 2, n),
            "g": rng.choice(["a", "b", "c"], n),
            "h": rng.choice(["u", "v"], n),
            "w": rng.uniform(0.5, 3, n),
        }
    )


# ---------------------------------------------------------------------- exact formulas


def test_unweighted_srs_mean_matches_textbook_formula() -> None:
    """With weights 1 and no clusters, var(mean) = s^2 / n (s^2 with n - 1), as R."""
    df = srs(1)
    est = dp.mean(SurveyDesign(df), "x").to_frame().iloc[0]
    x = df["x"].to_numpy()
    n = len(x)
    assert est["estimate"] == pytest.approx(x.mean(), rel=1e-12)
    assert est["se"] == pytest.approx(x.std(ddof=1) / np.sqrt(n), rel=1e-10)
    q = stats.t.ppf(0.975, n - 1)
    assert est["ci_lower"] == pytest.approx(x.mean() - q * x.std(ddof=1) / np.sqrt(n), rel=1e-10)
    assert est["df"] == n - 1
    assert est["deff"] == pytest.approx(1.0, rel=1e-10)
    assert est["n_eff"] == pytest.approx(n, rel=1e-10)


def test_weighted_total_matches_formula() -> None:
    """Total = sum w y; with-replacement variance n/(n-1) sum (w y - mean(w y))^2."""
    df = srs(2)
    est = dp.total(SurveyDesign(df, weights="w"), "x").to_frame().iloc[0]
    wy = (df["w"] * df["x"]).to_numpy()
    n = len(wy)
    assert est["estimate"] == pytest.approx(wy.sum(), rel=1e-12)
    assert est["se"] == pytest.approx(np.sqrt(n / (n - 1) * ((wy - wy.mean()) ** 2).sum()), rel=1e-10)


def test_proportion_equals_weighted_share_and_ratio_variance() -> None:
    df = srs(3)
    w = df["w"].to_numpy()
    y = (df["q"] == "yes").to_numpy(float)
    p = (w * y).sum() / w.sum()
    z = w * (y - p) / w.sum()
    n = len(w)
    var = n / (n - 1) * ((z - z.mean()) ** 2).sum()
    row = dp.proportion(SurveyDesign(df, weights="w"), "q").to_frame().set_index("category").loc["yes"]
    assert row["estimate"] == pytest.approx(p, rel=1e-12)
    assert row["se"] == pytest.approx(np.sqrt(var), rel=1e-10)
    assert row["n_eff"] == pytest.approx(p * (1 - p) / var, rel=1e-10)


def test_wilson_matches_statsmodels_with_n_eff() -> None:
    """Unweighted SRS: Wilson on n_eff with the t quantile equals statsmodels' Wilson with
    nobs = n_eff and alpha chosen so its normal quantile equals that t quantile."""
    df = srs(4, n=500)
    fr = dp.proportion(SurveyDesign(df), "q", ci_method="wilson").to_frame()
    for _, row in fr.iterrows():
        p, n_eff, dfree = row["estimate"], row["n_eff"], row["df"]
        q = stats.t.ppf(0.975, dfree)
        alpha = 2 * stats.norm.sf(q)
        lo, hi = proportion_confint(p * n_eff, n_eff, alpha=alpha, method="wilson")
        assert row["ci_lower"] == pytest.approx(lo, rel=1e-10)
        assert row["ci_upper"] == pytest.approx(hi, rel=1e-10)


def test_wilson_formula_on_weighted_design() -> None:
    df = srs(5)
    fr = dp.proportion(SurveyDesign(df, weights="w"), "q", ci_method="wilson", level=0.9).to_frame()
    for _, r in fr.iterrows():
        p, ne = r["estimate"], r["n_eff"]
        z = stats.t.ppf(0.95, r["df"])
        centre = (p + z * z / (2 * ne)) / (1 + z * z / ne)
        half = z / (1 + z * z / ne) * np.sqrt(p * (1 - p) / ne + z * z / (4 * ne * ne))
        assert (r["ci_lower"], r["ci_upper"]) == pytest.approx((centre - half, centre + half), rel=1e-12)


# ---------------------------------------------------------------------- domains


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_domain_point_estimates_equal_subset_estimates(seed: int) -> None:
    df = srs(seed, n=120)
    d = SurveyDesign(df, weights="w")
    by = dp.proportion(d, "q", by="g").to_frame()
    for g in ["a", "b", "c"]:
        sub = df[df["g"] == g]
        if len(sub) == 0:
            continue
        shares = sub.groupby("q")["w"].sum() / sub["w"].sum()
        got = by[by["g"] == g].set_index("category")["estimate"]
        for cat, val in got.items():
            assert val == pytest.approx(shares.get(cat, 0.0), abs=1e-12)
        assert (by[by["g"] == g]["n"] == len(sub)).all()


def test_domain_keeps_full_design_variance_differs_from_filtered_rows() -> None:
    """Domain SE (zero weight outside) uses all PSUs; it equals a textbook domain formula."""
    df = srs(6)
    d = SurveyDesign(df, weights="w")
    est = dp.mean(d, "x", by="g").to_frame().set_index("g").loc["a"]
    w = df["w"].to_numpy()
    m = (df["g"] == "a").to_numpy()
    x = df["x"].to_numpy()
    ybar = (w * x * m).sum() / (w * m).sum()
    z = w * m * (x - ybar) / (w * m).sum()
    n = len(x)
    assert est["se"] == pytest.approx(np.sqrt(n / (n - 1) * ((z - z.mean()) ** 2).sum()), rel=1e-10)


def test_crossed_domains_labels_and_vcov_shape() -> None:
    df = srs(7)
    est = dp.proportion(SurveyDesign(df), "q", by=["g", "h"])
    fr = est.to_frame()
    assert list(fr.columns[:4]) == ["variable", "g", "h", "category"]  # variable: #13
    assert len(fr) == 3 * 2 * 3
    assert est.vcov.shape == (18, 18)
    assert est.labels[0] == (("a", "u"), "dk")
    np.testing.assert_allclose(np.sqrt(np.diag(est.vcov)), fr["se"], rtol=1e-12)


def test_categories_in_declared_order_and_empty_category_kept() -> None:
    df = srs(8)
    df["q"] = pd.Categorical(df["q"], categories=["yes", "no", "dk", "refused"])
    fr = dp.proportion(SurveyDesign(df), "q").to_frame()
    assert fr["category"].tolist() == ["yes", "no", "dk", "refused"]
    assert fr.loc[3, "estimate"] == 0.0
    fr01 = dp.proportion(SurveyDesign(df.assign(b=(df["q"] == "yes").astype(int))), "b").to_frame()
    assert fr01["category"].tolist() == [0, 1]


# ---------------------------------------------------------------------- bad input


def test_missing_values_error_and_drop() -> None:
    df = srs(9)
    df.loc[df.index[:7], "q"] = None
    d = SurveyDesign(df)
    with pytest.raises(DelibpollError, match="7 missing value.*na='drop'"):
        dp.proportion(d, "q")
    est = dp.proportion(d, "q", na="drop")
    assert est.n_missing == 7
    assert (est.to_frame()["n"] == len(df) - 7).all()
    direct = df.dropna(subset=["q"])["q"].value_counts(normalize=True)
    got = est.to_frame().set_index("category")["estimate"]
    assert got["yes"] == pytest.approx(direct["yes"], rel=1e-12)


def test_empty_domain_gives_nan_row_with_warning() -> None:
    df = srs(10)
    df["g"] = pd.Categorical(df["g"], categories=["a", "b", "c", "zzz"])
    with pytest.warns(DomainWarning, match="zzz"):
        fr = dp.mean(SurveyDesign(df), "x", by="g").to_frame()
    row = fr[fr["g"] == "zzz"].iloc[0]
    assert np.isnan(row["estimate"]) and row["n"] == 0
    assert not fr[fr["g"] == "a"][["estimate", "se"]].isna().any().any()


def test_constant_variable_warns() -> None:
    df = srs(11).assign(c=1.0, k="same")
    with pytest.warns(DelibpollWarning, match="constant"):
        dp.mean(SurveyDesign(df), "c")
    with pytest.warns(DelibpollWarning, match="constant"):
        dp.proportion(SurveyDesign(df), "k")


@pytest.mark.parametrize("level", [0, 1, 95, -0.5, True])
def test_level_outside_unit_interval(level: object) -> None:
    with pytest.raises(DelibpollError, match="'level' parameter of proportion must be a float in"):
        dp.proportion(SurveyDesign(srs(12)), "q", level=level)  # type: ignore[arg-type]


def test_unknown_column_and_non_numeric_mean() -> None:
    d = SurveyDesign(srs(13))
    with pytest.raises(DelibpollError, match="Available columns"):
        dp.mean(d, "nope")
    with pytest.raises(DelibpollError, match="numeric variable.*proportion"):
        dp.mean(d, "q")
    with pytest.raises(DelibpollError, match="ci_method"):
        dp.proportion(d, "q", ci_method="exact")  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="'by' column 'g' of proportion has 1 missing"):
        dp.proportion(SurveyDesign(srs(13).assign(g=["a"] * 299 + [None])), "q", by="g")


def test_single_psu_domain_warns_and_gives_zero_se() -> None:
    df = pd.DataFrame(
        {"psu": [1, 1, 2, 2, 3, 3], "dom": ["x", "x", "y", "y", "y", "y"], "v": [1.0, 3, 2, 4, 5, 6]}
    )
    with pytest.warns(DomainWarning, match="single PSU"):
        fr = dp.mean(SurveyDesign(df, ids="psu"), "v", by="dom").to_frame().set_index("dom")
    assert fr.loc["x", "se"] == pytest.approx(0.0, abs=1e-15)
    assert fr.loc["x", "df"] == 0


def test_estimate_repr_and_frame_columns() -> None:
    est = dp.proportion(SurveyDesign(srs(14)), "q", by="g")
    assert list(est.to_frame().columns) == [  # the variable column: #13
        "variable", "g", "category", "estimate", "se", "ci_lower", "ci_upper", "df", "deff", "n", "n_eff", "ci_note",
    ]
    assert "proportion of q by g" in repr(est)
    assert "<table" in est._repr_html_()
    assert est.estimates.index.nlevels == 2


# ---------------------------------------------------------------------- R survey reference
# Values from tests/reference/r/estimation.R (R 4.2.2, survey 4.1.1). Tolerances: point estimates
# 1e-10 relative, standard errors / design effects / covariances 1e-6 relative (absolute 1e-12
# for quantities that are zero up to rounding, e.g. shares fixed by raking), CI limits 1e-6
# relative (likelihood: 1e-3, R interpolates a spline through profile points).

Q_PACT = ["Increase confidence", "No impact", "Decrease confidence", "Don't know"]
Q_CHARGE = ["Right", "Wrong", "Don't know"]
ENGLAND_MARGINS = ["sex", "age_group", "region", "education", "ethnicity"]


def _designs(ref):  # type: ignore[no-untyped-def]
    eng = ref.data("england_like.csv", keep_default_na=False, na_values=[""])
    eng["q_pact"] = pd.Categorical(eng["q_pact"], categories=Q_PACT)
    eng["q_charge"] = pd.Categorical(eng["q_charge"], categories=Q_CHARGE)
    targets = dp.Targets.from_csv(ref.root / "data" / "england_like_targets.csv")
    d0 = SurveyDesign(eng)
    clus = ref.data("apiclus1.csv")
    strat = ref.data("apistrat.csv")
    dclus1 = SurveyDesign(clus, weights="pw", ids="dnum", fpc="fpc")
    stype = {"E": 4421, "H": 755, "M": 1018}
    return {
        "england_raked": dp.rake(d0, targets.select(ENGLAND_MARGINS), tol=1e-12),
        "england_unweighted": d0,
        "apistrat": SurveyDesign(strat, weights="pw", strata="stype", fpc="fpc"),
        "apiclus1": dclus1,
        "apiclus1_raked": dp.rake(
            dclus1,
            dp.Targets.from_dict({"stype": stype, "sch.wide": {"No": 1072, "Yes": 5122}}),
            tol=1e-12,
        ),
        "apiclus1_cal_linear": dp.calibrate(dclus1, dp.Targets.from_dict({"stype": stype})),
    }


@pytest.fixture(scope="module")
def designs(ref):  # type: ignore[no-untyped-def]
    return _designs(ref)


CASES = ["england_raked", "england_unweighted", "apistrat", "apiclus1", "apiclus1_raked",
         "apiclus1_cal_linear"]


def _kind(case: str) -> str:
    return "england" if case.startswith("england") else "api"


def close(got: float, want: float, rel: float, abs_: float = 0.0) -> None:
    assert got == pytest.approx(want, rel=rel, abs=abs_, nan_ok=True), (got, want)


@pytest.mark.parametrize("case", CASES)
def test_design_df_equals_r_degf(designs, ref, case: str) -> None:  # type: ignore[no-untyped-def]
    assert designs[case].df == ref.get(case, "degf", "df")


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("stat", ["mean", "total"])
def test_numeric_estimates_equal_r(designs, ref, case: str, stat: str) -> None:  # type: ignore[no-untyped-def]
    for var in {"england": ["trust", "income"], "api": ["api00", "enroll"]}[_kind(case)]:
        row = getattr(dp, stat)(designs[case], var, na="drop").to_frame().iloc[0]
        rstat = "svymean" if stat == "mean" else "svytotal"
        close(row["estimate"], ref.get(case, rstat, "estimate", variable=var), 1e-10)
        close(row["se"], ref.get(case, rstat, "se", variable=var), 1e-6)
        close(row["deff"], ref.get(case, rstat, "deff", variable=var), 1e-6)


@pytest.mark.parametrize("case", CASES)
def test_factor_proportions_equal_r(designs, ref, case: str) -> None:  # type: ignore[no-untyped-def]
    variables = {"england": ["q_pact", "q_charge"], "api": ["stype", "sch.wide", "awards"]}
    for var in variables[_kind(case)]:
        est = dp.proportion(designs[case], var)
        fr = est.to_frame().set_index("category")
        cats = list(fr.index)
        for c in cats:
            close(fr.loc[c, "estimate"], ref.get(case, "svymean", "estimate", variable=var, category=str(c)), 1e-10)
            close(fr.loc[c, "se"], ref.get(case, "svymean", "se", variable=var, category=str(c)), 1e-6, 1e-12)
            want_deff = ref.get(case, "svymean", "deff", variable=var, category=str(c))
            close(fr.loc[c, "deff"], want_deff, 1e-6, 1e-9)
        for i, a in enumerate(cats):
            for j, b in enumerate(cats):
                want = ref.get(case, "svymean", "vcov", variable=var, category=f"{a}|{b}")
                close(est.vcov[i, j], want, 1e-6, 1e-15)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", ["logit", "likelihood", "asin", "beta", "mean", "xlogit"])
def test_ci_methods_equal_r_svyciprop(designs, ref, case: str, method: str) -> None:  # type: ignore[no-untyped-def]
    rel = 1e-3 if method == "likelihood" else 1e-6
    for var in {"england": ["q_pact"], "api": ["sch.wide", "awards"]}[_kind(case)]:
        fr = dp.proportion(designs[case], var, ci_method=method).to_frame()  # type: ignore[arg-type]
        for _, row in fr.iterrows():
            cat = str(row["category"])
            lo = ref.get(case, "svyciprop", "ci_lower", variable=var, category=cat, method=method)
            hi = ref.get(case, "svyciprop", "ci_upper", variable=var, category=cat, method=method)
            close(row["estimate"], ref.get(case, "svyciprop", "estimate", variable=var, category=cat, method=method), 1e-7)
            for got, want in ((row["ci_lower"], lo), (row["ci_upper"], hi)):
                if np.isnan(want):
                    # R's qbeta overflows (NaN) for a share fixed by raking (SE ~ 1e-16);
                    # delibpoll returns the collapsed interval [p, p]
                    assert row["se"] < 1e-12 and got == row["estimate"]
                else:
                    close(got, want, rel)


@pytest.mark.parametrize("case", CASES)
def test_ci_level_90_equals_r(designs, ref, case: str) -> None:  # type: ignore[no-untyped-def]
    for var in {"england": ["q_pact"], "api": ["sch.wide", "awards"]}[_kind(case)]:
        fr = dp.proportion(designs[case], var, level=0.9).to_frame()
        for _, row in fr.iterrows():
            cat = str(row["category"])
            close(row["ci_lower"], ref.get(case, "svyciprop_90", "ci_lower", variable=var, category=cat, method="logit"), 1e-6)
            close(row["ci_upper"], ref.get(case, "svyciprop_90", "ci_upper", variable=var, category=cat, method="logit"), 1e-6)


BY_CASES = [("england_raked", "q_pact", "region"), ("apiclus1", "awards", "stype"),
            ("apiclus1_raked", "awards", "stype"), ("apistrat", "awards", "stype")]


@pytest.mark.parametrize(("case", "var", "by"), BY_CASES)
def test_domain_proportions_equal_r_svyby(designs, ref, case: str, var: str, by: str) -> None:  # type: ignore[no-untyped-def]
    est = dp.proportion(designs[case], var, by=by)
    fr = est.to_frame()
    for _, row in fr.iterrows():
        dom, cat = str(row[by]), str(row["category"])
        close(row["estimate"], ref.get(case, "svyby_svymean", "estimate", variable=var, domain=dom, category=cat), 1e-10)
        close(row["se"], ref.get(case, "svyby_svymean", "se", variable=var, domain=dom, category=cat), 1e-6)
        close(row["deff"], ref.get(case, "svyby_svymean", "deff", variable=var, domain=dom, category=cat), 1e-6)
    rv = ref.values
    cov_rows = rv[(rv.case == case) & (rv.statistic == "svyby_svymean") & (rv.quantity == "vcov")]
    keys = [f"{d}:{c}" for d, c in est.labels]
    for _, r in cov_rows.iterrows():
        a, b = r["category"].split("|")
        close(est.vcov[keys.index(a), keys.index(b)], float(r["value"]), 1e-6, 1e-15)
    assert len(cov_rows) in (0, len(keys) ** 2)


@pytest.mark.parametrize(("case", "var", "by"), BY_CASES)
@pytest.mark.parametrize("method", ["logit", "beta", "likelihood", "asin", "mean"])
def test_domain_cis_use_domain_df_as_r(designs, ref, case: str, var: str, by: str, method: str) -> None:  # type: ignore[no-untyped-def]
    rel = 1e-3 if method == "likelihood" else 1e-6
    fr = dp.proportion(designs[case], var, by=by, ci_method=method).to_frame()  # type: ignore[arg-type]
    rv = ref.values
    first = rv[(rv.case == case) & (rv.statistic == "svyciprop_domain") & (rv.quantity == "df")]
    for _, r in first.iterrows():
        row = fr[(fr[by].astype(str) == r["domain"]) & (fr["category"].astype(str) == r["category"])].iloc[0]
        assert row["df"] == float(r["value"])
        close(row["ci_lower"], ref.get(case, "svyciprop_domain", "ci_lower", variable=var, domain=r["domain"], category=r["category"], method=method), rel)
        close(row["ci_upper"], ref.get(case, "svyciprop_domain", "ci_upper", variable=var, domain=r["domain"], category=r["category"], method=method), rel)


def test_crossed_numeric_domains_equal_r(designs, ref) -> None:  # type: ignore[no-untyped-def]
    fr = dp.mean(designs["england_raked"], "trust", by=["sex", "age_group"]).to_frame()
    for _, row in fr.iterrows():
        dom = f"{row['sex']}|{row['age_group']}"
        close(row["estimate"], ref.get("england_raked", "svyby_svymean", "estimate", variable="trust", domain=dom), 1e-10)
        close(row["se"], ref.get("england_raked", "svyby_svymean", "se", variable="trust", domain=dom), 1e-6)
    fr = dp.mean(designs["apiclus1"], "api00", by="stype").to_frame()
    for _, row in fr.iterrows():
        close(row["se"], ref.get("apiclus1", "svyby_svymean", "se", variable="api00", domain=row["stype"]), 1e-6)


def test_contrasts_equal_r_svycontrast(designs, ref) -> None:  # type: ignore[no-untyped-def]
    est = dp.mean(designs["england_raked"], "trust", by="sex")
    c = dp.contrast(est, {"F-M": {"Female": 1, "Male": -1}}).to_frame().iloc[0]
    close(c["estimate"], ref.get("england_raked", "svycontrast", "estimate", variable="trust", domain="Female-Male"), 1e-10)
    close(c["se"], ref.get("england_raked", "svycontrast", "se", variable="trust", domain="Female-Male"), 1e-6)
    est = dp.proportion(designs["england_raked"], "q_pact", by="region")
    k = "Increase confidence"
    c = dp.contrast(est, {"L-NE": {("London", k): 1, ("North East", k): -1}}).to_frame().iloc[0]
    close(c["estimate"], ref.get("england_raked", "svycontrast", "estimate", variable="q_pact", domain="London-North East", category=k), 1e-10)
    close(c["se"], ref.get("england_raked", "svycontrast", "se", variable="q_pact", domain="London-North East", category=k), 1e-6)
    est = dp.mean(designs["apiclus1"], "api00", by="stype")
    c = dp.contrast(est, {"E-H": {"E": 1, "H": -1}}).to_frame().iloc[0]
    close(c["estimate"], ref.get("apiclus1", "svycontrast", "estimate", variable="api00", domain="E-H"), 1e-10)
    close(c["se"], ref.get("apiclus1", "svycontrast", "se", variable="api00", domain="E-H"), 1e-6)
    assert c["df"] == designs["apiclus1"].df
    assert c["p_value"] == pytest.approx(2 * stats.t.sf(abs(c["t"]), c["df"]), rel=1e-12)


@pytest.mark.parametrize(
    ("weight", "match"),
    [(float("nan"), "must be a finite number; got nan"),
     (float("inf"), "must be a finite number; got inf"),
     (-np.inf, "must be a finite number; got -inf"),
     ("1", "must be a number; got '1'"),
     (True, "must be a number; got True"),
     (None, "must be a number; got None")],
)
def test_contrast_rejects_non_finite_or_non_numeric_weights(weight: object, match: str) -> None:
    """#12 item 24: NaN/inf weights gave NaN/inf contrasts with a numpy RuntimeWarning; now a
    DelibpollError names the contrast, the row and the value."""
    est = dp.mean(SurveyDesign(srs(3)), "x", by="g")
    with pytest.raises(DelibpollError, match=f"row 'b' in contrast 'b-a' {match}"):
        dp.contrast(est, {"b-a": {"a": -1, "b": weight}})  # type: ignore[dict-item]
    with pytest.raises(DelibpollError, match="Row key 'z' is not among"):
        dp.contrast(est, {"z-a": {"z": 1, "a": -1}})
    with pytest.raises(DelibpollError, match="'df' parameter of contrast must be a positive"):
        dp.contrast(est, {"b-a": {"b": 1, "a": -1}}, df="x")  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="'df' parameter of contrast must be a positive"):
        dp.contrast(est, {"b-a": {"b": 1, "a": -1}}, df=0)


@pytest.mark.parametrize(
    ("case", "row", "col"),
    [("england_raked", "q_pact", "sex"), ("apiclus1", "sch.wide", "stype"),
     ("apiclus1_raked", "sch.wide", "awards"), ("apistrat", "stype", "awards")],
)
@pytest.mark.parametrize("statistic", ["F", "Chisq"])
def test_chisq_test_equals_r_svychisq(designs, ref, case: str, row: str, col: str, statistic: str) -> None:  # type: ignore[no-untyped-def]
    res = dp.chisq_test(designs[case], row, col, statistic=statistic)  # type: ignore[arg-type]
    lab = f"{row}|{col}"
    close(res.statistic, ref.get(case, "svychisq", "statistic", variable=lab, method=statistic), 1e-6)
    close(res.p_value, ref.get(case, "svychisq", "p_value", variable=lab, method=statistic), 1e-6, 1e-300)
    close(res.df_num, ref.get(case, "svychisq", "df_num", variable=lab, method=statistic), 1e-6)
    if statistic == "F":
        close(res.df_den, ref.get(case, "svychisq", "df_den", variable=lab, method=statistic), 1e-6)


@pytest.mark.parametrize("rule", ["remove", "adjust", "average", "certainty"])
def test_lonely_psu_rules_equal_r(ref, rule: str) -> None:  # type: ignore[no-untyped-def]
    df = ref.data("apistrat_lonely.csv")
    d = SurveyDesign(df, weights="pw", strata="stype", fpc="fpc", lonely_psu=rule)  # type: ignore[arg-type]
    row = dp.mean(d, "api00").to_frame().iloc[0]
    close(row["estimate"], ref.get("apistrat_lonely", "svymean", "estimate", variable="api00", method=rule), 1e-10)
    close(row["se"], ref.get("apistrat_lonely", "svymean", "se", variable="api00", method=rule), 1e-6)
    with pytest.raises(DelibpollError, match="only one PSU"):
        dp.mean(SurveyDesign(df, weights="pw", strata="stype", fpc="fpc"), "api00")


def test_raking_aware_se_differs_from_fixed_weights_and_equals_r(designs, ref) -> None:  # type: ignore[no-untyped-def]
    raked = designs["england_raked"]
    fixed = SurveyDesign(raked.data.assign(w=raked.weights), weights="w")
    se_raked = dp.mean(raked, "trust").to_frame()["se"].iloc[0]
    se_fixed = dp.mean(fixed, "trust").to_frame()["se"].iloc[0]
    close(se_fixed, ref.get("england_fixed_weights", "svymean", "se", variable="trust"), 1e-6)
    close(se_raked, ref.get("england_raked", "svymean", "se", variable="trust"), 1e-6)
    assert abs(se_raked - se_fixed) / se_fixed > 1e-3


@pytest.mark.parametrize(
    "case",
    ["apiclus1_raked", "england_raked", "england_cal_linear", "england_cal_raking",
     "england_cal_logit", "england_poststrat", "apiclus1_poststrat"],
)
def test_variance_after_each_weighting_method_equals_r(ref, case: str) -> None:  # type: ignore[no-untyped-def]
    eng = ref.data("england_like.csv", keep_default_na=False, na_values=[""])
    targets = dp.Targets.from_csv(ref.root / "data" / "england_like_targets.csv")
    cal = targets.select(["sex", "age_group", "region", "education"])
    d0 = SurveyDesign(eng)
    clus = SurveyDesign(ref.data("apiclus1.csv"), weights="pw", ids="dnum", fpc="fpc")
    stype = dp.Targets.from_dict({"stype": {"E": 4421, "H": 755, "M": 1018}})
    build = {
        "apiclus1_raked": lambda: dp.rake(clus, dp.Targets.from_dict(
            {"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1072, "Yes": 5122}}), tol=1e-12),
        "england_raked": lambda: dp.rake(d0, targets.select(ENGLAND_MARGINS), tol=1e-12),
        "england_cal_linear": lambda: dp.calibrate(d0, cal),
        "england_cal_raking": lambda: dp.calibrate(d0, cal, method="raking", tol=1e-13),
        "england_cal_logit": lambda: dp.calibrate(
            d0, cal, method="logit", tol=1e-13,
            bounds=(ref.get(case, "calibrate", "bound_lower"), ref.get(case, "calibrate", "bound_upper"))),
        "england_poststrat": lambda: dp.poststratify(d0, targets.select([("age_group", "sex")])),
        "apiclus1_poststrat": lambda: dp.poststratify(clus, stype),
    }
    var = "api00" if case.startswith("api") else "trust"
    row = dp.mean(build[case](), var).to_frame().iloc[0]
    close(row["estimate"], ref.get(case, "svymean", "estimate", variable=var), 1e-9)
    close(row["se"], ref.get(case, "svymean", "se", variable=var), 1e-6)


def test_results_are_immutable_in_fact() -> None:
    """#12 item 12: Estimate.vcov and the arrays behind to_frame(), ContrastResult's
    coefficients and vcov, and ChisqResult cannot be edited; frames are handed out as copies."""
    import dataclasses

    d = SurveyDesign(srs(5), weights="w")
    est = dp.proportion(d, "q", by="g")
    before = est.to_frame()
    with pytest.raises(ValueError, match="read-only"):
        est.vcov[0, 0] = 1.0
    for col in ("estimate", "se", "ci_lower"):
        arr = est._columns[col]
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1.0
    with pytest.raises(TypeError):
        est._columns["estimate"] = np.zeros(3)  # type: ignore[index]
    frame = est.to_frame()
    frame.loc[0, "estimate"] = 99.0
    series = est.estimates
    series.iloc[0] = 99.0
    pd.testing.assert_frame_equal(est.to_frame(), before)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.level = 0.9  # type: ignore[misc]
    c = dp.contrast(est, {"a-b": {("a", "yes"): 1, ("b", "yes"): -1}})
    with pytest.raises(ValueError, match="read-only"):
        c.vcov[0, 0] = 1.0
    with pytest.raises(TypeError):
        c.coefficients["a-b"][("a", "yes")] = 5.0  # type: ignore[index]
    with pytest.raises(TypeError):
        c.coefficients["new"] = {}  # type: ignore[index]
    frame = c.to_frame()
    frame.loc[0, "estimate"] = 99.0
    assert c.to_frame().loc[0, "estimate"] != 99.0
    chi = dp.chisq_test(d, "q", "g")
    with pytest.raises(dataclasses.FrozenInstanceError):
        chi.p_value = 0.5  # type: ignore[misc]


# ---------------------------------------------------------------------- #12 item 18: SE 0
def _clus_top(ref):  # type: ignore[no-untyped-def]
    data = ref.data("apiclus1.csv")
    data["top"] = np.where(data["api00"] >= 845, "yes", "no")
    return SurveyDesign(data, weights="pw", ids="dnum", fpc="fpc")


@pytest.mark.parametrize("method", ["asin", "beta", "xlogit", "logit", "mean", "wilson",
                                    "likelihood"])
def test_share_of_zero_never_gets_a_zero_width_interval(ref, method: str) -> None:  # type: ignore[no-untyped-def]
    """#12 item 18: 0 of 14 high schools are "top"; delibpoll printed [0, 0]. Now: R's NaN
    for asin and xlogit (estimation_extra.R, apiclus1_top), NaN for logit, mean and
    likelihood (R gives a [~1e-12, ~1e-12] interval from a non-converged glm, [0, 0], and an
    error), and the NCHS rule for beta and wilson, worked by hand from scipy quantiles with
    n = 14 and the domain's R df (1e-12). The other domains keep R's limits (1e-6)."""
    fr = dp.proportion(_clus_top(ref), "top", by="stype",
                       ci_method=method).to_frame()  # type: ignore[arg-type]
    fr = fr[fr["category"] == "yes"].set_index("stype")
    h = fr.loc["H"]
    assert h["estimate"] == 0.0 and h["se"] == 0.0 and h["n"] == 14
    df_h = ref.get("apiclus1_top", "degf", "df", domain="H")
    assert h["df"] == df_h
    if method in ("asin", "beta", "xlogit"):
        for dom in ("E", "M"):
            for q, col in (("ci_lower", "ci_lower"), ("ci_upper", "ci_upper")):
                close(fr.loc[dom, col], ref.get("apiclus1_top", "svyciprop", q, variable="top",
                                                domain=dom, method=method), 1e-6)
    if method == "beta":
        n_eff = 14 * (stats.t.ppf(0.025, 13) / stats.t.ppf(0.025, df_h)) ** 2
        assert h["ci_lower"] == 0.0
        assert h["ci_upper"] == pytest.approx(1 - 0.025 ** (1 / n_eff), rel=1e-12)
        assert h["ci_upper"] == pytest.approx(stats.beta.ppf(0.975, 1, n_eff), rel=1e-12)
        assert h["ci_note"] == "SE 0 (p=0/1): NCHS n_eff=n"
    elif method == "wilson":
        z2 = stats.t.ppf(0.975, df_h) ** 2
        assert h["ci_lower"] == 0.0
        assert h["ci_upper"] == pytest.approx((z2 / 14) / (1 + z2 / 14), rel=1e-12)
        assert h["ci_note"] == "SE 0 (p=0/1): NCHS n_eff=n"
    else:
        if method in ("asin", "xlogit"):
            assert np.isnan(ref.get("apiclus1_top", "svyciprop", "ci_lower", variable="top",
                                    domain="H", method=method))
        assert np.isnan(h["ci_lower"]) and np.isnan(h["ci_upper"])
        assert h["ci_note"] == "SE 0 (p=0/1): no CI"
    assert (fr.loc[["E", "M"], "ci_note"] == "").all()
    assert (fr["ci_upper"] > fr["ci_lower"]).sum() + fr["ci_upper"].isna().sum() == 3


def test_single_psu_domain_gives_nan_interval_not_the_point() -> None:
    """#12 item 18: a domain inside one PSU (df 0, SE 0) had the CI [p, p]; R's qt(., 0) is
    NaN, so its limits are NaN, with the note "df 0: no CI" (proportions, means, totals)."""
    df = pd.DataFrame({"psu": [1, 1, 2, 2, 3, 3], "dom": ["x", "x", "y", "y", "y", "y"],
                       "q": ["a", "b", "a", "b", "b", "a"], "v": [1.0, 3, 2, 4, 5, 6]})
    d = SurveyDesign(df, ids="psu")
    for method in ("logit", "beta", "wilson", "mean"):
        with pytest.warns(DomainWarning, match="single PSU"):
            fr = dp.proportion(d, "q", by="dom", ci_method=method).to_frame()  # type: ignore[arg-type]
        x = fr[fr["dom"] == "x"]
        assert x["se"].tolist() == [0.0, 0.0] and x["df"].tolist() == [0.0, 0.0]
        assert x["ci_lower"].isna().all() and x["ci_upper"].isna().all()
        assert (x["ci_note"] == "df 0: no CI").all()
    for fn in (dp.mean, dp.total):
        with pytest.warns(DomainWarning, match="single PSU"):
            fr = fn(d, "v", by="dom").to_frame().set_index("dom")
        assert np.isnan(fr.loc["x", "ci_lower"]) and fr.loc["x", "ci_note"] == "df 0: no CI"
        assert fr.loc["y", "ci_note"] == ""


def test_share_fixed_by_weighting_keeps_se_zero_and_says_so() -> None:
    """#12 item 18: the raked share of a raking margin is fixed (variance 0 exactly, as R's
    svyrecvar gives ~1e-17): its interval is the point and ci_note says it is fixed by the
    weighting; an unfixed share has no note."""
    df = pd.DataFrame({"sex": ["F", "M", "M", "F", "M", "M", "F", "M"] * 10,
                       "q": list("abbaabab") * 10})
    raked = dp.rake(SurveyDesign(df), dp.Targets.from_dict({"sex": {"F": 0.5, "M": 0.5}}))
    fr = dp.proportion(raked, "sex").to_frame().set_index("category")
    assert fr["estimate"].tolist() == pytest.approx([0.5, 0.5], rel=1e-12)
    assert fr["se"].tolist() == [0.0, 0.0]
    assert (fr["ci_lower"] == fr["estimate"]).all() and (fr["ci_upper"] == fr["estimate"]).all()
    assert (fr["ci_note"] == "SE 0: fixed by weighting").all()
    assert (dp.proportion(raked, "q").to_frame()["ci_note"] == "").all()


@pytest.mark.parametrize(("case", "row", "col"), [("apiclus1_na", "sch.wide", "stype"),
                                                  ("apistrat_na", "stype", "awards")])
@pytest.mark.parametrize("statistic", ["F", "Chisq"])
def test_chisq_test_with_missing_answers_equals_r(ref, case: str, row: str, col: str,
                                                  statistic: str) -> None:  # type: ignore[no-untyped-def]
    """#12 item 16: with missing answers the "Chisq" statistic was scaled to the valid rows;
    R's svychisq scales the table to all rows of the design (estimation_extra.R; statistic
    and p 1e-6, df exact)."""
    if case == "apiclus1_na":
        data = ref.data("apiclus1.csv")
        data.loc[data["snum"] % 7 == 0, "sch.wide"] = None
        d = SurveyDesign(data, weights="pw", ids="dnum", fpc="fpc")
    else:
        data = ref.data("apistrat.csv")
        data.loc[data["snum"] % 5 == 0, "awards"] = None
        d = SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    assert data[[row, col]].isna().any(axis=1).sum() > 0
    res = dp.chisq_test(d, row, col, statistic=statistic, na="drop")  # type: ignore[arg-type]
    lab = f"{row}|{col}"
    close(res.statistic, ref.get(case, "svychisq", "statistic", variable=lab, method=statistic), 1e-6)
    close(res.p_value, ref.get(case, "svychisq", "p_value", variable=lab, method=statistic), 1e-6)
    close(res.df_num, ref.get(case, "svychisq", "df_num", variable=lab, method=statistic), 1e-6)


def test_lonely_average_in_domains_scales_by_the_domain_strata(ref) -> None:  # type: ignore[no-untyped-def]
    """#12 item 17: with lonely_psu="average" a domain's SE was scaled by the whole design's
    strata (H / (H - 1) = 4/3); R's svyby subsets an uncalibrated design, so onestage scales
    by the strata present in the domain (estimation_extra.R, lonely_average*: SE 1e-6). A
    domain made only of the lonely stratum is NaN, as R; na="drop" subsets the same way; a
    calibrated design keeps the whole design's strata, as R."""
    df = ref.data("apistrat_lonely.csv")
    d = SurveyDesign(df, weights="pw", strata="stype", fpc="fpc", lonely_psu="average")
    case = "lonely_average"
    for by in ("awards", "stype"):
        with warnings_ok():
            fr = dp.mean(d, "api00", by=by).to_frame().set_index(by)
        for dom, row in fr.iterrows():
            close(row["se"], ref.get(case, "svyby_svymean", "se", variable="api00", domain=dom), 1e-6)
    fr = dp.total(d, "enroll", by="awards", na="drop").to_frame().set_index("awards")
    for dom, row in fr.iterrows():
        close(row["se"], ref.get(case, "svyby_svytotal", "se", variable="enroll", domain=dom), 1e-6)
    with warnings_ok():
        fr = dp.proportion(d, "sch.wide", by="stype").to_frame()
    for _, row in fr.iterrows():
        close(row["se"], ref.get(case, "svyby_svymean", "se", variable="sch.wide",
                                 domain=row["stype"], category=row["category"]), 1e-6)
    na = df.copy()
    na.loc[na["stype"] == "H", "api00"] = np.nan
    d_na = SurveyDesign(na, weights="pw", strata="stype", fpc="fpc", lonely_psu="average")
    close(dp.mean(d_na, "api00", na="drop").to_frame()["se"].iloc[0],
          ref.get("lonely_average_na", "svymean", "se", variable="api00"), 1e-6)
    ps = dp.poststratify(d, dp.Targets.from_dict({"sch.wide": {"No": 1072, "Yes": 5122}}))
    fr = dp.mean(ps, "api00", by="awards").to_frame().set_index("awards")
    for dom, row in fr.iterrows():
        close(row["se"], ref.get("lonely_average_ps", "svyby_svymean", "se", variable="api00",
                                 domain=dom), 1e-6)


def warnings_ok():  # type: ignore[no-untyped-def]
    """The single-row stratum X is a domain inside one PSU: its DomainWarning is expected."""
    import warnings as _w
    from contextlib import contextmanager

    @contextmanager
    def ctx():  # type: ignore[no-untyped-def]
        with _w.catch_warnings():
            _w.simplefilter("ignore", DomainWarning)
            yield
    return ctx()


# ---------------------------------------------------------------------- result objects
@pytest.mark.parametrize("case", CASES)
def test_conf_int_at_90_equals_r_and_a_call_at_90(designs, ref, case: str) -> None:  # type: ignore[no-untyped-def]
    """A 95% estimate's conf_int(0.9) gives R's svyciprop(level=0.90) limits, and exactly the
    limits of proportion(..., level=0.9)."""
    for var in {"england": ["q_pact"], "api": ["sch.wide", "awards"]}[_kind(case)]:
        est = dp.proportion(designs[case], var)
        ci = est.conf_int(0.9)
        for cat in est.labels:
            lo = ref.get(case, "svyciprop_90", "ci_lower", variable=var, category=str(cat), method="logit")
            hi = ref.get(case, "svyciprop_90", "ci_upper", variable=var, category=str(cat), method="logit")
            close(ci.loc[cat, "ci_lower"], lo, 1e-6)
            close(ci.loc[cat, "ci_upper"], hi, 1e-6)
        at90 = dp.proportion(designs[case], var, level=0.9).to_frame()
        np.testing.assert_array_equal(ci["ci_lower"].to_numpy(), at90["ci_lower"].to_numpy())
        np.testing.assert_array_equal(ci["ci_upper"].to_numpy(), at90["ci_upper"].to_numpy())


@pytest.mark.parametrize("method", ["logit", "likelihood", "asin", "beta", "mean", "xlogit", "wilson"])
@pytest.mark.parametrize("replicates", [False, True])
def test_conf_int_equals_the_estimate_at_that_level(method: str, replicates: bool) -> None:
    """Every CI method, by domain, linearised and replicate (logit refitted on the replicates):
    conf_int(level) is bit for bit the interval of a call with that level."""
    if replicates and method == "likelihood":
        return
    df = srs(4)
    df.loc[df.index[:20], "q"] = "yes"
    df["psu"] = np.arange(len(df)) // 6
    d = SurveyDesign(df, weights="w", ids="psu")
    if replicates:
        d = d.with_replicates("jk1")
    est = dp.proportion(d, "q", by="g", ci_method=method)  # type: ignore[arg-type]
    for level in (0.8, 0.9, 0.99):
        want = dp.proportion(d, "q", by="g", ci_method=method, level=level).to_frame()  # type: ignore[arg-type]
        got = est.conf_int(level)
        assert list(got.index) == list(pd.MultiIndex.from_tuples(list(est.labels)))
        np.testing.assert_array_equal(got["ci_lower"].to_numpy(), want["ci_lower"].to_numpy())
        np.testing.assert_array_equal(got["ci_upper"].to_numpy(), want["ci_upper"].to_numpy())


def test_conf_int_of_mean_and_total_is_the_wald_t_interval() -> None:
    """Means and totals: estimate -/+ t_{1-(1-level)/2, df} se (R confint on svymean)."""
    df = srs(5)
    d = SurveyDesign(df, weights="w")
    for fn in (dp.mean, dp.total):
        est = fn(d, "x", by="g")
        fr = est.to_frame().set_index("g")
        ci = est.conf_int(0.8)
        q = stats.t.ppf(0.9, fr["df"].to_numpy())
        np.testing.assert_allclose(ci["ci_lower"].to_numpy(), fr["estimate"] - q * fr["se"], rtol=1e-14)
        np.testing.assert_allclose(ci["ci_upper"].to_numpy(), fr["estimate"] + q * fr["se"], rtol=1e-14)
        at80 = fn(d, "x", by="g", level=0.8).to_frame()
        np.testing.assert_array_equal(ci["ci_lower"].to_numpy(), at80["ci_lower"].to_numpy())
        # the default level is 0.95, whatever the estimate's
        np.testing.assert_array_equal(fn(d, "x", level=0.8).conf_int()["ci_upper"].to_numpy(),
                                      fn(d, "x").to_frame()["ci_upper"].to_numpy())
    with pytest.raises(DelibpollError, match="'level' parameter of Estimate.conf_int"):
        dp.mean(d, "x").conf_int(95)


def test_estimate_and_se_by_label_and_variable_column() -> None:
    df = srs(6)
    d = SurveyDesign(df, weights="w")
    p = dp.proportion(d, "q", by="g")
    fr = p.to_frame()
    assert list(fr.columns[:3]) == ["variable", "g", "category"]
    assert (fr["variable"] == "q").all()
    row = fr[(fr["g"] == "b") & (fr["category"] == "yes")].iloc[0]
    assert p.estimate_of(("b", "yes")) == row["estimate"]
    assert p.se_of(("b", "yes")) == row["se"]
    m = dp.mean(d, "x")
    assert m.estimate_of("x") == m.to_frame()["estimate"].iloc[0]
    mb = dp.mean(d, "x", by=["g", "h"])
    assert mb.se_of(("a", "v")) == mb.to_frame().set_index(["g", "h"]).loc[("a", "v"), "se"]
    with pytest.raises(DelibpollError, match="Row key 'zz' is not among the estimate's rows"):
        p.estimate_of("zz")
    # a by column named "variable" keeps its values
    df2 = df.rename(columns={"g": "variable"})
    fr2 = dp.mean(SurveyDesign(df2), "x", by="variable").to_frame()
    assert sorted(fr2["variable"]) == ["a", "b", "c"]


def test_results_pickle_and_stay_read_only() -> None:
    import pickle

    df = srs(7)
    d = SurveyDesign(df, weights="w")
    est = dp.proportion(d, "q", by="g")
    back = pickle.loads(pickle.dumps(est))
    pd.testing.assert_frame_equal(back.to_frame(), est.to_frame())
    pd.testing.assert_frame_equal(back.conf_int(0.9), est.conf_int(0.9))
    assert not back.vcov.flags.writeable
    c = dp.contrast(dp.mean(d, "x", by="g"), {"b - a": {"b": 1, "a": -1}})
    c2 = pickle.loads(pickle.dumps(c))
    pd.testing.assert_frame_equal(c2.to_frame(), c.to_frame())
    assert not c2.vcov.flags.writeable


def test_contrast_conf_int_equals_a_contrast_at_that_level() -> None:
    df = srs(8)
    est = dp.mean(SurveyDesign(df, weights="w"), "x", by="g")
    coefs = {"b - a": {"b": 1, "a": -1}, "c - a": {"c": 1, "a": -1}}
    res = dp.contrast(est, coefs)
    for level in (0.8, 0.99):
        want = dp.contrast(est, coefs, level=level).to_frame()
        got = res.conf_int(level)
        assert list(got.index) == ["b - a", "c - a"]
        np.testing.assert_array_equal(got["ci_lower"].to_numpy(), want["ci_lower"].to_numpy())
        np.testing.assert_array_equal(got["ci_upper"].to_numpy(), want["ci_upper"].to_numpy())


def test_constant_variable_warning_with_and_without_missing_values() -> None:
    # the constant check over the answered rows only (missing rows hold 0 internally)
    df = pd.DataFrame({"y": [3.0, np.nan, 3.0, 3.0], "z": [3.0, 0.0, 3.0, 3.0],
                       "v": [3.0, np.nan, 1.0, 3.0]})
    d = SurveyDesign(df)
    with pytest.warns(DelibpollWarning, match=r"Variable 'y' is constant \(3\)"):
        dp.mean(d, "y", na="drop")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dp.mean(d, "z")
        dp.mean(d, "v", na="drop")
    with pytest.raises(DelibpollError, match="no non-missing values"):
        dp.mean(SurveyDesign(df.assign(y=np.nan)), "y", na="drop")
