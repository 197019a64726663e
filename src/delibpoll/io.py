"""Reading and writing survey files: CSV/TSV, SPSS (.sav, .zsav, .por), Stata (.dta), Parquet.

Labelled statistical files keep their metadata in ``DataFrame.attrs``:

* ``attrs["variable_labels"]``: ``{column: label}``;
* ``attrs["value_labels"]``: ``{column: {code: label}}`` as stored in the file;
* ``attrs["missing_codes"]``: ``{column: {code: label}}``, the declared user-missing codes;
* ``attrs["missing_reasons"]``: ``{column: {row_label: [code, label]}}``, for each value the
  reader turned into a missing value, the code and label it had in the file.
"""

from __future__ import annotations

import codecs
import copy
import csv
import importlib
import io
import json
import math
import os
import re
import struct
import warnings
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._frames import ACCEPTED, is_frame, to_pandas
from ._types import UserMissing, values
from .exceptions import DelibpollError, DelibpollWarning

__all__ = ["read_survey", "write_survey"]

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
    sep: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
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
        CSV only: extra strings read as missing. By default only empty unquoted fields are
        missing; text such as "None" or "NA", and a quoted empty field ``""``, stay values.
    sep, delimiter : str, optional
        CSV/TSV only: the field separator (``delimiter`` is an alias). By default ``,`` for
        ``.csv``/``.txt`` and a tab for ``.tsv``/``.tab``; when the file has a single column
        with that separator but splits consistently on exactly one of ``;``, tab, ``|`` or
        ``,``, that one is used. An ambiguous file is refused with a request for ``sep=``.
    encoding : str, optional
        Text encoding of a CSV/TSV file (or of an SPSS/Stata file, passed to pyreadstat).
        By default a byte-order mark selects UTF-8 or UTF-16/32, otherwise the file must
        be UTF-8; a file that is not gets a clear error naming the encoding to try
        (e.g. ``encoding="cp1252"``).

    Returns
    -------
    pandas.DataFrame
        With ``attrs`` as described in the module docstring.

    Raises
    ------
    DelibpollError
        Missing, unreadable, truncated or ragged files, files that are not text or not
        valid in their encoding, unknown extensions, a header that declares a different
        number of cases than the file holds; the message names the file and the problem.
    """
    p = _as_path(path, "read_survey")
    if user_missing not in values(UserMissing):
        raise DelibpollError(
            f"The 'user_missing' parameter of read_survey must be 'missing' or 'keep'. "
            f"Got {user_missing!r} instead."
        )
    if not isinstance(labels, bool | np.bool_):
        raise DelibpollError(
            f"The 'labels' parameter of read_survey must be True or False. Got {labels!r} instead."
        )
    if na_values is not None and (
        isinstance(na_values, str) or not all(isinstance(v, str) for v in na_values)
    ):
        raise DelibpollError(
            "The 'na_values' parameter of read_survey must be a list of strings, e.g. "
            f"na_values=['NA']. Got {na_values!r} instead."
        )
    if encoding is not None:
        if not isinstance(encoding, str):
            raise DelibpollError(
                "The 'encoding' parameter of read_survey must be an encoding name such as "
                f"'cp1252'. Got {encoding!r} instead."
            )
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DelibpollError(
                f"The 'encoding' parameter of read_survey names an unknown encoding: "
                f"{encoding!r}. Use e.g. 'utf-8', 'cp1252', 'latin-1' or 'utf-16'."
            ) from None
    separator = _separator_argument(sep, delimiter)
    if not p.exists():
        raise DelibpollError(f"Survey file '{p}' does not exist.")
    if p.is_dir():
        raise DelibpollError(f"'{p}' is a folder, not a survey file.")
    suffix = p.suffix.lower()
    if separator is not None and suffix not in _TEXT_SUFFIXES:
        raise DelibpollError(
            f"The 'sep' parameter of read_survey applies to CSV/TSV files only; '{p.name}' "
            f"is a {suffix} file. Leave sep= out."
        )
    if suffix in _TEXT_SUFFIXES:
        default = "\t" if suffix in (".tsv", ".tab") else ","
        return _read_text(p, separator, default, na_values, encoding)
    if suffix == ".parquet":
        if encoding is not None:
            raise DelibpollError(
                f"The 'encoding' parameter of read_survey does not apply to Parquet files "
                f"('{p.name}'). Leave encoding= out."
            )
        return _read_parquet(p)
    if suffix in _STAT_READERS:
        return _read_stat(p, _STAT_READERS[suffix], user_missing, labels, encoding)
    raise DelibpollError(
        f"Cannot read '{p}': unknown extension '{suffix}'. Use .csv, .tsv, .sav, .zsav, "
        ".por, .dta or .parquet."
    )


_TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
_SEPARATORS = (",", ";", "\t", "|")


def _as_path(path: Any, func: str) -> Path:
    if isinstance(path, str | os.PathLike) and not isinstance(path, bytes):
        text = os.fspath(path)
        if isinstance(text, str) and text.strip():
            return Path(text)
    raise DelibpollError(
        f"The 'path' parameter of {func} must be a file name (str or pathlib.Path). "
        f"Got {path!r} ({type(path).__name__}) instead."
    )


def _separator_argument(sep: Any, delimiter: Any) -> str | None:
    if sep is not None and delimiter is not None and sep != delimiter:
        raise DelibpollError(
            f"read_survey got both sep={sep!r} and delimiter={delimiter!r}; they are the same "
            "parameter. Pass only one."
        )
    value = sep if sep is not None else delimiter
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 1 or value in "\"\r\n":
        raise DelibpollError(
            "The 'sep' parameter of read_survey must be a single character such as ',', ';', "
            f"'\\t' or '|'. Got {value!r} instead."
        )
    return value


def _decode(p: Path, encoding: str | None) -> str:
    """The text of a CSV/TSV file: BOM-aware, strict, with errors that say what to try."""
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DelibpollError(f"Could not read '{p}': {exc.strerror or exc}.") from None
    if encoding is None:
        for bom, name in _BOMS:
            if raw.startswith(bom):
                encoding = name
                break
    if encoding is None:
        _refuse_binary(p, raw)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            byte = raw[exc.start : exc.start + 1].hex()
            raise DelibpollError(
                f"Survey file '{p}' is not UTF-8 text (byte 0x{byte} on line {line} is not "
                "valid UTF-8). Name its encoding: a CSV saved by Excel on Windows is usually "
                "read_survey(path, encoding='cp1252'); other Western European files "
                "encoding='latin-1'; UTF-16 files encoding='utf-16'."
            ) from None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DelibpollError(
            f"Survey file '{p}' is not valid {encoding} text (line {line}: {exc.reason}). "
            "Pass the file's actual encoding as encoding=..., e.g. 'utf-8', 'cp1252', "
            "'latin-1' or 'utf-16'."
        ) from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise DelibpollError(
            f"Survey file '{p}' decoded as {encoding} contains NUL characters, so it is not "
            "text in that encoding (or not a CSV file at all). Check the file, or pass the "
            "right encoding=."
        )
    return text


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _refuse_binary(p: Path, raw: bytes) -> None:
    sample = raw[:65536]
    if b"\x00" not in sample:
        controls = sum(sample.count(bytes([b])) for b in range(32) if b not in (9, 10, 12, 13))
        if not sample or controls / len(sample) <= 0.05:
            return
    else:
        even, odd = sample[0::2], sample[1::2]
        if even and odd:
            for name, part in (("utf-16-le", odd), ("utf-16-be", even)):
                if part.count(0) / len(part) > 0.9:
                    raise DelibpollError(
                        f"Survey file '{p}' looks like UTF-16 text without a byte-order mark. "
                        f"Read it with read_survey(path, encoding='{name}')."
                    )
    raise DelibpollError(
        f"Survey file '{p}' is not a text (CSV/TSV) file: it contains binary data (NUL or "
        "control bytes). Check that it is the right file and that its extension matches its "
        "type (.sav, .dta, .parquet files are read by their own extension)."
    )


def _split_rows(text: str, sep: str, limit: int | None = None) -> list[list[str]]:
    rows = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    for row in reader:
        rows.append(row)
        if limit is not None and len(rows) >= limit:
            break
    return rows


def _choose_separator(p: Path, text: str, default: str) -> str:
    """The extension's separator unless the file is plainly delimited by one other one."""
    sample = text[:65536]
    if len(sample) < len(text):
        sample = sample[: sample.rfind("\n") + 1] or sample
    def widths(sep: str) -> set[int] | None:
        try:
            rows = [r for r in _split_rows(sample, sep, limit=200) if r]
        except csv.Error:
            return None
        return {len(r) for r in rows} if rows else None

    try:
        header = next((r for r in _split_rows(sample, default, limit=1)), [])
    except csv.Error:
        return default
    if len(header) > 1:
        return default
    fits = [s for s in _SEPARATORS if s != default and (w := widths(s)) and min(w) > 1 and len(w) == 1]
    if len(fits) == 1:
        return fits[0]
    if len(fits) > 1:
        shown = ", ".join(repr(s) for s in fits)
        raise DelibpollError(
            f"Survey file '{p}' has a single column when split on {default!r}, and splits "
            f"consistently on several other separators ({shown}). Say which one with "
            "read_survey(path, sep=...)."
        )
    return default


