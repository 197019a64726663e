"""Weighted banner tables with design-based significance letters (inference layer).

Questions go down the side, banner variables across the top. Every number comes from the
estimation layer (:func:`~delibpoll.estimation.grouped_ratios`, the same code as
:func:`~delibpoll.proportion` and :func:`~delibpoll.mean`), one batched call per question
and banner variable, whose joint covariance gives the letters.

:func:`banner` is a small pipeline: the arguments are checked (:func:`_check_arguments`),
then for each question and banner variable the estimates, SEs and CIs
(:func:`_estimate_cells`), the bases (:func:`_bases`), the suppressed columns and the
pairwise letters (:func:`_pairwise_letters`) are computed; the notes come last
(:func:`_notes`). The result, :class:`BannerTable`, holds arrays and plain data only; its
``to_excel``/``to_html``/``to_markdown``/``to_csv`` look up a renderer of the presentation
layer (:mod:`delibpoll.export`) in the registry :mod:`delibpoll._render`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from ._arrays import read_only
from ._ci import NOTE_NO_DF, proportion_cis_noted, t_quantiles
from ._format import count
from ._labels import Labels
from ._multiplicity import adjust_pvalues
from ._ratios import domain_summary, grouped_ratios
from ._render import render
from ._stats import kish_n_eff_by_group
from ._types import Adjust, CIMethod, TableLayout, values
from ._validation import check_level
from .design import SurveyDesign, check_design
from .exceptions import DelibpollError
from .lazy import LazyDesign, QuestionCells

__all__ = ["LOW_BASE", "SUPPRESSED", "BannerTable", "banner", "column_letters"]

#: Symbol of a suppressed cell.
SUPPRESSED = "[c]"
#: Symbol of a cell whose unweighted base is below ``min_base``.
LOW_BASE = "[u]"

#: The columns of :meth:`BannerTable.to_frame`, in order.
FRAME_COLUMNS = (
    "question", "category", "kind", "is_net", "banner", "column", "letter",
    "question_label", "category_label", "banner_label", "column_label", "estimate",
    "ci_lower", "ci_upper", "ci_note", "se", "n", "weighted_n", "n_eff", "higher_than",
    "low_base", "suppressed",
)


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


@dataclass(frozen=True, eq=False)
class BannerTable:
    """A weighted banner table (see :func:`banner`): the results as arrays, no formatting.

    Cells are laid out question by question; within a question, banner column by banner
    column (in the order of :attr:`columns`), and within a column category by category (in
    the order of :attr:`categories`), the row order of :meth:`to_frame`.
    :meth:`cell_slice` gives a question's cells, to be reshaped ``(len(columns),
    len(categories[q]))``.

    Attributes
    ----------
    notes : list of str
        The table notes (methods, letters, bases, exclusions, nets, suppression).
    questions : list of str
        The questions (rows of the banner), in order.
    columns : list of (str, str, str)
        ``(banner variable, column label, letter)`` of each banner column; the Total column
        is ``("", "Total", "")``.
    decimals : int
        Decimals shown for percentages (display only).
    kinds : tuple of str
        Per question: ``"categorical"`` (shares, also multi-response sets) or ``"numeric"``
        (a mean).
    categories : tuple of tuple
        Per question, its row labels (categories, nets, options, or the variable of a
        numeric question), as they appear in the ``category`` column of :meth:`to_frame`.
    offsets : numpy.ndarray
        ``offsets[q]:offsets[q + 1]`` are the cells of question ``q``.
    estimate, ci_lower, ci_upper, se : numpy.ndarray
        Per cell (NaN where suppressed).
    ci_note, higher_than : tuple of str
        Per cell: the CI note, and the letters of the columns the cell is significantly
        higher than.
    is_net : numpy.ndarray
        Per cell: whether its category is a net.
    n, weighted_n, n_eff : numpy.ndarray
        ``(questions, columns)``: unweighted, weighted and Kish effective bases (the
        weighted ones NaN where suppressed).
    low_base, suppressed : numpy.ndarray
        ``(questions, columns)`` flags.
    question_labels : tuple of str
        Per question, the words shown for it (its label, else a readable name).
    category_labels : tuple of tuple of str
        Per question, the words shown for each of :attr:`categories` (multi-response items
        take their item labels; a numeric question's row is "Mean").
    banner_labels, column_labels : tuple of str
        Per column, the banner variable's words ("" for Total) and the category's words.
    base_lines : tuple of str
        Per question, who the percentages are of ("Base: all respondents (unweighted n =
        4,000)"), naming what was left out of the base.
    min_base : int
        Columns with an unweighted base below this are flagged ``[u]``.
    """

    notes: list[str]
    questions: list[str]
    columns: list[tuple[str, str, str]]  # (banner, column, letter)
    decimals: int
    kinds: tuple[str, ...] = field(repr=False)
    categories: tuple[tuple[Hashable, ...], ...] = field(repr=False)
    offsets: np.ndarray = field(repr=False)
    estimate: np.ndarray = field(repr=False)
    ci_lower: np.ndarray = field(repr=False)
    ci_upper: np.ndarray = field(repr=False)
    se: np.ndarray = field(repr=False)
    ci_note: tuple[str, ...] = field(repr=False)
    higher_than: tuple[str, ...] = field(repr=False)
    is_net: np.ndarray = field(repr=False)
    n: np.ndarray = field(repr=False)
    weighted_n: np.ndarray = field(repr=False)
    n_eff: np.ndarray = field(repr=False)
    low_base: np.ndarray = field(repr=False)
    suppressed: np.ndarray = field(repr=False)
    question_labels: tuple[str, ...] = field(repr=False)
    category_labels: tuple[tuple[str, ...], ...] = field(repr=False)
    banner_labels: tuple[str, ...] = field(repr=False)
    column_labels: tuple[str, ...] = field(repr=False)
    base_lines: tuple[str, ...] = field(repr=False)
    min_base: int = field(repr=False)
    _frame: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Tidy long form, one row per question, category and banner column.

        Columns: ``question``, ``category``, ``kind``, ``banner``, ``column`` (banner
        category or "Total"), ``letter`` (the data's names and codes), then the words shown
        for them, ``question_label``, ``category_label``, ``banner_label`` and
        ``column_label``, then ``estimate``, ``ci_lower``, ``ci_upper``, ``se``,
        ``n``, ``weighted_n``, ``n_eff``, ``higher_than`` (letters of the columns this cell is
        significantly higher than), ``low_base``, ``suppressed``.
        """
        return self._frame.copy()

    def cell_slice(self, question: int) -> slice:
        """The cells of question number ``question`` (0-based) in the per-cell arrays."""
        return slice(int(self.offsets[question]), int(self.offsets[question + 1]))

    def to_markdown(self, *, layout: TableLayout = "accessible") -> str:
        """Markdown: one table per question (its wording as heading, the base line under
        it), then the notes.

        ``layout="accessible"``: one header row, bases at the foot; ``"classic"``: the
        column letters in the first row and the bases at the top, as CTABLES and Q print
        them. Labels are escaped (``|``, Markdown and HTML specials, newlines), so they
        cannot shift columns or add markup."""
        out: str = render("banner.markdown", self, layout=layout)
        return out

    def to_html(self, *, layout: TableLayout = "accessible", fragment: bool = False,
                title: str = "Weighted banner tables") -> str:
        """HTML: a standalone document (doctype, charset, title, print-friendly CSS), or
        with ``fragment=True`` only the tables and notes, for embedding.

        Each question is a ``<table>`` with a ``<caption>`` (its wording and base line) and
        ``scope`` on every header cell; ``layout="classic"`` spans each banner variable over
        its categories (``scope="colgroup"``) with the letters under them and the bases at
        the top."""
        out: str = render("banner.html", self, layout=layout, fragment=fragment, title=title)
        return out

    def _repr_html_(self) -> str:
        return self.to_html(fragment=True)

    def to_csv(self, path: str | Path) -> Path:
        """The tidy frame (:meth:`to_frame`: codes and names, and the labels shown) as CSV."""
        out: Path = render("banner.csv", self, path)
        return out

    def to_excel(self, path: str | Path, *, title: str = "Weighted banner tables",
                 source: str = "", layout: TableLayout = "accessible") -> Path:
        """Spreadsheet following the UK Government Analysis Function guidance.

        A cover sheet, a notes sheet, a contents sheet (every table's title, linked to its
        sheet), then one table per sheet. ``layout="accessible"``: a single header row, no
        merged cells, percentages stored as numbers with their significance letters in the
        adjacent column (only where some cell has a letter), bases at the foot;
        ``layout="classic"``: the CTABLES/Q layout (banner variables spanning their
        categories, letters under the percentages, bases at the top). Suppressed cells hold
        ``[c]``; columns with a small base are flagged ``[u]`` in a row of their own. Every
        table sheet prints A4 landscape with its header rows repeated, one page wide when
        that keeps the text at 80% or more of its size.
        """
        out: Path = render("banner.excel", self, path, title=title, source=source,
                           layout=layout)
        return out

    def to_ods(self, path: str | Path, *, title: str = "Weighted banner tables",
               source: str = "", layout: TableLayout = "accessible") -> Path:
        """OpenDocument spreadsheet (.ods), the open format the Government Analysis Function
        prefers: the sheets of :meth:`to_excel` (cover, notes, contents, tables)."""
        out: Path = render("banner.ods", self, path, title=title, source=source,
                           layout=layout)
        return out

    def __repr__(self) -> str:
        return f"BannerTable({len(self.questions)} questions x {len(self.columns)} columns)\n" + (
            self.to_markdown() if len(self.questions) <= 3 else ""
        )


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
    n_missing: int = 0  # respondents with no valid answer (NaN: system- or user-missing)
    n_excluded: int = 0  # respondents whose answer is an excluded category
    n_valid: int | None = None  # respondents in the base (None: count ``valid``)

    @property
    def base_n(self) -> int:
        """Respondents in the question's base."""
        return int(self.valid.sum()) if self.n_valid is None else self.n_valid


def _is_label(x: object) -> bool:
    """A column name or category label: a string or a (non-bool) number."""
    return isinstance(x, str) or (isinstance(x, int | float | np.integer | np.floating)
                                  and not isinstance(x, bool | np.bool_))


def _check_names(names: Sequence[Any], param: str, design: SurveyDesign | LazyDesign) -> None:
    """Columns exist (else the available ones are listed) and are named by text."""
    design.check_columns(list(names), param)
    odd = [c for c in names if not isinstance(c, str)]
    if odd:
        raise DelibpollError(
            f"The '{param}' parameter of banner names column(s) {odd!r} that are not text; banner "
            "needs text column names. Rename them first, e.g. df.rename(columns=str)."
        )


def _as_rows(rows: Any, design: SurveyDesign | LazyDesign) -> list[tuple[str, Any]]:
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


def _check_options(
    level: object, total: object, ci_method: object, adjust: object, sig_level: object,
    min_base: object, decimals: object, labels: object, base_description: object,
    design: SurveyDesign | LazyDesign,
) -> tuple[float, float, int, int, Labels, str]:
    """The options of :func:`banner` that every design takes, checked: ``level``,
    ``sig_level``, ``min_base``, ``decimals``, the labels and the base description."""
    func = "banner"
    level = check_level(level, func)
    if not isinstance(total, bool | np.bool_):
        raise DelibpollError(f"The 'total' parameter of banner must be True or False. Got {total!r} instead.")
    if not isinstance(ci_method, str) or ci_method not in values(CIMethod):
        raise DelibpollError(f"The 'ci_method' parameter of banner must be one of {list(values(CIMethod))}. Got {ci_method!r} instead.")
    if not isinstance(adjust, str) or adjust not in values(Adjust):
        raise DelibpollError(f"The 'adjust' parameter of banner must be 'none', 'holm', 'bonferroni' or 'fdr_bh'. Got {adjust!r} instead.")
    if isinstance(sig_level, bool) or not isinstance(sig_level, int | float) or not 0 < sig_level < 1:
        raise DelibpollError(f"The 'sig_level' parameter of banner must be a number in (0, 1), e.g. 0.05. Got {sig_level!r} instead.")
    min_base = _check_int_param(min_base, "min_base", 0)
    decimals = _check_int_param(decimals, "decimals", 0, 10)
    lab = _check_labels(labels, design)
    if base_description is None:
        base_description = "all respondents"
    elif not isinstance(base_description, str) or not base_description.strip():
        raise DelibpollError(
            "The 'base_description' parameter of banner must be text naming who was asked, "
            f"e.g. 'all adults in England'. Got {base_description!r} instead."
        )
    return level, float(sig_level), min_base, decimals, lab, base_description


def _check_columns(columns: object, design: SurveyDesign | LazyDesign) -> list[Any]:
    """The banner variables: a column name or a list of them, each in the design."""
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
    return cols


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
    if isinstance(spec, list):
        if own_nets:
            raise DelibpollError(
                f"Nets were given for question '{name}', a multi-response set; nets apply to "
                "categorical questions only."
            )
        block = design.select(spec).apply(pd.to_numeric, errors="coerce")
        bad = [c for c in spec if not set(block[c].dropna().unique()) <= {0, 1}]
        if bad:
            raise DelibpollError(
                f"Multi-response set '{name}' needs 0/1 columns; {bad} have other values."
            )
        valid = block.notna().any(axis=1).to_numpy()
        num = block.fillna(0).to_numpy(dtype=float) * valid[:, None]
        values, pattern = np.unique(num, axis=0, return_inverse=True)
        return _Row(name, "multi", list(spec), pattern.ravel(), values, valid, [], [],
                    n_missing=int((~valid).sum()))
    s = design.column(spec)
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
        return _Row(name, "numeric", [spec], pattern.ravel(), uniq[:, None], valid, [], [],
                    n_missing=int((~valid).sum()))
    codes, cats = design.column_codes(spec)
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
    n_excl = int(np.isin(codes, [cats.index(c) for c in excluded]).sum()) if excluded else 0
    return _Row(name, "categorical", labels, np.where(valid, codes, 0), values, valid, net_labels,
                applied, excluded, n_missing=int((codes < 0).sum()), n_excluded=n_excl)


def banner(
    design: SurveyDesign | LazyDesign,
    rows: Any,
    columns: Sequence[str] | str,
    *,
    total: bool = True,
    level: float = 0.95,
    ci_method: CIMethod = "logit",
    sig_level: float = 0.05,
    adjust: Adjust = "none",
    min_base: int = 50,
    suppress_below: int | None = None,
    exclude: Sequence[Hashable] | None = None,
    nets: Mapping[str, Sequence[Hashable] | Mapping[str, Sequence[Hashable]]] | None = None,
    decimals: int = 0,
    labels: Labels | Mapping[str, Any] | None = None,
    base_description: str | None = None,
) -> BannerTable:
    """Weighted banner table: questions down the side, subgroups across the top.

    Parameters
    ----------
    design : SurveyDesign or LazyDesign
        A lazy design (:func:`~delibpoll.scan`) runs one ``group_by`` in its engine per
        question and gives the same table; ``exclude``, ``nets``, ``suppress_below`` and
        multi-response sets need the rows and are refused there.
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
    labels : Labels or mapping, optional
        The words shown for questions, categories and banner variables, on top of the file's
        labels (``design.attrs``, as :func:`~delibpoll.read_survey` keeps them); the shapes
        of :meth:`Labels.from_mapping <delibpoll._labels.Labels.from_mapping>`
        (``{"q_pact": "Would a Data Pact ...?", "sex:F": "Female"}``). What nobody labels
        gets a readable name (``age_group`` -> "Age group"). The tidy frame keeps the data's
        names and codes and adds the labels beside them.
    base_description : str, optional
        Who was asked, for each table's base line: ``"all adults in England"`` gives "Base:
        all adults in England (unweighted n = 4,000)". Default "all respondents". Answers
        left out of the base (``exclude``, missing answers and the file's missing codes) are
        named in the base line and the notes.

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
    if isinstance(design, LazyDesign):
        return _lazy_banner(
            design, rows, columns, total=total, level=level, ci_method=ci_method,
            sig_level=sig_level, adjust=adjust, min_base=min_base,
            suppress_below=suppress_below, exclude=exclude, nets=nets, decimals=decimals,
            labels=labels, base_description=base_description,
        )
    spec = _check_arguments(
        design, rows, columns, total=total, level=level, ci_method=ci_method,
        sig_level=sig_level, adjust=adjust, min_base=min_base, suppress_below=suppress_below,
        exclude=exclude, nets=nets, decimals=decimals, labels=labels,
        base_description=base_description,
    )
    return _assemble(design, spec, [_question_cells(design, spec, row) for row in spec.rows])


@dataclass(frozen=True)
class _Spec:
    """The checked arguments of :func:`banner` and what follows from them directly."""

    total: bool
    level: float
    ci_method: CIMethod
    adjust: Adjust
    sig_level: float
    min_base: int
    suppress_below: int | None
    decimals: int
    questions: list[str]
    rows: list[_Row]
    # (banner variable, codes of every respondent, categories, letters); Total first
    groups: list[tuple[str, np.ndarray, list[Hashable], list[str]]]
    columns: list[tuple[str, str, str]]
    labels: Labels
    base_description: str


@dataclass(frozen=True)
class _QuestionCells:
    """One question's results over every banner column (cells in frame order)."""

    estimate: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    ci_note: list[str]
    se: np.ndarray
    higher_than: list[str]
    n: list[int]
    weighted_n: list[float]
    n_eff: list[float]
    suppressed: list[bool]


def _check_arguments(
    design: object,
    rows: Any,
    columns: Any,
    *,
    total: object,
    level: object,
    ci_method: object,
    sig_level: object,
    adjust: object,
    min_base: object,
    suppress_below: object,
    exclude: object,
    nets: object,
    decimals: object,
    labels: object = None,
    base_description: object = None,
) -> _Spec:
    """Every argument of :func:`banner` checked (a DelibpollError naming the bad one), the
    questions' answer patterns built and the banner columns coded and lettered."""
    func = "banner"
    design = check_design(design, func)
    level, sig_level, min_base, decimals, lab, base_description = _check_options(
        level, total, ci_method, adjust, sig_level, min_base, decimals, labels,
        base_description, design)
    if suppress_below is not None:
        suppress_below = _check_int_param(suppress_below, "suppress_below", 1)
    exclude_list = _label_list(exclude, "exclude")
    cols = _check_columns(columns, design)
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
        s = design.column(b)
        if pd.api.types.is_float_dtype(s) and s.nunique() > 20:
            raise DelibpollError(
                f"Banner variable '{b}' looks continuous ({s.nunique()} distinct values); band "
                "it into categories first (e.g. with pandas.cut)."
            )
        codes, cats = design.column_codes(b)
        if (codes < 0).any():
            raise DelibpollError(
                f"Banner variable '{b}' has {(codes < 0).sum()} missing values; recode them to a "
                "category such as 'Not known'."
            )
        banners.append((str(b), codes, cats))
    letters = column_letters(sum(len(c) for _, _, c in banners))
    groups: list[tuple[str, np.ndarray, list[Hashable], list[str]]] = []
    if total:
        groups.append(("", np.zeros(design.n, dtype=np.int64), ["Total"], [""]))
    li = 0
    for b, codes, cats in banners:
        groups.append((b, codes, cats, letters[li : li + len(cats)]))
        li += len(cats)
    col_meta = [(b, "Total" if b == "" else str(c), lets[i])
                for b, _, cats, lets in groups for i, c in enumerate(cats)]
    built = [
        _build_row(design, name, spec, exclude_list, glob_nets, per_nets.get(name, {}))
        for name, spec in items
    ]
    _check_used(exclude_list, glob_nets, built)
    return _Spec(
        total=bool(total), level=level, ci_method=cast(CIMethod, ci_method),
        adjust=cast(Adjust, adjust),
        sig_level=float(sig_level), min_base=min_base, suppress_below=suppress_below,
        decimals=decimals, questions=[n for n, _ in items], rows=built, groups=groups,
        columns=col_meta, labels=lab, base_description=base_description.strip(),
    )


def _check_labels(labels: object, design: SurveyDesign | LazyDesign) -> Labels:
    """The file's labels (``design.attrs``) with ``labels`` on top."""
    if labels is not None and not isinstance(labels, Labels | Mapping):
        raise DelibpollError(
            "The 'labels' parameter of banner must be a mapping {variable: label, "
            "'variable:category': label} or a Labels; got "
            f"{type(labels).__name__}. Example: labels={{'q_pact': 'Would a Data Pact increase "
            "your confidence?', 'sex:F': 'Female'}."
        )
    return Labels.from_attrs(design.attrs, cast(Any, labels))


def _estimate_cells(
    design: SurveyDesign, row: _Row, codes: np.ndarray, m: int, n_bases: np.ndarray,
    level: float, ci_method: CIMethod,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Estimates, their joint covariance, SEs and CIs (with notes) of one question in the
    ``m`` columns of one banner variable; cell ``k = column * L + label``."""
    est, vcov, _ = grouped_ratios(design, row.pattern, row.values, codes, m, row.valid)
    _, dfs, n_rows = domain_summary(design, codes, m, row.valid)
    return _intervals(row.kind, row.values.shape[1], est, vcov, dfs, n_rows, n_bases, level,
                      ci_method)


def _intervals(
    kind: str, L: int, est: np.ndarray, vcov: np.ndarray, dfs: np.ndarray, n_rows: np.ndarray,
    n_bases: np.ndarray, level: float, ci_method: CIMethod,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SEs and CIs (with notes) of a question's cells in the ``m`` columns of one banner
    variable, from the estimates, their covariance and per column df, nrow and base."""
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    df_k = np.repeat(dfs, L)
    if kind == "numeric":
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
    return est, vcov, se, lo_k, hi_k, note_k


def _bases(
    w: np.ndarray, codes: np.ndarray, valid: np.ndarray, m: int
) -> tuple[np.ndarray, list[float], list[float]]:
    """Unweighted, weighted and Kish effective bases of ``m`` columns (one bincount each)."""
    n_bases, w_bases, n_eff_arr = kish_n_eff_by_group(w[valid], codes[valid], m)
    return n_bases, [float(x) for x in w_bases], [float(x) for x in n_eff_arr]


def _pairwise_letters(
    est: np.ndarray, vcov: np.ndarray, L: int, letters: list[str], sup: np.ndarray,
    dfree: float, adjust: str, sig_level: float,
) -> list[str]:
    """Per cell ``k = column * L + label`` of one banner variable, the letters of the columns
    it is significantly higher than (two-sided design-based t test of every pair of columns,
    optionally adjusted over the pairs; no letter involves a suppressed column)."""
    m = len(letters)
    higher: dict[tuple[int, int], list[str]] = {}
    if m > 1:
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
            p_all[ok_all] = 2 * stats.t.sf(np.abs(d_all[ok_all]) / np.sqrt(v_all[ok_all]), dfree)
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
                    higher.setdefault((top, l_), []).append(letters[low])
    return ["".join(sorted(higher.get((ci, l_), []), key=lambda s: (len(s), s)))
            for ci in range(m) for l_ in range(L)]


def _question_cells(design: SurveyDesign, spec: _Spec, row: _Row) -> _QuestionCells:
    """One question in every banner column: estimates, CIs, SEs, letters, bases and
    suppression (suppressed cells blanked: no numbers, no letters)."""
    L = row.values.shape[1]
    w = design.weight_array
    dfree = design.df
    parts: list[tuple[np.ndarray, ...]] = []
    notes: list[str] = []
    higher: list[str] = []
    n: list[int] = []
    wn: list[float] = []
    neff: list[float] = []
    sup_cols: list[bool] = []
    for bname, codes, _cats, lets in spec.groups:
        m = len(lets)
        n_bases, w_bases, n_eff = _bases(w, codes, row.valid, m)
        sup = (_suppressed_columns(n_bases, spec.suppress_below, bname == "")
               if spec.suppress_below is not None else np.zeros(m, dtype=bool))
        est, vcov, se, lo, hi, note = _estimate_cells(
            design, row, codes, m, n_bases, spec.level, spec.ci_method)
        letters = (_pairwise_letters(est, vcov, L, lets, sup, dfree, spec.adjust, spec.sig_level)
                   if bname != "" else [""] * (m * L))
        parts.append((est, lo, hi, se, np.repeat(sup, L)))
        notes += [str(x) for x in note]
        higher += ["" if sup[k // L] else h for k, h in enumerate(letters)]
        n += [int(x) for x in n_bases]
        wn += [np.nan if s else x for s, x in zip(sup, w_bases, strict=True)]
        neff += [np.nan if s else x for s, x in zip(sup, n_eff, strict=True)]
        sup_cols += [bool(s) for s in sup]
    est, lo, hi, se, sup_k = (np.concatenate([p[i] for p in parts]) for i in range(5))
    est, lo, hi, se = (np.where(sup_k, np.nan, x).astype(float) for x in (est, lo, hi, se))
    return _QuestionCells(est, lo, hi, notes, se, higher, n, wn, neff, sup_cols)


def _assemble(design: SurveyDesign | LazyDesign, spec: _Spec,
              cells: list[_QuestionCells]) -> BannerTable:
    """The :class:`BannerTable`: the per-question results as arrays, and the tidy frame."""
    C = len(spec.columns)
    sizes = [C * len(r.labels) for r in spec.rows]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    kinds = [r.kind if r.kind != "multi" else "categorical" for r in spec.rows]
    n = np.array([c.n for c in cells], dtype=np.int64).reshape(len(cells), C)
    low_base = n < spec.min_base
    suppressed = np.array([c.suppressed for c in cells], dtype=bool).reshape(len(cells), C)

    def flat(name: str) -> np.ndarray:
        return np.concatenate([getattr(c, name) for c in cells]) if cells else np.zeros(0)

    def per_cell(values_: np.ndarray) -> np.ndarray:  # (Q, C) -> cells
        return np.concatenate([np.repeat(values_[q], len(r.labels))
                               for q, r in enumerate(spec.rows)])

    weighted_n = np.array([c.weighted_n for c in cells], dtype=float).reshape(len(cells), C)
    n_eff = np.array([c.n_eff for c in cells], dtype=float).reshape(len(cells), C)
    is_net = np.array([lab in r.nets for r in spec.rows for _ in range(C) for lab in r.labels],
                      dtype=bool)
    words = _words(spec)
    q_labels, c_labels, b_labels, col_labels = words
    if offsets[-1] == 0:
        frame = pd.DataFrame.from_records([])
    else:
        frame = pd.DataFrame({
            "question": [r.question for r in spec.rows for _ in range(C * len(r.labels))],
            "category": [lab for r in spec.rows for _ in range(C) for lab in r.labels],
            "kind": [k for r, k in zip(spec.rows, kinds, strict=True)
                     for _ in range(C * len(r.labels))],
            "is_net": is_net,
            "banner": [b for r in spec.rows for b, _, _ in spec.columns for _ in r.labels],
            "column": [c for r in spec.rows for _, c, _ in spec.columns for _ in r.labels],
            "letter": [x for r in spec.rows for _, _, x in spec.columns for _ in r.labels],
            "question_label": [q_labels[q] for q, r in enumerate(spec.rows)
                               for _ in range(C * len(r.labels))],
            "category_label": [lab for q in range(len(spec.rows)) for _ in range(C)
                               for lab in c_labels[q]],
            "banner_label": [b for r in spec.rows for b in b_labels for _ in r.labels],
            "column_label": [c for r in spec.rows for c in col_labels for _ in r.labels],
            "estimate": flat("estimate"),
            "ci_lower": flat("ci_lower"),
            "ci_upper": flat("ci_upper"),
            "ci_note": [x for c in cells for x in c.ci_note],
            "se": flat("se"),
            "n": per_cell(n),
            "weighted_n": per_cell(weighted_n),
            "n_eff": per_cell(n_eff),
            "higher_than": [x for c in cells for x in c.higher_than],
            "low_base": per_cell(low_base),
            "suppressed": per_cell(suppressed),
        }, columns=list(FRAME_COLUMNS))
    shown = frame["category"].tolist() if len(frame) else []
    categories = tuple(tuple(shown[int(offsets[q]) : int(offsets[q]) + len(r.labels)])
                       for q, r in enumerate(spec.rows))
    return BannerTable(
        notes=_notes(design, spec, any_low_base=bool(np.any(low_base))),
        questions=list(spec.questions),
        columns=list(spec.columns),
        decimals=int(spec.decimals),
        kinds=tuple(kinds),
        categories=categories,
        offsets=read_only(offsets),
        estimate=read_only(flat("estimate")),
        ci_lower=read_only(flat("ci_lower")),
        ci_upper=read_only(flat("ci_upper")),
        se=read_only(flat("se")),
        ci_note=tuple(x for c in cells for x in c.ci_note),
        higher_than=tuple(x for c in cells for x in c.higher_than),
        is_net=read_only(is_net),
        n=read_only(n),
        weighted_n=read_only(weighted_n),
        n_eff=read_only(n_eff),
        low_base=read_only(low_base),
        suppressed=read_only(suppressed),
        question_labels=q_labels,
        category_labels=c_labels,
        banner_labels=b_labels,
        column_labels=col_labels,
        base_lines=tuple(_base_line(spec, q, r) for q, r in enumerate(spec.rows)),
        min_base=int(spec.min_base),
        _frame=frame,
    )


def _words(spec: _Spec) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...], tuple[str, ...],
                                 tuple[str, ...]]:
    """The words shown: per question its label and its rows' labels; per column the banner
    variable's label and the category's."""
    lab = spec.labels
    q_labels: list[str] = []
    c_labels: list[tuple[str, ...]] = []
    for r in spec.rows:
        if r.kind == "multi":
            items = lab.multi_response(r.question, [str(c) for c in r.labels])
            q_labels.append(items.title)
            c_labels.append(items.items)
        elif r.kind == "numeric":
            q_labels.append(lab.variable(r.question))
            c_labels.append(("Mean",))
        else:
            q_labels.append(lab.variable(r.question))
            c_labels.append(tuple(lab.category(r.question, c) for c in r.labels))
    b_labels = tuple("" if b == "" else lab.variable(b) for b, _, cats, _ in spec.groups
                     for _ in cats)
    col_labels = tuple("Total" if b == "" else lab.category(b, c) for b, _, cats, _ in spec.groups
                       for c in cats)
    return tuple(q_labels), tuple(c_labels), b_labels, col_labels


def _left_out(spec: _Spec, row: _Row) -> list[str]:
    """What ``row`` leaves out of its base, in words: excluded categories, missing answers
    (with the file's missing codes)."""
    lab = spec.labels
    parts: list[str] = []
    if row.n_excluded:
        parts.append(" and ".join(lab.category(row.question, c) for c in row.excluded))
    if row.n_missing:
        names = [row.question] if row.kind != "multi" else [str(c) for c in row.labels]
        codes = {k: v for n in names for k, v in lab.missing_codes(n).items()}
        parts.append("missing answers" + (
            " (" + "; ".join(f"{v}, code {k}" for k, v in codes.items()) + ")" if codes else ""))
    return parts


def _base_line(spec: _Spec, q: int, row: _Row) -> str:
    """"Base: all respondents, excluding Don't know (unweighted n = 3,512)"."""
    parts = _left_out(spec, row)
    excl = f", excluding {' and '.join(parts)}" if parts else ""
    return f"Base: {spec.base_description}{excl} (unweighted n = {count(row.base_n)})"


def _notes(design: SurveyDesign | LazyDesign, spec: _Spec, *, any_low_base: bool) -> list[str]:
    """The table notes: methods, letters, low bases, bases, rounding, exclusions, nets and
    suppression."""
    reps = design.replicates
    variance = "Taylor linearisation" if reps is None else f"{reps.type} replicate weights"
    level, adjust, min_base = spec.level, spec.adjust, spec.min_base
    notes = [
        "Weighted percentages (means for numeric questions) with design-based standard errors "
        f"({'raking/calibration-aware, ' if design.is_calibrated else ''}{variance}); "
        f"{level:.0%} confidence intervals use the {spec.ci_method} method.",
        "Letters: within each banner variable, every pair of columns is compared with a "
        f"two-sided design-based t test (SE of the difference from the joint covariance, "
        f"{design.df:g} df) at the {spec.sig_level:g} level"
        + (f", {adjust} adjusted over the pairs of one banner variable for one row" if adjust != "none" else "")
        + ". A letter marks a column significantly higher than the column with that letter. "
        "The Total column is not tested.",
        *([f"{LOW_BASE} (row 'Small base') marks the columns whose unweighted base is below "
           f"{count(min_base)}: treat their figures with caution."]
          if min_base > 0 and any_low_base else []),
        "Bases: unweighted respondents, weighted total and Kish effective sample size.",
        "Percentages are rounded for display only; nets and tests use unrounded values.",
    ]
    lab = spec.labels
    q_words = _words(spec)[0]
    for q, r in enumerate(spec.rows):
        said = []
        if r.n_excluded:
            cats = " and ".join(lab.category(r.question, c) for c in r.excluded)
            said.append(f"{cats} ({count(r.n_excluded)} respondents) left out of the base, as "
                        "asked (exclude=)")
        if r.n_missing:
            what = _left_out(spec, r)[-1]
            said.append(f"{count(r.n_missing)} respondents with {what} left out of the base")
        if said:
            notes.append(f"{q_words[q]}: " + "; ".join(said) + ".")
    done = [(q, r) for q, r in enumerate(spec.rows) if r.applied_nets]
    if done:
        notes.append("Nets (computed from unrounded values): " + "; ".join(
            f"{q_words[q]}: " + ", ".join(
                f"{lab.category(r.question, k)} = "
                + " + ".join(lab.category(r.question, m) for m in v) for k, v in r.applied_nets)
            for q, r in done) + ".")
    if spec.suppress_below is not None:
        notes.append(
            f"{SUPPRESSED} marks suppressed cells: unweighted base below {spec.suppress_below}, "
            "or a complementary cell blanked so the suppressed value cannot be derived."
        )
    return notes


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


# ---------------------------------------------------------------------- lazy designs
def _lazy_banner(
    design: LazyDesign,
    rows: Any,
    columns: Sequence[str] | str,
    *,
    total: bool,
    level: float,
    ci_method: CIMethod,
    sig_level: float,
    adjust: Adjust,
    min_base: int,
    suppress_below: int | None,
    exclude: Sequence[Hashable] | None,
    nets: Any,
    decimals: int,
    labels: Labels | Mapping[str, Any] | None,
    base_description: str | None,
) -> BannerTable:
    """:func:`banner` of a :class:`~delibpoll.LazyDesign`: one ``group_by`` in the engine
    per question (weighting cells x every banner variable x answer), the same checks,
    numbers, letters and layout as in memory. Exclusions, nets, suppression and
    multi-response sets need the rows: they are refused."""
    for name, value in (("exclude", exclude), ("nets", nets), ("suppress_below", suppress_below)):
        if value is not None:
            raise DelibpollError(
                f"The '{name}' parameter of banner is not available on a lazy design (scan) "
                "yet; recode the data in the engine first, or build the banner from an "
                "in-memory SurveyDesign."
            )
    level, sig_level, min_base, decimals, lab, base_description = _check_options(
        level, total, ci_method, adjust, sig_level, min_base, decimals, labels,
        base_description, design)
    cols = _check_columns(columns, design)
    if not cols and not total:
        raise DelibpollError(
            "banner has no columns to show: 'columns' is empty and total=False. Name a banner "
            "variable or keep the Total column."
        )
    items = _as_rows(rows, design)
    multi = [n for n, spec in items if isinstance(spec, list)]
    if multi:
        raise DelibpollError(
            f"Multi-response sets {multi} of banner are not available on a lazy design (scan) "
            "yet; build the banner from an in-memory SurveyDesign."
        )
    both = [c for c in cols if c in {spec for _, spec in items}]
    if both:
        raise DelibpollError(
            f"Column(s) {both} are both a row and a banner variable of banner; a question cannot "
            "be cross-tabulated by itself. Remove them from 'rows' or from 'columns'."
        )
    questions = [str(spec) for _, spec in items]
    # distinct values only where they decide something: a float banner variable (banded?)
    # and a numeric question (a mean, or categories when it has at most 2 values)
    distinct = [b for b in cols if design.is_float(b)] + [q for q in questions
                                                           if design.is_numeric(q)]
    counts = design.column_counts([*cols, *questions], distinct)
    for b in cols:
        n_unique, n_missing = counts[b]
        if n_unique is not None and n_unique > 20:
            raise DelibpollError(
                f"Banner variable '{b}' looks continuous ({n_unique} distinct values); band "
                "it into categories first (e.g. with pandas.cut)."
            )
        if n_missing:
            raise DelibpollError(
                f"Banner variable '{b}' has {n_missing} missing values; recode them to a "
                "category such as 'Not known'."
            )
    numeric = {q: (counts[q][0] or 0) > 2 for q in questions}
    tables: list[QuestionCells] = [design.banner_cells(q, cols, numeric=numeric[q])
                                   for q in questions]
    group_meta = tables[0].groups if tables else ()
    letters = column_letters(sum(len(g.labels) for g in group_meta[1:]))
    groups: list[tuple[str, np.ndarray, list[Hashable], list[str]]] = []
    empty = np.zeros(0, dtype=np.int64)
    if total:
        groups.append(("", empty, ["Total"], [""]))
    li = 0
    for g in group_meta[1:]:
        groups.append((g.variable, empty, list(g.labels), letters[li : li + len(g.labels)]))
        li += len(g.labels)
    col_meta = [(b, "Total" if b == "" else str(c), lets[i])
                for b, _, cats, lets in groups for i, c in enumerate(cats)]
    built = []
    for q, qc in zip(questions, tables, strict=True):
        kind = "numeric" if numeric[q] else "categorical"
        L = 1 if numeric[q] else len(qc.labels)
        built.append(_Row(q, kind, list(qc.labels), empty, np.eye(max(L, 1)), np.zeros(0, bool),
                          [], [], n_missing=qc.n_missing, n_valid=qc.n_valid))
    spec = _Spec(
        total=bool(total), level=level, ci_method=ci_method,
        adjust=adjust, sig_level=float(sig_level), min_base=min_base,
        suppress_below=None, decimals=decimals, questions=questions, rows=built,
        groups=groups, columns=col_meta, labels=lab,
        base_description=base_description.strip(),
    )
    cells = [_lazy_question_cells(design, spec, row, qc)
             for row, qc in zip(built, tables, strict=True)]
    return _assemble(design, spec, cells)


def _lazy_question_cells(design: LazyDesign, spec: _Spec, row: _Row,
                         qc: QuestionCells) -> _QuestionCells:
    """:func:`_question_cells` from a lazy design's tables (no suppression)."""
    L = row.values.shape[1]
    parts: list[tuple[np.ndarray, ...]] = []
    notes: list[str] = []
    higher: list[str] = []
    n: list[int] = []
    wn: list[float] = []
    neff: list[float] = []
    sup_cols: list[bool] = []
    shown = qc.groups if spec.total else qc.groups[1:]
    for (bname, _codes, _cats, lets), g in zip(spec.groups, shown, strict=True):
        m = len(lets)
        sup = np.zeros(m, dtype=bool)
        est, vcov, se, lo, hi, note = _intervals(row.kind, L, g.estimate, g.vcov, g.df,
                                                 g.n_rows, g.n, spec.level, spec.ci_method)
        letters = (_pairwise_letters(est, vcov, L, lets, sup, design.df, spec.adjust,
                                     spec.sig_level)
                   if bname != "" else [""] * (m * L))
        parts.append((est, lo, hi, se, np.repeat(sup, L)))
        notes += [str(x) for x in note]
        higher += list(letters)
        n += [int(x) for x in g.n]
        wn += [float(x) for x in g.weighted_n]
        neff += [float(x) for x in g.n_eff]
        sup_cols += [False] * m
    est, lo, hi, se, _sup = (np.concatenate([p[i] for p in parts]) for i in range(5))
    return _QuestionCells(est.astype(float), lo.astype(float), hi.astype(float), notes,
                          se.astype(float), higher, n, wn, neff, sup_cols)
