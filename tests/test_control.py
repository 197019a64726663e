"""Control groups (delibpoll.deliberative.control) against R.

Reference: tests/reference/r/control.R (R 4.2.2, survey 4.1.1 svymean on each sample's own
design), values in tests/reference/values/control.csv. The combination of two independent
samples is worked here by hand from R's values: difference, sqrt(se_T^2 + se_C^2), Welch df.
Tolerance 1e-9 relative.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from delibpoll import DelibpollError, SurveyDesign, difference_in_differences, possible_comparisons

DATA = Path(__file__).resolve().parents[1] / "data" / "example"


def test_did_matches_r(ref) -> None:
    t1 = pd.read_csv(DATA / "tier1.csv")
    t3 = pd.read_csv(DATA / "tier3.csv")
    t3["before"] = t3["trust_nhs"]
    t3["after"] = t3["trust_nhs"] + t3["respondent_id"] % 3 - 1
    t3["w"] = 1.0 + t3["respondent_id"] % 2
    res = difference_in_differences(SurveyDesign(t1, ids="group_id"), SurveyDesign(t3, weights="w"),
                                    "trust_nhs_pre", "trust_nhs_post",
                                    control_before="before", control_after="after")
    fr = res.to_frame().set_index("quantity")
    r = {(s, m, q): ref.get("example_did", s, q, variable=m)
         for s in ("treated", "control") for m in ("before", "after", "change") for q in ("estimate", "se")}
    for s in ("treated", "control"):
        for m in ("before", "after", "change"):
            assert fr.loc[f"{s}_{m}", "estimate"] == pytest.approx(r[(s, m, "estimate")], rel=1e-9)
            assert fr.loc[f"{s}_{m}", "se"] == pytest.approx(r[(s, m, "se")], rel=1e-9)
    df_t = ref.get("example_did", "treated", "df")
    df_c = ref.get("example_did", "control", "df")
    for q, m in (("balance_before", "before"), ("difference_after", "after"),
                 ("difference_in_differences", "change")):
        est = r[("treated", m, "estimate")] - r[("control", m, "estimate")]
        vt, vc = r[("treated", m, "se")] ** 2, r[("control", m, "se")] ** 2
        dfw = (vt + vc) ** 2 / (vt**2 / df_t + vc**2 / df_c)
        se = np.sqrt(vt + vc)
        assert fr.loc[q, "estimate"] == pytest.approx(est, rel=1e-9)
        assert fr.loc[q, "se"] == pytest.approx(se, rel=1e-9)
        assert fr.loc[q, "df"] == pytest.approx(dfw, rel=1e-9)
        assert fr.loc[q, "ci_upper"] == pytest.approx(est + stats.t.ppf(0.975, dfw) * se, rel=1e-9)
    assert "Descriptive" in res.note


def test_possible_comparisons() -> None:
    one = possible_comparisons(1).set_index("comparison")["possible"]
    assert not one["Difference in differences (Tier 1 change - control change)"]
    assert one["Tier 1 before - control before (balance)"]
    assert possible_comparisons(2)["possible"].all()
    with pytest.raises(DelibpollError, match="control_waves"):
        possible_comparisons(3)


def test_bad_input() -> None:
    df = pd.DataFrame({"pre": [1, 2, 3], "post": [2, 3, 4], "t": ["a", "b", "c"]})
    with pytest.raises(DelibpollError, match="numeric answers"):
        difference_in_differences(SurveyDesign(df), SurveyDesign(df), "pre", "t")
    with pytest.raises(DelibpollError, match="zz"):
        difference_in_differences(SurveyDesign(df), SurveyDesign(df), "pre", "post",
                                  control_after="zz")
