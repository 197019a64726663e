"""Numbers formatted for readers (delibpoll._format).

References: every expected string is worked by hand from the rule stated in the module
(round half away from zero on the decimal the value prints as); the property tests compare
with integer arithmetic and with Python's own ``format`` (thousands separators), never with
the code under test.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import delibpoll._format as fmt
from delibpoll._format import (
    CONFIDENTIAL,
    LOW_RELIABILITY,
    MINUS,
    NOT_APPLICABLE,
    NOT_AVAILABLE,
    SHORTHAND,
    ci,
    count,
    number,
    p_value,
    percent,
    points,
    prose_share,
    same_decimals,
    scientific_notation,
    shorthand_note,
)
from delibpoll.exceptions import DelibpollError

# ---- exact strings, worked by hand ------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "decimals", "expected"),
    [
        (0.62, 0, "62%"),
        (0.612, 1, "61.2%"),
        # 0.145 is stored as 0.14499999999999999; it prints as 0.145, so 14.5%
        (0.145, 1, "14.5%"),
        # 0.2345 is stored as 0.23449999999999999: f"{0.2345:.1%}" gives 23.4%; printed, 23.45
        (0.2345, 1, "23.5%"),
        (0.0125, 1, "1.3%"),
        # 12.5 -> 13 half up (round() is half-to-even: 12)
        (0.125, 0, "13%"),
        (0.005, 0, "1%"),
        (0.0049, 0, "0%"),
        (0.12, 1, "12.0%"),  # trailing zero kept
        (1.0, 0, "100%"),
        (0.0, 2, "0.00%"),
        (-0.125, 0, "-13%"),  # half away from zero
        (-0.0004, 1, "0.0%"),  # no negative zero
        (0.00001, 3, "0.001%"),
        (12.3456, 1, "1,234.6%"),
        (np.float64(0.145), 1, "14.5%"),
        (np.float32(0.145), 1, "14.5%"),
        (Decimal("0.145"), 1, "14.5%"),
        (1, 0, "100%"),
        (np.int64(0), 0, "0%"),
    ],
)
def test_percent(x: object, decimals: int, expected: str) -> None:
    assert percent(x, decimals) == expected


def test_percent_without_unit_and_na() -> None:
    assert percent(0.612, 1, unit="") == "61.2"
    assert percent(0.612, 1, unit=" per cent") == "61.2 per cent"
    for na in (float("nan"), None, pd.NA, np.nan, float("inf"), -np.inf, np.float32("nan")):
        assert percent(na) == "[x]"
    assert percent(float("nan"), na=CONFIDENTIAL) == "[c]"


@pytest.mark.parametrize(
    ("x", "decimals", "expected"),
    [
        (0.00001, 2, "0.00"),
        (0.00001, 5, "0.00001"),
        (1e-10, 12, "0.000000000100"),
        (1.5e16, 0, "15,000,000,000,000,000"),
        (1e20, 0, "100,000,000,000,000,000,000"),
        (12345.678, 1, "12,345.7"),
        (7.0, 0, "7"),
        (7, 2, "7.00"),
        (2.5, 0, "3"),
        (3.5, 0, "4"),
        (-2.5, 0, "-3"),
        (-0.0, 1, "0.0"),
        (-0.04, 1, "0.0"),
        (1.005, 2, "1.01"),  # prints as 1.005 (stored 1.00499999999999989...)
        (2.675, 2, "2.68"),  # the float-artefact textbook case: round(2.675, 2) == 2.67
        (999.5, 0, "1,000"),
        (-1234.5, 0, "-1,235"),
    ],
)
def test_number(x: float, decimals: int, expected: str) -> None:
    assert number(x, decimals) == expected


def test_number_options() -> None:
    assert number(1234.5, 1, thousands=False) == "1234.5"
    assert number(1.5, 2, sign=True) == "+1.50"
    assert number(-0.001, 2, sign=True) == "0.00"  # rounds to zero: no sign
    assert number(-1.5, 1, sign=True) == "-1.5"
    assert MINUS == "-"  # hyphen-minus U+002D
    assert number(-1.0, 0)[0] == "\u002d"
    assert number(1e300, 0).replace(",", "") == "1" + "0" * 300


@pytest.mark.parametrize(
    ("n", "expected"),
    [(4000, "4,000"), (245, "245"), (0, "0"), (3999.5, "4,000"), (3999.49, "3,999"),
     (1234567.4, "1,234,567"), (np.int64(1000000), "1,000,000"), (999, "999"),
     (-1500, "-1,500"), (float("nan"), "[x]"), (None, "[x]")],
)
def test_count(n: object, expected: str) -> None:
    assert count(n) == expected


@pytest.mark.parametrize(
    ("diff", "decimals", "expected"),
    [(0.111, 1, "+11.1 pts"), (-0.03, 0, "-3 pts"), (0.1111, 0, "+11 pts"),
     (-0.0004, 1, "0.0 pts"), (0.0, 0, "0 pts"), (0.005, 0, "+1 pts"), (-0.005, 0, "-1 pts"),
     (0.00145, 1, "+0.1 pts"), (float("nan"), 1, "[x]")],
)
def test_points(diff: float, decimals: int, expected: str) -> None:
    assert points(diff, decimals) == expected


def test_points_unit() -> None:
    assert points(0.05, unit="") == "+5"
    assert points(0.1, 0, unit=" percentage points") == "+10 percentage points"


@pytest.mark.parametrize(
    ("p", "expected"),
    [(0.0, "<0.001"), (1e-300, "<0.001"), (0.0009999, "<0.001"), (0.001, "0.001"),
     (0.0042, "0.004"), (0.00449, "0.004"), (0.0045, "0.005"), (0.0098, "0.01"),
     (0.00995, "0.01"), (0.01, "0.01"), (0.0196, "0.02"), (0.025, "0.03"), (0.0496, "0.05"),
     (0.35, "0.35"), (0.994, "0.99"), (0.995, ">0.99"), (1.0, ">0.99"),
     (float("nan"), "[x]")],
)
def test_p_value(p: float, expected: str) -> None:
    assert p_value(p) == expected


def test_p_value_out_of_range() -> None:
    with pytest.raises(DelibpollError, match=r"'p' parameter of p_value .* \[0, 1\]; got 1.5"):
        p_value(1.5)
    with pytest.raises(DelibpollError, match="got -0.1"):
        p_value(-0.1)


def test_ci() -> None:
    assert ci(0.6012, 0.6349) == "60% to 63%"
    assert ci(0.6012, 0.6349, 1) == "60.1% to 63.5%"
    assert ci(-0.021, 0.04, 0, "points") == "-2 pts to +4 pts"
    assert ci(0.081, 0.14, 1, "points") == "+8.1 pts to +14.0 pts"
    assert ci(1.2, 1.35, 2, "number") == "1.20 to 1.35"
    assert ci(0.5, 0.5) == "50% to 50%"
    assert ci(float("nan"), 0.3) == "[x]"
    assert ci(0.1, None, na=NOT_APPLICABLE) == "[z]"
    with pytest.raises(DelibpollError, match=r"'lo' parameter of ci \(0.7\) is above 'hi' \(0.6\)"):
        ci(0.7, 0.6)
    with pytest.raises(DelibpollError, match=r"'kind' parameter of ci must be one of"):
        ci(0.1, 0.2, 0, "percentage")  # type: ignore[arg-type]


def test_same_decimals() -> None:
    assert same_decimals([0.612, 0.12, None, 0.1], 1, "percent") == [
        "61.2%", "12.0%", "[x]", "10.0%"]
    assert same_decimals([1, 2.5, 1234.567], 2) == ["1.00", "2.50", "1,234.57"]
    assert same_decimals([0.05, -0.031, 0.0], 1, "points", unit=False) == ["+5.0", "-3.1", "0.0"]
    assert same_decimals([0.5], 0, "percent", unit=False) == ["50"]
    assert same_decimals([], 1) == []
    with pytest.raises(DelibpollError, match="'kind' parameter of same_decimals"):
        same_decimals([0.1], 1, "share")  # type: ignore[arg-type]


def test_prose_share_cohort1_style() -> None:
    # "62% of Tier 3 respondents felt the pact would increase confidence (95% CI 60% to 63%)"
    text = prose_share(0.6187, 0.6012, 0.6349)
    assert text == "62% (95% CI 60% to 63%)"
    assert prose_share(0.6187, 0.6012, 0.6349, 1, level=0.9) == "61.9% (90% CI 60.1% to 63.5%)"
    assert prose_share(0.5, 0.4, 0.6, level=0.995) == "50% (99.5% CI 40% to 60%)"
    assert prose_share(0.62, float("nan"), 0.7) == "62%"
    assert prose_share(None, 0.1, 0.2) == "not available"
    with pytest.raises(DelibpollError, match="'level' parameter of prose_share"):
        prose_share(0.5, 0.4, 0.6, level=95)


@pytest.mark.parametrize("bad", ["0.5", True, [0.5], object()])
def test_non_numbers_are_refused(bad: object) -> None:
    with pytest.raises(DelibpollError, match=r"'x' parameter of percent must be a number"):
        percent(bad)


@pytest.mark.parametrize("bad", [-1, 16, 1.5, True, "2"])
def test_bad_decimals(bad: object) -> None:
    with pytest.raises(DelibpollError, match=r"'decimals' parameter of number must be an integer"):
        number(1.0, bad)  # type: ignore[arg-type]


def test_shorthand() -> None:
    assert set(SHORTHAND) == {"[c]", "[x]", "[z]", "[u]"}
    assert (NOT_AVAILABLE, NOT_APPLICABLE, CONFIDENTIAL, LOW_RELIABILITY) == (
        "[x]", "[z]", "[c]", "[u]")
    assert shorthand_note(["[x]", "[u]", "[x]", "not a marker"]) == (
        "[u] low reliability: the unweighted base is small. [x] not available.")
    assert shorthand_note([]) == ""


def test_scientific_notation_finder() -> None:
    # reference: Python's own scientific formatting
    for x in (7.0, 1e-05, 123456.0, 2.5e-300):
        text = f"value {x:e} and {x!r}"
        assert f"{x:e}" in scientific_notation(text)
    assert scientific_notation("7.000000e+00 iterations") == ["7.000000e+00"]
    assert scientific_notation("E1 sheet, 2e team, item e-5, 62% (95% CI 60% to 63%)") == []


# ---- properties ------------------------------------------------------------------------

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
REASONABLE = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
DECIMALS = st.integers(0, 6)
_SCI = re.compile(r"\d[eE][-+]?\d|e\+|e-|nan|inf", re.IGNORECASE)


@given(x=ANY_FLOAT, d=DECIMALS)
def test_no_scientific_notation_or_nan_anywhere(x: float, d: int) -> None:
    outputs = [percent(x, d), number(x, d), points(x, d), count(x), number(x, d, sign=True)]
    if math.isfinite(x) and 0 <= x <= 1:
        outputs.append(p_value(x))
    for text in outputs:
        assert not _SCI.search(text), text
        assert scientific_notation(text) == []


@given(lo=ANY_FLOAT, width=st.floats(0, 1e12, allow_nan=False), d=DECIMALS, p=ANY_FLOAT)
def test_no_scientific_notation_in_ranges_and_prose(lo: float, width: float, d: int,
                                                   p: float) -> None:
    hi = lo + width if math.isfinite(lo) else lo
    for text in (ci(lo, hi, d), ci(lo, hi, d, "points"), ci(lo, hi, d, "number"),
                 prose_share(p, lo, hi, d)):
        assert not _SCI.search(text), text


def _parse(text: str) -> float:
    return float(text.replace(",", "").removesuffix("%").removesuffix(" pts"))


@given(x=REASONABLE, d=DECIMALS)
def test_percent_parses_back_within_half_a_unit(x: float, d: int) -> None:
    shown = _parse(percent(x, d))
    # half a unit of the last decimal, plus the float error of x*100 itself
    assert abs(shown - 100 * x) <= 0.5 * 10**-d + 1e-9 * max(1.0, abs(100 * x))


@given(x=REASONABLE, d=DECIMALS)
def test_points_parse_back_and_sign(x: float, d: int) -> None:
    text = points(x, d)
    value = _parse(text)
    assert abs(value - 100 * x) <= 0.5 * 10**-d + 1e-9 * max(1.0, abs(100 * x))
    assert text.startswith("+") == (value > 0)
    assert text.startswith("-") == (value < 0)


@given(values=st.lists(st.one_of(REASONABLE, st.none(), st.just(float("nan"))), max_size=12),
       d=DECIMALS, kind=st.sampled_from(["percent", "points", "number"]))
def test_same_decimals_rule(values: list[float | None], d: int, kind: str) -> None:
    out = same_decimals(values, d, kind)  # type: ignore[arg-type]
    assert len(out) == len(values)
    pattern = re.compile(r"^[-+]?\d{1,3}(,\d{3})*" + (rf"\.\d{{{d}}}" if d else "") + r"(%| pts)?$")
    for v, text in zip(values, out, strict=True):
        if v is None or math.isnan(v):
            assert text == "[x]"
        else:
            assert pattern.match(text), text


@given(m=st.integers(0, 10**9), d=st.integers(0, 4), negative=st.booleans())
def test_ties_round_half_away_from_zero(m: int, d: int, negative: bool) -> None:
    # the tie (m + 1/2) units of the last decimal, e.g. m=12, d=1 -> 1.25; at most 11
    # significant digits, so the float prints back as exactly this decimal
    tie = Decimal(10 * m + 5).scaleb(-(d + 1))
    x = -float(tie) if negative else float(tie)
    assert Decimal(repr(abs(x))) == tie.normalize() or Decimal(repr(abs(x))) == tie
    # reference: integer arithmetic, rounding away from zero
    expected = format(Decimal(m + 1).scaleb(-d), f",.{d}f")
    assert number(x, d) == ("-" + expected if negative else expected)


@given(n=st.integers(-10**15, 10**15))
def test_count_matches_python_grouping(n: int) -> None:
    assert count(n) == f"{n:,}"
    assert count(float(n) if abs(n) < 2**53 else n) == f"{n:,}"


@given(p=st.floats(0, 1))
def test_p_value_shape(p: float) -> None:
    text = p_value(p)
    assert re.fullmatch(r"<0\.001|>0\.99|0\.\d{2,3}", text), text
    if text.startswith("0."):
        assert abs(float(text) - p) <= 0.005 + 1e-12


def test_docs_table_examples() -> None:
    """The examples in the table of docs/labels_and_formatting.md give what it says."""
    page = Path(__file__).resolve().parents[1] / "docs" / "labels_and_formatting.md"
    rows = re.findall(r"^\| `[a-z_]+\(.*?\)` \| `(.+?)` \| `(.+?)` \|$", page.read_text(),
                      flags=re.MULTILINE)
    assert len(rows) == 8
    for example, gives in rows:
        got = eval(example, dict(vars(fmt)))  # the docs' own examples
        assert (got if isinstance(got, str) else repr(got)) == gives, example
