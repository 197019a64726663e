"""Numbers formatted for readers of a publication (base layer).

Every function here returns text a person reads in a table cell, a chart label, a console
summary or a generated sentence. The rules, each stated once:

* **Fixed notation only.** No scientific notation (``1e-05``, ``7.000000e+00``) is ever
  produced, for any finite input however large or small.
* **Rounding half away from zero** ("half up", as Excel's ``ROUND`` and SPSS's ``RND``),
  applied to the decimal the value *prints as*, ``Decimal(repr(x))``: 0.2345 (stored as
  0.23449999999999999) is 23.45% and gives ``"23.5%"`` at 1 decimal, 0.125 gives ``"13%"``.
  Python's ``round`` and ``format`` round half to even on the binary value: ``f"{0.2345:.1%}"``
  is ``"23.4%"``, ``f"{0.125:.0%}"`` is ``"12%"``, ``round(2.675, 2)`` is 2.67.
* **No negative zero.** A value that rounds to zero prints without a sign (``"0.0"``, never
  ``"-0.0"``).
* **The minus sign is the hyphen-minus** (``-``, U+002D) with no space before the digits,
  as the ONS style guide asks for datasets (the symbol, no space). It is the sign Excel,
  LibreOffice and CSV readers parse, so a pasted cell stays a number. Screen-reader support
  differs by character (Deque's tests find the true minus U+2212 the more robust; NVDA did
  not announce U+2212 before its 2020.1 release); the hyphen-minus is read as "minus" when
  no space separates it from the digits, which is how it is always written here.
* **Thousands separators** (``"4,000"``) in numbers of four digits or more, as the ONS
  style guide asks; a leading ``0`` before the decimal point (``"0.6%"``).
* **Ranges with "to"**, never a hyphen (``"60% to 63%"``), as the ONS style guide asks.
* **Values that cannot be shown** (``NaN``, ``None``, ``pd.NA``, infinities) print as the
  Government Analysis Function's shorthand ``[x]`` (not available) unless the caller passes
  another ``na`` (``[z]`` not applicable, ``[c]`` confidential, ``[u]`` low reliability:
  :data:`SHORTHAND`). The shorthand must be explained in the table's notes
  (:func:`shorthand_note`).

Percentages and percentage-point differences take *proportions* (0.62, 0.111), as every
estimate in delibpoll is a proportion.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import numpy as np
import pandas as pd

from ._types import NumberKind, values
from .exceptions import DelibpollError

__all__ = [
    "CONFIDENTIAL",
    "LOW_RELIABILITY",
    "MINUS",
    "NOT_APPLICABLE",
    "NOT_AVAILABLE",
    "SHORTHAND",
    "NumberKind",
    "ci",
    "count",
    "number",
    "p_value",
    "percent",
    "points",
    "prose_share",
    "same_decimals",
    "scientific_notation",
    "shorthand_note",
]

#: The sign printed before negative numbers (hyphen-minus, U+002D; see the module notes).
MINUS = "-"
#: Analysis Function shorthand: the value is not available (the default for NaN).
NOT_AVAILABLE = "[x]"
#: Analysis Function shorthand: no value is possible for this cell.
NOT_APPLICABLE = "[z]"
#: Analysis Function shorthand: the value is suppressed to protect confidentiality.
CONFIDENTIAL = "[c]"
#: Analysis Function shorthand: the value is of low statistical reliability (small base).
LOW_RELIABILITY = "[u]"
#: Every shorthand marker used by delibpoll and what it means, for a table's notes.
SHORTHAND: dict[str, str] = {
    CONFIDENTIAL: "confidential: suppressed so that no small group can be identified",
    LOW_RELIABILITY: "low reliability: the unweighted base is small",
    NOT_AVAILABLE: "not available",
    NOT_APPLICABLE: "not applicable",
}

_KINDS = values(NumberKind)

_MAX_DECIMALS = 15
_SCIENTIFIC = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+(?![\w.])")


def _decimal(x: object, func: str, name: str) -> Decimal | None:
    """The decimal a number prints as, or None for a value that cannot be shown."""
    if x is None or x is pd.NA:
        return None
    if isinstance(x, bool | np.bool_):
        raise DelibpollError(
            f"The '{name}' parameter of {func} must be a number; got {x!r} (a bool). "
            "Convert it with float() if it is meant as 0 or 1."
        )
    if isinstance(x, Decimal):
        return x if x.is_finite() else None
    if isinstance(x, int | np.integer):
        return Decimal(int(x))
    if isinstance(x, np.floating):
        if not np.isfinite(x):
            return None
        return Decimal(str(x))  # numpy's shortest repr of its own precision
    if isinstance(x, float):
        if not math.isfinite(x):
            return None
        return Decimal(repr(x))
    raise DelibpollError(
        f"The '{name}' parameter of {func} must be a number; got {x!r} "
        f"({type(x).__name__}). Pass a float, an int or None."
    )


def _check_decimals(decimals: object, func: str) -> int:
    if (
        isinstance(decimals, bool)
        or not isinstance(decimals, int | np.integer)
        or not 0 <= decimals <= _MAX_DECIMALS
    ):
        raise DelibpollError(
            f"The 'decimals' parameter of {func} must be an integer from 0 to "
            f"{_MAX_DECIMALS}; got {decimals!r}."
        )
    return int(decimals)


def _round(d: Decimal, decimals: int) -> Decimal:
    """``d`` rounded half away from zero to ``decimals`` places; never negative zero."""
    with localcontext() as ctx:
        ctx.prec = max(28, d.adjusted() + decimals + 3)
        q = d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return q.copy_abs() if q.is_zero() else q


def _fixed(q: Decimal, decimals: int, *, thousands: bool = True, sign: bool = False) -> str:
    """A rounded decimal in fixed notation, hyphen-minus for negatives."""
    body = format(q.copy_abs(), f"{',' if thousands else ''}.{decimals}f")
    if q < 0:
        return MINUS + body
    if sign and q > 0:
        return "+" + body
    return body


def number(
    x: Any,
    decimals: int = 2,
    *,
    thousands: bool = True,
    sign: bool = False,
    na: str = NOT_AVAILABLE,
) -> str:
    """A number in fixed notation with exactly ``decimals`` decimals.

    Parameters
    ----------
    x : float, int, Decimal or None
        The value. ``NaN``, ``None``, ``pd.NA`` and infinities print as ``na``.
    decimals : int, default 2
        Decimals shown (0 to 15), trailing zeros kept so a column lines up.
    thousands : bool, default True
        Separate thousands with commas (``12,345.68``).
    sign : bool, default False
        Print ``+`` before positive values (never before a value that rounds to zero).
    na : str, default "[x]"
        Text for a value that cannot be shown (see :data:`SHORTHAND`).

    Returns
    -------
    str

    Raises
    ------
    DelibpollError
        ``x`` is not a number (text, a bool), or ``decimals`` is not an integer 0 to 15.

    Examples
    --------
    >>> number(0.00001, 2), number(-0.0001, 1), number(1e20, 0)
    ('0.00', '0.0', '100,000,000,000,000,000,000')
    >>> number(12345.678, 1), number(7.0, 0), number(2.5, 0), number(-2.5, 0)
    ('12,345.7', '7', '3', '-3')
    >>> number(float("nan")), number(None, na="[z]"), number(1.5, 2, sign=True)
    ('[x]', '[z]', '+1.50')
    """
    func = "number"
    decimals = _check_decimals(decimals, func)
    d = _decimal(x, func, "x")
    if d is None:
        return na
    return _fixed(_round(d, decimals), decimals, thousands=thousands, sign=sign)


def count(n: Any, *, na: str = NOT_AVAILABLE) -> str:
    """A base or count: a whole number with thousands separators.

    Weighted bases (not whole) are rounded half up to the nearest whole number.

    Examples
    --------
    >>> count(4000), count(3999.5), count(245), count(1234567.4), count(float("nan"))
    ('4,000', '4,000', '245', '1,234,567', '[x]')
    """
    d = _decimal(n, "count", "n")
    if d is None:
        return na
    return _fixed(_round(d, 0), 0)


def percent(x: Any, decimals: int = 0, *, unit: str = "%", na: str = NOT_AVAILABLE) -> str:
    """A proportion as a percentage: ``0.62`` -> ``"62%"``.

    Parameters
    ----------
    x : float or None
        A proportion (0.62 for 62%).
    decimals : int, default 0
        Decimals of the percentage (0 to 15), trailing zeros kept (``"12.0%"``).
    unit : str, default "%"
        Text after the number: ``""`` where the column header says ``(%)``.
    na : str, default "[x]"
        Text for a value that cannot be shown.

    Examples
    --------
    >>> percent(0.62), percent(0.612, 1), percent(0.145, 1), percent(0.125)
    ('62%', '61.2%', '14.5%', '13%')
    >>> percent(0.12, 1), percent(0.006), percent(12.3456, 1, unit="")
    ('12.0%', '1%', '1,234.6')
    >>> percent(float("nan")), percent(None, na="[c]")
    ('[x]', '[c]')
    """
    func = "percent"
    decimals = _check_decimals(decimals, func)
    d = _decimal(x, func, "x")
    if d is None:
        return na
    return _fixed(_round(d.scaleb(2), decimals), decimals) + unit


def points(
    diff: Any, decimals: int = 0, *, unit: str = " pts", na: str = NOT_AVAILABLE
) -> str:
    """A difference of two proportions in percentage points, always signed.

    ``0.111`` -> ``"+11 pts"`` (``"+11.1 pts"`` at 1 decimal), ``-0.03`` -> ``"-3 pts"``.
    A difference that rounds to zero has no sign (``"0 pts"``).

    Parameters
    ----------
    diff : float or None
        The difference of two proportions (0.111 for 11.1 points).
    decimals : int, default 0
        Decimals shown (0 to 15).
    unit : str, default " pts"
        Text after the number: ``""`` where the header says ``(pts)``, ``" percentage points"``
        in prose.
    na : str, default "[x]"
        Text for a value that cannot be shown.

    Examples
    --------
    >>> points(0.111, 1), points(-0.03), points(-0.0004, 1), points(0.05, unit="")
    ('+11.1 pts', '-3 pts', '0.0 pts', '+5')
    >>> points(0.1, 0, unit=" percentage points")
    '+10 percentage points'
    """
    func = "points"
    decimals = _check_decimals(decimals, func)
    d = _decimal(diff, func, "diff")
    if d is None:
        return na
    return _fixed(_round(d.scaleb(2), decimals), decimals, sign=True) + unit


def p_value(p: Any, *, na: str = NOT_AVAILABLE) -> str:
    """A p-value as readers expect it: ``"<0.001"``, ``"0.004"``, ``"0.02"``, ``"0.35"``.

    The rule (rounding half up):

    * below 0.001: ``"<0.001"``;
    * from 0.001 to below 0.01: three decimals (``"0.004"``); a value that rounds to 0.010
      prints ``"0.01"``;
    * from 0.01: two decimals (``"0.02"``, ``"0.35"``);
    * a value that rounds to 1.00: ``">0.99"`` (a test never shows certainty).

    The rounded text is for reading only: significance is always judged on the unrounded
    p-value (0.0496 prints ``"0.05"`` and is significant at 5%).

    Raises
    ------
    DelibpollError
        ``p`` is outside [0, 1].

    Examples
    --------
    >>> [p_value(p) for p in (0.0001, 0.001, 0.0042, 0.0098, 0.0196, 0.35, 0.999)]
    ['<0.001', '0.001', '0.004', '0.01', '0.02', '0.35', '>0.99']
    """
    d = _decimal(p, "p_value", "p")
    if d is None:
        return na
    if d < 0 or d > 1:
        raise DelibpollError(
            f"The 'p' parameter of p_value must be a probability in [0, 1]; got {p!r}."
        )
    if d < Decimal("0.001"):
        return "<0.001"
    if d < Decimal("0.01"):
        q = _round(d, 3)
        return _fixed(q, 3) if q < Decimal("0.01") else "0.01"
    q = _round(d, 2)
    return ">0.99" if q >= 1 else _fixed(q, 2)


def ci(
    lo: Any,
    hi: Any,
    decimals: int = 0,
    kind: NumberKind = "percent",
    *,
    na: str = NOT_AVAILABLE,
) -> str:
    """A confidence interval as a range with "to": ``"60% to 63%"``.

    Parameters
    ----------
    lo, hi : float or None
        The bounds (proportions for ``"percent"`` and ``"points"``).
    decimals : int, default 0
        Decimals of each bound.
    kind : {"percent", "points", "number"}, default "percent"
        ``"percent"``: ``"60% to 63%"``; ``"points"``: signed, ``"-2 pts to +4 pts"``;
        ``"number"``: ``"1.20 to 1.35"``.
    na : str, default "[x]"
        Text when either bound cannot be shown.

    Raises
    ------
    DelibpollError
        ``lo`` is above ``hi``, or ``kind`` is not one of the three.

    Examples
    --------
    >>> ci(0.6012, 0.6349), ci(0.6012, 0.6349, 1), ci(-0.021, 0.04, 0, "points")
    ('60% to 63%', '60.1% to 63.5%', '-2 pts to +4 pts')
    >>> ci(1.2, 1.35, 2, "number"), ci(float("nan"), 0.3)
    ('1.20 to 1.35', '[x]')
    """
    func = "ci"
    if kind not in _KINDS:
        raise DelibpollError(
            f"The 'kind' parameter of ci must be one of {list(_KINDS)}; got {kind!r}."
        )
    decimals = _check_decimals(decimals, func)
    a, b = _decimal(lo, func, "lo"), _decimal(hi, func, "hi")
    if a is None or b is None:
        return na
    if a > b:
        raise DelibpollError(
            f"The 'lo' parameter of ci ({lo!r}) is above 'hi' ({hi!r}); pass the lower bound "
            "first."
        )
    return f"{_one(a, decimals, kind)} to {_one(b, decimals, kind)}"


def _one(d: Decimal, decimals: int, kind: str) -> str:
    if kind == "percent":
        return _fixed(_round(d.scaleb(2), decimals), decimals) + "%"
    if kind == "points":
        return _fixed(_round(d.scaleb(2), decimals), decimals, sign=True) + " pts"
    return _fixed(_round(d, decimals), decimals)


def same_decimals(
    column_values: Iterable[Any],
    decimals: int,
    kind: NumberKind = "number",
    *,
    unit: bool = True,
    na: str = NOT_AVAILABLE,
) -> list[str]:
    """A column of values, every one shown with the same number of decimals.

    Trailing zeros are kept (``"12.0%"`` beside ``"61.2%"``) so the column lines up and no
    value looks more or less precise than its neighbours.

    Parameters
    ----------
    column_values : iterable of float or None
        The column (proportions for ``"percent"`` and ``"points"``).
    decimals : int
        Decimals of every value.
    kind : {"percent", "points", "number"}, default "number"
        How each value is shown (:func:`percent`, :func:`points`, :func:`number`).
    unit : bool, default True
        Append the unit (``%``, `` pts``) to each value; False where the header carries it.
    na : str, default "[x]"
        Text for values that cannot be shown.

    Examples
    --------
    >>> same_decimals([0.612, 0.12, None, 0.1], 1, "percent")
    ['61.2%', '12.0%', '[x]', '10.0%']
    >>> same_decimals([1, 2.5, 1234.567], 2)
    ['1.00', '2.50', '1,234.57']
    >>> same_decimals([0.05, -0.031], 1, "points", unit=False)
    ['+5.0', '-3.1']
    """
    func = "same_decimals"
    if kind not in _KINDS:
        raise DelibpollError(
            f"The 'kind' parameter of {func} must be one of {list(_KINDS)}; got {kind!r}."
        )
    decimals = _check_decimals(decimals, func)
    if kind == "percent":
        return [percent(v, decimals, unit="%" if unit else "", na=na) for v in column_values]
    if kind == "points":
        return [points(v, decimals, unit=" pts" if unit else "", na=na) for v in column_values]
    return [number(v, decimals, na=na) for v in column_values]


def prose_share(
    p: Any,
    lo: Any,
    hi: Any,
    decimals: int = 0,
    *,
    level: float = 0.95,
    na: str = "not available",
) -> str:
    """A share and its interval as written in a report sentence.

    In the plain style of the Cohort 1 report: ``"62% (95% CI 60% to 63%)"``. The caller
    writes the rest of the sentence: ``f"{prose_share(...)} of Tier 3 respondents felt ..."``.

    Parameters
    ----------
    p, lo, hi : float
        The proportion and its interval bounds.
    decimals : int, default 0
        Decimals of the three percentages.
    level : float, default 0.95
        The interval's confidence level, printed as ``95% CI``.
    na : str, default "not available"
        Text when the share cannot be shown (words, not a table's shorthand: this is prose).
        An interval that cannot be shown is left out: ``"62%"``.

    Examples
    --------
    >>> prose_share(0.6187, 0.6012, 0.6349)
    '62% (95% CI 60% to 63%)'
    >>> prose_share(0.6187, 0.6012, 0.6349, 1, level=0.9)
    '61.9% (90% CI 60.1% to 63.5%)'
    >>> prose_share(0.62, float("nan"), float("nan")), prose_share(None, None, None)
    ('62%', 'not available')
    """
    func = "prose_share"
    decimals = _check_decimals(decimals, func)
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise DelibpollError(
            f"The 'level' parameter of {func} must be a float in (0, 1); got {level!r}."
        )
    share = percent(p, decimals, na="")
    if not share:
        return na
    interval = ci(lo, hi, decimals, "percent", na="")
    if not interval:
        return share
    lev = format(Decimal(repr(float(level))).scaleb(2).normalize(), "f")
    return f"{share} ({lev}% CI {interval})"


def shorthand_note(used: Iterable[str]) -> str:
    """The notes line explaining the shorthand markers a table uses.

    Examples
    --------
    >>> shorthand_note(["[x]", "[u]", "[x]"])
    '[u] low reliability: the unweighted base is small. [x] not available.'
    >>> shorthand_note([])
    ''
    """
    seen = [s for s in SHORTHAND if s in set(used)]
    return " ".join(f"{s} {SHORTHAND[s]}." for s in seen)


def scientific_notation(text: str) -> list[str]:
    """Every number written in scientific notation in ``text`` (for tests of outputs).

    Examples
    --------
    >>> scientific_notation("7.000000e+00 iterations, p = 1e-05, E1 sheet, 2e team")
    ['7.000000e+00', '1e-05']
    """
    return _SCIENTIFIC.findall(text)
