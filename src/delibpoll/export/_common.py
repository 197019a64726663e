"""What the exporters share: output paths, and a result as *views* (presentation layer).

A view is one table as a reader sees it: its title (the question's wording), its base line
("Base: all respondents (unweighted n = 4,000)"), its column heads (banner variable, category
and letter) and its rows of cells, each cell's text already formatted for readers with
:mod:`delibpoll._format` and its number kept for spreadsheets. Every exporter (Excel, ODS,
HTML, Markdown) lays out the same views, so the words and numbers agree across formats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .._format import LOW_RELIABILITY, NOT_AVAILABLE, ci, count, number, percent, points
from ..banner import SUPPRESSED, BannerTable
from ..exceptions import DelibpollError
from ..grid import LikertGrid

__all__ = [
    "BASE_ROWS", "Cell", "Document", "Head", "Row", "View", "banner_document", "check_layout",
    "grid_document", "head_text", "out_path",
]

#: The base rows of a banner view, in order.
BASE_ROWS = ("Unweighted base", "Weighted base", "Effective base")

CellFormat = Literal["percent", "number", "count", "points", "text"]
RowRole = Literal["value", "net", "base", "flag"]


def out_path(path: object, method: str) -> Path:
    """``path`` as a Path whose folder exists, else a DelibpollError naming ``method``."""
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


def check_layout(layout: object, method: str) -> str:
    """``layout`` if it is "accessible" or "classic", else a DelibpollError naming it."""
    if layout not in ("accessible", "classic"):
        raise DelibpollError(
            f"The 'layout' parameter of {method} must be 'accessible' (one header row, for "
            f"publication spreadsheets) or 'classic' (banner variables spanning their "
            f"categories, as SPSS Custom Tables and Q print them). Got {layout!r} instead."
        )
    return str(layout)


@dataclass(frozen=True)
class Head:
    """A column head: the spanning group ("" for none), the column's words, its letter."""

    group: str
    label: str
    letter: str = ""


def head_text(h: Head) -> str:
    """A head on one line: "Sex: Female (A)", "Total"."""
    name = f"{h.group}: {h.label}" if h.group else h.label
    return f"{name} ({h.letter})" if h.letter else name


@dataclass(frozen=True)
class Cell:
    """One cell: its text for readers, the number stored in spreadsheets (None: text), how
    the number is formatted, its decimals and its significance letters."""

    text: str
    value: float | None = None
    fmt: CellFormat = "text"
    decimals: int = 0
    letters: str = ""

    def shown(self) -> str:
        """The text with the letters beside it ("62% B")."""
        return f"{self.text} {self.letters}" if self.letters else self.text


@dataclass(frozen=True)
class Row:
    """A row: its label, cells, role and letter (statements of a grid are lettered)."""

    label: str
    cells: tuple[Cell, ...]
    role: RowRole = "value"
    letter: str = ""

    def label_text(self) -> str:
        return f"{self.label} ({self.letter})" if self.letter else self.label