def _read_text(
    p: Path,
    sep: str | None,
    default_sep: str,
    na_values: Sequence[str] | None,
    encoding: str | None,
) -> pd.DataFrame:
    text = _decode(p, encoding)
    if not text.strip():
        raise DelibpollError(f"Survey file '{p}' is empty.")
    if sep is None:
        sep = _choose_separator(p, text, default_sep)
    # a reader never returns a silently shortened or padded frame: check every row's width
    try:
        rows = _split_rows(text, sep)
    except csv.Error as exc:
        raise DelibpollError(
            f"Survey file '{p}' is not valid CSV: {exc}. Check its quoting (a quote that is "
            "never closed), or whether it is a CSV file at all."
        ) from None
    header = rows[0] if rows else []
    if not header:
        raise DelibpollError(f"Survey file '{p}' has no header line (its first line is empty).")
    width = len(header)
    for line_no, row in enumerate(rows[1:], start=2):
        if row and len(row) != width:
            raise DelibpollError(
                f"Survey file '{p}' line {line_no} has {len(row)} fields but the header "
                f"has {width}; the file is ragged or truncated. Fix the row (quote "
                "fields that contain the separator), or give the separator with sep=."
            )
    _check_header(p, header)
    one_column = width == 1
    empties = _quoted_empty_cells(p, text, sep, one_column) if '""' in text else {}
    text_columns = {header[j]: str for j in empties}
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            keep_default_na=False,
            na_values=[""] + list(na_values or []),
            dtype=text_columns or None,
            skip_blank_lines=not one_column,
        )
    except Exception as exc:
        raise DelibpollError(f"Could not read '{p}' as CSV: {exc}") from None
    for j, positions in empties.items():
        col = df.columns[j]
        values = df[col].copy()
        values.iloc[positions] = ""
        df[col] = values
    return df


