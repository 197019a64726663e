"""A codebook of a survey frame: variables, labels, codes, missing values, counts (values layer).

Layer: values (it reads a DataFrame and the ``attrs`` that :func:`~delibpoll.read_survey`
records, and uses :mod:`delibpoll.mapping` to say which target variables each variable could
stand for); it imports only ``exceptions``, ``targets`` and ``mapping``. Counts are counts of
rows (unweighted).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

from ._frames import to_pandas
from .exceptions import DelibpollError
from .mapping import match_columns, plain_frame
from .targets import Targets

__all__ = ["CODEBOOK_COLUMNS", "codebook", "format_codebook"]

#: The columns of :func:`codebook`'s frame, in order.
CODEBOOK_COLUMNS = (
    "name", "label", "type", "n_valid", "n_missing", "missing_codes", "values", "could_match",
)


def _code_text(code: Any) -> str:
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code)


def _kind(s: pd.Series) -> str:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return "ordinal" if s.cat.ordered else "categorical"
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_numeric_dtype(s):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    return "text"


def _number(x: float) -> str:
    return _code_text(float(x)) if float(x).is_integer() else f"{x:.4g}"


def _values_text(s: pd.Series, labels: dict[Any, str], max_values: int) -> str:
    """Categories (or labelled values) with their codes and counts; a numeric range."""
    parts: list[str] = []
    if isinstance(s.dtype, pd.CategoricalDtype):
        code_of = {lab: code for code, lab in labels.items()}
        counts = s.value_counts(sort=False, dropna=True)
        for cat in s.cat.categories:
            code = f"{_code_text(code_of[cat])} " if cat in code_of else ""
            parts.append(f'{code}"{cat}" ({int(counts.get(cat, 0))})')
    elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        values = s.dropna()
        if len(values):
            parts.append(
                f"{_number(values.min())} to {_number(values.max())}, mean "
                f"{float(values.mean()):.6g}"
            )
        num = pd.to_numeric(s, errors="coerce")
        for code, lab in labels.items():
            if isinstance(code, int | float) and not isinstance(code, bool):
                parts.append(f'{_code_text(code)} "{lab}" ({int((num == code).sum())})')
    else:
        counts = s.value_counts(dropna=True)
        parts += [f'"{v}" ({int(n)})' for v, n in counts.items()]
    if len(parts) > max_values:
        parts = parts[:max_values] + [f"... {len(parts) - max_values} more"]
    return "; ".join(parts)


def codebook(
    df: pd.DataFrame, targets: Targets | None = None, *, max_values: int = 30
) -> pd.DataFrame:
    """One row per variable: name, label, type, counts, missing codes, values, target matches.

    Parameters
    ----------
    df : pandas.DataFrame
        Survey data, ideally as :func:`~delibpoll.read_survey` returns it (labels and
        user-missing codes in ``attrs``).
    targets : Targets, optional
        When given, ``could_match`` lists the target variables each column could stand for
        (see :func:`delibpoll.mapping.match_columns`).
    max_values : int, default 30
        At most this many values per variable in ``values``.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``label`` (variable label, "" if none), ``type`` (categorical,
        ordinal, numeric, boolean, datetime, text), ``n_valid`` and ``n_missing`` (rows with
        and without a value), ``missing_codes`` (declared user-missing codes with their labels
        and the number of rows that had each, e.g. ``98 "Prefer not to say" (64)``),
        ``values`` (categories with their codes and row counts, or a numeric range and the
        labelled values) and ``could_match`` (target variables, comma-separated).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"gender": pd.Categorical(["Man", "Woman", None, "Woman"])})
    >>> df.attrs["variable_labels"] = {"gender": "Gender"}
    >>> row = codebook(df).iloc[0]
    >>> row["type"], int(row["n_valid"]), int(row["n_missing"]), row["values"]
    ('categorical', 3, 1, '"Man" (1); "Woman" (2)')
    """
    df = to_pandas(df, "codebook", "df")
    if targets is not None and not isinstance(targets, Targets):
        raise DelibpollError(
            "The 'targets' parameter of codebook must be a Targets object or None. "
            f"Got {type(targets).__name__} instead."
        )
    if isinstance(max_values, bool) or not isinstance(max_values, int) or max_values < 1:
        raise DelibpollError(
            f"The 'max_values' parameter of codebook must be a positive integer. "
            f"Got {max_values!r} instead."
        )
    attrs = df.attrs
    var_labels = attrs.get("variable_labels") or {}
    value_labels = attrs.get("value_labels") or {}
    missing_codes = attrs.get("missing_codes") or {}
    reasons = attrs.get("missing_reasons") or {}
    matches: dict[Hashable, list[str]] = {}
    if targets is not None:
        for var, cols in match_columns(plain_frame(df), targets).items():
            for col in cols:
                matches.setdefault(col, []).append(var)
    rows = []
    plain = plain_frame(df)
    for col in plain.columns:
        s = plain[col]
        n_missing = int(s.isna().sum())
        why = reasons.get(col) or {}
        per_code: dict[Any, int] = {}
        for code, _label in why.values():
            per_code[code] = per_code.get(code, 0) + 1
        declared = missing_codes.get(col) or {}
        missing_text = "; ".join(
            f'{_code_text(code)} "{lab}" ({per_code.get(code, 0)})'
            for code, lab in declared.items()
        )
        labels = {
            k: v for k, v in (value_labels.get(col) or {}).items()
            if not (declared and any(k == c for c in declared))
        }
        rows.append({
            "name": str(col),
            "label": str(var_labels.get(col, "")),
            "type": _kind(s),
            "n_valid": len(s) - n_missing,
            "n_missing": n_missing,
            "missing_codes": missing_text,
            "values": _values_text(s, labels, max_values),
            "could_match": ", ".join(matches.get(col, [])),
        })
    out = pd.DataFrame(rows, columns=list(CODEBOOK_COLUMNS))
    out["n_valid"] = out["n_valid"].astype(np.int64)
    out["n_missing"] = out["n_missing"].astype(np.int64)
    return out


def format_codebook(
    df: pd.DataFrame, targets: Targets | None = None, *, max_values: int = 30
) -> str:
    """The codebook as text, one block per variable (for ``delibpoll describe``).

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import datasets
    >>> df = pd.DataFrame({"gender": pd.Categorical(["Man", "Woman", "Woman"])})
    >>> print(format_codebook(df, datasets.england_adult_targets(["sex"])))
    3 rows, 1 variable
    <BLANKLINE>
    gender  categorical  3 valid, 0 missing
      values: "Man" (1); "Woman" (2)
      could match target: sex
    """
    cb = codebook(df, targets, max_values=max_values)
    lines = [f"{len(df)} rows, {len(cb)} variable{'s' if len(cb) != 1 else ''}", ""]
    for rec in cb.to_dict("records"):
        r = {k: str(v) for k, v in rec.items()}
        lines.append(f"{r['name']}  {r['type']}  {r['n_valid']} valid, {r['n_missing']} missing")
        for key, title in (("label", "label"), ("values", "values"),
                           ("missing_codes", "user-missing"), ("could_match", "could match target")):
            if r[key] and (key != "could_match" or targets is not None):
                lines.append(f"  {title}: {r[key]}")
        lines.append("")
    return "\n".join(lines).rstrip("\n")
