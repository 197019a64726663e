"""Attrition between the two Tier 1 surveys (delibpoll.deliberative.attrition) against R.

Reference: tests/reference/r/attrition.R (R 4.2.2, survey 4.1.1: svymean, rake, svyciprop,
svyby + svycontrast) on the synthetic example's Tier 1 with post answers removed by a fixed
rule related to the pre answer; values in tests/reference/values/attrition.csv. Tolerance
1e-9 relative (svyciprop's logit fit converges to ~1e-12).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from delibpoll import AttritionWarning, DelibpollError, SurveyDesign, attrition

DATA = Path(__file__).resolve().parents[1] / "data" / "example" / "tier1.csv"
CASE = "example_attrition"


def _tier1() -> pd.DataFrame:
    t1 = pd.read_csv(DATA)
    drop = (t1["participant_id"] % 4 == 0) | ((t1["trust_nhs_pre"] <= 4)
                                              & (t1["participant_id"] % 3 == 0))
    t1.loc[drop, "trust_nhs_post"] = np.nan
    return t1


def test_attrition_matches_r(ref) -> None:
    t1 = _tier1()
    before = t1.copy()
    with pytest.warns(AttritionWarning, match="28.3%"):
        res = attrition(SurveyDesign(t1, ids="group_id"), "trust_nhs_pre", "trust_nhs_post",
                        adjust_for=["sex"])
    pd.testing.assert_frame_equal(t1, before)
    fr = res.to_frame().set_index(["estimate_of", "measure"])
    for kind, stat in (("complete_case", "complete_case"), ("attrition_adjusted", "adjusted")):
        for m in ("before", "after", "change"):
            assert fr.loc[(kind, m), "estimate"] == pytest.approx(
                ref.get(CASE, stat, "estimate", variable=m), rel=1e-9)
            assert fr.loc[(kind, m), "se"] == pytest.approx(
                ref.get(CASE, stat, "se", variable=m), rel=1e-9)
    assert fr.loc[("attrition_adjusted", "change"), "n_eff"] == pytest.approx(
        ref.get(CASE, "adjusted", "n_eff"), rel=1e-9)
    rates = res.rate_frame().set_index("category")
    for dom in ("all", "Female", "Male"):
        for col, q in (("rate", "estimate"), ("ci_lower", "ci_lower"), ("ci_upper", "ci_upper")):
            assert rates.loc[dom, col] == pytest.approx(ref.get(CASE, "rate", q, domain=dom), rel=1e-9)
    gap = res.pre_gap_frame().iloc[1]
    assert gap["gap"] == pytest.approx(ref.get(CASE, "pre_gap", "estimate"), rel=1e-9)
    assert gap["gap_se"] == pytest.approx(ref.get(CASE, "pre_gap", "se"), rel=1e-9)
    assert res.n_before == 99 and res.n_complete == 71


def test_warns_when_related_to_pre_answers() -> None:
    """Everyone with a pre answer of 4 or less drops out: the drop-outs' pre mean is lower."""
    rng = np.random.default_rng(3)
    pre = rng.integers(0, 11, 200).astype(float)
    post = np.where(pre <= 4, np.nan, pre + 1)
    df = pd.DataFrame({"pre": pre, "post": post})
    with pytest.warns(AttritionWarning, match="related to the pre answers"):
        attrition(SurveyDesign(df), "pre", "post", adjust_pre=False, max_rate=0.9)


def test_no_attrition_no_warning() -> None:
    df = pd.DataFrame({"pre": [1.0, 2, 3, 4], "post": [2.0, 2, 4, 5], "s": ["a", "b", "a", "b"]})
    res = attrition(SurveyDesign(df), "pre", "post", adjust_for=["s"], adjust_pre=False)
    fr = res.to_frame().set_index(["estimate_of", "measure"])
    # by hand: changes 1, 0, 1, 1 -> 0.75; nobody dropped out, and raking to the same
    # profile leaves the weights as they were
    assert fr.loc[("complete_case", "change"), "estimate"] == pytest.approx(0.75)
    assert fr.loc[("attrition_adjusted", "change"), "estimate"] == pytest.approx(0.75)
    assert res.rate == 0.0 and res.warnings == ()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"before": "pre", "after": "txt"}, "numeric answers"),
     ({"before": "pre", "after": "post", "max_rate": 2}, "max_rate"),
     ({"before": "pre", "after": "post", "adjust_for": ["gap"]}, "missing values"),
     ({"before": "pre", "after": "zz"}, "zz")],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    df = pd.DataFrame({"pre": [1.0, 2, 3, 4], "post": [2.0, 2, 4, 5],
                       "txt": ["a", "b", "c", "d"], "gap": ["x", None, "y", "x"]})
    with pytest.raises(DelibpollError, match=match):
        attrition(SurveyDesign(df), **kwargs)
