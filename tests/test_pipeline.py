"""Tests for delibpoll.pipeline: the cohort pipeline writes the full report, deterministically,
and its numbers are the estimators' numbers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "analyses" / "cohort1.toml"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dp.PipelineResult:
    # the example config rakes on education with merged small categories, which are then not
    # balanced one by one: compare_tiers says so (issue #17)
    with pytest.warns(dp.WeightingWarning, match="ASMD above 0.1"):
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
    with pytest.raises(DelibpollError, match=r"needs a \[data\] section"):
        dp.run_config(bad, output=tmp_path / "o")


# ---------------------------------------------------------------------- generated prose
# Every sentence of the report must state what was done and measured (issue #12 item 13).
# The numbers are checked against an outside computation: the share errors, the weights at
# the cap and the adjustment-factor range are recomputed here with numpy from the written
# weights (tier3_weights.csv), the raw data file and the ONS target shares.

T3_CSV = ROOT / "data" / "example" / "tier3.csv"
T1_CSV = ROOT / "data" / "example" / "tier1.csv"
VARS = ["sex", "age_group", "region"]


def _small_config(tmp_path: Path, weighting: str, extra: str = "", name: str = "c") -> Path:
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(
        f"""[cohort]
title = "Prose check"
[data]
tier3 = "{T3_CSV}"
tier1 = "{T1_CSV}"
[weighting]
variables = {VARS!r}
{weighting}
[[headline]]
question = "q_pact"
category = "Increase confidence"
{extra}
""".replace("'", '"')
    )
    return cfg


def _methods(md: str) -> str:
    return md.split("## Methods", 1)[1]


def _outside_check(out: Path) -> tuple[np.ndarray, float]:
    """The final weights as written, and the largest |weighted share - target share| over the
    weighting margins, recomputed with numpy from the raw data and the ONS targets."""
    w = pd.read_csv(out / "tier3_weights.csv")["weight"].to_numpy()
    data = pd.read_csv(T3_CSV, keep_default_na=False)
    ons = pd.read_csv(ROOT / "data" / "population" / "england_adult_targets.csv")
    worst = 0.0
    for v in VARS:
        t = ons[ons["variable"] == v].set_index("category")["target"].astype(float)
        t = t / t.sum()
        codes = data[v].to_numpy()
        for cat, share in t.items():
            worst = max(worst, abs(float(w[codes == cat].sum() / w.sum()) - float(share)))
    return w, worst


def _stated_share_error(md: str) -> float:
    m = re.search(r"largest share error of ([0-9.e+-]+)", _methods(md))
    assert m, "the Methods must state the largest share error reached"
    return float(m.group(1))


def test_prose_states_the_cap_and_the_weights_at_it(tmp_path: Path) -> None:
    out = dp.run_config(_small_config(tmp_path, "method = 'rake'\ncap = 2.4".replace("'", '"')),
                        output=tmp_path / "o").output
    md = (out / "report.md").read_text(encoding="utf-8")
    w, worst = _outside_check(out)
    cap_value = 2.4 * w.mean()
    at_cap = int(np.sum(w >= cap_value * (1 - 1e-9)))
    assert at_cap > 0 and w.max() <= cap_value * (1 + 1e-9)  # the cap binds: a real test
    methods = _methods(md)
    assert "capped at 2.4 times the mean weight" in methods
    assert f"{at_cap} of the {len(w):,} weights are at the cap" in methods
    assert "no weights were trimmed" in methods
    # stated share error = the one recomputed from the weights (2 significant digits shown)
    assert _stated_share_error(md) == pytest.approx(worst, rel=0.05, abs=1e-13)
    assert worst < 1e-10
    # consistency with the design's own report (same run)
    margins = pd.read_csv(out / "weighting_margins.csv")
    assert _stated_share_error(md) == pytest.approx(margins["error"].abs().max(), rel=0.05)
    assert "capped weights are treated as raked" in methods
    assert "1e-10" in methods  # rake's stopping rule, as recorded in the weighting log


def test_prose_without_cap_says_nothing_was_capped(tmp_path: Path) -> None:
    out = dp.run_config(_small_config(tmp_path, ""), output=tmp_path / "o").output
    md = (out / "report.md").read_text(encoding="utf-8")
    methods = _methods(md)
    w, worst = _outside_check(out)
    assert "capped" not in methods and "no cap, bounds or trimming was applied" in methods.lower()
    assert _stated_share_error(md) == pytest.approx(worst, rel=0.05, abs=1e-13)
    n_iter = int(pd.read_csv(out / "weighting_summary.csv").set_index("statistic").loc["iterations", "value"])
    assert f"converged after {n_iter} iterations" in methods
    # no clusters were declared for Tier 1: the text must not claim clustering
    assert "rows treated as independent" in methods.split("Tier 1 standard errors", 1)[1]
    assert "clustered" not in methods


def test_prose_of_linear_calibration(tmp_path: Path) -> None:
    out = dp.run_config(_small_config(tmp_path, "method = 'linear'".replace("'", '"')),
                        output=tmp_path / "o").output
    md = (out / "report.md").read_text(encoding="utf-8")
    methods = _methods(md)
    w, worst = _outside_check(out)
    assert "calibrated (calibration function 'linear'" in methods
    assert "raked" not in methods and "raking" not in methods
    assert "accounting for the calibration" in methods
    assert _stated_share_error(md) == pytest.approx(worst, rel=0.05, abs=1e-13)


def test_prose_of_bounded_logit_calibration(tmp_path: Path) -> None:
    out = dp.run_config(
        _small_config(tmp_path, "method = 'logit'\nbounds = [0.7, 2.4]".replace("'", '"')),
        output=tmp_path / "o",
    ).output
    methods = _methods((out / "report.md").read_text(encoding="utf-8"))
    w, _ = _outside_check(out)
    g = w / 1.0  # equal starting weights
    assert 0.7 - 1e-9 <= g.min() and g.max() <= 2.4 + 1e-9
    assert "bounded to [0.7, 2.4]" in methods
    assert f"ranges from {g.min():.4g} to {g.max():.4g}" in methods


def test_prose_of_comparison_and_arm_follows_the_config(tmp_path: Path) -> None:
    extra = """[data_extra]
[comparison]
multiplicity = "none"
[comparison.questions.q_pact]
before = "q_pact_pre"
after = "q_pact_post"
[information_arm]
variable = "info_arm"
treated = "Reassured"
control = "Control"
question = "q_charge"
category = "Wrong"
"""
    cfg = _small_config(tmp_path, "", extra.replace("[data_extra]\n", ""))
    cfg.write_text(cfg.read_text().replace('tier1 = "', 'tier1_cluster = "group_id"\ntier1 = "'))
    md = (dp.run_config(cfg, output=tmp_path / "a").output / "report.md").read_text(encoding="utf-8")
    assert "causal" not in md and "randomised, Tier 3" not in md
    assert "not declare them randomised" in md
    assert "no multiplicity adjustment" in md and "agreement was not tested" in md
    assert "composition-adjusted" not in md  # no adjust_for in this config
    n_groups = pd.read_csv(T1_CSV)["group_id"].nunique()
    assert f"clustered by group_id ({n_groups} clusters)" in md
    # declaring the randomisation changes the wording, and only then
    cfg.write_text(cfg.read_text().replace('category = "Wrong"', 'category = "Wrong"\nrandomised = true'))
    md2 = (dp.run_config(cfg, output=tmp_path / "b").output / "report.md").read_text(encoding="utf-8")
    assert "declares the arms randomised" in md2 and "causal effect" in md2