def _check_header(p: Path, header: list[str]) -> None:
    blank = [i + 1 for i, name in enumerate(header) if not name.strip()]
    if blank:
        raise DelibpollError(
            f"Survey file '{p}': column {blank[0]} has no name in the header line. Give every "
            "column a name (a CSV written by R's write.csv with row names needs "
            "row.names = FALSE)."
        )
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in seen:
            raise DelibpollError(
                f"Survey file '{p}': the column name {name!r} appears twice in the header "
                f"(columns {seen[name] + 1} and {i + 1}). Rename one so no column is lost."
            )
        seen[name] = i


def _quoted_empty_cells(p: Path, text: str, sep: str, one_column: bool) -> dict[int, list[int]]:
    """Positions (column -> data rows) of fields written as a quoted empty string ``""``.

    The csv module and pandas read ``""`` and an empty field alike; delibpoll keeps the
    first as the text value "" and the second as missing, so it tokenises the file itself.
    """
    s = re.escape(sep)
    pattern = re.compile(
        rf'("(?:[^"]|"")*"[^{s}\r\n]*|[^{s}"\r\n][^{s}\r\n]*|)({s}|\r\n|\n|\r|\Z)'
    )
    out: dict[int, list[int]] = {}
    pos, n = 0, len(text)
    row, col = -1, 0  # row -1 is the header
    row_fields: list[str] = []
    while pos < n:
        m = pattern.match(text, pos)
        if m is None or m.end() == pos:
            raise DelibpollError(
                f"Survey file '{p}' is not valid CSV: malformed quoting at line "
                f"{text.count(chr(10), 0, pos) + 1}. Check the quotes in that line."
            )
        field, term = m.group(1), m.group(2)
        row_fields.append(field)
        if field == '""' and row >= 0:
            out.setdefault(col, []).append(row)
        pos = m.end()
        if term == sep:
            col += 1
            continue
        blank_line = len(row_fields) == 1 and row_fields[0] == ""
        if not blank_line or one_column or row < 0:
            row += 1
        row_fields, col = [], 0
    return out


def _read_parquet(p: Path) -> pd.DataFrame:
    try:
        pq: Any = importlib.import_module("pyarrow.parquet")
        pq.read_table(p).validate(full=True)  # e.g. invalid UTF-8 in a string column
        df = pd.read_parquet(p)
    except ImportError as exc:
        raise DelibpollError(f"Reading Parquet needs pyarrow: {exc}") from None
    except Exception as exc:
        raise DelibpollError(
            f"Could not read Parquet file '{p}': {exc}. The file may be truncated or not a "
            "Parquet file."
        ) from None
    stored = df.attrs.get(_ATTRS_KEY)
    if isinstance(stored, str):
        try:
            df.attrs = _untag(json.loads(stored))
        except (ValueError, TypeError):
            raise DelibpollError(
                f"Could not read the metadata (attrs) of Parquet file '{p}': it is corrupt."
            ) from None
    return df


