"""Group dynamics (delibpoll.deliberative.dynamics) against R.

References: tests/reference/r/dynamics.R (R 4.2.2: base ``aov`` for ICC(1), survey 4.1.1
``svyvar``, ``svymean``, ``svyglm``), values in tests/reference/values/dynamics.csv; data:
the synthetic example's Tier 1 (trust 0-10, 12 groups; also with weights 1, 2, 3 repeating)
and the real Marousi Deliberative Poll (knowledge index, 15 groups). Tolerance 1e-9 relative
(1e-12 absolute near 0). A hand-worked ICC checks the ANOVA formula.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from delibpoll import DelibpollError, SurveyDesign, group_dynamics
from delibpoll.deliberative import icc1

DATA = Path(__file__).resolve().parents[1] / "data"
CASES = {
    "example_trust": ("example/tier1.csv", "trust_nhs_pre", "trust_nhs_post", "group_id", False),
    "example_trust_weighted": ("example/tier1.csv", "trust_nhs_pre", "trust_nhs_post",
                               "group_id", True),
    "marousi_know": ("marousi/marousi-greece.csv", "t1know", "t2know", "pollgroup", False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_group_dynamics_matches_r(ref, case: str) -> None:
    f, b, a, g, weighted = CASES[case]
    df = pd.read_csv(DATA / f)
    keep = df[[b, a, g]].notna().all(axis=1)
    # R drops incomplete pairs before numbering the rows for its weights
    df["w"] = 1.0
    if weighted:
        df.loc[keep, "w"] = 1.0 + np.arange(int(keep.sum())) % 3
    res = group_dynamics(SurveyDesign(df, ids=g, weights="w"), b, a)
    fr = res.to_frame().set_index("quantity")

    def close(q: str, col: str, expected: float) -> None:
        assert fr.loc[q, col] == pytest.approx(expected, rel=1e-9, abs=1e-12), (q, col)

    for which in ("before", "after"):
        if not weighted:  # ICC(1) is unweighted
            for col in ("estimate", "ci_lower", "ci_upper", "p_value"):
                close(f"icc_{which}", col, ref.get(case, "icc1", col, variable=which))
        close(f"variance_{which}", "estimate", ref.get(case, "svyvar", "estimate", variable=which))
        close(f"variance_{which}", "se", ref.get(case, "svyvar", "se", variable=which))
        close(f"within_variance_{which}", "estimate",
              ref.get(case, "within_variance", "estimate", variable=which))
        close(f"within_variance_{which}", "se", ref.get(case, "within_variance", "se", variable=which))
        close(f"sd_{which}", "estimate", np.sqrt(ref.get(case, "svyvar", "estimate", variable=which)))
    close("variance_change", "estimate", ref.get(case, "svyvar", "estimate", variable="change"))
    close("variance_change", "se", ref.get(case, "svyvar", "se", variable="change"))
    close("within_variance_change", "se", ref.get(case, "within_variance", "se", variable="change"))
    close("movement_slope", "estimate", ref.get(case, "movement", "estimate"))
    close("movement_slope", "se", ref.get(case, "movement", "se"))
    close("movement_slope", "p_value", ref.get(case, "movement", "p_value"))
    assert fr.loc["movement_slope", "df"] == ref.get(case, "movement", "df")


def test_icc_by_hand() -> None:
    # groups (1, 2, 3) and (5, 6, 7): MSB = 3 (2^2 + 2^2) / 1 = 24, MSW = 4 / 4 = 1, n0 = 3
    r = icc1(np.array([1.0, 2, 3, 5, 6, 7]), np.array([0, 0, 0, 1, 1, 1]))
    assert r["msb"] == pytest.approx(24.0)
    assert r["msw"] == pytest.approx(1.0)
    assert r["icc"] == pytest.approx(23 / 26)
    # unequal sizes (2 and 4): n0 = (6 - (4 + 16) / 6) / 1 = 8/3
    r = icc1(np.array([1.0, 2, 5, 6, 7, 6]), np.array([0, 0, 1, 1, 1, 1]))
    assert r["n0"] == pytest.approx(8 / 3)


def test_sd_delta_method() -> None:
    df = pd.read_csv(DATA / "example/tier1.csv")
    fr = group_dynamics(SurveyDesign(df, ids="group_id"), "trust_nhs_pre",
                        "trust_nhs_post").to_frame().set_index("quantity")
    assert fr.loc["sd_before", "se"] == pytest.approx(
        fr.loc["variance_before", "se"] / (2 * fr.loc["sd_before", "estimate"]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"before": "x", "after": "y"}, "discussion group"),
     ({"before": "x", "after": "y", "group": "nope"}, "nope"),
     ({"before": "x", "after": "t", "group": "g"}, "numeric answers"),
     ({"before": "x", "after": "y", "group": "solo"}, "at least two groups")],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    df = pd.DataFrame({"x": [1, 2, 3, 4], "y": [2, 2, 3, 5], "g": [1, 1, 2, 2],
                       "solo": [1, 2, 3, 4], "t": ["a", "b", "c", "d"]})
    with pytest.raises(DelibpollError, match=match):
        group_dynamics(SurveyDesign(df), **kwargs)


@given(st.lists(st.tuples(st.integers(0, 10), st.integers(0, 10), st.integers(0, 3)),
                min_size=8, max_size=40))
def test_icc_properties(rows: list[tuple[int, int, int]]) -> None:
    """ICC(1) is at most 1, and shifting a whole group's answers by a constant changes the
    between-group part only (MSW unchanged)."""
    df = pd.DataFrame(rows, columns=["pre", "post", "g"])
    y, g = df["pre"].to_numpy(dtype=float), df["g"].to_numpy()
    if len(np.unique(g)) < 2 or len(y) - len(np.unique(g)) < 1:
        return
    r = icc1(y, g)
    if np.isfinite(r["icc"]):
        assert r["icc"] <= 1 + 1e-12
    r2 = icc1(y + 3.0 * (g == g[0]), g)
    assert r2["msw"] == pytest.approx(r["msw"], abs=1e-9)
