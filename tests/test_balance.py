"""Balance diagnostics (delibpoll.deliberative.balance).

References: the ASMD formula worked in the test with pandas' weighted shares
(|p1 - p3| / sqrt((p1 (1 - p1) + p3 (1 - p3)) / 2)) and Kish's n_eff = (sum w)^2 / sum w^2;
raking meets its margins to 1e-10, so the adjusted ASMD of a raked covariate is ~0.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError, SurveyDesign, WeightingWarning
from delibpoll.deliberative import balance


def _tiers() -> tuple[SurveyDesign, SurveyDesign]:
    t3 = dp.rake(SurveyDesign(dp.datasets.load_example(3)), dp.datasets.england_adult_targets())
    t1 = SurveyDesign(dp.datasets.load_example(1), ids="group_id")
    return t1, t3


def test_asmd_by_hand_and_after_raking() -> None:
    t1, t3 = _tiers()
    raked = dp.rake(t1, t3.profile(["sex", "education"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeightingWarning)
        b = balance(t1, t3, ["sex", "education"], adjusted=raked)
    fr = b.to_frame().set_index(["covariate", "category"])
    d3 = t3.data.assign(w=t3.weight_array)
    d1 = t1.data
    for cat in d1["education"].unique():
        p1 = float((d1["education"] == cat).mean())
        p3 = float(d3.loc[d3["education"] == cat, "w"].sum() / d3["w"].sum())
        expected = abs(p1 - p3) / np.sqrt((p1 * (1 - p1) + p3 * (1 - p3)) / 2)
        assert fr.loc[("education", cat), "asmd_before"] == pytest.approx(expected, rel=1e-12)
        assert fr.loc[("education", cat), "asmd_after"] == pytest.approx(0.0, abs=1e-8)
    w = raked.weight_array
    assert b.n_eff_after == pytest.approx(w.sum() ** 2 / np.sum(w**2), rel=1e-12)
    assert b.n_eff_before == pytest.approx(t1.n)
    assert b.balanced


def test_warns_when_not_balanced() -> None:
    t1, t3 = _tiers()
    with pytest.warns(WeightingWarning, match="ASMD above 0.1"):
        b = balance(t1, t3, ["education"])
    assert not b.balanced


def test_warns_when_effective_size_collapses() -> None:
    t1 = SurveyDesign(pd.DataFrame({"s": ["a"] * 9 + ["b"], "w": [1.0] * 9 + [50.0]}),
                      weights="w")
    plain = SurveyDesign(pd.DataFrame({"s": ["a"] * 9 + ["b"]}))
    t3 = SurveyDesign(pd.DataFrame({"s": ["a", "b"], "w": [9.0, 50.0]}), weights="w")
    # Kish n_eff: 59^2 / (9 + 2500) = 1.39 of 10
    with pytest.warns(WeightingWarning, match="effective size"):
        b = balance(plain, t3, ["s"], adjusted=t1)
    assert b.n_eff_after == pytest.approx(59**2 / 2509)


def test_bad_input() -> None:
    t1, t3 = _tiers()
    with pytest.raises(DelibpollError, match="covariates"):
        balance(t1, t3, [])
    with pytest.raises(DelibpollError, match="'adjusted'"):
        balance(t1, t3, ["sex"], adjusted=t3)