def _read_stat(
    p: Path, reader_name: str, user_missing: str, labels: bool, encoding: str | None
) -> pd.DataFrame:
    pyreadstat = _import_pyreadstat()
    reader = getattr(pyreadstat, reader_name)
    kwargs: dict[str, Any] = {"apply_value_formats": False}
    if reader_name in ("read_sav", "read_dta"):
        kwargs["user_missing"] = True
    if encoding is not None:
        kwargs["encoding"] = encoding
    kind = reader_name.removeprefix("read_")
    source: Any = str(p)
    declared: int | None = None
    if reader_name == "read_sav":
        source, declared = _sav_source(p)
    elif reader_name == "read_dta":
        _check_dta_end(p)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            df, meta = reader(source, **kwargs)
    except Exception as exc:
        raise DelibpollError(
            f"Could not read '{p}' as {kind}: {exc}. The file may be truncated or not of "
            "the type its extension says, or corrupt."
        ) from None
    expected = declared if declared is not None else meta.number_rows
    if expected is not None and expected >= 0 and len(df) != expected:
        raise DelibpollError(
            f"Survey file '{p}' says in its header that it has {expected} cases but "
            f"{len(df)} could be read; the file is truncated or its header is corrupt."
        )
    _check_stat_columns(p, kind, df, meta)
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


def _sav_source(p: Path) -> tuple[Any, int | None]:
    """The .sav/.zsav bytes with the header's case count set to "unknown", and that count.

    pyreadstat stops after the number of cases the header declares, so a header that
    declares too few (or 0) would silently drop rows; read to the end instead and compare.
    """
    try:
        raw = bytearray(p.read_bytes())
    except OSError as exc:
        raise DelibpollError(f"Could not read '{p}': {exc.strerror or exc}.") from None
    if len(raw) < 176 or bytes(raw[:4]) not in (b"$FL2", b"$FL3"):
        return str(p), None
    order = "<" if struct.unpack("<i", raw[64:68])[0] in (2, 3) else ">"
    _check_sav_dictionary(p, bytes(raw), order)
    declared = struct.unpack(order + "i", raw[80:84])[0]
    if declared < 0:
        return str(p), None
    raw[80:84] = struct.pack(order + "i", -1)
    return io.BytesIO(bytes(raw)), declared


def _check_sav_dictionary(p: Path, raw: bytes, order: str) -> None:
    """Walk the .sav dictionary records and refuse one that is corrupt.

    readstat (under pyreadstat) trusts some of these fields and can crash the whole Python
    process (a segmentation fault, which no ``except`` catches) on a corrupt file, e.g. a
    value-label record that points at a variable that does not exist. So check the record
    structure first: known record types, sizes within the file, indices within range.
    """

    def corrupt(why: str) -> DelibpollError:
        return DelibpollError(
            f"Could not read '{p}' as sav: its dictionary is corrupt ({why}). The file may be "
            "truncated or damaged; re-export it from the source."
        )

    n = len(raw)
    pos = 176
    n_slots = 0

    def ints(k: int) -> tuple[int, ...]:
        nonlocal pos
        if k < 0 or pos + 4 * k > n:
            raise corrupt(f"a record runs past the end of the file at byte {pos}")
        vals = struct.unpack(f"{order}{k}i", raw[pos : pos + 4 * k])
        pos += 4 * k
        return vals

    def skip(k: int) -> None:
        nonlocal pos
        if k < 0 or pos + k > n:
            raise corrupt(f"a record runs past the end of the file at byte {pos}")
        pos += k

    pending_labels = False
    continuations = 0
    for _ in range(1_000_000):
        (rec_type,) = ints(1)
        if pending_labels and rec_type != 4:
            raise corrupt("a value-label record is not followed by its variable list")
        if rec_type != 2 and continuations:
            raise corrupt(f"string variable {n_slots} lacks {continuations} continuation records")
        if rec_type == 2:
            vtype, has_label, n_missing, _print, _write = ints(5)
            skip(8)
            if not -1 <= vtype <= 255 or has_label not in (0, 1) or abs(n_missing) > 3 or (
                n_missing == -1
            ):
                raise corrupt(f"variable record {n_slots + 1} has invalid fields")
            # a string of width w takes ceil(w / 8) slots: the record and w // 8 continuations
            if (vtype == -1) != (continuations > 0):
                raise corrupt(f"variable record {n_slots + 1} has an inconsistent type {vtype}")
            continuations = continuations - 1 if vtype == -1 else (vtype + 7) // 8 - 1 if vtype else 0
            if has_label:
                (length,) = ints(1)
                if not 0 <= length <= 65535:
                    raise corrupt(f"variable record {n_slots + 1} has a label of length {length}")
                skip((length + 3) // 4 * 4)
            skip(8 * abs(n_missing))
            n_slots += 1
        elif rec_type == 3:
            (count,) = ints(1)
            if not 0 <= count <= 10_000_000:
                raise corrupt(f"a value-label record declares {count} labels")
            for _ in range(count):
                skip(8)
                if pos >= n:
                    raise corrupt("a value label runs past the end of the file")
                length = raw[pos]
                skip((length + 1 + 7) // 8 * 8)
            pending_labels = True
        elif rec_type == 4:
            if not pending_labels:
                raise corrupt("a value-label variable list has no labels before it")
            pending_labels = False
            (count,) = ints(1)
            if not 0 <= count <= n_slots:
                raise corrupt(f"value labels are declared for {count} variables")
            indices = ints(count)
            if any(not 1 <= i <= n_slots for i in indices):
                raise corrupt(
                    f"value labels point at variable {max(indices, key=abs)} of {n_slots}"
                )
        elif rec_type == 6:
            (lines,) = ints(1)
            if lines < 0:
                raise corrupt("a document record has a negative line count")
            skip(80 * lines)
        elif rec_type == 7:
            _subtype, size, count = ints(3)
            if size < 0 or count < 0 or size * count > n:
                raise corrupt(f"an extension record declares {size} x {count} bytes")
            skip(size * count)
        elif rec_type == 999:
            ints(1)
            break
        else:
            raise corrupt(f"unknown record type {rec_type} at byte {pos - 4}")
    if n_slots == 0 or continuations:
        raise corrupt("it declares no variables" if not n_slots else "a string variable is cut")
    (case_size,) = struct.unpack(order + "i", raw[68:72])
    if case_size not in (-1, n_slots):
        raise corrupt(f"the header declares {case_size} variable slots, the dictionary {n_slots}")


def _check_dta_end(p: Path) -> None:
    """Stata 13+ files are XML-like and end with a closing tag; without it the file is cut
    (readstat would return the data without the value labels that come last)."""
    try:
        with p.open("rb") as fh:
            head = fh.read(11)
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 16))
            tail = fh.read()
    except OSError as exc:
        raise DelibpollError(f"Could not read '{p}': {exc.strerror or exc}.") from None
    if head == b"<stata_dta>" and not tail.rstrip(b"\r\n").endswith(b"</stata_dta>"):
        raise DelibpollError(
            f"Could not read '{p}' as dta: it does not end with Stata's closing tag, so it is "
            "truncated. Re-export it from the source."
        )


