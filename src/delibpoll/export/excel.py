"""Excel exporter of banner tables and Likert grids (presentation layer).

Writes the sheets laid out by :func:`delibpoll.export._sheets.workbook` with xlsxwriter:
labels as text (never formulas, links or numbers), numbers as numbers with formats, the only
links those of the Contents sheet (to the sheets of the same workbook), and the print set-up
of every table sheet (A4 landscape, header rows repeated, one page wide when narrow enough).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from .._render import register
from ..banner import BannerTable
from ..exceptions import DelibpollError
from ..grid import LikertGrid
from ._common import Document, banner_document, check_layout, grid_document, out_path
from ._sheets import SCell, workbook

__all__ = ["EXCEL_MAX_CHARS", "check_texts", "document_excel", "grid_excel", "number_format",
           "to_excel"]

#: Characters an Excel cell holds.
EXCEL_MAX_CHARS = 32767
_A4 = 9  # xlsxwriter's paper code of A4


def number_format(fmt: str, decimals: int) -> str:
    """The spreadsheet number format of a cell: ``0.0%``, ``#,##0``, ``0.00``, ``+0.0``.

    Examples
    --------
    >>> number_format("percent", 1), number_format("count", 0), number_format("points", 0)
    ('0.0%', '#,##0', '+0;-0;0')
    """
    dec = ("." + "0" * decimals) if decimals else ""
    if fmt == "percent":
        return f"0{dec}%"
    if fmt == "count":
        return "#,##0"
    if fmt == "points":
        return f"+0{dec};-0{dec};0{dec}"
    return f"#,##0{dec}"


def check_texts(doc: Document, title: str, source: str, method: str) -> None:
    if not isinstance(title, str) or not isinstance(source, str):
        raise DelibpollError(f"The 'title' and 'source' parameters of {method} must be text.")
    texts = [title, source, *doc.notes, *(v.title for v in doc.views),
             *(r.label for v in doc.views for r in v.rows),
             *(h.label for v in doc.views for h in v.heads)]
    long = [t for t in texts if len(t) + 60 > EXCEL_MAX_CHARS]
    if long:
        raise DelibpollError(
            f"A label of {len(long[0])} characters ({long[0][:40]!r}...) is longer than "
            f"{'an Excel' if method == 'to_excel' else 'a spreadsheet'} cell holds "
            f"({EXCEL_MAX_CHARS}); shorten it before {method}."
        )


def document_excel(doc: Document, path: str | Path, *, title: str, source: str = "",
                   layout: str = "accessible") -> Path:
    """Write the spreadsheet of ``doc``; returns the path."""
    import xlsxwriter

    p = out_path(path, "to_excel")
    layout = check_layout(layout, "to_excel")
    check_texts(doc, title, source, "to_excel")
    wb = xlsxwriter.Workbook(str(p), {"strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False, "in_memory": True})
    # a fixed creation date keeps the file byte-identical between runs of the same analysis
    wb.set_properties({"title": title, "created": datetime.datetime(2000, 1, 1)})
    base_styles: dict[str, dict[str, Any]] = {
        "h1": {"bold": True, "font_size": 14},
        "base": {"italic": True},
        "head": {"bold": True, "text_wrap": True, "valign": "bottom", "align": "right",
                 "bottom": 1},
        "group": {"bold": True, "align": "center", "valign": "bottom", "bottom": 1,
                  "text_wrap": True},
        "label": {"text_wrap": True, "valign": "top"},
        "net": {"bold": True, "text_wrap": True, "valign": "top"},
        "value": {"valign": "top", "align": "right"},
        "net_value": {"bold": True, "valign": "top", "align": "right"},
        "letters": {"font_color": "#505A5F", "align": "right", "valign": "top"},
        "flag": {"align": "right", "font_color": "#505A5F"},
        "text": {"text_wrap": True, "valign": "top"},
        "link": {"font_color": "#1D70B8", "underline": 1, "valign": "top"},
    }
    formats: dict[tuple[str, str, int], Any] = {}

    def fmt_of(c: SCell, first_col: bool) -> Any:
        style = "head_left" if c.style == "head" and first_col else c.style
        key = (style, c.fmt, c.decimals)
        if key not in formats:
            props = dict(base_styles["head" if style == "head_left" else style])
            if style == "head_left":
                props["align"] = "left"
            if c.fmt != "text" and not isinstance(c.value, str):
                props["num_format"] = number_format(c.fmt, c.decimals)
            formats[key] = wb.add_format(props)
        return formats[key]

    for sheet in workbook(doc, title=title, source=source, layout=layout):
        ws = wb.add_worksheet(sheet.name)
        for j, w in enumerate(sheet.widths):
            ws.set_column(j, j, w)
        for r, h in sheet.row_heights.items():
            ws.set_row(r, h)
        for c in sheet.cells:
            f = fmt_of(c, c.col == 0)
            if c.link is not None:
                ws.write_url(c.row, c.col, f"internal:'{c.link}'!A1", f, str(c.value))
            elif c.span > 1:
                ws.merge_range(c.row, c.col, c.row, c.col + c.span - 1, str(c.value), f)
            elif c.value == "":
                ws.write_blank(c.row, c.col, None, f)
            elif isinstance(c.value, str):
                ws.write_string(c.row, c.col, c.value, f)
            else:
                ws.write_number(c.row, c.col, c.value, f)
            if c.comment:
                ws.write_comment(c.row, c.col, c.comment)
        if sheet.freeze:
            ws.freeze_panes(*sheet.freeze)
        ws.set_paper(_A4)
        ws.set_landscape()
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        if sheet.header_rows is not None:
            ws.repeat_rows(*sheet.header_rows)
        if sheet.is_table:
            ws.repeat_columns(0)
            ws.set_footer("&LPage &P of &N")
        if sheet.fit_wide:
            ws.fit_to_pages(1, 0)  # one page wide, as many pages down as needed
    wb.close()
    return p


def to_excel(table: BannerTable, path: str | Path, *, title: str = "Weighted banner tables",
             source: str = "", layout: str = "accessible") -> Path:
    """Write the spreadsheet of
    :meth:`BannerTable.to_excel <delibpoll.BannerTable.to_excel>`; returns the path.

    Labels are written as text, never as formulas, links or numbers; a label longer than a
    cell holds is refused.
    """
    return document_excel(banner_document(table), path, title=title, source=source,
                          layout=layout)


register("banner.excel", to_excel)


def grid_excel(grid: LikertGrid, path: str | Path, *, title: str = "Likert grid",
               source: str = "", layout: str = "accessible") -> Path:
    """The spreadsheet of a Likert grid (see :meth:`LikertGrid.to_excel
    <delibpoll.LikertGrid.to_excel>`)."""
    return document_excel(grid_document(grid), path, title=title, source=source, layout=layout)


register("grid.excel", grid_excel)
