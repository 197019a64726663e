"""Reliability suite: bad and awkward inputs to SurveyDesign and the estimation functions.

Each case asserts the exact outcome: a DelibpollError naming the problem, a marked result
(the package's own warning), or the correct value worked by hand (weighted means of four
rows). Every public function of the area is also checked not to modify its inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError, DelibpollWarning, DomainWarning, SurveyDesign


def base() -> pd.DataFrame:
    return pd.DataFrame({"q": ["a", "b", "a", "b"], "y": [1.0, 2.0, 3.0, 4.0],
                         "w": [1.0, 2.0, 1.0, 2.0], "h": ["u", "u", "v", "v"],
                         "c": [1, 2, 3, 4], "N": [10, 10, 10, 10]})


WEIGHTED_MEAN = (1 * 1 + 2 * 2 + 3 * 1 + 4 * 2) / 6  # of y with weights w, by hand


# ---------------------------------------------------------------------- SurveyDesign(...)
BAD_DESIGNS: list[tuple[str, Callable[[], Any], str]] = [
    ("weights NaN", lambda: SurveyDesign(base().assign(w=[1, np.nan, 1, 1]), weights="w"),
     r"weights column 'w' has 1 missing value\(s\)"),
    ("weights negative", lambda: SurveyDesign(base().assign(w=[1, -1.0, 1, 1]), weights="w"),
     r"weights column 'w' has 1 zero or negative value\(s\) \(min -1\)"),
    ("weights inf", lambda: SurveyDesign(base().assign(w=[1, np.inf, 1, 1]), weights="w"),
     r"weights column 'w' has 1 infinite value\(s\)"),
    ("weights strings", lambda: SurveyDesign(base().assign(w=["1", "2", "1", "1"]), weights="w"),
     "weights column 'w' must be numeric; got dtype"),
    ("weights bool", lambda: SurveyDesign(base().assign(w=[True] * 4), weights="w"),
     "weights column 'w' must be numeric; got dtype bool"),
    ("weights Int64 NA", lambda: SurveyDesign(
        base().assign(w=pd.array([1, None, 1, 1], dtype="Int64")), weights="w"),
     r"weights column 'w' has 1 missing value\(s\)"),
    ("weights Float64 NA", lambda: SurveyDesign(
        base().assign(w=pd.array([1.0, None, 1, 1], dtype="Float64")), weights="w"),
     r"weights column 'w' has 1 missing value\(s\)"),
    ("weights pyarrow NA", lambda: SurveyDesign(
        base().assign(w=pd.array([1.0, None, 1, 1], dtype="double[pyarrow]")), weights="w"),
     r"weights column 'w' has 1 missing value\(s\)"),
    ("weights 1e-300", lambda: SurveyDesign(base().assign(w=[1e-300, 2e-300, 1e-300, 2e-300]),
                                            weights="w"),
     "ranges from 1e-300 to 2e-300; weights must lie between 1e-100 and 1e"),
    ("weights 1e300", lambda: SurveyDesign(base().assign(w=[1e300, 2e300, 1e300, 2e300]),
                                           weights="w"),
     r"ranges from 1e\+300 to 2e\+300; weights must lie between"),
    ("weights not a name", lambda: SurveyDesign(base(), weights=3),  # type: ignore[arg-type]
     r"'weights' parameter must be a column name \(str\); got 3"),
    ("weights unknown", lambda: SurveyDesign(base(), weights="zz"),
     r"'weights' parameter names column\(s\) \['zz'\] that are not in the data"),
    ("strata NaN", lambda: SurveyDesign(base().assign(h=["u", None, "v", "v"]), strata="h"),
     r"strata column 'h' has 1 missing value\(s\)"),
    ("ids NaN", lambda: SurveyDesign(base().assign(c=[1, np.nan, 3, 4]), ids="c"),
     r"ids column 'c' has 1 missing value\(s\)"),
    ("ids Int64 NA", lambda: SurveyDesign(base().assign(c=pd.array([1, None, 3, 4], dtype="Int64")),
                                          ids="c"),
     r"ids column 'c' has 1 missing value\(s\)"),
    ("fpc NaN", lambda: SurveyDesign(base().assign(N=[10, np.nan, 10, 10]), fpc="N"),
     "fpc column 'N' has missing or non-positive values"),
    ("fpc negative", lambda: SurveyDesign(base().assign(N=[-10] * 4), fpc="N"),
     "fpc column 'N' has missing or non-positive values"),
    ("fpc strings", lambda: SurveyDesign(base().assign(N=["10"] * 4), fpc="N"),
     "fpc column 'N' must be numeric"),
    ("fpc below sample", lambda: SurveyDesign(base().assign(N=[2] * 4), fpc="N"),
     "gives fewer population PSUs than were sampled"),
    ("duplicate index", lambda: SurveyDesign(base().set_index(pd.Index([0, 0, 1, 2]))),
     "index has duplicate labels"),
    ("non-string weights name", lambda: SurveyDesign(
        pd.DataFrame({0: [1.0, 2, 3], 1: [1.0, 1, 1]}), weights=1),  # type: ignore[arg-type]
     r"'weights' parameter must be a column name \(str\); got 1"),
    ("empty frame", lambda: SurveyDesign(base().iloc[:0]), r"empty DataFrame \(0 rows\)"),
    ("not a frame", lambda: SurveyDesign([1, 2]),  # type: ignore[arg-type]
     r"must be a dataframe \(a pandas DataFrame.*Dask DataFrame\); got list"),
    ("bad lonely_psu", lambda: SurveyDesign(base(), lonely_psu="x"),  # type: ignore[arg-type]
     "'lonely_psu' parameter must be one of"),
]


@pytest.mark.parametrize(("fn", "match"), [c[1:] for c in BAD_DESIGNS],
                         ids=[c[0] for c in BAD_DESIGNS])
def test_bad_design_inputs_raise_a_clear_error(fn: Callable[[], Any], match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        fn()


@pytest.mark.parametrize("dtype", ["Int64", "Float64", "double[pyarrow]", "int64[pyarrow]"])
def test_nullable_and_pyarrow_weights_give_the_hand_computed_mean(dtype: str) -> None:
    df = base().assign(w=pd.array([1, 2, 1, 2], dtype=dtype))
    got = dp.mean(SurveyDesign(df, weights="w"), "y").to_frame()["estimate"].iloc[0]
    assert got == pytest.approx(WEIGHTED_MEAN, rel=1e-15)


def test_infinite_fpc_means_no_correction() -> None:
    """fpc = inf (R: an infinite population) is the design without fpc, silently (no
    RuntimeWarning)."""
    with_inf = dp.mean(SurveyDesign(base().assign(N=[np.inf] * 4), fpc="N"), "y").to_frame()
    without = dp.mean(SurveyDesign(base()), "y").to_frame()
    assert with_inf["se"].iloc[0] == pytest.approx(without["se"].iloc[0], rel=1e-15)


def test_multiindex_rows_and_pyarrow_answers_give_the_hand_computed_values() -> None:
    df = base().set_index([pd.Index([1, 1, 2, 2]), pd.Index(list("abab"))])
    df["y"] = pd.array([1.0, 2, 3, 4], dtype="double[pyarrow]")
    df["q"] = df["q"].astype("string[pyarrow]")
    d = SurveyDesign(df, weights="w")
    assert d.weights.index.equals(df.index)
    assert dp.mean(d, "y").to_frame()["estimate"].iloc[0] == pytest.approx(WEIGHTED_MEAN, rel=1e-15)
    assert dp.proportion(d, "q").to_frame()["estimate"].tolist() == pytest.approx([2 / 6, 4 / 6])


def test_non_string_column_names_are_refused_with_the_rename() -> None:
    df = pd.DataFrame({0: [1.0, 2.0, 3.0], "w": [1.0, 1.0, 2.0]})
    with pytest.raises(DelibpollError, match=r"must be a column name \(str\); got 0\. The data "
                       r"has a column 0.*df.columns = df.columns.map\(str\)"):
        dp.mean(SurveyDesign(df, weights="w"), 0)  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match=r"'variable' parameter of proportion .* got 7\.$"):
        dp.proportion(SurveyDesign(df, weights="w"), 7)  # type: ignore[arg-type]


def test_too_many_crossed_domains_are_refused_before_any_work() -> None:
    """Four crossed 10-category by= columns are 10**4 domains (every declared combination is
    a row of the result and a block of its covariance matrix): refused with the sizes before
    any work, never an overflowing code or an out-of-memory covariance."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame({f"c{i}": rng.integers(0, 10, 200).astype(str) for i in range(4)})
    df["q"] = rng.choice(["a", "b"], 200)
    d = SurveyDesign(df)
    with pytest.raises(DelibpollError, match=r"cross into 10,000 domains \(c0 \(10\) x c1"):
        dp.proportion(d, "q", by=[f"c{i}" for i in range(4)])
    # three columns are 1,000 domains: allowed (the empty ones are marked)
    with pytest.warns(DomainWarning):
        est = dp.proportion(d, "q", by=[f"c{i}" for i in range(3)])
    assert len(est.to_frame()) == 2 * 1_000