def _check_stat_columns(p: Path, kind: str, df: pd.DataFrame, meta: Any) -> None:
    """Refuse what a corrupt dictionary produces: unnamed, duplicate or unknown-typed columns."""
    names = list(df.columns)
    if len(set(names)) != len(names) or any(not isinstance(c, str) or not c for c in names):
        raise DelibpollError(
            f"Could not read '{p}' as {kind}: its variable names are empty or repeated, so "
            "the file's dictionary is corrupt."
        )
    readstat_types = getattr(meta, "readstat_variable_types", None) or {}
    for col in names:
        rtype = readstat_types.get(col)
        if rtype is not None and rtype not in (
            "double", "float", "int32", "int16", "int8", "string"
        ):
            raise DelibpollError(
                f"Could not read '{p}' as {kind}: variable '{col}' has an unknown storage "
                f"type ({rtype!r}); the file is corrupt."
            )


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
    """Write data with its weights (and replicate weights) to .sav, .zsav, .dta, .csv or .parquet.

    Parameters
    ----------
    design_or_frame : SurveyDesign or pandas.DataFrame
        A design (its data, its current weights as ``weight_name`` and any replicate weights
        as ``repwt_1`` ...) or a plain frame. It is not modified.
    path : str or Path
        ``.sav``/``.zsav`` keep categoricals as labelled codes (1, 2, ...), variable labels,
        and the user-missing codes recorded in ``attrs`` (the codes are written back in the
        rows they came from and declared missing); ``.dta`` keeps labelled codes and
        variable labels (user-missing values are written as missing); ``.csv`` writes labels
        as text, missing values as empty fields and the text value "" as ``""``;
        ``.parquet`` keeps dtypes. The folder must exist.
    weight_name : str, default "weight"
        Column for the weights. It must not already be a data column.

    Returns
    -------
    Path

    Raises
    ------
    DelibpollError
        A frame the file cannot hold as it is: a non-default index (it would be lost; call
        ``reset_index()``), column names that are not unique non-empty strings, labels or
        names longer than the format allows (they would be truncated and categories could
        merge), a column Parquet cannot store; a folder that does not exist; an unknown
        extension.
    """
    p = _as_path(path, "write_survey")
    for name, value in (("weight_name", weight_name), ("replicate_prefix", replicate_prefix)):
        if not isinstance(value, str) or not value:
            raise DelibpollError(
                f"The '{name}' parameter of write_survey must be a non-empty string. "
                f"Got {value!r} instead."
            )
    suffix = p.suffix.lower()
    if suffix not in _WRITERS:
        raise DelibpollError(
            f"Cannot write '{p}': unknown extension '{suffix}'. Use a .sav, .zsav, .dta, "
            ".csv or .parquet file name."
        )
    if hasattr(design_or_frame, "data") and hasattr(design_or_frame, "weights"):
        data = design_or_frame.data
        _check_writable_frame(data, p)
        df = data.copy()
        attrs = copy.deepcopy(dict(getattr(design_or_frame, "attrs", None) or data.attrs))
        if weight_name in df.columns:
            raise DelibpollError(
                f"The data already has a column '{weight_name}'; pass weight_name= with "
                "another name so the weights do not overwrite it."
            )
        df[weight_name] = design_or_frame.weights.to_numpy()
        reps = getattr(design_or_frame, "_replicates", None)
        if reps is not None:
            mat = np.asarray(reps.weights)
            names = [f"{replicate_prefix}{j + 1}" for j in range(mat.shape[1])]
            clash = [n for n in names if n in df.columns]
            if clash:
                raise DelibpollError(
                    f"The data already has a column '{clash[0]}'; pass replicate_prefix= with "
                    "another prefix so the replicate weights do not overwrite it."
                )
            df = pd.concat([df, pd.DataFrame(mat, index=df.index, columns=names)], axis=1)
    elif is_frame(design_or_frame):
        frame = to_pandas(design_or_frame, "write_survey", "design_or_frame")
        _check_writable_frame(frame, p)
        df = frame.copy()
        attrs = copy.deepcopy(dict(frame.attrs))
    else:
        raise DelibpollError(
            "The first argument of write_survey must be a SurveyDesign or a dataframe "
            f"({ACCEPTED}). Got {type(design_or_frame).__name__} instead."
        )
    df.attrs = {}
    folder = p.parent
    if p.is_dir():
        raise DelibpollError(f"Cannot write '{p}': it is a folder. Give a file name.")
    if not folder.is_dir():
        raise DelibpollError(
            f"Cannot write '{p}': the folder '{folder}' does not exist. Create it first "
            "(e.g. Path(path).parent.mkdir(parents=True))."
        )
    try:
        _WRITERS[suffix](df, p, attrs)
    except OSError as exc:
        raise DelibpollError(f"Could not write '{p}': {exc.strerror or exc}.") from None
    return p