@dataclass(frozen=True)
class View:
    """One table as a reader sees it."""

    title: str
    base_line: str
    stub: str
    heads: tuple[Head, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Document:
    """The views of a result, its notes and what it is (for the cover sheet)."""

    views: tuple[View, ...]
    notes: tuple[str, ...]
    what: str = "weighted survey tables"


def _estimate_cells(est: Sequence[float], higher: Sequence[str], numeric: bool,
                    decimals: int) -> list[Cell]:
    out = []
    for e, h in zip(est, higher, strict=True):
        if e != e:  # NaN
            out.append(Cell(NOT_AVAILABLE))
        elif numeric:
            d = max(decimals, 1)
            out.append(Cell(number(e, d), float(e), "number", d, h))
        else:
            out.append(Cell(percent(e, decimals), float(e), "percent", decimals, h))
    return out


def _base_cell(x: float, sup: bool) -> Cell:
    if sup:
        return Cell(SUPPRESSED)
    if x != x:
        return Cell(NOT_AVAILABLE)
    return Cell(count(x), float(x), "count")


def banner_view(table: BannerTable, q: int) -> View:
    """The view of question ``q`` of a banner table."""
    C = len(table.columns)
    labels = table.category_labels[q]
    L = len(labels)
    sl = table.cell_slice(q)
    est = table.estimate[sl].reshape(C, L)
    higher = np.array(table.higher_than[sl], dtype=object).reshape(C, L)
    is_net = table.is_net[sl].reshape(C, L)[0] if C else np.zeros(L, dtype=bool)
    sup = table.suppressed[q].tolist()
    numeric = table.kinds[q] == "numeric"
    cols = [
        [Cell(SUPPRESSED)] * L if sup[ci] else
        _estimate_cells(est[ci].tolist(), higher[ci].tolist(), numeric, table.decimals)
        for ci in range(C)
    ]
    rows: list[Row] = [
        Row(labels[li], tuple(cols[ci][li] for ci in range(C)),
            "net" if bool(is_net[li]) else "value")
        for li in range(L)
    ]
    for name, values in zip(BASE_ROWS, (table.n[q], table.weighted_n[q], table.n_eff[q]),
                            strict=True):
        rows.append(Row(name, tuple(_base_cell(float(x), s) for x, s in zip(
            values.tolist(), sup, strict=True)), "base"))
    low = [bool(x) and not s for x, s in zip(table.low_base[q].tolist(), sup, strict=True)]
    if any(low):
        rows.append(Row(f"Small base (unweighted n below {count(table.min_base)}) "
                        f"{LOW_RELIABILITY}",
                        tuple(Cell(LOW_RELIABILITY if x else "") for x in low), "flag"))
    heads = tuple(Head(b, c, letter) for b, c, (_, _, letter) in zip(
        table.banner_labels, table.column_labels, table.columns, strict=True))
    stub = "Measure" if table.kinds[q] == "numeric" else "Answer"
    return View(table.question_labels[q], table.base_lines[q], stub, heads, tuple(rows))


def banner_document(table: BannerTable) -> Document:
    """Every question of a banner table as a view, with the table's notes."""
    views = tuple(banner_view(table, q) for q in range(len(table.questions)))
    notes = list(table.notes)
    return Document(views, tuple(notes), "weighted banner tables, one question per table")


def _share(x: float, d: int, letters: str = "") -> Cell:
    return Cell(NOT_AVAILABLE) if x != x else Cell(percent(x, d), float(x), "percent", d, letters)


def _pts(x: float, d: int, letters: str = "") -> Cell:
    return Cell(NOT_AVAILABLE) if x != x else Cell(points(x, d, unit=""), float(x * 100),
                                                    "points", d, letters)


def _mean(x: float, letters: str = "") -> Cell:
    return Cell(NOT_AVAILABLE) if x != x else Cell(number(x, 2), float(x), "number", 2, letters)


def grid_document(grid: LikertGrid) -> Document:
    """A Likert grid as views: the grid of the whole sample (statements by scale points,
    nets, net score with its CI, mean score, bases), then with ``by`` one view per net and
    score across the banner columns, and their bases."""
    k, d = grid.k, grid.decimals
    S = len(grid.items)
    has_mean = grid.scores is not None
    lev = f"{grid.level * 100:g}%"
    heads = [Head("", lab) for lab in grid.scale_labels]
    heads += [Head("", grid.top_label), Head("", grid.bottom_label),
              Head("", "Net score (pts)"), Head("", f"Net score {lev} CI")]
    if has_mean:
        heads.append(Head("", "Mean score"))
    heads += [Head("", "Unweighted base"), Head("", "Weighted base")]
    by = grid.by is not None
    rows = []
    for s in range(S):
        e, h = grid.estimate[0, s], grid.higher_than[0, s]
        cells = [_share(float(e[v]), d) for v in range(k)]
        cells += [_share(float(e[k]), d, h[k]), _share(float(e[k + 1]), d, h[k + 1]),
                  _pts(float(e[k + 2]), d, h[k + 2]),
                  Cell(ci(float(grid.ci_lower[0, s, k + 2]), float(grid.ci_upper[0, s, k + 2]),
                          d, "points"))]
        if has_mean:
            cells.append(_mean(float(e[k + 3]), h[k + 3]))
        cells += [Cell(count(int(grid.n[0, s])), float(grid.n[0, s]), "count"),
                  Cell(count(float(grid.weighted_n[0, s])), float(grid.weighted_n[0, s]),
                       "count")]
        rows.append(Row(grid.item_labels[s], tuple(cells), letter="" if by else
                        _letter(s)))
    base = _common_base(grid)
    views = [View(grid.title + (" (all respondents)" if by else ""), base, "Statement",
                  tuple(heads), tuple(rows))]
    if by:
        gheads = tuple(Head("" if g == 0 else str(grid.by_label), grid.group_labels[g],
                            grid.group_letters[g]) for g in range(len(grid.groups)))
        what: list[tuple[int, str, Callable[[float, int, str], Cell] | None]] = [
            (k, grid.top_label, _share), (k + 1, grid.bottom_label, _share),
                (k + 2, "Net score (pts)", _pts)]
        if has_mean:
            what.append((k + 3, "Mean score", None))
        for v, name, make in what:
            vrows = []
            for s in range(S):
                cells = []
                for g in range(len(grid.groups)):
                    x, h = float(grid.estimate[g, s, v]), str(grid.higher_than[g, s, v])
                    cells.append(_mean(x, h) if make is None else make(x, d, h))
                vrows.append(Row(grid.item_labels[s], tuple(cells)))
            views.append(View(f"{grid.title}: {name}, by {grid.by_label}", base, "Statement",
                              gheads, tuple(vrows)))
        brows = [Row(grid.item_labels[s], tuple(
            Cell(count(int(grid.n[g, s])), float(grid.n[g, s]), "count")
            for g in range(len(grid.groups))), "base") for s in range(S)]
        views.append(View(f"{grid.title}: unweighted bases, by {grid.by_label}", base,
                          "Statement", gheads, tuple(brows)))
    return Document(tuple(views), grid.notes, "a Likert grid of statements sharing one scale")


def _letter(i: int) -> str:
    s, k = "", i
    while True:
        s = chr(ord("A") + k % 26) + s
        k = k // 26 - 1
        if k < 0:
            return s


def _common_base(grid: LikertGrid) -> str:
    """One base line for the grid: the statements' own when they agree, else the range."""
    lines = set(grid.base_lines)
    if len(lines) == 1:
        return grid.base_lines[0]
    lo, hi = int(grid.n[0].min()), int(grid.n[0].max())
    heads = {line.split(" (unweighted n = ")[0] for line in grid.base_lines}
    head = heads.pop() if len(heads) == 1 else (
        grid.base_lines[0].split(", excluding")[0] + ", excluding the answers the notes name")
    return f"{head} (unweighted n = {count(lo)} to {count(hi)}, by statement)"
