"""Tests of plots_balance.plot_balance (the love plot)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll.deliberative import balance
from delibpoll.plots import alt_text
from delibpoll.plots_balance import plot_balance


def _balance() -> dp.deliberative.Balance:
    """Tier 1: 3 F / 1 M; Tier 3: 1 F / 1 M; adjusted Tier 1 weights 1/3, 1/3, 1/3, 1."""
    t1 = pd.DataFrame({"sex": ["F", "F", "F", "M"]})
    t3 = pd.DataFrame({"sex": ["F", "M"]})
    d1 = dp.SurveyDesign(t1)
    adj = d1.with_fixed_weights(np.array([1 / 3, 1 / 3, 1 / 3, 1.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dp.WeightingWarning)
        return balance(d1, dp.SurveyDesign(t3), ["sex"], adjusted=adj)


def test_love_plot_draws_the_asmds_before_and_after_worked_by_hand() -> None:
    """Worked by hand: before, p_1(F) = 0.75 and p_3(F) = 0.5, ASMD = 0.25 / sqrt((0.1875 +
    0.25) / 2) = 0.5345 for both categories; after, Tier 1's F share is 1 / 2, ASMD 0.
    Kish n_eff after = (2)^2 / (3/9 + 1) = 3. The plotted data carry exactly these."""
    b = _balance()
    p = plot_balance(b)
    data = p.data.set_index(["item", "stage"])["asmd"]
    asmd = 0.25 / np.sqrt((0.1875 + 0.25) / 2)
    assert data[("sex: F", "Before adjustment")] == pytest.approx(asmd, rel=1e-12)
    assert data[("sex: M", "Before adjustment")] == pytest.approx(asmd, rel=1e-12)
    assert data[("sex: F", "After adjustment")] == pytest.approx(0.0, abs=1e-12)
    assert b.n_eff_after == pytest.approx(3.0, rel=1e-12)
    text = alt_text(p)
    assert "Before adjustment: 2 of 2 above 0.1, largest 0.53" in text
    assert "After adjustment: 0 of 2 above 0.1" in text
    assert "4.0 before and 3.0 after of 4" in text
    assert p.labels.x == "Absolute standardised mean difference (Tier 1 vs Tier 3)"
    p.draw()  # renders without error


def test_love_plot_from_compare_tiers_renders(tmp_path) -> None:  # type: ignore[no-untyped-def]
    t3 = dp.datasets.load_example(3)
    t1 = dp.datasets.load_example(1)
    d3 = dp.rake(dp.SurveyDesign(t3), dp.datasets.england_adult_targets(), tol=1e-12)
    d1 = dp.SurveyDesign(t1, ids="group_id")
    r = dp.compare_tiers(d1, d3, "q_pact", after="q_pact_post", adjust_for=["sex", "age_group"],
                         method="entropy")
    assert r.balance is not None
    out = tmp_path / "love.png"
    plot_balance(r.balance).save(out, dpi=50, verbose=False)
    assert out.stat().st_size > 1000
    assert "After adjustment: 0 of 9 above 0.1" in alt_text(plot_balance(r.balance))


def test_love_plot_bad_input_names_the_parameter() -> None:
    with pytest.raises(dp.DelibpollError, match="'balance_result'.*Balance"):
        plot_balance(pd.DataFrame())  # type: ignore[arg-type]
    with pytest.raises(dp.DelibpollError, match="'title'"):
        plot_balance(_balance(), title=3)  # type: ignore[arg-type]


def test_love_plot_uses_labels_and_note() -> None:
    """The pipeline passes the data's labels: the axis shows words, not column names, and
    long labels wrap instead of squeezing the panel."""
    long_label = "Highest qualification of the respondent, as asked in the survey"
    p = plot_balance(_balance(), labels={"sex": long_label, "sex:F": "Female"},
                     note="SYNTHETIC DATA")
    items = list(p.data["item"].cat.categories)
    assert any(i.startswith("Highest qualification") and "\n" in i and i.endswith("Female")
               for i in items)
    text = alt_text(p)
    assert f"({long_label} = Female)" in text and text.endswith("SYNTHETIC DATA")
    assert "SYNTHETIC DATA" in p.labels.caption
    with pytest.raises(dp.DelibpollError, match="'labels' parameter of plot_balance"):
        plot_balance(_balance(), labels=3)  # type: ignore[arg-type]
