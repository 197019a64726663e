"""Tests for delibpoll.plots: each chart is built, its layers and data checked, rendered to PNG,
and has alt text."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
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
    assert set(m.data["kind"]) == {"Sample, unweighted", "Sample, weighted", "Population target"}
    assert "Highest qualification" in alt_text(m)
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
    label = {"sex": "Sex", "age": "Age"}[var]  # the readable fallback of the unlabelled names
    assert f"{label} '{cat}': {100 * shares[(var, cat)]:.1f}% weighted against a target of {100 * target[(var, cat)]:.1f}%" in text
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
    assert cap == f"Bases: {counts.min():,} to {counts.max():,} respondents."
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


# ---------------------------------------------------------------- words, ticks, palette (#14)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from delibpoll._labels import Labels  # noqa: E402
from delibpoll.plots import (  # noqa: E402
    PALETTE,
    _percent_breaks,
    _percent_labels,
)


def _labelled():  # type: ignore[no-untyped-def]
    t3 = dp.read_survey(dp.datasets.data_path("example", "tier3.sav"))
    t1 = dp.read_survey(dp.datasets.data_path("example", "tier1.sav"))
    d3 = dp.rake(dp.SurveyDesign(t3), dp.datasets.england_adult_targets())
    return dp.SurveyDesign(t1, ids="group_id"), d3, Labels.from_attrs(d3.attrs)


SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def _texts(p) -> list[str]:  # type: ignore[no-untyped-def]
    lab = p.labels
    return [str(getattr(lab, k) or "") for k in ("title", "subtitle", "caption", "x", "y")]


def test_charts_use_the_files_labels_never_variable_names(tmp_path: Path) -> None:
    d1, d3, lab = _labelled()
    qc = dp.compare_questions(d1, d3, {"q_pact": ("q_pact_pre", "q_pact_post"),
                                       "q_charge": ("q_charge_pre", "q_charge_post")})
    wording = "Would a Data Pact increase or decrease your confidence in how the NHS uses data?"
    charts = {
        "estimates": plot_estimates(dp.proportion(d3, "q_pact", by="sex"), labels=lab),
        "tiers": plot_tiers(qc, labels=lab),
        "margins": plot_margins(d3),  # a design brings its own labels
        "likert": plot_likert(dp.proportion(d3, "q_pact"), labels=lab,
                              negative=["Decrease confidence"], neutral=["No impact"],
                              positive=["Increase confidence"], other=["Don't know"]),
    }
    for name, p in charts.items():
        for text in [*_texts(p), alt_text(p)]:
            assert not SNAKE.search(text), (name, text)
        _render(p, tmp_path / f"{name}.png")
    assert charts["estimates"].labels.title.replace("\n", " ") == wording
    colour = next(s for s in charts["estimates"].scales if "color" in s.aesthetics)
    assert colour.name == "Sex"  # legend title in words
    assert wording in alt_text(charts["tiers"])
    facets = set(charts["tiers"].data["question"].astype(str).str.replace("\n", " "))
    assert wording in facets
    margin_facets = set(charts["margins"].data["facet"].astype(str).str.replace("\n", " "))
    assert margin_facets == {"Sex", "Age group", "Region (England)", "Highest qualification",
                             "Ethnic group"}
    # the author's labels win over the file's
    p = plot_estimates(dp.proportion(d3, "q_pact"), labels={"q_pact": "Data Pact and confidence"})
    assert p.labels.title == "Data Pact and confidence"


def test_single_series_has_no_legend_and_a_single_base() -> None:
    _, d3, lab = _labelled()
    p = plot_estimates(dp.proportion(d3, "q_pact"), labels=lab)
    assert p.theme.themeables.property("legend_position") == "none"
    n = int(d3.data["q_pact"].notna().sum())
    assert p.labels.caption == f"Base: {n:,} respondents."


def test_note_is_a_caption_line_and_in_the_alt_text() -> None:
    _, d3, _ = _labelled()
    note = "SYNTHETIC DATA: no respondent is real."
    for p in (plot_weights(d3, note=note), plot_margins(d3, note=note),
              plot_estimates(dp.proportion(d3, "q_pact"), note=note)):
        assert p.labels.caption.splitlines()[-1] == note
        assert alt_text(p).endswith(note)


@settings(max_examples=200, deadline=None)
@given(lo=st.floats(0, 0.95), width=st.floats(0.004, 1.0), max_breaks=st.integers(3, 6))
def test_percent_ticks_are_labelled_with_their_exact_values(lo: float, width: float,
                                                           max_breaks: int) -> None:
    """Each tick's label, read back as a number, is the tick's value (7.5% is never '8%'),
    there are 2 to max_breaks ticks inside the limits, evenly spaced."""
    hi = min(lo + width, 1.0)
    breaks = _percent_breaks((lo, hi), max_breaks)
    assert 2 <= len(breaks) <= max_breaks
    assert all(lo - 1e-9 <= b <= hi + 1e-9 for b in breaks)
    steps = {round(b - a, 9) for a, b in zip(breaks, breaks[1:], strict=False)}
    assert len(steps) == 1
    for b, text in zip(breaks, _percent_labels(breaks), strict=True):
        assert text.endswith("%")
        assert float(text[:-1]) == pytest.approx(100 * b, abs=1e-9)


def test_margins_ticks_of_the_region_panel() -> None:
    """The region shares of the example run from about 4% to 18%: the ticks were at 7.5% and
    12.5% labelled '8%' and '12%'; now they sit at 5%, 10% and 15%."""
    assert _percent_breaks((0.04, 0.18), 3) == [0.05, 0.1, 0.15]
    assert _percent_labels([0.05, 0.1, 0.15]) == ["5%", "10%", "15%"]
    assert _percent_labels([0.025, 0.05]) == ["2.5%", "5.0%"]


def _contrast_on_white(hex_colour: str) -> float:
    """WCAG 2.1 contrast ratio against white, from the relative-luminance formula."""
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return 1.05 / (lum + 0.05)


def test_palette_has_12_colours_readable_on_white() -> None:
    assert len(PALETTE) == len(set(PALETTE)) == 12
    assert "#F0E442" not in PALETTE  # Okabe-Ito's yellow
    assert _contrast_on_white("#F0E442") < 1.5  # why it went: the formula's own verdict
    assert min(_contrast_on_white(c) for c in PALETTE) >= 2.0


def test_tier_whiskers_are_dodged() -> None:
    d1, d3, lab = _labelled()
    qc = dp.compare_questions(d1, d3, {"q_pact": ("q_pact_pre", "q_pact_post")})
    p = plot_tiers(qc, labels=lab)
    positions = {type(layer.position).__name__ for layer in p.layers}
    assert positions == {"position_dodge"}


def test_plot_likert_battery_keeps_the_given_order(tmp_path: Path) -> None:
    """Statements top to bottom in the order given (as the grid table's rows), the legend in
    the scale's order, negatives left of zero and the neutral answer in its own panel."""
    _, d3, lab = _labelled()
    ests = [dp.proportion(d3, "q_pact"), dp.proportion(d3, "q_pact", by=None)]
    p = plot_likert(ests, labels={**{"q_pact": "First statement"}}, negative=["Decrease confidence"],
                    neutral=["No impact"], positive=["Increase confidence"], other=["Don't know"])
    rows = list(p.data["row"].cat.categories)
    assert rows[-1] == "First statement"  # the first statement is drawn at the top
    neg = p.data[p.data["answer"] == "Decrease confidence"]
    assert (neg["value"] < 0).all()
    assert set(p.data.loc[p.data["answer"] == "No impact", "panel"]) == {"Neutral,\nother"}
    scale = next(s for s in p.scales if "fill" in s.aesthetics)
    assert list(scale.breaks) == ["Decrease confidence", "No impact", "Increase confidence",
                                  "Don't know"]
    _render(p, tmp_path / "battery.png")


def test_plot_likert_takes_a_grid_in_its_order_and_words() -> None:
    """A likert_grid goes straight into plot_likert: one bar per statement, in the grid's
    order, with the grid's words; the shares in the alt text are the answer counts / n,
    worked here with pandas (each 300 unweighted answers)."""
    rng = np.random.default_rng(1)
    scale = ["Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree"]
    df = pd.DataFrame({f"s{i}": pd.Categorical(rng.choice(scale, 300), categories=scale)
                       for i in range(3)})
    words = {"s0": "I trust the NHS with my data", "s1": "Data should be shared for research",
             "s2": "I would opt out"}
    grid = dp.likert_grid(dp.SurveyDesign(df), ["s0", "s1", "s2"], labels=words)
    p = dp.plot_likert(grid, negative=scale[:2], neutral=["Neither"], positive=scale[3:])
    text = dp.alt_text(p)
    parts = text.split(". ", 1)[1].rstrip(".").split("; ")
    assert [s.split(":")[0] for s in parts] == list(words.values())
    for item, part in zip(words, parts, strict=True):
        shares = df[item].value_counts(normalize=True)
        for answer in scale:
            assert f"{answer} {round(100 * shares[answer]):.0f}%" in part


@pytest.fixture(scope="module")
def cohorts_comparison(designs):  # type: ignore[no-untyped-def]
    d2 = dp.rake(dp.SurveyDesign(dp.datasets.load_example(3, cohort=2)),
                 dp.datasets.england_adult_targets())
    return dp.compare_cohorts({"Cohort 1": designs[1], "Cohort 2": d2}, ["q_pact", "trust_nhs"])


def test_plot_trend(cohorts_comparison, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from delibpoll.plots import plot_trend

    est = cohorts_comparison.estimates()
    p = plot_trend(cohorts_comparison, question="q_pact", note="SYNTHETIC")
    assert _layers(p) == ["geom_line", "geom_errorbar", "geom_point", "geom_text", "geom_text",
                          "geom_text", "geom_blank"]  # geom_blank: the y axis starts at 0
    shown = p.data.sort_values(["answer", "cohort"])
    want = est[est["question"] == "q_pact"]
    assert sorted(shown["estimate"].round(12)) == sorted(want["estimate"].round(12))
    assert list(p.data["cohort"].cat.categories) == ["Cohort 1", "Cohort 2"]
    # the last cohort's labels name the answer (direct labels, no legend)
    right = p.layers[4].geom.data
    assert right["text"].str.contains("Increase confidence").any()
    assert all(t.startswith(("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")) for t in right["text"])
    # labels never closer than the minimum gap within a cohort
    for _, g in p.data.groupby("cohort", observed=True):
        ys = np.sort(g["label_y"].to_numpy())
        assert (np.diff(ys) >= 0.055 * (p.data["ci_upper"].max() - 0) - 1e-12).all()
    text = alt_text(p)
    inc = est[(est["question"] == "q_pact") & (est["category"] == "Increase confidence")]["estimate"]
    assert f"Increase confidence: Cohort 1 {round(100 * inc.iloc[0])}%, Cohort 2 {round(100 * inc.iloc[1])}%" in text
    assert text.endswith("SYNTHETIC")
    _render(p, tmp_path / "trend.png")
    m = plot_trend(cohorts_comparison, question="trust_nhs")
    assert m.labels.y == "Mean"
    _render(m, tmp_path / "trend_mean.png")


def test_plot_trend_errors(cohorts_comparison) -> None:  # type: ignore[no-untyped-def]
    from delibpoll.plots import plot_trend

    with pytest.raises(DelibpollError, match="has 2 questions"):
        plot_trend(cohorts_comparison)
    with pytest.raises(DelibpollError, match="names 'q_x'"):
        plot_trend(cohorts_comparison, question="q_x")
    with pytest.raises(DelibpollError, match=r"\['Maybe'\], not answers of 'q_pact'"):
        plot_trend(cohorts_comparison, question="q_pact", categories=["Maybe"])
    with pytest.raises(DelibpollError, match="needs a compare_cohorts result"):
        plot_trend(42)
