"""Tests for delibpoll.pipeline: the cohort pipeline writes the full report, deterministically,
and its numbers are the estimators' numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "analyses" / "cohort1.toml"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dp.PipelineResult:
    return dp.run_config(CONFIG, output=tmp_path_factory.mktemp("out"))


def test_full_report_written(run: dp.PipelineResult) -> None:
    out = run.output
    for name in ["report.md", "report.html", "weighting_report.txt", "headline_estimates.csv",
                 "tier_comparison.csv", "information_arm_contrast.csv", "banner_tables.xlsx",
                 "banner_tables.html", "banner_tables.md", "charts/weights.png", "charts/margins.svg",
                 "charts/tiers_dumbbell.png", "representativeness_tier1_vs_tier3.csv"]:
        assert (out / name).exists(), name
    md = (out / "report.md").read_text()
    assert "SYNTHETIC" in md and "## Methods" in md and "non-randomised" in md
    assert "<img src='charts/weights.png' alt='Histogram" in (out / "report.html").read_text()


def test_headline_numbers_are_the_estimators(run: dp.PipelineResult) -> None:
    t3 = dp.datasets.load_example(3)
    raked = dp.rake(dp.SurveyDesign(t3), dp.datasets.england_adult_targets(), cap=6.0)
    e = dp.proportion(raked, "q_pact").to_frame().set_index("category").loc["Increase confidence"]
    h = pd.read_csv(run.output / "headline_estimates.csv")
    row = h[(h.question == "q_pact") & (h.category == "Increase confidence")].iloc[0]
    assert row["estimate"] == round(e["estimate"], 4)
    assert row["ci_lower"] == round(e["ci_lower"], 4)
    tc = pd.read_csv(run.output / "tier_comparison.csv")
    assert (abs(tc["difference"] - tc["deliberation_change"] - tc["baseline_gap"]) < 1e-5).all()


def test_two_runs_are_byte_identical(tmp_path: Path) -> None:
    cfg = tmp_path / "small.toml"
    cfg.write_text(
        f"""[cohort]
title = "Small"
synthetic = true
[data]
tier3 = "{ROOT / 'data/example/tier3.csv'}"
tier1 = "{ROOT / 'data/example/tier1.csv'}"
tier1_cluster = "group_id"
[weighting]
variables = ["sex", "age_group"]
[[headline]]
question = "q_pact"
category = "Increase confidence"
[comparison.questions.q_pact]
before = "q_pact_pre"
after = "q_pact_post"
[banner]
rows = ["q_pact"]
columns = ["sex"]
"""
    )
    a = dp.run_config(cfg, output=tmp_path / "a")
    b = dp.run_config(cfg, output=tmp_path / "b")
    for f in a.files:
        rel = f.relative_to(a.output)
        assert f.read_bytes() == (b.output / rel).read_bytes(), rel


def test_bad_config(tmp_path: Path) -> None:
    with pytest.raises(DelibpollError, match="does not exist"):
        dp.run_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[cohort\n")
    with pytest.raises(DelibpollError, match="not valid TOML"):
        dp.run_config(bad)
    bad.write_text("[cohort]\ntitle='x'\n")
    with pytest.raises(DelibpollError, match=r"\[root\] needs 'data'"):
        dp.run_config(bad, output=tmp_path / "o")
