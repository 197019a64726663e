"""What people read besides tables and charts (base layer): the synthetic-data notice, CSV
files that carry it, and the notebook (``_repr_html_``) display of result frames.

**Synthetic or provisional data.** When the data are synthetic (``[cohort] synthetic =
true``) every output says so, in the same words (:data:`SYNTHETIC_NOTE`): chart captions,
table titles or notes, the report, the console summary, and every CSV file, whose *first line*
is a comment::

    # SYNTHETIC DATA: no respondent is real; the figures illustrate the method only.
    question,category,estimate,...

A comment line travels with the file (a notes file beside it is lost when the CSV is sent
alone), Excel and LibreOffice show it in cell A1, and a reader that does not skip it fails
loudly rather than misreading the columns. :func:`read_csv` reads such a file (it skips the
leading ``#`` lines and nothing else); with pandas, ``pd.read_csv(path, skiprows=1)``.

**Notebook display.** :func:`frame_html` writes a result's frame as a compact, escaped HTML
table with every number in fixed notation (no ``7.000000e+00``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._format import count, number

__all__ = [
    "SYNTHETIC_NOTE",
    "csv_comment",
    "frame_html",
    "readable_number",
    "read_csv",
    "synthetic_note",
    "write_csv",
]

#: The words every output of synthetic data carries.
SYNTHETIC_NOTE = "SYNTHETIC DATA: no respondent is real; the figures illustrate the method only."

#: Rows shown by :func:`frame_html` before the rest is summarised.
MAX_ROWS = 40


def synthetic_note(synthetic: bool) -> str:
    """:data:`SYNTHETIC_NOTE` when ``synthetic``, else ``""``.

    Examples
    --------
    >>> synthetic_note(True)
    'SYNTHETIC DATA: no respondent is real; the figures illustrate the method only.'
    >>> synthetic_note(False)
    ''
    """
    return SYNTHETIC_NOTE if synthetic else ""


def csv_comment(synthetic: bool) -> str:
    """The first line of a CSV file of synthetic data (``""`` otherwise), newline included.

    Examples
    --------
    >>> csv_comment(True)
    '# SYNTHETIC DATA: no respondent is real; the figures illustrate the method only.\\n'
    """
    return f"# {SYNTHETIC_NOTE}\n" if synthetic else ""


def write_csv(
    frame: pd.DataFrame, path: str | Path, *, synthetic: bool = False,
    float_format: str | None = None,
) -> Path:
    """Write ``frame`` as CSV (no index), with the synthetic-data comment line first when
    ``synthetic``; returns the path. Every writer of CSV outputs calls this one."""
    p = Path(path)
    body = frame.to_csv(index=False, float_format=float_format, lineterminator="\n")
    p.write_text(csv_comment(synthetic) + body, encoding="utf-8")
    return p


def read_csv(path: str | Path, **kwargs: Any) -> pd.DataFrame:
    """Read a CSV written by delibpoll, skipping the leading ``#`` comment lines only.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> p = write_csv(pd.DataFrame({"a": [1, 2], "b": ["x#1", "y"]}), os.path.join(d, "t.csv"),
    ...               synthetic=True)
    >>> p.read_text().startswith("# SYNTHETIC DATA")
    True
    >>> read_csv(p)
       a    b
    0  1  x#1
    1  2    y
    """
    p = Path(path)
    skip = 0
    with p.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            skip += 1
    out: pd.DataFrame = pd.read_csv(p, skiprows=skip, **kwargs)
    return out


def readable_number(x: Any, digits: int = 4) -> str:
    """A number in fixed notation with about ``digits`` significant digits, for displays.

    Whole numbers print whole with thousands separators; others keep ``digits`` significant
    digits (trailing zeros dropped); NaN and None print as ``""``.

    Examples
    --------
    >>> [readable_number(v) for v in (7.0, 4000, 0.612345, 1.472833e-11, -0.00012345, 1234.5678)]
    ['7', '4,000', '0.6123', '0.00000000001473', '-0.0001235', '1,235']
    >>> readable_number(float("nan")), readable_number(True)
    ('', 'Yes')
    """
    if x is None or x is pd.NA:
        return ""
    if isinstance(x, bool | np.bool_):
        return "Yes" if x else "No"
    if isinstance(x, int | np.integer):
        return count(x)
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(f):
        return "" if math.isnan(f) else ("infinite" if f > 0 else "minus infinite")
    if f.is_integer() and abs(f) < 1e15:
        return count(f)
    mag = math.floor(math.log10(abs(f)))
    decimals = min(15, max(0, digits - 1 - mag))
    text = number(f, decimals)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return " / ".join(_cell(v) for v in value)
    return readable_number(value)


def frame_html(
    frame: pd.DataFrame,
    *,
    caption: str = "",
    formats: Mapping[str, Callable[[Any], str]] | None = None,
    max_rows: int = MAX_ROWS,
) -> str:
    """A frame as a compact, escaped HTML table for notebooks: numbers in fixed notation
    (:func:`readable_number`, or ``formats[column]``), headers escaped, at most ``max_rows``
    rows followed by a line saying how many more there are.

    Examples
    --------
    >>> out = frame_html(pd.DataFrame({"iterations": [7.0], "tol": [1e-10], "x<y": ["a&b"]}),
    ...                  caption="Weighting")
    >>> "7.000000e+00" in out, "<td>7</td>" in out, "0.0000000001" in out, "a&amp;b" in out
    (False, True, True, True)
    """
    fmts = dict(formats or {})
    cols = [str(c) for c in frame.columns]
    head = "".join(f"<th scope='col'>{html.escape(c)}</th>" for c in cols)
    body: list[str] = []
    shown = frame.iloc[:max_rows]
    for row in shown.itertuples(index=False, name=None):
        cells = []
        for c, v in zip(cols, row, strict=True):
            text = fmts[c](v) if c in fmts else _cell(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(frame) > max_rows:
        more = (f"<p style='margin:0'>{count(len(frame) - max_rows)} more rows; "
                "<code>.to_frame()</code> has them all.</p>")
    cap = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return (
        "<table class='delibpoll' style='border-collapse:collapse;font-size:90%'>"
        f"{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"
    )