def test_one_row_frame_raises_the_lonely_psu_error_or_is_marked() -> None:
    """One row is one PSU in one stratum: its variance is not estimable (lonely_psu="fail"
    says so); with "remove" the mean is the value, marked constant, with no CI."""
    with pytest.warns(DelibpollWarning, match="Variable 'y' is constant"), pytest.raises(
            DelibpollError, match=r"1 stratum\(s\) have only one PSU"):
        dp.mean(SurveyDesign(base().iloc[:1]), "y")
    with pytest.warns(DelibpollWarning, match="Variable 'y' is constant"):
        fr = dp.mean(SurveyDesign(base().iloc[:1], lonely_psu="remove"), "y").to_frame()
    assert fr["estimate"].iloc[0] == 1.0 and fr["df"].iloc[0] == 0
    assert np.isnan(fr["ci_lower"].iloc[0]) and fr["ci_note"].iloc[0] == "df 0: no CI"


# ---------------------------------------------------------------------- estimators
D = SurveyDesign(base(), weights="w")
BAD_CALLS: list[tuple[str, Callable[[], Any], str]] = [
    ("proportion unknown", lambda: dp.proportion(D, "zz"),
     r"'variable' parameter names column\(s\) \['zz'\]"),
    ("proportion by unknown", lambda: dp.proportion(D, "q", by="zz"),
     r"'by' parameter names column\(s\) \['zz'\]"),
    ("proportion level 95", lambda: dp.proportion(D, "q", level=95),
     "Got 95 instead. Use 0.95"),
    ("proportion level 0", lambda: dp.proportion(D, "q", level=0), r"float in \(0, 1\). Got 0"),
    ("proportion bad ci_method", lambda: dp.proportion(D, "q", ci_method="exact"),  # type: ignore[arg-type]
     "'ci_method' parameter of proportion must be one of"),
    ("proportion all missing", lambda: dp.proportion(
        SurveyDesign(base().assign(q=[None] * 4)), "q", na="drop"),
     "Variable 'q' has no non-missing values"),
    ("proportion missing, na=error", lambda: dp.proportion(
        SurveyDesign(base().assign(q=["a", None, "b", "a"])), "q"),
     r"Variable 'q' has 1 missing value\(s\). Pass na='drop'"),
    ("mean all missing", lambda: dp.mean(SurveyDesign(base().assign(y=[np.nan] * 4)), "y",
                                         na="drop"),
     "Variable 'y' has no non-missing values"),
    ("mean text", lambda: dp.mean(D, "q"), "mean needs a numeric variable, but 'q'"),
    ("mean inf", lambda: dp.mean(SurveyDesign(base().assign(y=[1, np.inf, 3, 4])), "y"),
     "Variable 'y' has infinite values"),
    ("mean bad na", lambda: dp.mean(D, "y", na="omit"),  # type: ignore[arg-type]
     "'na' parameter of mean must be 'error' or 'drop'; got 'omit'"),
    ("total by unknown", lambda: dp.total(D, "y", by=["zz"]), r"'by' parameter names column"),
    ("total level bad", lambda: dp.total(D, "y", level="0.9"),  # type: ignore[arg-type]
     "'level' parameter of total must be a float"),
    ("chisq unknown", lambda: dp.chisq_test(D, "q", "zz"), r"column\(s\) \['zz'\]"),
    ("chisq single category", lambda: dp.chisq_test(SurveyDesign(base().assign(h=["u"] * 4)),
                                                    "q", "h"),
     "'h' has 1 with respondents"),
    ("chisq bad statistic", lambda: dp.chisq_test(D, "q", "h", statistic="G"),  # type: ignore[arg-type]
     "'statistic' parameter of chisq_test must be 'F', 'Chisq', 'Wald', 'adjWald' or "
     "'saddlepoint'; got 'G'"),
    ("chisq not a design", lambda: dp.chisq_test(base(), "q", "h"),
     "chisq_test needs a SurveyDesign"),
    ("contrast not an estimate", lambda: dp.contrast(D, {"a": {"a": 1}}),  # type: ignore[arg-type]
     "contrast needs an Estimate"),
    ("contrast empty", lambda: dp.contrast(dp.proportion(D, "q"), {}), "non-empty dict"),
    ("contrast unknown row", lambda: dp.contrast(dp.proportion(D, "q"), {"x": {"z": 1}}),
     "Row key 'z' is not among"),
    ("contrast NaN weight", lambda: dp.contrast(dp.proportion(D, "q"), {"x": {"a": np.nan}}),
     "row 'a' in contrast 'x' must be a finite number; got nan"),
    ("contrast inf weight", lambda: dp.contrast(dp.proportion(D, "q"), {"x": {"a": np.inf}}),
     "row 'a' in contrast 'x' must be a finite number; got inf"),
    ("contrast level", lambda: dp.contrast(dp.proportion(D, "q"), {"x": {"a": 1}}, level=2),
     "'level' parameter of contrast"),
    ("replicates unknown method", lambda: D.with_replicates("mrbbootstrap"),  # type: ignore[arg-type]
     "'method' parameter of with_replicates must be one of"),
    ("replicates n as text", lambda: D.with_replicates("bootstrap", n_replicates="10"),  # type: ignore[arg-type]
     "'n_replicates' parameter of with_replicates must be an integer >= 2; got '10'"),
    ("replicates jk1 n given", lambda: D.with_replicates("jk1", n_replicates=10),
     "does not apply to method='jk1'"),
    ("replicates jk1 one PSU", lambda: SurveyDesign(base().assign(c=[1] * 4), ids="c")
     .with_replicates("jk1"), "needs at least 2 PSUs; the design has 1"),
    ("replicates jk1 stratified", lambda: SurveyDesign(base(), strata="h").with_replicates("jk1"),
     "Use method='jkn'"),
    ("bootstrap lonely fail", lambda: SurveyDesign(base().assign(h=["u", "u", "u", "v"]),
                                                   strata="h")
     .with_replicates("bootstrap", n_replicates=5, rng=0),
     "Stratum 'v' has only one PSU, so the bootstrap"),
    ("with_lonely_psu bad", lambda: D.with_lonely_psu("x"),  # type: ignore[arg-type]
     "'lonely_psu' parameter must be one of"),
]


