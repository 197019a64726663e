"""The sheets of a published spreadsheet, laid out once for Excel and ODS (presentation layer).

:func:`workbook` turns a :class:`~delibpoll.export._common.Document` into sheets of placed
cells: a cover, notes, contents (every table's title, linked to its sheet) and one table per
sheet, in the ``accessible`` layout (one header row, letters in their own column where any
cell has one) or the ``classic`` one (banner variables spanning their categories, letters
under the percentages, bases at the top). :mod:`excel` and :mod:`ods` only write them.

Print rule: every table sheet prints on A4 landscape with its header rows repeated; it is
fitted to one page wide when its columns add up to at most :data:`FIT_WIDTH` character
widths (A4 landscape holds about 150 at 100%, so fitting never shrinks the text below 80%);
wider tables print over several pages, the label column repeated on each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from ._common import Document, View, head_text

__all__ = ["FIT_WIDTH", "SCell", "Sheet", "workbook"]

#: Widest table (sum of column widths, in characters) fitted to one A4 landscape page wide.
FIT_WIDTH = 187.0

Style = Literal["h1", "base", "head", "group", "label", "net", "value", "net_value", "letters",
                "text", "link", "flag"]


@dataclass(frozen=True)
class SCell:
    """A placed cell: text or a number (with its format and decimals), a style, an internal
    link target (a sheet name), the columns it spans and a comment."""

    row: int
    col: int
    value: str | float
    style: Style = "text"
    fmt: str = "text"
    decimals: int = 0
    link: str | None = None
    span: int = 1
    comment: str | None = None


@dataclass
class Sheet:
    """A sheet: its cells, column widths (characters), header rows (first, last) repeated
    when printed, frozen panes, and whether it prints one page wide."""

    name: str
    cells: list[SCell] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    header_rows: tuple[int, int] | None = None
    freeze: tuple[int, int] | None = None
    fit_wide: bool = True
    is_table: bool = False
    row_heights: dict[int, float] = field(default_factory=dict)

    def put(self, row: int, col: int, value: str | float, style: Style = "text", **kw: object
            ) -> None:
        self.cells.append(SCell(row, col, value, style, **kw))  # type: ignore[arg-type]


def _width_of(texts: list[str], lo: float, hi: float, lines: int = 1) -> float:
    """A column width (characters) fitting ``texts`` wrapped over at most ``lines`` lines,
    and every word whole."""
    if not texts:
        return lo
    longest = max(len(t) for t in texts)
    word = max((len(w) for t in texts for w in t.split()), default=0)
    return float(min(hi, max(lo, math.ceil(longest / lines) + 2, word + 2)))


def _head_height(texts: list[str], widths: list[float]) -> float:
    # words wrap whole, so a line holds less than the width: allow a fifth more lines
    lines = max((math.ceil(1.2 * len(t) / max(w - 2, 1)) for t, w in zip(texts, widths, strict=True)),
                default=1)
    return 13.0 * max(lines, 1) + 4


def _accessible(sheet: Sheet, v: View, r0: int) -> None:
    """One header row; a letters column beside a value column only if some cell has one."""
    with_letters = [any(r.cells[ci].letters for r in v.rows) for ci in range(len(v.heads))]
    header = [v.stub]
    place: list[tuple[int, int | None]] = []
    col = 1
    for ci, h in enumerate(v.heads):
        header.append(head_text(h))
        if with_letters[ci]:
            header.append(f"{head_text(h)}: significantly higher than (letters)")
            place.append((col, col + 1))
            col += 2
        else:
            place.append((col, None))
            col += 1
    for j, t in enumerate(header):
        sheet.put(r0, j, t, "head")
    r = r0 + 1
    for row in v.rows:
        sheet.put(r, 0, row.label_text(), "net" if row.role == "net" else "label")
        for ci, c in enumerate(row.cells):
            vc, lc = place[ci]
            _value(sheet, r, vc, c, row.role)
            if lc is not None:
                sheet.put(r, lc, c.letters, "letters")
        r += 1
    labels = [row.label_text() for row in v.rows]
    widths = [_width_of([*labels, v.stub], 20, 60)]
    for ci, h in enumerate(v.heads):  # a value column also fits its longest text cell
        longest = max((len(r.cells[ci].text) + 2 for r in v.rows), default=0)
        widths.append(max(_width_of([head_text(h)], 10, 22, lines=4), min(longest, 24)))
        if with_letters[ci]:
            widths.append(_width_of([header[place[ci][1] or 0]], 10, 14, lines=4))
    sheet.widths = widths
    sheet.row_heights[r0] = _head_height(header, widths)
    for i, label in enumerate(labels):  # a label wrapped over lines gets their height
        if len(label) > widths[0] - 2:
            sheet.row_heights[r0 + 1 + i] = _head_height([label], widths[:1])
    sheet.header_rows = (r0, r0)
    sheet.freeze = (r0 + 1, 1)


def _value(sheet: Sheet, r: int, c: int, cell: object, role: str) -> None:
    from ._common import Cell

    assert isinstance(cell, Cell)
    style: Style = "flag" if role == "flag" else "net_value" if role == "net" else "value"
    if cell.value is None:
        sheet.put(r, c, cell.text, style)
    else:
        sheet.put(r, c, cell.value, style, fmt=cell.fmt, decimals=cell.decimals)


def _classic(sheet: Sheet, v: View, r0: int) -> None:
    """Banner variables spanning their categories, letters under them, bases at the top,
    each row's letters directly under its percentages."""
    has_letters = any(h.letter for h in v.heads)
    sheet.put(r0, 0, v.stub, "head")
    groups: list[tuple[str, int, int]] = []
    for ci, h in enumerate(v.heads):
        if groups and h.group and groups[-1][0] == h.group:
            g, start, n = groups[-1]
            groups[-1] = (g, start, n + 1)
        else:
            groups.append((h.group, ci, 1))
    for g, start, n in groups:
        if g:
            sheet.put(r0, 1 + start, g, "group", span=n)
        else:
            for k in range(n):
                sheet.put(r0, 1 + start + k, v.heads[start + k].label, "head")
    for ci, h in enumerate(v.heads):
        sheet.put(r0 + 1, 1 + ci, h.label if h.group else "", "head")
        if has_letters:
            sheet.put(r0 + 2, 1 + ci, f"({h.letter})" if h.letter else "", "head")
    last_head = r0 + (2 if has_letters else 1)
    r = last_head + 1
    ordered = [x for x in v.rows if x.role in ("base", "flag")] + [
        x for x in v.rows if x.role not in ("base", "flag")]
    for row in ordered:
        sheet.put(r, 0, row.label_text(), "net" if row.role == "net" else "label")
        for ci, c in enumerate(row.cells):
            _value(sheet, r, 1 + ci, c, row.role)
        r += 1
        if any(c.letters for c in row.cells):
            for ci, c in enumerate(row.cells):
                sheet.put(r, 1 + ci, c.letters, "letters")
            r += 1
    labels = [x.label_text() for x in v.rows]
    widths = [_width_of([*labels, v.stub], 20, 60)]
    for h in v.heads:
        widths.append(_width_of([h.label], 9, 18, lines=3))
    sheet.widths = widths
    sheet.row_heights[r0 + 1] = _head_height([h.label for h in v.heads], widths[1:])
    sheet.row_heights[r0] = max(_head_height(
        [g], [sum(widths[1 + start: 1 + start + n])]) for g, start, n in groups)
    sheet.header_rows = (r0, last_head)
    sheet.freeze = (last_head + 1, 1)


