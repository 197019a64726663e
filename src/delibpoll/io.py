"""Reading and writing survey files: CSV/TSV, SPSS (.sav, .zsav, .por), Stata (.dta), Parquet.

Labelled statistical files keep their metadata in ``DataFrame.attrs``:

* ``attrs["variable_labels"]``: ``{column: label}``;
* ``attrs["value_labels"]``: ``{column: {code: label}}`` as stored in the file;
* ``attrs["missing_codes"]``: ``{column: {code: label}}``, the declared user-missing codes;
* ``attrs["missing_reasons"]``: ``{column: {row_label: [code, label]}}``, for each value the
  reader turned into a missing value, the code and label it had in the file.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .exceptions import DelibpollError, DelibpollWarning

__all__ = ["read_survey", "write_survey"]

UserMissing = Literal["missing", "keep"]
_STAT_READERS = {".sav": "read_sav", ".zsav": "read_sav", ".por": "read_por", ".dta": "read_dta"}


def _import_pyreadstat() -> Any:
    import pyreadstat

    return pyreadstat


def read_survey(
    path: str | Path,
    *,
    user_missing: UserMissing = "missing",
    labels: bool = True,
    na_values: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read a survey data file into a DataFrame.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.tsv``/``.tab``, ``.sav``, ``.zsav``, ``.por``, ``.dta`` or ``.parquet``.
    user_missing : {"missing", "keep"}
        Declared user-missing codes (SPSS/Stata): ``"missing"`` (default, as SPSS treats
        them) makes them missing values and records why in ``attrs["missing_reasons"]``;
        ``"keep"`` keeps them as labelled categories of categorical columns (so "Don't know"
        can stay in a percentage base). Numeric columns always turn user-missing codes into
        missing values.
    labels : bool, default True
        Turn value-labelled columns into pandas categoricals (categories in code order,
        ordered for ordinal variables). With False the codes are kept.
    na_values : list of str, optional
        CSV only: extra strings read as missing. By default only empty fields are missing;
        text such as "None" or "NA" stays a value.

    Returns
    -------
    pandas.DataFrame
        With ``attrs`` as described in the module docstring.

    Raises
    ------
    DelibpollError
        Missing, unreadable, truncated or ragged files, unknown extensions; the message
        names the file and the problem.
    """
    p = Path(path)
    if user_missing not in ("missing", "keep"):
        raise DelibpollError(
            f"The 'user_missing' parameter of read_survey must be 'missing' or 'keep'; "
            f"got {user_missing!r}."
        )
    if not p.exists():
        raise DelibpollError(f"Survey file '{p}' does not exist.")
    if p.is_dir():
        raise DelibpollError(f"'{p}' is a folder, not a survey file.")
    suffix = p.suffix.lower()
    if suffix in (".csv", ".tsv", ".tab", ".txt"):
        return _read_text(p, "\t" if suffix in (".tsv", ".tab") else ",", na_values)
    if suffix == ".parquet":
        try:
            return pd.read_parquet(p)
        except Exception as exc:
            raise DelibpollError(f"Could not read Parquet file '{p}': {exc}") from None
    if suffix in _STAT_READERS:
        return _read_stat(p, _STAT_READERS[suffix], user_missing, labels)
    raise DelibpollError(
        f"Cannot read '{p}': unknown extension '{suffix}'. Use .csv, .tsv, .sav, .zsav, "
        ".por, .dta or .parquet."
    )


def _read_text(p: Path, sep: str, na_values: Sequence[str] | None) -> pd.DataFrame:
    # a reader never returns a silently shortened or padded frame: check every row's width
    with p.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=sep)
        try:
            header = next(reader)
        except StopIteration:
            raise DelibpollError(f"Survey file '{p}' is empty.") from None
        except csv.Error as exc:
            raise DelibpollError(f"Survey file '{p}' is not valid CSV: {exc}") from None
        width = len(header)
        try:
            for line_no, row in enumerate(reader, start=2):
                if row and len(row) != width:
                    raise DelibpollError(
                        f"Survey file '{p}' line {line_no} has {len(row)} fields but the header "
                        f"has {width}; the file is ragged or truncated. Fix the row (quote "
                        "fields that contain the separator)."
                    )
        except csv.Error as exc:
            raise DelibpollError(f"Survey file '{p}' is not valid CSV: {exc}") from None
    try:
        df = pd.read_csv(
            p, sep=sep, keep_default_na=False, na_values=[""] + list(na_values or []),
            encoding="utf-8-sig",
        )
    except Exception as exc:
        raise DelibpollError(f"Could not read '{p}': {exc}") from None
    return df


