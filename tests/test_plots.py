"""Tests for delibpoll.plots: each chart is built, its layers and data checked, rendered to PNG,
and has alt text."""

from __future__ import annotations

from pathlib import Path

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
