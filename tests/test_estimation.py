"""Tests for delibpoll.estimation: proportion, mean, total.

Outside references: R ``survey`` values from ``tests/reference/r/estimation.R`` (committed
CSVs), exact formulas for simple random samples, statsmodels' Wilson interval.
"""

from __future__ import annotations

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
    assert list(fr.columns[:3]) == ["g", "h", "category"]
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
    assert list(est.to_frame().columns) == [
        "g", "category", "estimate", "se", "ci_lower", "ci_upper", "df", "deff", "n", "n_eff",
    ]
    assert "proportion of q by g" in repr(est)
    assert "<table" in est._repr_html_()
    assert est.estimates.index.nlevels == 2