def _read_stat(p: Path, reader_name: str, user_missing: str, labels: bool) -> pd.DataFrame:
    pyreadstat = _import_pyreadstat()
    reader = getattr(pyreadstat, reader_name)
    kwargs: dict[str, Any] = {"apply_value_formats": False}
    if reader_name in ("read_sav", "read_dta"):
        kwargs["user_missing"] = True
    try:
        df, meta = reader(str(p), **kwargs)
    except Exception as exc:
        raise DelibpollError(
            f"Could not read '{p}' as {reader_name.removeprefix('read_')}: {exc}. The file may "
            "be truncated or not of the type its extension says."
        ) from None
    if meta.number_rows is not None and meta.number_rows >= 0 and len(df) != meta.number_rows:
        raise DelibpollError(
            f"Survey file '{p}' says it has {meta.number_rows} rows but {len(df)} could be read; "
            "the file is truncated."
        )
    value_labels: dict[str, dict[Any, str]] = {
        k: dict(v) for k, v in (meta.variable_value_labels or {}).items()
    }
    var_labels = {
        k: v for k, v in (meta.column_names_to_labels or {}).items() if v is not None
    }
    missing_codes: dict[str, dict[Any, str]] = {}
    for col, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        codes: dict[Any, str] = {}
        present = pd.to_numeric(df[col], errors="coerce").dropna().unique() if col in df else []
        for rng in ranges:
            lo, hi = rng["lo"], rng["hi"]
            cand = set()
            if isinstance(lo, int | float) and isinstance(hi, int | float):
                cand |= {c for c in present if lo <= c <= hi}
                cand |= {c for c in value_labels.get(col, {}) if isinstance(c, int | float) and lo <= c <= hi}
                if lo == hi:
                    cand.add(lo)
            for c in cand:
                codes[_clean_code(c)] = value_labels.get(col, {}).get(c, str(_clean_code(c)))
        if codes:
            missing_codes[col] = codes
    measure = getattr(meta, "variable_measure", None) or {}
    missing_reasons: dict[str, dict[Hashable, list[Any]]] = {}
    out = {}
    for col in df.columns:
        s = df[col]
        vlabels = value_labels.get(col, {})
        mcodes = missing_codes.get(col, {})
        labelled_categorical = bool(vlabels) and _labels_cover(s, vlabels, mcodes)
        keep = user_missing == "keep" and labelled_categorical
        if mcodes and not keep:
            num = pd.to_numeric(s, errors="coerce")
            is_missing = num.isin(list(mcodes))
            if is_missing.any():
                missing_reasons[col] = {
                    idx: [_clean_code(code), mcodes[_clean_code(code)]]
                    for idx, code in num[is_missing].items()
                }
                s = s.mask(is_missing)
        if labels and labelled_categorical:
            s = _to_categorical(
                s, vlabels, mcodes if not keep else {}, p, col, measure.get(col) == "ordinal"
            )
        elif (
            pd.api.types.is_float_dtype(s)
            and not s.isna().any()
            and np.all(np.mod(s.to_numpy(), 1) == 0)
            and np.all(np.abs(s.to_numpy()) < 2**53)
        ):
            s = s.astype(np.int64)  # whole numbers stored as SPSS doubles
        out[col] = s
    result = pd.DataFrame(out, index=df.index)
    result.attrs["variable_labels"] = var_labels
    result.attrs["value_labels"] = value_labels
    result.attrs["missing_codes"] = missing_codes
    result.attrs["missing_reasons"] = missing_reasons
    return result


def _clean_code(c: Any) -> Any:
    if isinstance(c, float) and math.isfinite(c) and c.is_integer():
        return int(c)
    if isinstance(c, np.generic):
        return _clean_code(c.item())
    return c


