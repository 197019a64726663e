"""Consistency check of the issue #16 R reference data -- NOT a test of delibpoll.

The values in tests/reference/values/{glm,olr,quantile,ratio,svyvar,calibrate_numeric,brr,
multistage}.csv were written by the R scripts of the same names (R survey 4.1.1, see
tests/reference/SPEC_16.md). These tests only check that the committed files are present,
complete and agree with the identities R guarantees (a Wald CI is coef +- qt(0.975, df) se,
a quantile's se is its CI width over 2 qt, BRR weights follow R's Hadamard rule, ...), so
that the implementation of #16 can be tested against them with confidence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

REF = Path(__file__).resolve().parent / "reference"
TOPICS = ("glm", "olr", "quantile", "ratio", "svyvar", "calibrate_numeric", "brr", "multistage")
KEY = ["case", "statistic", "variable", "domain", "category", "method", "quantity"]


def _load(topic: str) -> pd.DataFrame:
    df = pd.read_csv(REF / "values" / f"{topic}.csv", dtype=str, keep_default_na=False)
    # R writes NA and NaN where it returns them (e.g. a Woodruff end outside [0, 1])
    df["x"] = [float("nan") if v in ("NA", "NaN") else float(v) for v in df["value"]]
    return df


@pytest.fixture(scope="module")
def vals() -> dict[str, pd.DataFrame]:
    return {t: _load(t) for t in TOPICS}


def _wide(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.pivot_table(index=keys, columns="quantity", values="x", aggfunc="first")


def test_files_present_and_well_formed(vals: dict[str, pd.DataFrame]) -> None:
    for topic, df in vals.items():
        assert list(df.columns[:8]) == [*KEY, "value"], topic
        assert len(df) > 50, topic
        # a key is written once (or repeated with the same value)
        dup = df.drop_duplicates([*KEY, "value"]).duplicated(KEY)
        assert not dup.any(), f"{topic}: {df[dup.to_numpy()].head()}"
    for script in (*TOPICS, "common16"):
        assert (REF / "r" / f"{script}.R").is_file()
    assert (REF / "SPEC_16.md").is_file()


def test_case_names_do_not_clash_with_older_topics(vals: dict[str, pd.DataFrame]) -> None:
    """conftest.Reference pools every values file: a shared key must have one value."""
    older = []
    for path in sorted((REF / "values").glob("*.csv")):
        if path.stem in TOPICS or path.name.startswith("weights_") or path.stem == "versions":
            continue
        older.append(pd.read_csv(path, dtype=str, keep_default_na=False))
    old = pd.concat(older)
    new = pd.concat(vals.values())[[*KEY, "value"]]
    both = pd.concat([old[[*KEY, "value"]], new]).drop_duplicates()
    assert not both.duplicated(KEY).any()


def test_svyglm_identities(vals: dict[str, pd.DataFrame]) -> None:
    g = vals["glm"]
    fit = g[g["statistic"] == "svyglm"]
    scal = _wide(fit[fit["category"] == ""], ["case", "variable"])
    # R's svyglm on a replicate design with incomplete rows (na.omit) takes df.residual from
    # the full design's degf (SPEC_16 2.10); elsewhere degf of the design it fits on
    degf = g[g["statistic"] == "degf"].set_index("case")["x"]
    rep_na = [(c, m) for c, m in scal.index if m.endswith("_na") and "jk1" in c]
    assert len(rep_na) == 2
    for c, m in scal.index:
        base = degf[c] if (c, m) in rep_na else scal.loc[(c, m), "degf_design"]
        assert scal.loc[(c, m), "df_residual"] == base + 1 - scal.loc[(c, m), "n_coef"], (c, m)
    n_checked = 0
    for (case, model), one in fit[fit["category"] != ""].groupby(["case", "variable"]):
        df_r = scal.loc[(case, model), "df_residual"]
        coef = one[one["method"] == ""].pivot(index="category", columns="quantity", values="x")
        coef = coef.dropna(subset=["estimate"])
        np.testing.assert_allclose(coef["t"], coef["estimate"] / coef["se"], rtol=1e-12)
        np.testing.assert_allclose(coef["p_value"], 2 * stats.t.sf(np.abs(coef["t"]), df_r),
                                   rtol=1e-8, atol=1e-300)
        vc = one[one["quantity"] == "vcov"].set_index("category")["x"]
        diag = vc.loc[[f"{c}|{c}" for c in coef.index]].to_numpy()
        np.testing.assert_allclose(np.sqrt(diag), coef["se"], rtol=1e-12)
        for method, q in (("Wald_t", stats.t.ppf(0.975, df_r)),
                          ("Wald_t_90", stats.t.ppf(0.95, df_r)),
                          ("Wald_normal", stats.norm.ppf(0.975)),
                          ("confint_default", stats.norm.ppf(0.975))):
            ci = one[one["method"] == method].pivot(index="category", columns="quantity",
                                                    values="x").loc[coef.index]
            np.testing.assert_allclose(ci["ci_lower"], coef["estimate"] - q * coef["se"],
                                       rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(ci["ci_upper"], coef["estimate"] + q * coef["se"],
                                       rtol=1e-10, atol=1e-12)
        if "odds_ratio" in coef:
            np.testing.assert_allclose(coef["odds_ratio"], np.exp(coef["estimate"]), rtol=1e-12)
            orci = one[one["quantity"].str.startswith("or_ci")].pivot(
                index="category", columns="quantity", values="x").loc[coef.index]
            wald = one[one["method"] == "Wald_t"].pivot(index="category", columns="quantity",
                                                       values="x").loc[coef.index]
            np.testing.assert_allclose(orci["or_ci_lower"], np.exp(wald["ci_lower"]), rtol=1e-12)
        n_checked += 1
    assert n_checked >= 40


def test_predict_and_regtermtest_identities(vals: dict[str, pd.DataFrame]) -> None:
    g = vals["glm"]
    p = g[g["statistic"] == "predict"]
    for (_case, _model), one in p.groupby(["case", "variable"]):
        link = one[(one["method"] == "link") & (one["quantity"] != "vcov")].pivot(
            index="category", columns="quantity", values="x")
        vc = one[one["quantity"] == "vcov"].set_index("category")["x"]
        np.testing.assert_allclose(link["se"] ** 2, vc.loc[[f"{r}|{r}" for r in link.index]],
                                   rtol=1e-10)
    # logistic response scale: mu = expit(eta), se = mu (1 - mu) se_link
    for case, model in (("apistrat16", "quasibinomial"), ("england16_raked", "pact_logit")):
        one = p[(p["case"] == case) & (p["variable"] == model)]
        one = one[one["quantity"].isin(["estimate", "se"])]
        w = {m: one[one["method"] == m].pivot(index="category", columns="quantity", values="x")
             for m in ("link", "response")}
        mu = 1 / (1 + np.exp(-w["link"]["estimate"]))
        np.testing.assert_allclose(w["response"]["estimate"], mu, rtol=1e-12)
        np.testing.assert_allclose(w["response"]["se"], mu * (1 - mu) * w["link"]["se"],
                                   rtol=1e-10)
    r = g[g["statistic"] == "regTermTest"]
    wald = _wide(r[r["method"] == "Wald"], ["case", "variable", "category"])
    np.testing.assert_allclose(
        wald["p_value"], stats.f.sf(wald["F"], wald["df_num"], wald["df_den"]),
        rtol=1e-6, atol=1e-300)
    chi = _wide(r[r["method"] == "Wald_chisq"], ["case", "variable", "category"])
    np.testing.assert_allclose(chi["chisq"], wald["F"] * wald["df_num"], rtol=1e-12)
    scal = _wide(g[(g["statistic"] == "svyglm") & (g["category"] == "")], ["case", "variable"])
    for (case, model, _term), row in wald.iterrows():
        assert row["df_den"] == scal.loc[(case, model), "df_residual"]


def test_svypredmeans_and_svyolr_identities(vals: dict[str, pd.DataFrame]) -> None:
    g = vals["glm"]
    pm = g[g["statistic"] == "svypredmeans"]
    for (_c, _m), one in pm.groupby(["case", "variable"]):
        w = one[one["quantity"] != "vcov"].pivot(index="category", columns="quantity", values="x")
        np.testing.assert_allclose(w["se"] ** 2, w["var_model_part"] + w["var_mean_part"],
                                   rtol=1e-10)
    o = vals["olr"]
    fit = o[o["statistic"] == "svyolr"]
    degf = o[o["statistic"] == "degf"].set_index("case")["x"]
    for (case, model, _method), one in fit.groupby(["case", "variable", "method"]):
        coef = one[one["quantity"].isin(["estimate", "se"])].pivot(
            index="category", columns="quantity", values="x")
        vc = one[one["quantity"] == "vcov"].set_index("category")["x"]
        np.testing.assert_allclose(coef["se"] ** 2, vc.loc[[f"{c}|{c}" for c in coef.index]],
                                   rtol=1e-12)
        n_slopes = sum("|" not in c for c in coef.index)
        df_r = one.loc[one["quantity"] == "df_residual", "x"].iloc[0]
        # with incomplete rows (na.omit): degf of the complete rows (recorded)
        own = one.loc[one["quantity"] == "degf_design", "x"]
        assert df_r == (own.iloc[0] if len(own) else degf[case]) - n_slopes, (case, model)
        # thresholds increase
        z = one[(one["quantity"] == "estimate") & one["category"].str.contains("|", regex=False)]
        assert np.all(np.diff(z["x"].to_numpy()) > 0)


def test_quantile_se_is_ci_width(vals: dict[str, pd.DataFrame]) -> None:
    q = vals["quantile"]
    degf = q[q["statistic"] == "degf"].set_index(["case", "domain"])["x"]
    w = _wide(q[q["statistic"].isin(["svyquantile", "svyby_svyquantile"])],
              ["case", "statistic", "variable", "domain", "category", "method"])
    w = w.dropna(subset=["se"])
    assert len(w) > 1000
    for (case, _s, _v, domain, _p, method), row in w.iterrows():
        alpha = 0.1 if method.endswith("alpha0.1") else 0.05
        if method.endswith("dfInf"):
            crit = stats.norm.ppf(1 - alpha / 2)
        else:
            crit = stats.t.ppf(1 - alpha / 2, degf[(case, domain)])
        assert row["se"] == pytest.approx((row["ci_upper"] - row["ci_lower"]) / (2 * crit),
                                          rel=1e-10)
        if method.startswith("math|mean"):
            assert row["ci_lower"] <= row["estimate"] <= row["ci_upper"]
    # svyby's domain quantiles equal svyquantile on the domain subset
    by = w.xs("svyby_svyquantile", level="statistic")
    sub = w.xs("svyquantile", level="statistic")
    for (case, v, domain, p, method), row in by.iterrows():
        if method != "math|mean" or case == "england16_raked":
            continue
        other = sub.loc[(case, v, domain, p, "math|mean|subset")]
        assert row["estimate"] == other["estimate"]
        assert row["se"] == pytest.approx(other["se"], rel=1e-12)


def test_ratio_and_svyvar_identities(vals: dict[str, pd.DataFrame]) -> None:
    r = vals["ratio"]
    degf = r[r["statistic"] == "degf"].set_index("case")["x"]
    one = r[(r["statistic"] == "svyratio") & (r["variable"] == "api.stu/enroll")]
    for case, rows in one.groupby("case"):
        est = rows.loc[rows["quantity"] == "estimate", "x"].iloc[0]
        se = rows.loc[rows["quantity"] == "se", "x"].iloc[0]
        for method, crit in (("normal", stats.norm.ppf(0.975)),
                             ("t_degf", stats.t.ppf(0.975, degf[case]))):
            lo = rows[(rows["method"] == method) & (rows["quantity"] == "ci_lower")]["x"].iloc[0]
            assert lo == pytest.approx(est - crit * se, rel=1e-12)
    v = vals["svyvar"]
    w = _wide(v[(v["statistic"] == "svyvar") & (v["variable"] == "api00")], ["case"])
    np.testing.assert_allclose(w["sd"], np.sqrt(w["estimate"]), rtol=1e-14)
    sums = v[(v["statistic"] == "svytable") & (v["method"] == "Ntotal=100")].groupby("case")["x"]
    np.testing.assert_allclose(sums.sum(), 100, rtol=1e-12)


def test_multistage_identities(vals: dict[str, pd.DataFrame]) -> None:
    m = vals["multistage"]
    tot = m[(m["statistic"] == "svytotal") & (m["variable"] == "api00") & (m["quantity"] == "se")]
    se = tot.set_index("case")["x"]
    terms = m[m["statistic"] == "multistage_terms"].set_index("quantity")["x"]
    assert se["apiclus2_16"] ** 2 == pytest.approx(terms["stage1"] + terms["stage2"], rel=1e-12)
    assert se["apiclus2_16_ultimate_cluster"] ** 2 == pytest.approx(terms["stage1"], rel=1e-12)
    assert se["apiclus2_16_one_stage"] == pytest.approx(se["apiclus2_16_ultimate_cluster"],
                                                       rel=1e-12)
    mean_se = m[(m["statistic"] == "svymean") & (m["variable"] == "api00")
                & (m["quantity"] == "se")].set_index("case")["x"]
    # the observation: first-stage-only SE is 0.7% below R's multistage SE
    assert 1 - mean_se["apiclus2_16_ultimate_cluster"] / mean_se["apiclus2_16"] == pytest.approx(
        0.0070, abs=0.0005)


def test_brr_and_fay_weights_follow_the_hadamard_rule(vals: dict[str, pd.DataFrame]) -> None:
    b = vals["brr"]
    data = pd.read_csv(REF / "data" / "apistrat_brr.csv")
    h = pd.read_csv(REF / "data" / "hadamard_20.csv").to_numpy()
    assert h.shape == (24, 24)
    st = b[b["case"] == "brr_structure"]
    number = st[st["quantity"] == "stratum_number"].set_index("category")["x"]
    up = st[st["quantity"] == "up_psu"].set_index("category")["x"]
    s_num = data["vstrat"].astype(str).map(number).astype(int).to_numpy()
    is_up = (data["vpsu"].to_numpy() == data["vstrat"].astype(str).map(up).to_numpy())
    design = b[b["statistic"] == "design"].set_index(["case", "quantity"])["x"]
    for case, rho, name in (("apistrat_brr", 0.0, "brr"), ("apistrat_fay", 0.3, "fay")):
        rw = pd.read_csv(REF / "data" / f"apistrat_{name}_repweights.csv").sort_values("row")
        rep = rw.drop(columns="row").to_numpy()
        h1 = h[s_num, :] == 1          # row 1 + s (1-based) is index s (0-based)
        mult = np.where(h1 == is_up[:, None], 2 - rho, rho)
        np.testing.assert_allclose(rep, data["pw"].to_numpy()[:, None] * mult, rtol=1e-14)
        assert design[(case, "scale")] == pytest.approx(1 / (24 * (1 - rho) ** 2), rel=1e-14)
        assert design[(case, "rho")] == pytest.approx(rho)


def test_replicate_and_calibration_files(vals: dict[str, pd.DataFrame]) -> None:
    for name, n_rep in (("apiclus1_jk1_16", 15), ("apiclus1_boot16", 50)):
        rw = pd.read_csv(REF / "data" / f"{name}_repweights.csv")
        assert rw.shape == (183, n_rep + 1)
    c = vals["calibrate_numeric"]
    pop = c[(c["case"] == "population")].set_index("variable")["x"]
    sums = c[c["quantity"] == "weight_sum"].set_index("case")["x"]
    for case in sums.index:
        path = REF / "values" / f"weights_{case}.csv"
        if path.exists():
            w = pd.read_csv(path)["weight"].to_numpy()
            assert w.sum() == pytest.approx(sums[case], rel=1e-12)
    tot = c[(c["statistic"] == "svytotal") & (c["variable"] == "enroll")
            & (c["quantity"] == "estimate")]
    api = tot[tot["case"].str.startswith(("apistrat16_cal", "apiclus1_16_cal",
                                          "apiclus1_16_jk1_cal"))]
    assert len(api) == 10
    np.testing.assert_allclose(api["x"], pop["enroll"], rtol=1e-9)
