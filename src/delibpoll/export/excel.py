"""Accessible Excel exporter of a :class:`~delibpoll.BannerTable` (presentation layer)."""

from __future__ import annotations

import datetime
from pathlib import Path

from .._render import register
from ..banner import LOW_BASE, SUPPRESSED, BannerTable
from ..exceptions import DelibpollError
from ._common import BASE_ROWS, out_path, view

__all__ = ["EXCEL_MAX_CHARS", "to_excel"]

#: Characters an Excel cell holds.
EXCEL_MAX_CHARS = 32767


def to_excel(table: BannerTable, path: str | Path, *, title: str = "Weighted banner tables",
             source: str = "") -> Path:
    """Write the accessible spreadsheet of
    :meth:`BannerTable.to_excel <delibpoll.BannerTable.to_excel>`; returns the path.

    Labels are written as text, never as formulas, links or numbers; a label longer than an
    Excel cell holds is refused.
    """
    import xlsxwriter

    p = out_path(path, "to_excel")
    if not isinstance(title, str) or not isinstance(source, str):
        raise DelibpollError("The 'title' and 'source' parameters of to_excel must be text.")
    texts = [title, source, *table.notes, *table.questions,
             *(str(c) for cats in table.categories for c in cats),
             *(f"{b}: {c}" for b, c, _ in table.columns)]
    long = [t for t in texts if len(t) + 40 > EXCEL_MAX_CHARS]
    if long:
        raise DelibpollError(
            f"A label of {len(long[0])} characters ({long[0][:40]!r}...) is longer than an Excel "
            f"cell holds ({EXCEL_MAX_CHARS}); shorten it before to_excel."
        )
    decimals = table.decimals
    # labels are text, never formulas ("=..."), links or numbers; the sheets are assembled in
    # memory (no temporary file per sheet)
    wb = xlsxwriter.Workbook(str(p), {"strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False, "in_memory": True})
    # a fixed creation date keeps the file byte-identical between runs of the same analysis
    wb.set_properties({"title": title, "created": datetime.datetime(2000, 1, 1)})
    bold = wb.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    pct = wb.add_format({"num_format": "0" + ("." + "0" * decimals if decimals else "") + "%"})
    num = wb.add_format({"num_format": "0." + "0" * max(decimals, 1)})
    whole = wb.add_format({"num_format": "0"})
    h1 = wb.add_format({"bold": True, "font_size": 16})
    cover = wb.add_worksheet("Cover")
    cover.write_string(0, 0, title, h1)
    cover.write(2, 0, "This workbook contains weighted survey tables, one question per sheet.")
    cover.write(3, 0, "Sheets: Notes, then " + ", ".join(f"Table {i + 1}" for i in range(len(table.questions))) + ".")
    if source:
        cover.write_string(4, 0, f"Source: {source}")
    cover.set_column(0, 0, 100)
    notes = wb.add_worksheet("Notes")
    notes.write_row(0, 0, ["Note number", "Note text"], bold)
    for i, n in enumerate(table.notes):
        notes.write_string(i + 1, 0, f"[note {i + 1}]")
        notes.write_string(i + 1, 1, n)
    notes.set_column(0, 0, 14)
    notes.set_column(1, 1, 120)
    notes.freeze_panes(1, 0)
    notes.set_landscape()
    notes.fit_to_pages(1, 0)
    header = ["Category"]
    for b, c, letter in table.columns:
        name = "Total" if b == "" else f"{b}: {c} ({letter})"
        header += [f"{name} estimate", f"{name} significantly higher than"]
    C = len(table.columns)
    for qi, q in enumerate(table.questions):
        v = view(table, qi)
        ws = wb.add_worksheet(f"Table {qi + 1}")
        ws.write_string(0, 0, f"Table {qi + 1}: {q} [note 1]", h1)
        row0 = 1
        ws.set_row(row0, 48)  # room for wrapped column headings
        for j, h in enumerate(header):
            ws.write_string(row0, j, h, bold)
        first: dict[object, int] = {}
        for li, cat in enumerate(v.labels):
            first.setdefault(cat, li)
        fmt = num if v.kind == "numeric" else pct
        # the first column with each column's label (a label can repeat: 1 and "1")
        shown = [v.matching[ci][0] for ci in range(C)]
        est = v.estimate.tolist()
        higher = v.higher_than.tolist()
        sup = v.suppressed.tolist()
        low = [f" {LOW_BASE}" if x else "" for x in v.low_base.tolist()]
        r = row0 + 1
        for cat, li in first.items():
            ws.write_string(r, 0, str(cat))
            for ci in range(C):
                cj = shown[ci]
                col = 1 + 2 * ci
                if sup[cj]:
                    ws.write_string(r, col, SUPPRESSED)
                elif est[cj][li] != est[cj][li]:  # NaN
                    ws.write_string(r, col, "[x]")
                else:
                    ws.write_number(r, col, est[cj][li], fmt)
                ws.write_string(r, col + 1, str(higher[cj][li]) + low[cj])
            r += 1
        for label, values in zip(BASE_ROWS, (v.n, v.weighted_n, v.n_eff), strict=True):
            ws.write(r, 0, label)
            base = values.tolist()
            for ci in range(C if v.labels else 0):
                cj = shown[ci]
                if sup[cj]:
                    ws.write_string(r, 1 + 2 * ci, SUPPRESSED)
                else:
                    ws.write_number(r, 1 + 2 * ci, float(base[cj]), whole)
            r += 1
        ws.freeze_panes(row0 + 1, 1)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)  # print one page wide
        ws.set_column(0, 0, 34)
        ws.set_column(1, len(header), 16)
    wb.close()
    return p


register("banner.excel", to_excel)
