"""Tests for delibpoll.datasets: ONS targets equal their source tables, the example generator
is deterministic, the weighted example reproduces the published figures, the Marousi poll."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError, datasets

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "data" / "population" / "source"


def _source(file: str, variable: str) -> pd.Series:
    df = pd.read_csv(SOURCE / file)
    rows = df[df["variable"] == variable]
    return pd.Series(rows["count_or_share"].astype(float).to_numpy(), index=rows["category"])


def test_targets_equal_source_counts_over_totals() -> None:
    t = datasets.england_adult_targets(
        ["sex", "age_group", "region", "education", "ethnicity", ("age_group", "sex")]
    )
    sex = _source("sex.csv", "sex_18plus_mid2023")
    assert sex["female"] + sex["male"] == sex["total_18plus"]
    np.testing.assert_allclose(
        t.shares("sex").to_numpy(), [sex["female"] / sex["total_18plus"], sex["male"] / sex["total_18plus"]],
        rtol=1e-14,
    )
    age = _source("age.csv", "age_18plus_mid2023")
    assert age.sum() == sex["total_18plus"]
    np.testing.assert_allclose(t.shares("age_group").to_numpy(), (age / age.sum()).to_numpy(), rtol=1e-14)
    eth = _source("ethnicity.csv", "ethnicity5_allages_england_census2021")
    assert t.shares("ethnicity")["White"] == pytest.approx(eth["White"] / eth.sum(), rel=1e-14)
    reg = _source("region.csv", "region_16plus_census2021")
    assert t.shares("region")["London"] == pytest.approx(reg["London (E12000007)"] / reg.sum(), rel=1e-14)
    qual = _source("qualification.csv", "qualification_16plus_census2021")
    assert qual.sum() == reg.sum()  # both are the TS067 16+ base
    agesex = _source("age_x_sex.csv", "age_x_sex_18plus_mid2023")
    assert agesex.sum() == sex["total_18plus"]
    # published rounded percentages agree with the shares to their rounding
    pct = _source("age.csv", "age_18plus_mid2023_pct")
    np.testing.assert_allclose(100 * t.shares("age_group").to_numpy(), pct.to_numpy(), atol=0.005)


def test_targets_file_is_what_the_build_script_makes() -> None:
    spec = importlib.util.spec_from_file_location("build_targets", ROOT / "data/population/build_targets.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    built = mod.build()
    shipped = pd.read_csv(ROOT / "data/population/england_adult_targets.csv", dtype=str, keep_default_na=False)
    assert built.astype(str).reset_index(drop=True).equals(shipped.astype(str))


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_example", ROOT / "data/example/make_example.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generator_is_deterministic_and_matches_shipped_csv() -> None:
    gen = _generator()
    a3, a1 = gen.generate()
    b3, b1 = gen.generate()
    pd.testing.assert_frame_equal(a3, b3)
    pd.testing.assert_frame_equal(a1, b1)
    # the committed files are exactly what the generator writes
    assert a3.to_csv(index=False) == (ROOT / "data/example/tier3.csv").read_text()
    assert a1.to_csv(index=False) == (ROOT / "data/example/tier1.csv").read_text()


def test_weighted_example_reproduces_published_figures() -> None:
    """Published Cohort 1 Tier 3 figures: 62% increase, 23% no impact, about 1 in 3 'wrong to
    charge'. The synthetic data are built so that the population values are exactly these, so
    the weighted estimates must lie within 3 standard errors (design-based, raking-aware)."""
    df = datasets.load_example(3)
    raked = dp.rake(dp.SurveyDesign(df), datasets.england_adult_targets())
    pact = dp.proportion(raked, "q_pact").to_frame().set_index("category")
    for cat, published in (("Increase confidence", 0.62), ("No impact", 0.23)):
        assert abs(pact.loc[cat, "estimate"] - published) < 3 * pact.loc[cat, "se"]
    charge = dp.proportion(raked, "q_charge").to_frame().set_index("category")
    assert abs(charge.loc["Wrong", "estimate"] - 1 / 3) < 3 * charge.loc["Wrong", "se"]
    arm = dp.proportion(raked, "q_charge", by="info_arm")
    diff = dp.contrast(arm, {"R-C": {("Reassured", "Wrong"): 1, ("Control", "Wrong"): -1}}).to_frame()
    assert diff["ci_upper"].iloc[0] < 0  # lower in the reassured arm
    unweighted = dp.proportion(dp.SurveyDesign(df), "q_pact").to_frame().set_index("category")
    assert abs(unweighted.loc["Increase confidence", "estimate"] - 0.62) > abs(
        pact.loc["Increase confidence", "estimate"] - 0.62
    )


def test_tier1_structure_and_deliberation_effect() -> None:
    t1 = datasets.load_example(1)
    assert len(t1) == 101
    assert set(t1["hub"].cat.categories) == {"Sheffield", "Plymouth", "Canterbury", "North London"}
    assert 10 <= t1["group_id"].nunique() <= 16
    pre = (t1["q_pact_pre"] == "Increase confidence").mean()
    post = (t1["q_pact_post"] == "Increase confidence").mean()
    assert post > pre + 0.1


def test_load_example_bad_tier() -> None:
    with pytest.raises(DelibpollError, match="tier 1 or 3"):
        datasets.load_example(2)


def test_marousi_checks_from_its_readme() -> None:
    m = datasets.load_marousi()
    assert len(m) == 146 and m["caseid"].nunique() == 146 and m["pollgroup"].nunique() == 15
    assert m["t1know"].mean() == pytest.approx(m["t1knowlevel"].iloc[0], rel=1e-6)
    assert m["t2know"].mean() == pytest.approx(m["t2knowlevel"].iloc[0], rel=1e-6)
    np.testing.assert_allclose(m["knowgain"], m["t2know"] - m["t1know"], atol=1e-6)


def test_control_sample_is_what_the_generator_writes() -> None:
    """The SYNTHETIC control sample (issue #17) is deterministic and is the committed file;
    the Tier 1 quiz's non-completers have no answer after."""
    gen = _generator()
    a, b = gen.make_control(), gen.make_control()
    pd.testing.assert_frame_equal(a, b)
    assert a.to_csv(index=False) == (ROOT / "data/example/control.csv").read_text()
    t1 = datasets.load_example(1)
    post = [f"know_{i}_post" for i in range(1, 7)]
    dropped = t1["post_quiz"] == "Did not complete"
    assert dropped.sum() == 8 and t1.loc[dropped, post].isna().all().all()
    assert t1.loc[~dropped, post].notna().all().all()


def test_cohort2_shape_shared_questions_and_regeneration(tmp_path: Path) -> None:
    """Cohort 2 (SYNTHETIC): the same tiers' shape as Cohort 1, three shared questions with
    the same categories, its own two; the committed generator rewrites identical files."""
    import importlib.util

    t3, t1 = datasets.load_example(3, cohort=2), datasets.load_example(1, cohort=2)
    c1 = datasets.load_example(3)
    assert (len(t3), len(t1), t1["group_id"].nunique()) == (1000, 120, 16)
    for q in ("q_pact", "q_charge"):
        assert list(t3[q].cat.categories) == list(c1[q].cat.categories)
        assert list(t1[q + "_pre"].cat.categories) == list(c1[q].cat.categories)
    assert "trust_nhs" in t3 and "q_gp_planning" in t3 and "q_gp_planning" not in c1
    assert "SYNTHETIC" in t3.attrs["variable_labels"]["respondent_id"]
    root = Path(__file__).resolve().parents[1] / "data" / "example"
    spec = importlib.util.spec_from_file_location("make_cohort2", root / "make_cohort2.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.write(tmp_path)
    for name in ("cohort2_tier3_synthetic", "cohort2_tier1_synthetic"):
        for ext in ("csv", "sav"):
            assert (tmp_path / f"{name}.{ext}").read_bytes() == (root / f"{name}.{ext}").read_bytes()


def test_load_example_bad_cohort() -> None:
    with pytest.raises(DelibpollError, match="'cohort' parameter of load_example must be 1 or 2"):
        datasets.load_example(3, cohort=3)