def _labels_cover(s: pd.Series, vlabels: Mapping[Any, str], mcodes: Mapping[Any, str]) -> bool:
    """A column is categorical when its value labels cover most of its distinct codes."""
    vals = pd.Series(s).dropna().unique()
    if len(vals) == 0:
        return True
    keys = {_clean_code(k) for k in vlabels} | set(mcodes)
    covered = sum(_clean_code(v) in keys for v in vals)
    return covered >= max(1, len(vals) // 2) and len(keys - set(mcodes)) >= 2


def _to_categorical(
    s: pd.Series,
    vlabels: Mapping[Any, str],
    drop_codes: Mapping[Any, str],
    p: Path,
    col: str,
    ordered: bool,
) -> pd.Series:
    codes_sorted = sorted(
        (c for c in vlabels if _clean_code(c) not in drop_codes), key=lambda c: (str(type(c)), c)
    )
    mapping = {_clean_code(c): vlabels[c] for c in codes_sorted}
    present = [_clean_code(v) for v in pd.Series(s).dropna().unique()]
    unlabelled = sorted({v for v in present if v not in mapping}, key=lambda c: (str(type(c)), c))
    if unlabelled:
        warnings.warn(
            f"'{p.name}': column '{col}' has codes {unlabelled} with no value label; they are "
            "kept as categories named by their code (not turned into missing values).",
            DelibpollWarning,
            stacklevel=4,
        )
        for v in unlabelled:
            mapping[v] = str(v)
    categories = list(dict.fromkeys(mapping.values()))
    labelled = s.map(lambda v: mapping.get(_clean_code(v)) if pd.notna(v) else None)
    return pd.Series(
        pd.Categorical(labelled, categories=categories, ordered=ordered), index=s.index, name=col
    )


def write_survey(
    design_or_frame: Any,
    path: str | Path,
    *,
    weight_name: str = "weight",
    replicate_prefix: str = "repwt_",
) -> Path:
    """Write data with its weights (and replicate weights) to .sav, .csv or .parquet.

    Parameters
    ----------
    design_or_frame : SurveyDesign or pandas.DataFrame
        A design (its data, its current weights as ``weight_name`` and any replicate weights
        as ``repwt_1`` ...) or a plain frame.
    path : str or Path
        ``.sav`` keeps categoricals as labelled codes (1, 2, ...), variable labels, and the
        user-missing codes recorded in ``attrs`` (the codes are written back in the rows
        they came from and declared missing); ``.csv`` writes labels as text; ``.parquet``
        keeps dtypes.
    weight_name : str, default "weight"
        Column for the weights. It must not already be a data column.

    Returns
    -------
    Path
    """
    p = Path(path)
    if hasattr(design_or_frame, "data") and hasattr(design_or_frame, "weights"):
        df = design_or_frame.data.copy()
        attrs = dict(getattr(design_or_frame, "attrs", None) or design_or_frame.data.attrs)
        if weight_name in df.columns:
            raise DelibpollError(
                f"The data already has a column '{weight_name}'; pass weight_name= with "
                "another name so the weights do not overwrite it."
            )
        df[weight_name] = design_or_frame.weights.to_numpy()
        reps = getattr(design_or_frame, "_replicates", None)
        if reps is not None:
            mat = np.asarray(reps.weights)
            for j in range(mat.shape[1]):
                df[f"{replicate_prefix}{j + 1}"] = mat[:, j]
    elif isinstance(design_or_frame, pd.DataFrame):
        df = design_or_frame.copy()
        attrs = dict(design_or_frame.attrs)
    else:
        raise DelibpollError(
            f"write_survey needs a SurveyDesign or a DataFrame; got {type(design_or_frame).__name__}."
        )
    suffix = p.suffix.lower()
    if suffix == ".csv":
        df.to_csv(p, index=False)
    elif suffix == ".parquet":
        try:
            df.to_parquet(p, index=False)
        except ImportError as exc:
            raise DelibpollError(f"Writing Parquet needs pyarrow: {exc}") from None
    elif suffix in (".sav", ".zsav"):
        _write_sav(df, p, attrs, compress=suffix == ".zsav")
    else:
        raise DelibpollError(
            f"Cannot write '{p}': use a .sav, .zsav, .csv or .parquet file name."
        )
    return p


def _write_sav(df: pd.DataFrame, p: Path, attrs: Mapping[str, Any], compress: bool) -> None:
    pyreadstat = _import_pyreadstat()
    out = pd.DataFrame(index=df.index)
    value_labels: dict[str, dict[Any, str]] = {}
    missing_ranges: dict[str, list[Any]] = {}
    measure: dict[str, str] = {}
    file_values = attrs.get("value_labels", {}) or {}
    reasons = attrs.get("missing_reasons", {}) or {}
    missing_codes = attrs.get("missing_codes", {}) or {}
    for col in df.columns:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = list(s.cat.categories)
            original = {v: k for k, v in (file_values.get(col) or {}).items()}
            if all(c in original for c in cats) and len(set(original[c] for c in cats)) == len(cats):
                code_of = {c: original[c] for c in cats}
            else:
                code_of = {c: i + 1 for i, c in enumerate(cats)}
            codes = s.map(code_of).astype(float)
            labels_ = {code_of[c]: str(c) for c in cats}
            measure[col] = "ordinal" if s.cat.ordered else "nominal"
        else:
            codes = s
            labels_ = dict(file_values.get(col) or {})
        if col in reasons:
            codes = codes.astype(object) if codes.dtype == object else codes.astype(float)
            for idx, (code, label) in reasons[col].items():
                if idx in codes.index:
                    codes.loc[idx] = code
                    labels_[code] = label
        if col in missing_codes:
            for code, label in missing_codes[col].items():
                labels_.setdefault(code, label)
            numeric = [c for c in missing_codes[col] if isinstance(c, int | float)]
            if numeric:
                missing_ranges[col] = numeric[:3]
        out[col] = codes
        if labels_:
            value_labels[col] = labels_
    try:
        pyreadstat.write_sav(
            out,
            str(p),
            column_labels={k: v for k, v in (attrs.get("variable_labels") or {}).items() if k in out},
            variable_value_labels=value_labels,
            missing_ranges=missing_ranges or None,
            variable_measure=measure or None,
            compress=compress,
        )
    except Exception as exc:
        raise DelibpollError(f"Could not write '{p}': {exc}") from None
