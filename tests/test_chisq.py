"""delibpoll.chisq_test's Wald, adjusted Wald and saddlepoint statistics against R svychisq.

Reference: tests/reference/r/svyvar.R (values/svyvar.csv; R 4.2.2, survey 4.1.1; SPEC_16
section 5): ``svychisq(~sch.wide + stype, d, statistic = "Wald" | "adjWald" |
"saddlepoint")`` on the stratified, clustered, raked and two-stage api designs and the JK1
and bootstrap replicate designs. Tolerances: statistics and p-values 1e-6 relative (the
statistics are closed forms of design covariances; R's saddlepoint root is found by
uniroot at tol 1e-8, and the p-value is stationary in it to first order); df exact.
The Rao-Scott F and Chisq statistics are tested in tests/test_estimation.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from _designs16 import apiclus1, apiclus2, apistrat, apistrat_raked, replicate
from delibpoll import DelibpollError, SurveyDesign

CASES = ["apistrat16", "apiclus1_16", "apistrat16_raked", "apiclus2_16", "apiclus1_16_jk1",
         "apiclus1_16_boot"]


@pytest.fixture(scope="module")
def designs(ref: Any) -> dict[str, SurveyDesign]:
    return {
        "apistrat16": apistrat(ref), "apiclus1_16": apiclus1(ref),
        "apistrat16_raked": apistrat_raked(ref), "apiclus2_16": apiclus2(ref),
        "apiclus1_16_jk1": replicate(ref, "apiclus1_16_jk1"),
        "apiclus1_16_boot": replicate(ref, "apiclus1_16_boot"),
    }


@pytest.mark.parametrize("statistic", ["Wald", "adjWald", "saddlepoint", "F", "Chisq"])
@pytest.mark.parametrize("case", CASES)
def test_chisq_statistics_equal_r(designs: dict[str, SurveyDesign], ref: Any, case: str,
                                  statistic: str) -> None:
    res = dp.chisq_test(designs[case], "sch.wide", "stype", statistic=statistic)  # type: ignore[arg-type]

    def r(q: str) -> float:
        return ref.get(case, "svychisq", q, variable="sch.wide|stype", method=statistic)

    assert res.statistic == pytest.approx(r("statistic"), rel=1e-6)
    assert res.p_value == pytest.approx(r("p_value"), rel=1e-6, abs=1e-300)
    if statistic == "saddlepoint":
        assert np.isnan(res.df_num) and np.isnan(res.df_den)
    else:
        assert res.df_num == pytest.approx(r("df_num"), rel=1e-10)
        if statistic != "Chisq":
            assert res.df_den == pytest.approx(r("df_den"), rel=1e-10)


def test_wald_by_hand_on_a_simple_random_sample() -> None:
    """A 2 x 2 table from a simple random sample (weights 1, no strata): Y_22 = N_22 -
    N_2. N_.2 / N, its delta-method variance from the multinomial-like covariance of the
    cell totals (n/(n-1) sum (z - zbar)^2 of the indicators), worked here with numpy; Wald F
    = Y^2 / V on (1, n - 1)."""
    a = np.array(["x"] * 6 + ["y"] * 6)
    b = np.array(list("uuuvvv") + list("uvvvvv"))
    d = SurveyDesign(pd.DataFrame({"a": a, "b": b}))
    res = dp.chisq_test(d, "a", "b", statistic="Wald")
    n = len(a)
    ind = np.column_stack([(a == i) & (b == j) for j in "uv" for i in "xy"]).astype(float)
    tot = ind.sum(axis=0)
    v_t = n / (n - 1) * ((ind - ind.mean(axis=0)).T @ (ind - ind.mean(axis=0)))
    tab = tot.reshape(2, 2).T
    r2, c2, big = tab[1].sum(), tab[:, 1].sum(), tab.sum()
    y = tab[1, 1] - r2 * c2 / big
    # gradient of Y_22 in the cell totals (x,u), (y,u), (x,v), (y,v)
    grad = np.array([0.0, -c2 / big, -r2 / big, 1 - (r2 + c2) / big]) + r2 * c2 / big**2
    f = y**2 / (grad @ v_t @ grad)
    assert res.statistic == pytest.approx(f, rel=1e-12)
    assert res.df_num == 1 and res.df_den == n - 1


def test_bad_statistic_names_the_words() -> None:
    d = SurveyDesign(pd.DataFrame({"a": list("xyxy"), "b": list("uuvv")}))
    with pytest.raises(DelibpollError, match="'Wald', 'adjWald' or 'saddlepoint'; got 'lincom'"):
        dp.chisq_test(d, "a", "b", statistic="lincom")  # type: ignore[arg-type]
