"""Tests for delibpoll.plots: each chart is built, its layers and data checked, rendered to PNG,
and has alt text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError
from delibpoll.plots import (
    alt_text,
    plot_estimates,
    plot_likert,
    plot_margins,
    plot_tiers,
    plot_weights,
)


@pytest.fixture(scope="module")
def designs():  # type: ignore[no-untyped-def]
    t3 = dp.datasets.load_example(3)
    t1 = dp.datasets.load_example(1)
    d3 = dp.rake(dp.SurveyDesign(t3), dp.datasets.england_adult_targets())
    return dp.SurveyDesign(t1, ids="group_id"), d3


def _render(p, path: Path) -> None:  # type: ignore[no-untyped-def]
    p.save(path, width=7, height=4.5, dpi=60, verbose=False)
    assert path.stat().st_size > 5000


def _layers(p) -> list[str]:  # type: ignore[no-untyped-def]
    return [type(layer.geom).__name__ for layer in p.layers]


def test_plot_estimates(designs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, d3 = designs
    est = dp.proportion(d3, "q_charge", by="info_arm")
    p = plot_estimates(est)
    assert _layers(p) == ["geom_errorbar", "geom_point"]
    assert len(p.data) == len(est.to_frame())
    assert "Wrong (Reassured)" in alt_text(p)
    _render(p, tmp_path / "e.png")


def test_plot_likert(designs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, d3 = designs
    est = dp.proportion(d3, "q_pact", by="sex")
    p = plot_likert(est, negative=["Decrease confidence"], neutral=["No impact"],
                    positive=["Increase confidence"], other=["Don't know"])
    neg = p.data[p.data["category"] == "Decrease confidence"]
    assert (neg["value"] < 0).all()
    assert "geom_col" in _layers(p)
    _render(p, tmp_path / "l.png")
    with pytest.raises(DelibpollError, match="not assigned"):
        plot_likert(est, negative=["Decrease confidence"], positive=["Increase confidence"])


def test_plot_tiers_dumbbell_and_scatter(designs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d1, d3 = designs
    qc = dp.compare_questions(d1, d3, {"q_pact": ("q_pact_pre", "q_pact_post")})
    p = plot_tiers(qc)
    assert set(p.data["group"]) == {"Tier 1 before", "Tier 1 after", "Tier 3 (public)"}
    assert "non-randomised" in alt_text(p)
    _render(p, tmp_path / "d.png")
    s = plot_tiers(qc, kind="scatter")
    assert "geom_abline" in _layers(s)
    _render(s, tmp_path / "s.png")
    with pytest.raises(DelibpollError, match="lacks"):
        plot_tiers(d3.data)


def test_plot_weights_and_margins(designs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d1, d3 = designs
    p = plot_weights(d3)
    assert _layers(p) == ["geom_histogram", "geom_vline"] and len(p.data) == d3.n
    _render(p, tmp_path / "w.png")
    m = plot_margins(d3)
    assert set(m.data["kind"]) == {"Sample (unweighted)", "Weighted", "Target"}
    assert "education" in alt_text(m)
    _render(m, tmp_path / "m.png")
    with pytest.raises(DelibpollError, match="weighted design"):
        plot_margins(d1)


# ---------------------------------------------------------------- claims in alt text (#12 items 13, 24)
def _unconverged():  # type: ignore[no-untyped-def]
    df = pd.DataFrame({"sex": ["F"] * 60 + ["M"] * 40,
                       "age": ["young"] * 50 + ["old"] * 10 + ["young"] * 10 + ["old"] * 30})
    t = dp.Targets.from_dict({"sex": {"F": 0.5, "M": 0.5}, "age": {"young": 0.3, "old": 0.7}})
    with pytest.warns(dp.ConvergenceWarning):
        return df, dp.rake(dp.SurveyDesign(df), t, max_iter=1, on_nonconvergence="warn")


def test_plot_margins_alt_text_states_the_largest_share_error() -> None:
    """One raking sweep cannot meet both margins: the alt text must say so, with the largest
    share error computed here directly from the weights (sum of weights per category over the
    total, against the target)."""
    df, d = _unconverged()
    w = d.weights.to_numpy()
    shares = {(v, c): w[(df[v] == c).to_numpy()].sum() / w.sum() for v in ("sex", "age") for c in df[v].unique()}
    target = {("sex", "F"): 0.5, ("sex", "M"): 0.5, ("age", "young"): 0.3, ("age", "old"): 0.7}
    err = {k: abs(shares[k] - target[k]) for k in target}
    (var, cat), worst = max(err.items(), key=lambda kv: kv[1])
    assert worst > 0.01  # the sweep really missed
    text = alt_text(plot_margins(d))
    assert "every share meets its target" not in text
    assert f"{var} '{cat}': {100 * shares[(var, cat)]:.1f}% weighted against a target of {100 * target[(var, cat)]:.1f}%" in text
    assert f"({100 * worst:.2g} percentage points)" in text and "did not converge" in text
    assert f"{100 * worst:.2g} percentage points" in plot_margins(d).labels.caption


def test_plot_margins_converged_says_within_tolerance(designs) -> None:  # type: ignore[no-untyped-def]
    _, d3 = designs
    text = alt_text(plot_margins(d3))
    assert "every weighted share is within 0.005 percentage points of its target" in text
    assert "did not converge" not in text


@pytest.mark.parametrize("group", ["negative", "neutral", "positive", "other"])
def test_plot_likert_refuses_unknown_category(designs, group: str) -> None:  # type: ignore[no-untyped-def]
    _, d3 = designs
    est = dp.proportion(d3, "q_pact")
    groups = {"negative": ["Decrease confidence"], "neutral": ["No impact"],
              "positive": ["Increase confidence"], "other": ["Don't know"]}
    groups[group] = [*groups[group], "Strongly agree"]
    with pytest.raises(DelibpollError, match=rf"'{group}' parameter of plot_likert names category 'Strongly agree', which is not in the estimate\. Available categories: \['Increase confidence'"):
        plot_likert(est, **groups)
    with pytest.raises(DelibpollError, match=r"'No impact' is given twice"):
        plot_likert(est, negative=["Decrease confidence", "No impact"], neutral=["No impact"],
                    positive=["Increase confidence"], other=["Don't know"])


def test_plot_tiers_refuses_unknown_category(designs) -> None:  # type: ignore[no-untyped-def]
    d1, d3 = designs
    qc = dp.compare_questions(d1, d3, {"q_pact": ("q_pact_pre", "q_pact_post")})
    with pytest.raises(DelibpollError, match=r"'category' parameter of plot_tiers names 'Nope'.*Available categories: \["):
        plot_tiers(qc, category="Nope")
    with pytest.raises(DelibpollError, match=r"'kind' parameter of plot_tiers must be 'dumbbell' or 'scatter'"):
        plot_tiers(qc, kind="bars")  # type: ignore[arg-type]


def test_plot_estimates_caption_states_the_bases(designs) -> None:  # type: ignore[no-untyped-def]
    """The caption gave the largest domain's n as 'the base'; it now gives the range of the
    domains' unweighted bases (counted here from the data)."""
    _, d3 = designs
    est = dp.proportion(d3, "q_charge", by="region")
    counts = d3.data.dropna(subset=["q_charge"]).groupby("region", observed=True).size()
    assert counts.min() < counts.max()
    cap = plot_estimates(est).labels.caption
    assert cap == f"Bases: {counts.min()} to {counts.max()} respondents per domain."
    # a bare frame carries no level: the title must not claim one
    fr = est.to_frame()[["category", "estimate", "ci_lower", "ci_upper"]]
    assert plot_estimates(fr).labels.title == "Estimates with confidence intervals"
    assert plot_estimates(fr).labels.caption == "Bases not given."


def test_plot_weights_checks_its_arguments(designs) -> None:  # type: ignore[no-untyped-def]
    _, d3 = designs
    with pytest.raises(DelibpollError, match="plot_weights needs a SurveyDesign; got DataFrame"):
        plot_weights(d3.data)
    with pytest.raises(DelibpollError, match=r"'bins' parameter of plot_weights must be an integer >= 1\. Got 0"):
        plot_weights(d3, bins=0)