def workbook(doc: Document, *, title: str, source: str, layout: str) -> list[Sheet]:
    """The sheets of the spreadsheet of ``doc``: Cover, Notes, Contents, Table 1, ..."""
    n = len(doc.views)
    cover = Sheet("Cover", widths=[100])
    cover.put(0, 0, title, "h1")
    cover.put(2, 0, f"This workbook contains {doc.what}: {n} table{'s' if n != 1 else ''}, "
                    "one per sheet.")
    cover.put(3, 0, "The Notes sheet explains the methods, the bases and the shorthand "
                    "([c], [u], [x]); the Contents sheet lists every table with a link to it.")
    if source:
        cover.put(4, 0, f"Source: {source}")
    notes = Sheet("Notes", widths=[14, 120], header_rows=(1, 1), freeze=(2, 0))
    notes.put(0, 0, "Notes", "h1")
    notes.put(1, 0, "Note number", "head")
    notes.put(1, 1, "Note text", "head")
    for i, text in enumerate(doc.notes):
        notes.put(i + 2, 0, f"[note {i + 1}]")
        notes.put(i + 2, 1, text)
        notes.row_heights[i + 2] = _head_height([text], [120])
    contents = Sheet("Contents", header_rows=(1, 1), freeze=(2, 0))
    contents.put(0, 0, "Contents", "h1")
    contents.put(1, 0, "Sheet", "head")
    contents.put(1, 1, "Table title", "head")
    contents.put(1, 2, "Base", "head")
    for i, v in enumerate(doc.views):
        name = f"Table {i + 1}"
        contents.put(i + 2, 0, name, "link", link=name)
        contents.put(i + 2, 1, v.title)
        contents.put(i + 2, 2, v.base_line)
    contents.widths = [12, _width_of([v.title for v in doc.views], 30, 70, lines=2),
                       _width_of([v.base_line for v in doc.views], 20, 60, lines=2)]
    for i, v in enumerate(doc.views):
        contents.row_heights[i + 2] = _head_height([v.title, v.base_line], contents.widths[1:])
    sheets = [cover, notes, contents]
    for i, v in enumerate(doc.views):
        sh = Sheet(f"Table {i + 1}", is_table=True)
        sh.put(0, 0, f"Table {i + 1}: {v.title}", "h1")
        sh.put(1, 0, v.base_line, "base")
        k = len(doc.notes)
        sh.put(2, 0, "The notes of this table ([note 1]" + (f" to [note {k}]" if k > 1 else "")
               + ") are on the Notes sheet.", "base")
        (_classic if layout == "classic" else _accessible)(sh, v, 3)
        sh.fit_wide = sum(sh.widths) <= FIT_WIDTH
        sheets.append(sh)
    return sheets
