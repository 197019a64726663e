"""Weighted banner tables with design-based significance letters.

Questions go down the side, banner variables across the top. Every number comes from the
estimation layer (:func:`~delibpoll.estimation.grouped_ratios`, the same code as
:func:`~delibpoll.proportion` and :func:`~delibpoll.mean`), one batched call per question
and banner variable, whose joint covariance gives the letters.
"""

from __future__ import annotations

import html
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._ci import CI_METHODS, NOTE_NO_DF, proportion_cis_noted, t_quantiles
from ._multiplicity import adjust_pvalues
from .design import SurveyDesign
from .estimation import check_design, check_level, domain_summary, grouped_ratios
from .exceptions import DelibpollError

__all__ = ["BannerTable", "banner", "column_letters"]

Adjust = Literal["none", "holm", "bonferroni", "fdr_bh"]
SUPPRESSED = "[c]"
LOW_BASE = "[u]"


_MD_SPECIAL = str.maketrans({
    "\\": "\\\\", "|": "\\|", "*": "\\*", "`": "\\`", "[": "\\[", "]": "\\]",
    "&": "&amp;", "<": "&lt;", ">": "&gt;",
})


def _md(text: object) -> str:
    """A Markdown table cell: Markdown and HTML specials escaped (``|`` as ``\\|``, ``<``,
    ``>``, ``&`` as entities), newlines as ``<br>``, so a label can neither shift the columns
    nor inject markup."""
    s = str(text).translate(_MD_SPECIAL)
    # "_" inside a word (q_pact) cannot open or close emphasis in GFM: kept as it is
    s = re.sub(r"(?<![^\W_])_|_(?![^\W_])", r"\\_", s)
    return s.replace("\r\n", "<br>").replace("\r", "<br>").replace("\n", "<br>")


def _fixed(x: float, decimals: int) -> str:
    """``x`` with ``decimals`` decimals in fixed notation (never scientific), no "-0"."""
    txt = f"{x:.{decimals}f}"
    return txt[1:] if txt.startswith("-") and float(txt) == 0 else txt


EXCEL_MAX_CHARS = 32767


def _out_path(path: object, method: str) -> Path:
    if not isinstance(path, str | Path):
        raise DelibpollError(
            f"The 'path' parameter of {method} must be a file path (str or Path). Got "
            f"{type(path).__name__} instead."
        )
    p = Path(path)
    if not p.parent.is_dir():
        raise DelibpollError(
            f"The folder {str(p.parent)!r} of the 'path' given to {method} does not exist; "
            "create it first."
        )
    return p


def column_letters(n: int) -> list[str]:
    """A, B, ..., Z, AA, AB, ... for ``n`` columns.

    Examples
    --------
    >>> column_letters(3), column_letters(28)[-2:]
    (['A', 'B', 'C'], ['AA', 'AB'])
    """
    out = []
    for i in range(n):
        s = ""
        k = i
        while True:
            s = chr(ord("A") + k % 26) + s
            k = k // 26 - 1
            if k < 0:
                break
        out.append(s)
    return out


@dataclass(frozen=True)
class _Row:
    question: str
    kind: str  # "categorical", "numeric", "multi"
    labels: list[Hashable]  # categories / options / [variable]
    pattern: np.ndarray  # (n,) answer pattern of each row (index into values)
    values: np.ndarray  # (P, L) the row's L numbers for each answer pattern
    valid: np.ndarray  # (n,) in the base
    nets: list[Hashable]  # which labels are nets
    applied_nets: list[tuple[str, list[Hashable]]]  # the nets computed, with their members
    excluded: list[Hashable] = field(default_factory=list)  # categories left out of the base


