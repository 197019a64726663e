"""Tests for delibpoll.replicates: replicate designs equal R's as.svrepdesign/svrepdesign
(tests/reference/r/replicates.R), weighting replayed on replicates, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError, SurveyDesign

RAKE = dp.Targets.from_dict({"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1072, "Yes": 5122}})


def _designs(ref):  # type: ignore[no-untyped-def]
    clus = SurveyDesign(ref.data("apiclus1.csv"), weights="pw", ids="dnum", fpc="fpc")
    strat = SurveyDesign(ref.data("apistrat.csv"), weights="pw", strata="stype", fpc="fpc")
    boot = ref.data("apiclus1_boot_repweights.csv")
    return {
        "apiclus1_jk1": clus.with_replicates("jk1"),
        "apiclus1_jk1_raked": dp.rake(clus.with_replicates("jk1"), RAKE, tol=1e-12),
        "apistrat_jkn": strat.with_replicates("jkn"),
        "apiclus1_boot": SurveyDesign(boot, weights="pw", repweights=r"rep\d+", rep_type="bootstrap",
                                      scale=ref.get("apiclus1_boot", "design", "scale")),
    }


CASES = ["apiclus1_jk1", "apiclus1_jk1_raked", "apistrat_jkn", "apiclus1_boot"]


@pytest.fixture(scope="module")
def designs(ref):  # type: ignore[no-untyped-def]
    return _designs(ref)


@pytest.mark.parametrize("case", CASES)
def test_replicate_estimates_equal_r(designs, ref, case: str) -> None:  # type: ignore[no-untyped-def]
    """Means, totals, proportions, domain SEs, df and CIs equal R to 1e-6 relative."""
    d = designs[case]
    m = dp.mean(d, "api00").to_frame().iloc[0]
    assert m["estimate"] == pytest.approx(ref.get(case, "svymean", "estimate", variable="api00"), rel=1e-9)
    assert m["se"] == pytest.approx(ref.get(case, "svymean", "se", variable="api00"), rel=1e-6)
    t = dp.total(d, "enroll").to_frame().iloc[0]
    assert t["se"] == pytest.approx(ref.get(case, "svytotal", "se", variable="enroll"), rel=1e-6)
    assert d.df == ref.get(case, "degf", "df")
    fr = dp.proportion(d, "awards").to_frame().set_index("category")
    for cat in ["No", "Yes"]:
        assert fr.loc[cat, "se"] == pytest.approx(ref.get(case, "svymean", "se", variable="awards", category=cat), rel=1e-6)
    for method in ["logit", "beta", "mean", "asin"]:
        row = dp.proportion(d, "awards", ci_method=method).to_frame().set_index("category").loc["Yes"]  # type: ignore[arg-type]
        assert row["ci_lower"] == pytest.approx(ref.get(case, "svyciprop", "ci_lower", variable="awards", category="Yes", method=method), rel=1e-6)
        assert row["ci_upper"] == pytest.approx(ref.get(case, "svyciprop", "ci_upper", variable="awards", category="Yes", method=method), rel=1e-6)
    by = dp.mean(d, "api00", by="stype").to_frame()
    for _, r in by.iterrows():
        assert r["se"] == pytest.approx(ref.get(case, "svyby_svymean", "se", variable="api00", domain=r["stype"]), rel=1e-6)


def test_scale_and_rscales_as_r(designs, ref) -> None:  # type: ignore[no-untyped-def]
    assert designs["apiclus1_jk1"]._replicates.scale == pytest.approx(ref.get("apiclus1_jk1", "design", "scale"), rel=1e-12)
    assert designs["apistrat_jkn"]._replicates.rscales.sum() == pytest.approx(ref.get("apistrat_jkn", "design", "rscales_sum"), rel=1e-12)


def test_mse_option(ref) -> None:  # type: ignore[no-untyped-def]
    boot = ref.data("apiclus1_boot_repweights.csv")
    d = SurveyDesign(boot, weights="pw", repweights=r"rep\d+", rep_type="bootstrap", mse=True,
                     scale=ref.get("apiclus1_boot", "design", "scale"))
    assert dp.mean(d, "api00").to_frame()["se"].iloc[0] == pytest.approx(
        ref.get("apiclus1_boot_mse", "svymean", "se", variable="api00"), rel=1e-6)


def test_weighting_replayed_on_replicates_in_either_order(ref) -> None:  # type: ignore[no-untyped-def]
    clus = SurveyDesign(ref.data("apiclus1.csv"), weights="pw", ids="dnum", fpc="fpc")
    a = dp.rake(clus.with_replicates("jk1"), RAKE, tol=1e-12)
    b = dp.rake(clus, RAKE, tol=1e-12).with_replicates("jk1")
    np.testing.assert_allclose(a.replicate_weights.to_numpy(), b.replicate_weights.to_numpy(), rtol=1e-9)
    # every replicate meets the margins
    w = a.replicate_weights
    shares = w.groupby(a.data["stype"].to_numpy()).sum() / w.sum()
    np.testing.assert_allclose(shares.loc["E"], 4421 / 6194, rtol=1e-9)


def test_bootstrap_seeded_and_scale() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": rng.normal(size=300), "h": rng.choice(["a", "b"], 300), "c": rng.integers(0, 30, 300)})
    d = SurveyDesign(df, strata="h", ids="c")
    a = d.with_replicates("bootstrap", n_replicates=40, rng=1)
    b = d.with_replicates("bootstrap", n_replicates=40, rng=1)
    np.testing.assert_array_equal(a.replicate_weights.to_numpy(), b.replicate_weights.to_numpy())
    s = d.with_replicates("subbootstrap", n_replicates=40, rng=2)
    assert s._replicates.scale == pytest.approx(1 / 39)
    se_lin = dp.mean(d, "y").to_frame()["se"].iloc[0]
    se_boot = dp.mean(d.with_replicates("subbootstrap", n_replicates=400, rng=3), "y").to_frame()["se"].iloc[0]
    assert se_boot == pytest.approx(se_lin, rel=0.2)


def test_bad_input(ref) -> None:  # type: ignore[no-untyped-def]
    clus = SurveyDesign(ref.data("apiclus1.csv"), weights="pw", ids="dnum", fpc="fpc")
    strat = SurveyDesign(ref.data("apistrat.csv"), weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(DelibpollError, match="must be one of"):
        clus.with_replicates("brr")
    with pytest.raises(DelibpollError, match="Use method='jkn'"):
        strat.with_replicates("jk1")
    with pytest.raises(DelibpollError, match="needs n_replicates"):
        clus.with_replicates("bootstrap")
    with pytest.raises(DelibpollError, match="at least 2 PSUs"):
        SurveyDesign(pd.DataFrame({"y": [1.0, 2.0], "c": [1, 1]}), ids="c").with_replicates("jk1")
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0], "r1": [1.0, np.nan, 1.0], "r2": [1.0, -1.0, 2.0]})
    with pytest.raises(DelibpollError, match="missing or non-numeric"):
        SurveyDesign(df, repweights=["r1"])
    with pytest.raises(DelibpollError, match="negative"):
        SurveyDesign(df, repweights=["r2"])
    with pytest.raises(DelibpollError, match="No columns match"):
        SurveyDesign(df, repweights="zz.*")