def _check_writable_frame(df: pd.DataFrame, p: Path) -> None:
    """Refuse what a file would silently lose or rename: the index and odd column names."""
    if isinstance(df.columns, pd.MultiIndex):
        raise DelibpollError(
            f"Cannot write '{p.name}': the frame has MultiIndex (hierarchical) column names, "
            "which a survey file cannot hold. Flatten them first, e.g. "
            "df.columns = ['_'.join(map(str, c)) for c in df.columns]."
        )
    bad = [c for c in df.columns if not isinstance(c, str) or not c.strip()]
    if bad:
        raise DelibpollError(
            f"Cannot write '{p.name}': column names must be non-empty strings; got {bad[0]!r}. "
            "Rename the columns, e.g. df.columns = [f'v{c}' for c in df.columns]."
        )
    dupes = df.columns[df.columns.duplicated()].unique().tolist()
    if dupes:
        raise DelibpollError(
            f"Cannot write '{p.name}': the column name {dupes[0]!r} appears more than once, "
            "and one of the columns would be lost or renamed. Rename them so each is unique."
        )
    idx = df.index
    plain = (
        isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1 and idx.name is None
    )
    if not plain:
        kind = "a MultiIndex" if isinstance(idx, pd.MultiIndex) else "an index"
        names = [n for n in idx.names if n is not None]
        named = f" named {names}" if names else ""
        raise DelibpollError(
            f"Cannot write '{p.name}': the data has {kind}{named} that is not the default "
            f"row numbering 0..n-1 (it starts {list(idx[:3])}), and a survey file keeps no "
            "index, so it would be lost. Call df.reset_index() to keep it as columns, or "
            "df.reset_index(drop=True) to drop it (for a design, build it from that frame)."
        )


def _write_csv(df: pd.DataFrame, p: Path, attrs: Mapping[str, Any]) -> None:
    # Missing values are written as empty fields and the text value "" as a quoted "",
    # which read_survey tells apart. pandas writes both as empty fields, so mark them with
    # sentinels (absent from the data) and put the right text in after.
    text_cols = [
        c for c in df.columns
        if not pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
        and not pd.api.types.is_datetime64_any_dtype(df[c])
    ]
    empty_mark, na_mark = _sentinels(df, text_cols)
    out = df.copy()
    for c in text_cols:
        s = out[c].astype(object)
        is_empty = s.map(lambda v: isinstance(v, str) and v == "").astype(bool)
        if is_empty.any():
            out[c] = s.where(~is_empty, empty_mark)
    text = out.to_csv(index=False, na_rep=na_mark, lineterminator="\n")
    text = text.replace(na_mark, "").replace(empty_mark, '""')
    with p.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def _sentinels(df: pd.DataFrame, text_cols: Sequence[Any]) -> tuple[str, str]:
    for k in range(100):
        empty_mark, na_mark = f"\x1e{k}E\x1f", f"\x1e{k}N\x1f"
        hit = any(empty_mark in str(c) or na_mark in str(c) for c in df.columns)
        for c in text_cols:
            if hit:
                break
            vals = df[c].dropna().astype(str)
            hit = bool(vals.str.contains("\x1e", regex=False).any()) and bool(
                vals.str.contains(empty_mark, regex=False).any()
                or vals.str.contains(na_mark, regex=False).any()
            )
        if not hit:
            return empty_mark, na_mark
    raise DelibpollError("write_survey could not write this CSV: its text is too unusual.")