@dataclass(frozen=True)
class BannerTable:
    """A weighted banner table (see :func:`banner`)."""

    notes: list[str]
    questions: list[str]
    columns: list[tuple[str, str, str]]  # (banner, column, letter)
    decimals: int
    _frame: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Tidy long form, one row per question, category and banner column.

        Columns: ``question``, ``category``, ``kind``, ``banner``, ``column`` (banner
        category or "Total"), ``letter``, ``estimate``, ``ci_lower``, ``ci_upper``, ``se``,
        ``n``, ``weighted_n``, ``n_eff``, ``higher_than`` (letters of the columns this cell is
        significantly higher than), ``low_base``, ``suppressed``.
        """
        return self._frame.copy()

    # ------------------------------------------------------------------ display helpers
    def _cell_text(self, r: pd.Series) -> str:
        if r["suppressed"]:
            return SUPPRESSED
        if pd.isna(r["estimate"]):
            return "-"
        if r["kind"] == "numeric":
            txt = _fixed(float(r["estimate"]), max(self.decimals, 1))
        else:
            txt = _fixed(100 * float(r["estimate"]), self.decimals) + "%"
        if r["higher_than"]:
            txt += f" {r['higher_than']}"
        if r["low_base"]:
            txt += f" {LOW_BASE}"
        return txt

    def _wide(self, question: str) -> pd.DataFrame:
        fr = self._frame[self._frame["question"] == question]
        heads = [
            "Total" if b == "" else f"{b}: {c} ({letter})" for b, c, letter in self.columns
        ]
        cats = list(dict.fromkeys(fr["category"]))
        table = pd.DataFrame(index=[str(c) for c in cats] + ["Base (unweighted)", "Base (weighted)", "Base (effective)"], columns=heads, dtype=object)
        for (b, c, _letter), head in zip(self.columns, heads, strict=True):
            sub = fr[(fr["banner"] == b) & (fr["column"] == c)]
            for _, r in sub.iterrows():
                table.loc[str(r["category"]), head] = self._cell_text(r)
            if len(sub):
                r0 = sub.iloc[0]
                sup = bool(r0["suppressed"])
                table.loc["Base (unweighted)", head] = SUPPRESSED if sup else f"{int(r0['n'])}"
                table.loc["Base (weighted)", head] = SUPPRESSED if sup else _fixed(r0["weighted_n"], 0)
                table.loc["Base (effective)", head] = SUPPRESSED if sup else _fixed(r0["n_eff"], 0)
        return table.fillna("")

    def to_markdown(self) -> str:
        """Markdown: one table per question, then the notes. Labels are escaped (``|``,
        Markdown and HTML specials, newlines), so they cannot shift columns or add markup."""
        parts = []
        for q in self.questions:
            wide = self._wide(q)
            head = "| | " + " | ".join(_md(c) for c in wide.columns) + " |"
            sep = "|---|" + "---|" * len(wide.columns)
            lines = [f"### {_md(q)}", "", head, sep]
            for idx, row in wide.iterrows():
                lines.append(f"| {_md(idx)} | " + " | ".join(_md(v) for v in row) + " |")
            parts.append("\n".join(lines))
        parts.append("**Notes**\n\n" + "\n".join(f"- {_md(n)}" for n in self.notes))
        return "\n\n".join(parts) + "\n"

    def to_html(self) -> str:
        """HTML: one table per question with a caption, then the notes."""
        parts = []
        for q in self.questions:
            wide = self._wide(q)
            head = "".join(f"<th scope='col'>{html.escape(c)}</th>" for c in wide.columns)
            rows = "".join(
                f"<tr><th scope='row'>{html.escape(str(i))}</th>"
                + "".join(f"<td>{html.escape(str(v))}</td>" for v in r)
                + "</tr>"
                for i, r in wide.iterrows()
            )
            parts.append(
                f"<table class='delibpoll-banner'><caption>{html.escape(q)}</caption>"
                f"<thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table>"
            )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return "\n".join(parts) + f"\n<p>Notes</p><ul>{notes}</ul>\n"

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_csv(self, path: str | Path) -> Path:
        """The tidy frame (:meth:`to_frame`) as CSV."""
        p = _out_path(path, "to_csv")
        self._frame.to_csv(p, index=False)
        return p

    def to_excel(self, path: str | Path, *, title: str = "Weighted banner tables",
                 source: str = "") -> Path:
        """Accessible spreadsheet (UK Government Analysis Function guidance).

        A cover sheet, a notes sheet, then one table per sheet: a single header row, no
        merged cells, no blank rows inside tables, a frozen header row, percentages stored as
        numbers with a percentage format and their significance letters in the adjacent
        column; suppressed cells hold the symbol ``[c]`` and low bases ``[u]`` (explained in
        the notes).
        """
        import datetime

        import xlsxwriter

        p = _out_path(path, "to_excel")
        if not isinstance(title, str) or not isinstance(source, str):
            raise DelibpollError("The 'title' and 'source' parameters of to_excel must be text.")
        texts = [title, source, *self.notes, *self.questions,
                 *(str(c) for c in self._frame["category"].unique()),
                 *(f"{b}: {c}" for b, c, _ in self.columns)]
        long = [t for t in texts if len(t) + 40 > EXCEL_MAX_CHARS]
        if long:
            raise DelibpollError(
                f"A label of {len(long[0])} characters ({long[0][:40]!r}...) is longer than an Excel "
                f"cell holds ({EXCEL_MAX_CHARS}); shorten it before to_excel."
            )
        # labels are text, never formulas ("=..."), links or numbers
        wb = xlsxwriter.Workbook(str(p), {"strings_to_formulas": False, "strings_to_urls": False,
                                          "strings_to_numbers": False})
        # a fixed creation date keeps the file byte-identical between runs of the same analysis
        wb.set_properties({"title": title, "created": datetime.datetime(2000, 1, 1)})
        bold = wb.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        pct = wb.add_format({"num_format": "0" + ("." + "0" * self.decimals if self.decimals else "") + "%"})
        num = wb.add_format({"num_format": "0." + "0" * max(self.decimals, 1)})
        whole = wb.add_format({"num_format": "0"})
        h1 = wb.add_format({"bold": True, "font_size": 16})
        cover = wb.add_worksheet("Cover")
        cover.write_string(0, 0, title, h1)
        cover.write(2, 0, "This workbook contains weighted survey tables, one question per sheet.")
        cover.write(3, 0, "Sheets: Notes, then " + ", ".join(f"Table {i + 1}" for i in range(len(self.questions))) + ".")
        if source:
            cover.write_string(4, 0, f"Source: {source}")
        cover.set_column(0, 0, 100)
        notes = wb.add_worksheet("Notes")
        notes.write_row(0, 0, ["Note number", "Note text"], bold)
        for i, n in enumerate(self.notes):
            notes.write_string(i + 1, 0, f"[note {i + 1}]")
            notes.write_string(i + 1, 1, n)
        notes.set_column(0, 0, 14)
        notes.set_column(1, 1, 120)
        notes.freeze_panes(1, 0)
        notes.set_landscape()
        notes.fit_to_pages(1, 0)
        for qi, q in enumerate(self.questions):
            ws = wb.add_worksheet(f"Table {qi + 1}")
            fr = self._frame[self._frame["question"] == q]
            ws.write_string(0, 0, f"Table {qi + 1}: {q} [note 1]", h1)
            header = ["Category"]
            for b, c, letter in self.columns:
                name = "Total" if b == "" else f"{b}: {c} ({letter})"
                header += [f"{name} estimate", f"{name} significantly higher than"]
            row0 = 1
            ws.set_row(row0, 48)  # room for wrapped column headings
            for j, h in enumerate(header):
                ws.write_string(row0, j, h, bold)
            cats = list(dict.fromkeys(fr["category"]))
            kinds = fr.groupby("category", sort=False)["kind"].first()
            r = row0 + 1
            for cat in cats:
                ws.write_string(r, 0, str(cat))
                for ci, (b, c, _letter) in enumerate(self.columns):
                    cell = fr[(fr["category"] == cat) & (fr["banner"] == b) & (fr["column"] == c)]
                    col = 1 + 2 * ci
                    if cell.empty:
                        continue
                    x = cell.iloc[0]
                    if x["suppressed"]:
                        ws.write_string(r, col, SUPPRESSED)
                    elif pd.isna(x["estimate"]):
                        ws.write_string(r, col, "[x]")
                    else:
                        ws.write_number(r, col, float(x["estimate"]), num if kinds[cat] == "numeric" else pct)
                    ws.write_string(r, col + 1, str(x["higher_than"]) + (f" {LOW_BASE}" if x["low_base"] else ""))
                r += 1
            for label, key, fmt in (("Base (unweighted)", "n", whole), ("Base (weighted)", "weighted_n", whole), ("Base (effective)", "n_eff", whole)):
                ws.write(r, 0, label)
                for ci, (b, c, _letter) in enumerate(self.columns):
                    sub = fr[(fr["banner"] == b) & (fr["column"] == c)]
                    if sub.empty:
                        continue
                    x = sub.iloc[0]
                    if x["suppressed"]:
                        ws.write_string(r, 1 + 2 * ci, SUPPRESSED)
                    else:
                        ws.write_number(r, 1 + 2 * ci, float(x[key]), fmt)
                r += 1
            ws.freeze_panes(row0 + 1, 1)
            ws.set_landscape()
            ws.fit_to_pages(1, 0)  # print one page wide
            ws.set_column(0, 0, 34)
            ws.set_column(1, len(header), 16)
        wb.close()
        return p

    def __repr__(self) -> str:
        return f"BannerTable({len(self.questions)} questions x {len(self.columns)} columns)\n" + (
            self.to_markdown() if len(self.questions) <= 3 else ""
        )


def _is_label(x: object) -> bool:
    """A column name or category label: a string or a (non-bool) number."""
    return isinstance(x, str) or (isinstance(x, int | float | np.integer | np.floating)
                                  and not isinstance(x, bool | np.bool_))


def _check_names(names: Sequence[Any], param: str, design: SurveyDesign) -> None:
    """Columns exist (else the available ones are listed) and are named by text."""
    design._check_columns(list(names), param)
    odd = [c for c in names if not isinstance(c, str)]
    if odd:
        raise DelibpollError(
            f"The '{param}' parameter of banner names column(s) {odd!r} that are not text; banner "
            "needs text column names. Rename them first, e.g. df.rename(columns=str)."
        )


def _as_rows(rows: Any, design: SurveyDesign) -> list[tuple[str, Any]]:
    """The questions of ``rows`` as (name, spec): a column name, or a list of 0/1 columns for a
    multi-response set. Every name must be a column, every question named once."""
    func = "banner"
    if _is_label(rows):
        rows = [rows]
    if isinstance(rows, Mapping):
        rows = [rows]
    if not isinstance(rows, Sequence) or isinstance(rows, str | bytes):
        raise DelibpollError(
            f"The 'rows' parameter of {func} must be a list of questions (column names, or "
            f"{{name: [0/1 columns]}} multi-response sets). Got {type(rows).__name__} instead."
        )
    items: list[tuple[str, Any]] = []
    for r in rows:
        if _is_label(r):
            _check_names([r], "rows", design)
            items.append((str(r), r))
        elif isinstance(r, Mapping):
            for k, v in r.items():
                if not _is_label(k):
                    raise DelibpollError(
                        f"A multi-response set of {func} needs a text name; got {k!r}."
                    )
                if isinstance(v, str | bytes) or not isinstance(v, Sequence) or not len(v) or not all(
                    _is_label(c) for c in v
                ):
                    raise DelibpollError(
                        f"Multi-response set '{k}' of {func} must be a non-empty list of 0/1 "
                        f"column names. Got {v!r} instead."
                    )
                members = list(v)
                dup = sorted({str(c) for c in members if members.count(c) > 1})
                if dup:
                    raise DelibpollError(
                        f"Multi-response set '{k}' of {func} names column(s) {dup} more than once."
                    )
                _check_names(members, "rows", design)
                items.append((str(k), members))
        else:
            raise DelibpollError(
                f"The 'rows' parameter of {func} must list column names or {{name: [0/1 "
                f"columns]}} multi-response sets. Got {r!r} ({type(r).__name__}) instead."
            )
    if not items:
        raise DelibpollError(
            f"The 'rows' parameter of {func} is empty; name at least one question (a column of "
            "the data)."
        )
    names = [n for n, _ in items]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DelibpollError(
            f"The 'rows' parameter of {func} names question(s) {dup} more than once; each "
            "question can appear once."
        )
    return items


def _check_int_param(value: object, name: str, minimum: int, maximum: int | None = None) -> int:
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    number = int(value) if ok else 0  # type: ignore[call-overload]
    if not ok or number < minimum or (maximum is not None and number > maximum):
        rng = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise DelibpollError(
            f"The '{name}' parameter of banner must be an integer {rng}. Got {value!r} instead."
        )
    return number


def _label_list(value: object, name: str) -> list[Hashable]:
    """``exclude``: a list of category labels (a single label is a list of one)."""
    if value is None:
        return []
    if _is_label(value):
        return [value]
    if isinstance(value, Mapping) or not isinstance(value, Sequence | set | frozenset | np.ndarray | pd.Index):
        raise DelibpollError(
            f"The '{name}' parameter of banner must be a list of category labels. Got "
            f"{type(value).__name__} instead."
        )
    out = list(value)
    bad = [v for v in out if not isinstance(v, Hashable)]
    if bad:
        raise DelibpollError(f"The '{name}' parameter of banner has unusable labels {bad!r}.")
    return out


NetSpec = dict[str, list[Hashable]]


def _check_nets(nets: object, questions: list[str]) -> tuple[NetSpec, dict[str, NetSpec]]:
    """``nets`` as (nets for every question, nets for named questions). Global form
    ``{net: [members]}``; per-question form ``{question: {net: [members]}}`` (both may mix)."""
    if nets is None:
        return {}, {}
    if not isinstance(nets, Mapping):
        raise DelibpollError(
            "The 'nets' parameter of banner must be a mapping {net name: [categories]} (or "
            f"{{question: {{net name: [categories]}}}}). Got {type(nets).__name__} instead."
        )

    def members_of(net: object, members: object, where: str) -> list[Hashable]:
        if not isinstance(net, str) or not net:
            raise DelibpollError(f"Net names of banner must be non-empty text{where}; got {net!r}.")
        if isinstance(members, str | bytes) or not isinstance(members, Sequence) or not members:
            raise DelibpollError(
                f"Net '{net}'{where} of banner must list at least one category. Got {members!r} "
                "instead."
            )
        out = list(members)
        dup = [m for i, m in enumerate(out) if m in out[:i]]
        if dup:
            raise DelibpollError(f"Net '{net}'{where} of banner names {dup!r} more than once.")
        return out

    glob: NetSpec = {}
    per: dict[str, NetSpec] = {}
    for key, val in nets.items():
        if isinstance(val, Mapping):
            if key not in questions:
                raise DelibpollError(
                    f"The 'nets' parameter of banner gives nets for question {key!r}, which is not "
                    f"among the rows. Rows: {questions}."
                )
            per[key] = {k: members_of(k, v, f" of question '{key}'") for k, v in val.items()}
        else:
            glob[key] = members_of(key, val, "")
    return glob, per


def _build_row(
    design: SurveyDesign,
    name: str,
    spec: Any,
    exclude: Sequence[Hashable],
    nets: Mapping[str, Sequence[Hashable]],
    own_nets: Mapping[str, Sequence[Hashable]],
) -> _Row:
    """One question's answer patterns and columns. ``nets`` apply to the questions holding
    any of their members (all members then required); ``own_nets`` were given for this
    question and must all apply."""
    data = design._data
    if isinstance(spec, list):
        if own_nets:
            raise DelibpollError(
                f"Nets were given for question '{name}', a multi-response set; nets apply to "
                "categorical questions only."
            )
        block = data[spec].apply(pd.to_numeric, errors="coerce")
        bad = [c for c in spec if not set(block[c].dropna().unique()) <= {0, 1}]
        if bad:
            raise DelibpollError(
                f"Multi-response set '{name}' needs 0/1 columns; {bad} have other values."
            )
        valid = block.notna().any(axis=1).to_numpy()
        num = block.fillna(0).to_numpy(dtype=float) * valid[:, None]
        values, pattern = np.unique(num, axis=0, return_inverse=True)
        return _Row(name, "multi", list(spec), pattern.ravel(), values, valid, [], [])
    s = data[spec]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) and not isinstance(
        s.dtype, pd.CategoricalDtype
    ) and s.nunique(dropna=True) > 2:
        if own_nets:
            raise DelibpollError(
                f"Nets were given for question '{name}', a numeric question (shown as a mean); "
                "nets apply to categorical questions only."
            )
        valid = s.notna().to_numpy()
        vals = np.where(valid, pd.to_numeric(s, errors="coerce").to_numpy(dtype=float), 0.0)
        if not np.isfinite(vals).all():
            raise DelibpollError(
                f"Numeric question '{name}' has infinite values; recode them (to NaN for missing)."
            )
        uniq, pattern = np.unique(vals, return_inverse=True)
        return _Row(name, "numeric", [spec], pattern.ravel(), uniq[:, None], valid, [], [])
    codes, cats = design._column_codes(spec)
    excluded = [c for c in cats if c in exclude]
    keep = [i for i, c in enumerate(cats) if c not in exclude]
    valid = np.isin(codes, keep)
    labels: list[Hashable] = [cats[i] for i in keep]
    # values[c, l]: whether category c counts in column l (the kept categories, then nets)
    cols = [np.arange(len(cats)) == i for i in keep]
    net_labels: list[Hashable] = []
    applied: list[tuple[str, list[Hashable]]] = []
    todo = [(k, list(v), False) for k, v in nets.items() if k not in own_nets]
    todo += [(k, list(v), True) for k, v in own_nets.items()]
    for net_name, members, own in todo:
        present = [m for m in members if m in cats]
        if not present and not own:
            continue  # a net of another question
        missing = [m for m in members if m not in cats]
        if missing:
            raise DelibpollError(
                f"Net '{net_name}' names {missing!r}, which question '{name}' does not have. "
                f"Categories of '{name}': {cats!r}."
                + ("" if own else f" Give nets per question ({{'{name}': {{...}}}}) when "
                   "questions differ.")
            )
        out = [m for m in members if m in excluded]
        if out:
            raise DelibpollError(
                f"Net '{net_name}' of question '{name}' includes {out!r}, which 'exclude' leaves "
                "out of the percentage base, so the net cannot be computed as declared. Remove it "
                "from the net or from 'exclude'."
            )
        if net_name in labels:
            raise DelibpollError(
                f"Net '{net_name}' of question '{name}' has the name of a category or another "
                "net; give it a distinct name."
            )
        idx = [cats.index(m) for m in members]
        cols.append(np.isin(np.arange(len(cats)), idx))
        labels.append(net_name)
        net_labels.append(net_name)
        applied.append((net_name, members))
    if not cols:
        raise DelibpollError(
            f"Question '{name}' has no categories left to show: 'exclude' removes all of "
            f"{cats!r}."
        )
    values = np.column_stack(cols).astype(float)
    return _Row(name, "categorical", labels, np.where(valid, codes, 0), values, valid, net_labels,
                applied, excluded)


def banner(
    design: SurveyDesign,
    rows: Any,
    columns: Sequence[str] | str,
    *,
    total: bool = True,
    level: float = 0.95,
    ci_method: str = "logit",
    sig_level: float = 0.05,
    adjust: Adjust = "none",
    min_base: int = 50,
    suppress_below: int | None = None,
    exclude: Sequence[Hashable] | None = None,
    nets: Mapping[str, Sequence[Hashable] | Mapping[str, Sequence[Hashable]]] | None = None,
    decimals: int = 0,
) -> BannerTable:
    """Weighted banner table: questions down the side, subgroups across the top.

    Parameters
    ----------
    design : SurveyDesign
    rows : list
        Categorical questions (percentages per category), numeric questions (weighted mean),
        and multi-response sets ``{"Priorities": [0/1 columns]}`` (percentage selecting each
        option among respondents shown the set).
    columns : list of str
        Banner variables; each category becomes a column, lettered A, B, ... across the whole
        banner. The Total column comes first, has no letter and is not tested.
    sig_level : float
        Two-sided significance level of the letters.
    adjust : {"none", "holm", "bonferroni", "fdr_bh"}
        Multiplicity adjustment over the pairs of columns of one banner variable for one row
        category.
    min_base : int
        Cells whose unweighted base is below this are flagged ``[u]``.
    suppress_below : int, optional
        Cells whose unweighted base is below this are blanked ``[c]``, and so is the
        next-smallest column of the same banner variable when only one would otherwise be
        blanked (secondary suppression; the first in column order on ties), so no blanked
        value can be derived from the Total. No letter compares a shown column with a blanked
        one.
    exclude : list, optional
        Categories left out of percentage bases (e.g. "Don't know"), in every categorical
        question that has them. A label that no question has is refused (a misspelling would
        otherwise change nothing).
    nets : mapping, optional
        ``{"Any change": ["Increase", "Decrease"]}``: net categories with their own CIs and
        tests, computed from unrounded values. A net applies to the categorical questions that
        have any of its members, and must then find all of them (else an error names the
        missing member and the question's categories); a net that matches no question, or that
        includes a category left out by ``exclude``, is refused. Nets for one question only:
        ``{"q_pact": {"Any change": [...]}}``.
    decimals : int
        Decimals shown for percentages, 0 to 10 (display only).

    Every argument is checked before any computation; a bad one raises
    :class:`~delibpoll.DelibpollError` naming it (rows and columns must be columns of the
    data, each named once, no column both a row and a banner variable).

    Notes
    -----
    Within one banner variable every pair of columns is tested two-sided: ``t = (p_i - p_j)
    / se``, with ``se`` from the joint design-based covariance of the two domain estimates
    (as :func:`~delibpoll.contrast`) and the design df; the higher column gets the lower
    column's letter. Bases: unweighted n, weighted n, and the Kish effective n of the
    column's weights ``(sum w)^2 / sum w^2``.
    """
    func = "banner"
    design = check_design(design, func)
    level = check_level(level, func)
    if not isinstance(total, bool | np.bool_):
        raise DelibpollError(f"The 'total' parameter of banner must be True or False. Got {total!r} instead.")
    if not isinstance(ci_method, str) or ci_method not in CI_METHODS:
        raise DelibpollError(f"The 'ci_method' parameter of banner must be one of {list(CI_METHODS)}. Got {ci_method!r} instead.")
    if not isinstance(adjust, str) or adjust not in ("none", "holm", "bonferroni", "fdr_bh"):
        raise DelibpollError(f"The 'adjust' parameter of banner must be 'none', 'holm', 'bonferroni' or 'fdr_bh'. Got {adjust!r} instead.")
    if isinstance(sig_level, bool) or not isinstance(sig_level, int | float) or not 0 < sig_level < 1:
        raise DelibpollError(f"The 'sig_level' parameter of banner must be a number in (0, 1), e.g. 0.05. Got {sig_level!r} instead.")
    min_base = _check_int_param(min_base, "min_base", 0)
    if suppress_below is not None:
        suppress_below = _check_int_param(suppress_below, "suppress_below", 1)
    decimals = _check_int_param(decimals, "decimals", 0, 10)
    exclude_list = _label_list(exclude, "exclude")
    cols: list[Any]
    if _is_label(columns):
        cols = [columns]
    elif isinstance(columns, Sequence) and not isinstance(columns, str | bytes) and all(
        _is_label(c) for c in columns
    ):
        cols = list(columns)
    else:
        raise DelibpollError(
            "The 'columns' parameter of banner must be a banner variable (a column name) or a "
            f"list of them. Got {columns!r} instead."
        )
    _check_names(cols, "columns", design)
    dup = sorted({str(c) for c in cols if cols.count(c) > 1})
    if dup:
        raise DelibpollError(f"The 'columns' parameter of banner names {dup} more than once.")
    if not cols and not total:
        raise DelibpollError(
            "banner has no columns to show: 'columns' is empty and total=False. Name a banner "
            "variable or keep the Total column."
        )
    items = _as_rows(rows, design)
    row_cols = {c for _, spec in items for c in (spec if isinstance(spec, list) else [spec])}
    both = [c for c in cols if c in row_cols]
    if both:
        raise DelibpollError(
            f"Column(s) {both} are both a row and a banner variable of banner; a question cannot "
            "be cross-tabulated by itself. Remove them from 'rows' or from 'columns'."
        )
    glob_nets, per_nets = _check_nets(nets, [n for n, _ in items])
    banners = []
    for b in cols:
        s = design._data[b]
        if pd.api.types.is_float_dtype(s) and s.nunique() > 20:
            raise DelibpollError(
                f"Banner variable '{b}' looks continuous ({s.nunique()} distinct values); band "
                "it into categories first (e.g. with pandas.cut)."
            )
        codes, cats = design._column_codes(b)
        if (codes < 0).any():
            raise DelibpollError(
                f"Banner variable '{b}' has {(codes < 0).sum()} missing values; recode them to a "
                "category such as 'Not known'."
            )
        banners.append((str(b), codes, cats))
    letters = column_letters(sum(len(c) for _, _, c in banners))
    col_meta: list[tuple[str, str, str]] = [("", "Total", "")] if total else []
    li = 0
    for b, _, cats in banners:
        for c in cats:
            col_meta.append((b, str(c), letters[li]))
            li += 1
    w = design._w
    dfree = design.df
    records: list[dict[str, Any]] = []
    built = [
        _build_row(design, name, spec, exclude_list, glob_nets, per_nets.get(name, {}))
        for name, spec in items
    ]
    _check_used(exclude_list, glob_nets, built)
    for row in built:
        name = row.question
        groups: list[tuple[str, np.ndarray, list[Hashable], list[str]]] = []
        if total:
            groups.append(("", np.zeros(design.n, dtype=np.int64), ["Total"], [""]))
        li = 0
        for b, codes, cats in banners:
            groups.append((b, codes, cats, letters[li : li + len(cats)]))
            li += len(cats)
        for bname, codes, cats, lets in groups:
            m = len(cats)
            L = row.values.shape[1]
            est, vcov, _ = grouped_ratios(design, row.pattern, row.values, codes, m, row.valid)
            var = np.diag(vcov)
            se = np.sqrt(np.clip(var, 0, None))
            # bases of every column at once (one bincount each)
            vc = codes[row.valid]
            n_bases = np.bincount(vc, minlength=m)
            sup = (_suppressed_columns(n_bases, suppress_below, bname == "")
                   if suppress_below is not None else np.zeros(m, dtype=bool))
            higher: dict[tuple[int, int], list[str]] = {}
            if bname != "" and m > 1:
                pairs = [(i, j) for i in range(m) for j in range(i + 1, m)]
                pi = np.array([i for i, _ in pairs])
                pj = np.array([j for _, j in pairs])
                # all pairs for all row categories at once: (pairs x L)
                a = pi[:, None] * L + np.arange(L)[None, :]
                bb = pj[:, None] * L + np.arange(L)[None, :]
                d_all = est[a] - est[bb]
                v_all = vcov[a, a] + vcov[bb, bb] - 2 * vcov[a, bb]
                ok_all = np.isfinite(d_all) & (v_all > 0)
                p_all = np.full(d_all.shape, np.nan)
                if dfree > 0 and ok_all.any():
                    p_all[ok_all] = 2 * stats.t.sf(
                        np.abs(d_all[ok_all]) / np.sqrt(v_all[ok_all]), dfree
                    )
                for l_ in range(L):
                    d = d_all[:, l_]
                    p_arr = p_all[:, l_]
                    padj = p_arr.copy()
                    ok = np.isfinite(p_arr)
                    if adjust != "none" and ok.any():
                        padj[ok] = adjust_pvalues(p_arr[ok], adjust)
                    for k_, (i, j) in enumerate(pairs):
                        if sup[i] or sup[j]:
                            continue  # a letter would tell about a blanked value
                        if np.isfinite(padj[k_]) and padj[k_] < sig_level:
                            top, low = (i, j) if d[k_] > 0 else (j, i)
                            higher.setdefault((top, l_), []).append(lets[low])
            vw = w[row.valid]
            w_bases = np.bincount(vc, weights=vw, minlength=m)
            w2_bases = np.bincount(vc, weights=vw * vw, minlength=m)
            _, dfs, n_rows = domain_summary(design, codes, m, row.valid)
            df_k = np.repeat(dfs, L)
            if row.kind == "numeric":
                q_k = t_quantiles(level, df_k)
                lo_k, hi_k = est - q_k * se, est + q_k * se
                note_k = np.where(df_k > 0, "", NOTE_NO_DF)
            else:
                n_k = np.repeat(n_bases, L)
                with np.errstate(divide="ignore", invalid="ignore"):
                    phi = np.where(n_k > 1, n_k / (n_k - 1), np.nan)
                lo_k, hi_k, note_k = proportion_cis_noted(
                    est, se, df_k, level, ci_method, n_rows=np.repeat(n_rows, L), phi=phi, n=n_k
                )
            for ci in range(m):
                n_base = int(n_bases[ci])
                wn = float(w_bases[ci])
                neff = float(wn**2 / w2_bases[ci]) if n_base else 0.0
                for l_ in range(L):
                    k = ci * L + l_
                    p = float(est[k])
                    lo, hi = float(lo_k[k]), float(hi_k[k])
                    records.append(
                        {
                            "question": name,
                            "category": row.labels[l_],
                            "kind": row.kind if row.kind != "multi" else "categorical",
                            "is_net": row.labels[l_] in row.nets,
                            "banner": bname,
                            "column": "Total" if bname == "" else str(cats[ci]),
                            "letter": lets[ci],
                            "estimate": p,
                            "ci_lower": lo,
                            "ci_upper": hi,
                            "ci_note": str(note_k[k]),
                            "se": float(se[k]),
                            "n": n_base,
                            "weighted_n": wn,
                            "n_eff": neff,
                            "higher_than": "".join(sorted(higher.get((ci, l_), []), key=lambda s: (len(s), s))),
                            "low_base": n_base < min_base,
                            "suppressed": bool(sup[ci]),
                        }
                    )
    frame = pd.DataFrame.from_records(records)
    if suppress_below is not None and len(frame):
        frame = _blank(frame)
    reps = design._replicates
    variance = "Taylor linearisation" if reps is None else f"{reps.type} replicate weights"
    notes = [
        "Weighted percentages (means for numeric questions) with design-based standard errors "
        f"({'raking/calibration-aware, ' if design.is_calibrated else ''}{variance}); "
        f"{level:.0%} confidence intervals use the {ci_method} method.",
        "Letters: within each banner variable, every pair of columns is compared with a "
        f"two-sided design-based t test (SE of the difference from the joint covariance, "
        f"{dfree:g} df) at the {sig_level:g} level"
        + (f", {adjust} adjusted over the pairs of one banner variable for one row" if adjust != "none" else "")
        + ". A letter marks a column significantly higher than the column with that letter. "
        "The Total column is not tested.",
        *([f"{LOW_BASE} marks cells with an unweighted base below {min_base}: treat with caution."]
          if min_base > 0 else []),
        "Bases: unweighted respondents, weighted total and Kish effective sample size.",
        "Percentages are rounded for display only; nets and tests use unrounded values.",
    ]
    excl: dict[str, list[str]] = {}
    for r in built:
        if r.excluded:
            excl.setdefault(", ".join(map(str, r.excluded)), []).append(r.question)
    if excl:
        notes.append("Excluded from percentage bases: " + "; ".join(
            f"{e} ({', '.join(qs)})" for e, qs in excl.items()) + ".")
    done = [(r.question, r.applied_nets) for r in built if r.applied_nets]
    if done:
        notes.append("Nets (computed from unrounded values): " + "; ".join(
            f"{q}: " + ", ".join(f"{k} = {' + '.join(map(str, v))}" for k, v in nets_)
            for q, nets_ in done) + ".")
    if suppress_below is not None:
        notes.append(
            f"{SUPPRESSED} marks suppressed cells: unweighted base below {suppress_below}, or a "
            "complementary cell blanked so the suppressed value cannot be derived."
        )
    return BannerTable(
        notes=notes,
        questions=[n for n, _ in items],
        columns=col_meta,
        decimals=int(decimals),
        _frame=frame,
    )


def _check_used(exclude: list[Hashable], nets: NetSpec, rows: list[_Row]) -> None:
    """Refuse ``exclude`` labels and nets that apply to no question (e.g. misspelt), naming
    the categories the questions do have."""
    cat_rows = [r for r in rows if r.kind == "categorical"]
    available = list(dict.fromkeys(
        c for r in cat_rows for c in [*r.excluded, *(x for x in r.labels if x not in r.nets)]))
    unused = [e for e in exclude if not any(e in r.excluded for r in cat_rows)]
    if unused:
        raise DelibpollError(
            f"The 'exclude' parameter of banner names {unused!r}, which no categorical question "
            f"has. Categories of the questions: {available!r}."
        )
    for net, members in nets.items():
        if not any(net in r.nets for r in cat_rows):
            raise DelibpollError(
                f"Net '{net}' ({members!r}) matches no categorical question: none has any of its "
                f"members. Categories of the questions: {available!r}."
            )


def _suppressed_columns(n_bases: np.ndarray, threshold: int, is_total: bool) -> np.ndarray:
    """Columns of one banner variable (for one question) to blank: primary, every column with
    an unweighted base below ``threshold``; secondary, when exactly one column is primary and
    others exist, also the column with the next-smallest base (the first in column order on
    ties), so the blanked value cannot be derived from the Total and the other columns. The
    Total column gets primary suppression only."""
    sup = n_bases < threshold
    if not is_total and sup.sum() == 1 and len(n_bases) > 1:
        rest = np.where(~sup)[0]
        sup[rest[np.argmin(n_bases[rest])]] = True
    return sup


def _blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Blank the numbers of suppressed cells (their letters were never given)."""
    frame = frame.copy()
    for col in ("estimate", "ci_lower", "ci_upper", "se", "weighted_n", "n_eff"):
        frame.loc[frame["suppressed"], col] = np.nan
    frame.loc[frame["suppressed"], "higher_than"] = ""
    return frame