@pytest.mark.parametrize(("fn", "match"), [c[1:] for c in BAD_CALLS],
                         ids=[c[0] for c in BAD_CALLS])
def test_bad_estimation_calls_raise_a_clear_error(fn: Callable[[], Any], match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        fn()


def test_single_category_is_marked_and_has_no_zero_width_interval() -> None:
    with pytest.warns(DelibpollWarning, match="Variable 'q' is constant \\('a'\\)"):
        fr = dp.proportion(SurveyDesign(base().assign(q=["a"] * 4)), "q",
                           ci_method="beta").to_frame()
    assert fr["estimate"].tolist() == [1.0] and fr["se"].tolist() == [0.0]
    # NCHS rule by hand: n = 4, df 3 (no df adjustment: t_{n-1} = t_df), lower 0.025^(1/4)
    assert fr["ci_lower"].iloc[0] == pytest.approx(0.025 ** (1 / 4), rel=1e-12)
    assert fr["ci_upper"].iloc[0] == 1.0


def test_empty_domain_is_marked() -> None:
    df = base().assign(g=pd.Categorical(["x"] * 4, categories=["x", "y"]))
    with pytest.warns(DomainWarning, match=r"domain\(s\) \['y'\] of \['g'\] have no respondents"):
        fr = dp.mean(SurveyDesign(df, weights="w"), "y", by="g").to_frame().set_index("g")
    assert fr.loc["x", "estimate"] == pytest.approx(WEIGHTED_MEAN, rel=1e-15)
    assert np.isnan(fr.loc["y", "estimate"])


# ---------------------------------------------------------------------- immutability
def _frame_with_attrs() -> pd.DataFrame:
    df = base()
    df.attrs = {"variable_labels": {"q": "Question"}, "value_labels": {"q": {"a": "A"}}}
    return df


CALLS: list[tuple[str, Callable[[pd.DataFrame], Any]]] = [
    ("SurveyDesign", lambda df: SurveyDesign(df, weights="w", strata="h", fpc="N")),
    ("proportion", lambda df: dp.proportion(SurveyDesign(df, weights="w"), "q", by="h")),
    ("mean", lambda df: dp.mean(SurveyDesign(df, weights="w"), "y", by="h")),
    ("total", lambda df: dp.total(SurveyDesign(df, weights="w"), "y")),
    ("chisq_test", lambda df: dp.chisq_test(SurveyDesign(df, weights="w"), "q", "h")),
    ("with_replicates", lambda df: SurveyDesign(df, weights="w", ids="c")
     .with_replicates("bootstrap", n_replicates=4, rng=1)),
    ("design.attrs edit", lambda df: SurveyDesign(df).attrs["variable_labels"].update(q="x")),
]


@pytest.mark.parametrize("fn", [c[1] for c in CALLS], ids=[c[0] for c in CALLS])
def test_inputs_are_unchanged(unchanged: Any, fn: Callable[[pd.DataFrame], Any]) -> None:
    df = _frame_with_attrs()
    with unchanged(df):
        fn(df)


def test_contrast_leaves_the_estimate_and_coefficients_unchanged(unchanged: Any) -> None:
    est = dp.proportion(SurveyDesign(base(), weights="w"), "q")
    coefs = {"a-b": {"a": 1, "b": -1}}
    before = est.to_frame()
    with unchanged(coefs):
        dp.contrast(est, coefs)
    pd.testing.assert_frame_equal(est.to_frame(), before)