def _write_parquet(df: pd.DataFrame, p: Path, attrs: Mapping[str, Any]) -> None:
    try:
        pa: Any = importlib.import_module("pyarrow")
    except ImportError as exc:
        raise DelibpollError(f"Writing Parquet needs pyarrow: {exc}") from None
    for c in df.columns:
        if df[c].dtype == object:
            try:
                pa.array(df[c], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
                kinds = sorted({type(v).__name__ for v in df[c].dropna()})
                raise DelibpollError(
                    f"Cannot write '{p.name}': column '{c}' mixes values of types {kinds}, "
                    f"which Parquet cannot store in one column ({exc}). Make it one type, "
                    f"e.g. df['{c}'] = df['{c}'].astype(str) or pd.to_numeric(df['{c}'])."
                ) from None
    out = df.copy()
    out.attrs = _json_safe_attrs(attrs, p)
    try:
        out.to_parquet(p, index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise DelibpollError(f"Could not write '{p}' as Parquet: {exc}") from None


_ATTRS_KEY = "delibpoll_attrs"


def _json_safe_attrs(attrs: Mapping[str, Any], p: Path) -> dict[Hashable, Any]:
    """attrs as one JSON text whose dict keys keep their types (pandas' own JSON makes every
    key a string, so codes 1 and 1.0 and row labels would come back as '1' and '1.0')."""
    try:
        return {_ATTRS_KEY: json.dumps(_tag(attrs), allow_nan=True)}
    except (TypeError, ValueError) as exc:
        raise DelibpollError(
            f"Cannot write '{p.name}': df.attrs holds a value Parquet metadata cannot store "
            f"({exc}). Keep attrs to labels, codes and numbers, or clear them (df.attrs = {{}})."
        ) from None


def _tag(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {"__map__": [[_tag(k), _tag(x)] for k, x in v.items()]}
    if isinstance(v, tuple):
        return {"__tuple__": [_tag(x) for x in v]}
    if isinstance(v, list):
        return [_tag(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if v is None or isinstance(v, str | bool | int | float):
        return v
    raise TypeError(f"{type(v).__name__} value {v!r}")


def _untag(v: Any) -> Any:
    if isinstance(v, dict):
        if "__map__" in v:
            return {_untag(k): _untag(x) for k, x in v["__map__"]}
        if "__tuple__" in v:
            return tuple(_untag(x) for x in v["__tuple__"])
    if isinstance(v, list):
        return [_untag(x) for x in v]
    return v


def _write_sav(df: pd.DataFrame, p: Path, attrs: Mapping[str, Any]) -> None:
    _write_stat(df, p, attrs, "zsav" if p.suffix.lower() == ".zsav" else "sav")


def _write_dta(df: pd.DataFrame, p: Path, attrs: Mapping[str, Any]) -> None:
    _write_stat(df, p, attrs, "dta")


_WRITERS = {
    ".csv": _write_csv,
    ".parquet": _write_parquet,
    ".sav": _write_sav,
    ".zsav": _write_sav,
    ".dta": _write_dta,
}

# Limits of the formats as pyreadstat writes them (UTF-8): beyond them it truncates
# silently (labels) or fails (names). (kind, what) -> (limit, unit)
_LIMITS: dict[str, dict[str, tuple[int, str]]] = {
    "sav": {"name": (64, "bytes"), "variable label": (256, "bytes"), "value label": (120, "bytes")},
    "dta": {"name": (32, "characters"), "variable label": (80, "characters"),
            "value label": (32000, "bytes")},
}


def _check_length(kind: str, what: str, col: str, text: str, p: Path, code: Any = None) -> None:
    limit, unit = _LIMITS["dta" if kind == "dta" else "sav"][what]
    size = len(text.encode("utf-8")) if unit == "bytes" else len(text)
    if kind == "dta" and what == "name" and len(text.encode("utf-8")) > 128:
        size, limit, unit = len(text.encode("utf-8")), 128, "bytes"
    if size <= limit:
        return
    fmt = {"sav": "an SPSS .sav", "zsav": "an SPSS .zsav", "dta": "a Stata .dta"}[kind]
    shown = text if len(text) <= 60 else text[:57] + "..."
    if what == "name":
        raise DelibpollError(
            f"Cannot write '{p.name}': the column name {shown!r} is {size} {unit} long; "
            f"{fmt} file allows at most {limit} {unit} in a variable name. Rename the column "
            f"(df.rename(columns={{{col!r}: 'shorter'}})), or write .parquet or .csv."
        )
    if what == "variable label":
        where, fix = f"the variable label of column '{col}'", (
            f"Shorten df.attrs['variable_labels'][{col!r}]"
        )
    else:
        where = f"the value label {shown!r} (code {code!r}) of column '{col}'"
        fix = (
            f"Shorten the category (df[{col!r}].cat.rename_categories(...)) or the value "
            "label"
        )
        shown = ""
    label = f" ({shown!r})" if shown else ""
    raise DelibpollError(
        f"Cannot write '{p.name}': {where} is {size} {unit} long{label}; {fmt} file holds "
        f"at most {limit} {unit}, so it would be truncated (and two labels that differ only "
        f"after the limit would merge). {fix}, or write .parquet, which keeps it whole."
    )


def _write_stat(df: pd.DataFrame, p: Path, attrs: Mapping[str, Any], kind: str) -> None:
    pyreadstat = _import_pyreadstat()
    sav = kind != "dta"
    out = pd.DataFrame(index=df.index)
    value_labels: dict[str, dict[Any, str]] = {}
    missing_ranges: dict[str, list[Any]] = {}
    measure: dict[str, str] = {}
    file_values = attrs.get("value_labels", {}) or {}
    reasons = attrs.get("missing_reasons", {}) or {}
    missing_codes = attrs.get("missing_codes", {}) or {}
    var_labels = {
        k: str(v) for k, v in (attrs.get("variable_labels") or {}).items() if k in df.columns
    }
    for col in df.columns:
        _check_length(kind, "name", col, col, p)
        if col in var_labels:
            _check_length(kind, "variable label", col, var_labels[col], p)
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = list(s.cat.categories)
            original = {v: k for k, v in (file_values.get(col) or {}).items()}
            if all(c in original for c in cats) and len(set(original[c] for c in cats)) == len(cats):
                code_of = {c: _clean_code(original[c]) for c in cats}
            else:
                code_of = {c: i + 1 for i, c in enumerate(cats)}
            codes = s.map(code_of).astype(float)
            labels_ = {code_of[c]: str(c) for c in cats}
            measure[col] = "ordinal" if s.cat.ordered else "nominal"
        else:
            codes = s
            labels_ = dict(file_values.get(col) or {})
        if sav and col in reasons:
            codes = codes.astype(object) if codes.dtype == object else codes.astype(float)
            for idx, (code, label) in reasons[col].items():
                if idx in codes.index:
                    codes.loc[idx] = code
                    labels_[code] = label
        if sav and col in missing_codes:
            for code, label in missing_codes[col].items():
                labels_.setdefault(code, label)
            numeric = [c for c in missing_codes[col] if isinstance(c, int | float)]
            if numeric:
                missing_ranges[col] = numeric[:3]
        if not sav and labels_:
            labels_ = {c: v for c, v in labels_.items() if not (isinstance(c, float) and math.isnan(c))}
            bad = [c for c in labels_ if not float(_clean_code(c)).is_integer()] if all(
                isinstance(_clean_code(c), int | float) for c in labels_
            ) else list(labels_)
            if bad:
                raise DelibpollError(
                    f"Cannot write '{p.name}': column '{col}' has value labels on code "
                    f"{bad[0]!r}; Stata labels whole-number codes only. Write .sav instead."
                )
            labels_ = {int(_clean_code(c)): v for c, v in labels_.items()}
        for code, label in labels_.items():
            _check_length(kind, "value label", col, str(label), p, code)
        if sav and not isinstance(s.dtype, pd.CategoricalDtype) and not (
            pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
        ):
            text = s.dropna().astype(str)
            padded = text[text.str.endswith(" ")]
            if len(padded):
                warnings.warn(
                    f"'{p.name}': {len(padded)} text value(s) of column '{col}' end in spaces "
                    f"(e.g. {padded.iloc[0]!r}); SPSS pads text with spaces, so they are read "
                    "back without them. Strip them first (df[col].str.rstrip()) or write "
                    ".parquet or .csv to keep them.",
                    DelibpollWarning,
                    stacklevel=4,
                )
        out[col] = codes
        if labels_:
            value_labels[col] = {c: str(v) for c, v in labels_.items()}
    try:
        if sav:
            pyreadstat.write_sav(
                out,
                str(p),
                column_labels=var_labels or None,
                variable_value_labels=value_labels or None,
                missing_ranges=missing_ranges or None,
                variable_measure=measure or None,
                compress=kind == "zsav",
            )
        else:
            pyreadstat.write_dta(
                out,
                str(p),
                column_labels=var_labels or None,
                variable_value_labels=value_labels or None,
            )
    except OSError:
        raise
    except Exception as exc:
        raise DelibpollError(f"Could not write '{p}': {exc}") from None
