"""Knowledge and learning (delibpoll.deliberative.knowledge) on two real Deliberative Polls.

References: tests/reference/r/knowledge.R (R 4.2.2, survey 4.1.1 ``svymean``/``svyby``/
``svycontrast``; psych 2.2.9 ``alpha``), values in tests/reference/values/knowledge.csv.
Tolerances: 1e-10 relative for estimates and SEs (the same arithmetic in floating point),
1e-12 absolute for alpha. Hand-worked examples check the scoring rules.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from delibpoll import DelibpollError, SurveyDesign, knowledge, learning
from delibpoll.deliberative import cronbach_alpha

DATA = Path(__file__).resolve().parents[1] / "data" / "knowledge"
POLLS = {
    "uk1998": ("uk-health-1998-knowledge.csv", [f"soph{c}1r" for c in "abcdef"],
               [f"soph{c}2r" for c in "abcdef"], 0.5),
    "btp2005": ("btp-health-education-2005-knowledge.csv", [f"t1know{i}raw" for i in range(1, 7)],
                [f"t3know{i}raw" for i in range(1, 7)], 0.25),
}


def _poll(case: str) -> tuple[pd.DataFrame, list[str], list[str], float]:
    f, pre, post, chance = POLLS[case.removesuffix("_clustered")]
    df = pd.read_csv(DATA / f)
    df["grp"] = np.arange(len(df)) // 10
    df["w"] = 1.0 + np.arange(len(df)) % 3
    return df, pre, post, chance


def _design(case: str, df: pd.DataFrame) -> SurveyDesign:
    if case.endswith("_clustered"):
        return SurveyDesign(df, weights="w", ids="grp")
    return SurveyDesign(df)


CASES = ["uk1998", "uk1998_clustered", "btp2005", "btp2005_clustered"]


@pytest.mark.parametrize("case", CASES)
def test_learning_matches_r_svymean(ref, case: str) -> None:
    df, pre, post, chance = _poll(case)
    res = learning(_design(case, df), pre, post, chance=chance, by="female")
    fr = res.to_frame().set_index("measure")
    for measure, (b, a, g) in {"score": ("score_before", "score_after", "gain"),
                               "corrected_score": ("corrected_before", "corrected_after",
                                                   "corrected_gain")}.items():
        row = fr.loc[measure]
        assert row["before"] == pytest.approx(ref.get(case, "learning", "estimate", variable=b), rel=1e-10)
        assert row["after"] == pytest.approx(ref.get(case, "learning", "estimate", variable=a), rel=1e-10)
        assert row["gain"] == pytest.approx(ref.get(case, "learning", "estimate", variable=g), rel=1e-10)
        assert row["se"] == pytest.approx(ref.get(case, "learning", "se", variable=g), rel=1e-10)
    g = fr.loc["score"]
    assert g["df"] == ref.get(case, "learning", "df", variable="gain")
    assert g["ci_lower"] == pytest.approx(ref.get(case, "learning", "ci_lower", variable="gain"), rel=1e-10)
    assert g["ci_upper"] == pytest.approx(ref.get(case, "learning", "ci_upper", variable="gain"), rel=1e-10)
    items = res.item_frame().set_index("item_before")
    for item in pre:
        assert items.loc[item, "gain"] == pytest.approx(
            ref.get(case, "item_gain", "estimate", variable=item), rel=1e-10, abs=1e-14)
        assert items.loc[item, "se"] == pytest.approx(
            ref.get(case, "item_gain", "se", variable=item), rel=1e-10)
        assert items.loc[item, "dont_know_before"] == pytest.approx(
            ref.get(case, "dont_know_before", "estimate", variable=item), abs=1e-14)
    gaps = res.gap_frame()
    for measure in ("score_before", "gain", "corrected_gain"):
        sub = gaps[gaps["measure"] == measure].set_index("group")
        for grp in (0, 1):
            assert sub.loc[grp, "estimate"] == pytest.approx(ref.get(
                case, "group_mean", "estimate", variable=measure, domain=f"female={grp}"), rel=1e-10)
            assert sub.loc[grp, "se"] == pytest.approx(ref.get(
                case, "group_mean", "se", variable=measure, domain=f"female={grp}"), rel=1e-10)
        assert sub.loc[1, "gap"] == pytest.approx(ref.get(
            case, "group_gap", "estimate", variable=measure, domain="female=1-0"), rel=1e-10)
        assert sub.loc[1, "gap_se"] == pytest.approx(ref.get(
            case, "group_gap", "se", variable=measure, domain="female=1-0"), rel=1e-10)


@pytest.mark.parametrize("case", ["uk1998", "btp2005"])
def test_alpha_matches_psych(ref, case: str) -> None:
    df, pre, post, chance = _poll(case)
    res = learning(_design(case, df), pre, post)
    assert res.alpha_before == pytest.approx(
        ref.get(case, "alpha", "psych_raw_alpha", variable="before"), abs=1e-12)
    assert res.alpha_after == pytest.approx(
        ref.get(case, "alpha", "psych_raw_alpha", variable="after"), abs=1e-12)
    # psych and alpha's formula in base R agree (a check of the reference itself)
    assert ref.get(case, "alpha", "psych_raw_alpha", variable="before") == pytest.approx(
        ref.get(case, "alpha", "base_formula", variable="before"), abs=1e-12)
    k = knowledge(_design(case, df), post)
    assert k.alpha == pytest.approx(res.alpha_after, abs=1e-15)


def test_uk_headline_figures() -> None:
    """The UK 1998 figures quoted in docs/deliberative-polls.md (rounded as printed there)."""
    df, pre, post, _ = _poll("uk1998")
    fr = learning(SurveyDesign(df), pre, post, chance=0.5).to_frame().set_index("measure")
    assert round(fr.loc["score", "before"], 3) == 0.658
    assert round(fr.loc["score", "after"], 3) == 0.737
    assert round(fr.loc["corrected_score", "gain"], 3) == 0.134


def test_scoring_by_hand() -> None:
    """Three people, two true/false items (chance 1/2, so wrong counts -1 in the correction).
    Person 1: right, right -> score 1, corrected 1. Person 2: wrong, don't know -> score 0,
    corrected (-1 + 0)/2 = -0.5. Person 3: right, wrong -> 0.5, corrected 0."""
    df = pd.DataFrame({"a": ["T", "F", "T"], "b": ["T", "DK", "F"]})
    k = knowledge(SurveyDesign(df), ["a", "b"], key={"a": "T", "b": "T"}, chance=0.5,
                  dont_know=["DK"])
    s = k.scores
    assert s["score"].tolist() == [1.0, 0.0, 0.5]
    assert s["corrected_score"].tolist() == [1.0, -0.5, 0.0]
    assert s["dont_know"].tolist() == [0, 1, 0]
    fr = k.to_frame().set_index("measure")
    assert fr.loc["score", "estimate"] == pytest.approx(0.5)
    # SE of a mean with equal weights and no clusters: sd / sqrt(n)
    assert fr.loc["score", "se"] == pytest.approx(np.std([1, 0, 0.5], ddof=1) / np.sqrt(3))
    items = k.item_frame().set_index("item")
    assert items.loc["b", "dont_know"] == pytest.approx(1 / 3)
    assert items.loc["b", "wrong"] == pytest.approx(1 / 3)
    # the same key given as a list in item order
    k2 = knowledge(SurveyDesign(df), ["a", "b"], key=["T", "T"], dont_know=["DK"])
    assert k2.scores["score"].tolist() == [1.0, 0.0, 0.5]


def test_alpha_by_hand() -> None:
    # item variances (ddof 1): 1/3, 1/4, 1/4 -> sum 5/6; totals 3, 2, 1, 0 -> var 5/3
    x = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1], [0, 0, 0]])
    assert cronbach_alpha(x) == pytest.approx(1.5 * (1 - (5 / 6) / (5 / 3)))
    assert np.isnan(cronbach_alpha(np.ones((5, 3))))


def test_chance_per_item() -> None:
    df = pd.DataFrame({"p1": [0, 1], "p2": [0, 0], "q1": [1, 1], "q2": [0, 1]})
    res = learning(SurveyDesign(df), ["p1", "p2"], ["q1", "q2"], chance={"p1": 0.5, "p2": 0.25})
    s = res.scores
    # person 1 before: wrong (chance 1/2: -1), wrong (chance 1/4: -1/3) -> (-4/3)/2
    assert s["corrected_before"].iloc[0] == pytest.approx(-2 / 3)
    # after: right, wrong (-1/3) -> (2/3)/2
    assert s["corrected_after"].iloc[0] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pre": ["a"], "post": ["b", "c"]}, "same items"),
        ({"pre": "a", "post": ["b"]}, "'pre' parameter"),
        ({"pre": ["a"], "post": ["zz"]}, "zz"),
        ({"pre": ["a"], "post": ["b"], "chance": 1.5}, "'chance'"),
        ({"pre": ["a"], "post": ["b"], "chance": [0.5, 0.5]}, "'chance'"),
        ({"pre": ["a"], "post": ["b"], "key": {"a": 1}}, "'key'"),
        ({"pre": ["a"], "post": ["b"], "by": "nope"}, "'by'"),
        ({"pre": ["a"], "post": ["c"]}, "scored 1"),
    ],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    df = pd.DataFrame({"a": [1, 0, 1], "b": [1, 1, 0], "c": [2, 1, 0]})
    before = df.copy()
    with pytest.raises(DelibpollError, match=match):
        learning(SurveyDesign(df), **kwargs)
    pd.testing.assert_frame_equal(df, before)


@given(st.lists(st.tuples(st.sampled_from([0.0, 1.0, np.nan]), st.sampled_from([0.0, 1.0, np.nan]),
                          st.sampled_from([0.0, 1.0, np.nan]), st.sampled_from([0.0, 1.0, np.nan]),
                          st.floats(0.5, 3.0)), min_size=3, max_size=30))
def test_properties(rows: list[tuple[float, ...]]) -> None:
    df = pd.DataFrame(rows, columns=["a1", "b1", "a2", "b2", "w"])
    res = learning(SurveyDesign(df, weights="w"), ["a1", "b1"], ["a2", "b2"], chance=0.5)
    s = res.scores
    assert ((s["score_before"] >= 0) & (s["score_before"] <= 1)).all()
    # the correction never raises a score; "don't know" costs nothing
    assert (s["corrected_before"] <= s["score_before"] + 1e-15).all()
    fr = res.to_frame().set_index("measure")
    w = df["w"].to_numpy()
    # hand formula: the weighted mean of the per-person gains
    assert fr.loc["score", "gain"] == pytest.approx(np.sum(w * s["gain"]) / w.sum(), abs=1e-12)
    # right + wrong + don't know shares add to one for each item
    k = knowledge(SurveyDesign(df, weights="w"), ["a1", "b1"]).item_frame()
    assert np.allclose(k["right"] + k["wrong"] + k["dont_know"], 1.0)
