"""HTML exporter of banner tables and Likert grids (presentation layer).

A standalone document (``<!DOCTYPE html>``, charset, title, CSS that fits an A4 page) or,
with ``fragment=True``, the tables and notes alone. Every table has a ``<caption>`` and every
header cell a ``scope``; every label and cell is escaped.
"""

from __future__ import annotations

import html
from itertools import groupby

from .._render import register
from ..banner import BannerTable
from ..grid import LikertGrid
from ._common import Document, View, banner_document, check_layout, grid_document, head_text

__all__ = ["CSS", "document_html", "grid_html", "to_html"]

#: The stylesheet of a standalone document: readable at A4 width, printable.
CSS = """
body { font-family: Arial, Helvetica, sans-serif; font-size: 11pt; color: #0b0c0c;
       max-width: 190mm; margin: 1.5em auto; padding: 0 1em; line-height: 1.35; }
h1 { font-size: 16pt; }
table.delibpoll-banner { border-collapse: collapse; margin: 1.5em 0 0.5em; width: 100%;
       font-size: 9.5pt; page-break-inside: avoid; }
table.delibpoll-banner caption { text-align: left; font-weight: bold; font-size: 11pt;
       padding-bottom: 0.4em; caption-side: top; }
table.delibpoll-banner caption .base { display: block; font-weight: normal;
       font-size: 9.5pt; color: #505a5f; }
table.delibpoll-banner th, table.delibpoll-banner td { padding: 0.25em 0.45em;
       border-bottom: 1px solid #b1b4b6; vertical-align: top; }
table.delibpoll-banner thead th { border-bottom: 2px solid #0b0c0c; text-align: right; }
table.delibpoll-banner thead th.group { text-align: center; border-bottom: 1px solid #0b0c0c; }
table.delibpoll-banner thead th.stub, table.delibpoll-banner tbody th { text-align: left;
       font-weight: normal; }
table.delibpoll-banner td { text-align: right; white-space: nowrap;
       font-variant-numeric: tabular-nums; }
table.delibpoll-banner tr.net th, table.delibpoll-banner tr.net td { font-weight: bold; }
table.delibpoll-banner tr.base th, table.delibpoll-banner tr.base td,
table.delibpoll-banner tr.flag th, table.delibpoll-banner tr.flag td { color: #505a5f; }
table.delibpoll-banner .letter { font-weight: normal; color: #505a5f; }
div.table-wrap { overflow-x: auto; }
table.delibpoll-banner.wide { font-size: 8pt; }
table.delibpoll-banner.wide th, table.delibpoll-banner.wide td { padding: 0.2em 0.25em; }
ol.notes { font-size: 9.5pt; }
@media print { body { max-width: none; margin: 0; } @page { size: A4 landscape; margin: 12mm; } }
""".strip()


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _cell(text: str, letters: str) -> str:
    if not letters:
        return f"<td>{_e(text)}</td>"
    return f"<td>{_e(text)} <span class='letter'>{_e(letters)}</span></td>"


def _thead(v: View, layout: str) -> str:
    stub = f"<th scope='col' class='stub'>{_e(v.stub)}</th>"
    if layout != "classic":
        return ("<thead><tr>" + stub + "".join(
            f"<th scope='col'>{_e(head_text(h))}</th>" for h in v.heads) + "</tr></thead>")
    has_letters = any(h.letter for h in v.heads)
    depth = 3 if has_letters else 2
    top = [f"<th scope='col' class='stub' rowspan='{depth}'>{_e(v.stub)}</th>"]
    second: list[str] = []
    third: list[str] = []
    for group, members in groupby(v.heads, key=lambda h: h.group):
        hs = list(members)
        if not group:  # ungrouped columns (Total) span the head
            for h in hs:
                top.append(f"<th scope='col' rowspan='{depth}'>{_e(h.label)}</th>")
            continue
        top.append(f"<th scope='colgroup' colspan='{len(hs)}' class='group'>{_e(group)}</th>")
        for h in hs:
            second.append(f"<th scope='col'>{_e(h.label)}</th>")
            if has_letters:
                third.append(f"<th scope='col' class='letter'>{_e(f'({h.letter})')}</th>")
    rows = ["<tr>" + "".join(top) + "</tr>", "<tr>" + "".join(second) + "</tr>"]
    if has_letters:
        rows.append("<tr>" + "".join(third) + "</tr>")
    return "<thead>" + "".join(rows) + "</thead>"


def _colgroups(v: View, layout: str) -> str:
    if layout != "classic":
        return ""
    out = ["<colgroup></colgroup>"]
    for group, members in groupby(v.heads, key=lambda h: h.group):
        n = len(list(members))
        out += ["<colgroup></colgroup>"] * n if not group else [f"<colgroup span='{n}'></colgroup>"]
    return "".join(out)


def _table(i: int, v: View, layout: str) -> str:
    rows = list(v.rows)
    if layout == "classic":
        rows = [r for r in rows if r.role in ("base", "flag")] + [
            r for r in rows if r.role not in ("base", "flag")]
    body = "".join(
        f"<tr class='{r.role}'><th scope='row'>{_e(r.label_text())}</th>"
        + "".join(_cell(c.text, c.letters) for c in r.cells) + "</tr>"
        for r in rows
    )
    wide = " wide" if len(v.heads) > 8 else ""
    return (f"<div class='table-wrap'><table class='delibpoll-banner{wide}'><caption>"
            f"Table {i + 1}: {_e(v.title)}"
            f"<span class='base'>{_e(v.base_line)}</span></caption>{_colgroups(v, layout)}"
            f"{_thead(v, layout)}<tbody>{body}</tbody></table></div>")


def document_html(doc: Document, *, layout: str = "accessible", fragment: bool = False,
                  title: str = "Weighted banner tables") -> str:
    """HTML of a :class:`~delibpoll.export._common.Document` (see
    :meth:`BannerTable.to_html <delibpoll.BannerTable.to_html>`)."""
    from ..exceptions import DelibpollError

    layout = check_layout(layout, "to_html")
    if not isinstance(fragment, bool):
        raise DelibpollError(f"The 'fragment' parameter of to_html must be True or False; got "
                             f"{fragment!r}.")
    if not isinstance(title, str) or not title.strip():
        raise DelibpollError(f"The 'title' parameter of to_html must be non-empty text; got "
                             f"{title!r}.")
    tables = "\n".join(_table(i, v, layout) for i, v in enumerate(doc.views))
    notes = "".join(f"<li>{_e(n)}</li>" for n in doc.notes)
    body = f"{tables}\n<h2>Notes</h2>\n<ol class='notes'>{notes}</ol>\n"
    if fragment:
        return body
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{_e(title)}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{_e(title)}</h1>\n{body}</main>\n</body>\n</html>\n"
    )


def to_html(table: BannerTable, *, layout: str = "accessible", fragment: bool = False,
            title: str = "Weighted banner tables") -> str:
    """HTML of a banner table (see :meth:`BannerTable.to_html
    <delibpoll.BannerTable.to_html>`)."""
    return document_html(banner_document(table), layout=layout, fragment=fragment, title=title)


register("banner.html", to_html)


def grid_html(grid: LikertGrid, *, layout: str = "accessible", fragment: bool = False,
              title: str = "Likert grid") -> str:
    """HTML of a Likert grid (see :meth:`LikertGrid.to_html <delibpoll.LikertGrid.to_html>`)."""
    return document_html(grid_document(grid), layout=layout, fragment=fragment, title=title)


register("grid.html", grid_html)
