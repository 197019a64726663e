"""OpenDocument spreadsheet (.ods) exporter of banner tables and Likert grids (presentation
layer).

The Government Analysis Function prefers open formats for published spreadsheets; this
writes, with odfpy, the same sheets as the Excel exporter (laid out once by
:func:`delibpoll.export._sheets.workbook`): cover, notes, contents with links to the tables,
and one table per sheet. Numbers are stored as numbers (``office:value-type`` float or
percentage) with their display formats; labels are text; every table sheet prints A4
landscape with its header rows repeated, one page wide when narrow enough.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._render import register
from ..banner import BannerTable
from ..grid import LikertGrid
from ._common import Document, banner_document, check_layout, grid_document, out_path
from ._sheets import SCell, Sheet, workbook
from .excel import check_texts

__all__ = ["document_ods", "grid_ods", "to_ods"]

_CM_PER_CHAR = 0.21  # a character width of a 10pt sans font, in cm
_LOEXT = "urn:org:documentfoundation:names:experimental:office:xmlns:loext:1.0"


class _Styles:
    """The automatic styles of a document, made on first use."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.made: dict[tuple[Any, ...], Any] = {}

    def data_style(self, fmt: str, decimals: int) -> str:
        from odf.number import Number, NumberStyle, PercentageStyle, Text

        key = ("data", fmt, decimals)
        if key not in self.made:
            name = f"N{fmt}{decimals}"
            if fmt == "percent":
                st = PercentageStyle(name=name)
                st.addElement(Number(decimalplaces=decimals, minintegerdigits=1))
                st.addElement(Text(text="%"))
            else:
                st = NumberStyle(name=name)
                st.addElement(Number(decimalplaces=decimals, minintegerdigits=1,
                                     grouping="true"))
            self.doc.automaticstyles.addElement(st)
            self.made[key] = name
        return str(self.made[key])

    def cell(self, c: SCell) -> Any:
        from odf.style import ParagraphProperties, Style, TableCellProperties, TextProperties

        numeric = not isinstance(c.value, str) and c.fmt != "text"
        key = ("cell", c.style, c.fmt if numeric else "", c.decimals if numeric else 0,
               c.col == 0)
        if key not in self.made:
            kw: dict[str, Any] = {"name": f"C{len(self.made)}", "family": "table-cell"}
            if numeric:
                kw["datastylename"] = self.data_style(c.fmt, c.decimals)
            st = Style(**kw)
            bold = c.style in ("h1", "head", "group", "net", "net_value")
            text: dict[str, Any] = {}
            if bold:
                text["fontweight"] = "bold"
            if c.style == "h1":
                text["fontsize"] = "14pt"
            if c.style == "base":
                text["fontstyle"] = "italic"
            if c.style in ("letters", "flag"):
                text["color"] = "#505a5f"
            if c.style == "link":
                text.update(color="#1d70b8", textunderlinestyle="solid",
                            textunderlinewidth="auto", textunderlinecolor="font-color")
            if text:
                st.addElement(TextProperties(**text))
            cellp: dict[str, Any] = {"verticalalign": "bottom" if c.style == "head" else "top"}
            if c.style in ("head", "group"):
                cellp["borderbottom"] = "0.5pt solid #000000"
            if c.style in ("head", "label", "net", "text", "group"):
                cellp["wrapoption"] = "wrap"
            st.addElement(TableCellProperties(**cellp))
            right = c.style in ("value", "net_value", "letters", "flag") or (
                c.style == "head" and c.col > 0)
            center = c.style == "group"
            st.addElement(ParagraphProperties(
                textalign="center" if center else "end" if right else "start"))
            self.doc.automaticstyles.addElement(st)
            self.made[key] = st
        return self.made[key]

    def column(self, width: float) -> Any:
        from odf.style import Style, TableColumnProperties

        key = ("col", round(width, 1))
        if key not in self.made:
            st = Style(name=f"CO{len(self.made)}", family="table-column")
            st.addElement(TableColumnProperties(columnwidth=f"{width * _CM_PER_CHAR:.2f}cm"))
            self.doc.automaticstyles.addElement(st)
            self.made[key] = st
        return self.made[key]

    def row(self, height_pt: float | None) -> Any:
        from odf.style import Style, TableRowProperties

        key = ("row", height_pt)
        if key not in self.made:
            st = Style(name=f"R{len(self.made)}", family="table-row")
            if height_pt is None:
                st.addElement(TableRowProperties(useoptimalrowheight="true"))
            else:
                st.addElement(TableRowProperties(rowheight=f"{height_pt:.0f}pt",
                                                 useoptimalrowheight="false"))
            self.doc.automaticstyles.addElement(st)
            self.made[key] = st
        return self.made[key]

    def table(self, fit_wide: bool) -> Any:
        from odf.style import (
            MasterPage,
            PageLayout,
            PageLayoutProperties,
            Style,
            TableProperties,
        )

        key = ("table", fit_wide)
        if key not in self.made:
            layout = PageLayout(name=f"PL{len(self.made)}")
            props = PageLayoutProperties(
                pagewidth="29.7cm", pageheight="21cm", printorientation="landscape",
                margintop="1.5cm", marginbottom="1.5cm", marginleft="1.2cm",
                marginright="1.2cm")
            if fit_wide:  # one page wide, as many pages down as needed
                props.setAttrNS(_LOEXT, "scale-to-X", "1")
                props.setAttrNS(_LOEXT, "scale-to-Y", "0")
            layout.addElement(props)
            self.doc.automaticstyles.addElement(layout)
            master = MasterPage(name=f"MP{len(self.made)}", pagelayoutname=layout)
            self.doc.masterstyles.addElement(master)
            st = Style(name=f"T{len(self.made)}", family="table", masterpagename=master)
            st.addElement(TableProperties(display="true"))
            self.doc.automaticstyles.addElement(st)
            self.made[key] = st
        return self.made[key]


def _cell(styles: _Styles, c: SCell) -> Any:
    from odf.table import TableCell
    from odf.text import A, P

    kw: dict[str, Any] = {"stylename": styles.cell(c)}
    if c.span > 1:
        kw["numbercolumnsspanned"] = c.span
    if c.value == "":
        return TableCell(**kw)
    if isinstance(c.value, str) or c.fmt == "text":
        tc = TableCell(valuetype="string", **kw)
        p = P()
        if c.link is not None:
            p.addElement(A(href=f"#{c.link}.A1", text=str(c.value)))
        else:
            p.addText(str(c.value))
        tc.addElement(p)
        return tc
    from .._format import count, number, percent

    text = (percent(c.value, c.decimals) if c.fmt == "percent" else count(c.value)
            if c.fmt == "count" else number(c.value, c.decimals))
    tc = TableCell(valuetype="percentage" if c.fmt == "percent" else "float",
                   value=repr(float(c.value)), **kw)
    tc.addElement(P(text=text))
    return tc


def _sheet(styles: _Styles, sheet: Sheet) -> Any:
    from odf.table import CoveredTableCell, Table, TableCell, TableColumn, TableHeaderRows, TableRow

    kw: dict[str, Any] = {"name": sheet.name, "stylename": styles.table(sheet.fit_wide)}
    t = Table(**kw)
    for w in sheet.widths:
        t.addElement(TableColumn(stylename=styles.column(w)))
    by_row: dict[int, list[SCell]] = {}
    for c in sheet.cells:
        by_row.setdefault(c.row, []).append(c)
    header = None
    for r in range(max(by_row, default=-1) + 1):
        tr = TableRow(stylename=styles.row(sheet.row_heights.get(r)))
        col = 0
        for c in sorted(by_row.get(r, []), key=lambda x: x.col):
            while col < c.col:
                tr.addElement(TableCell())
                col += 1
            tr.addElement(_cell(styles, c))
            for _ in range(c.span - 1):
                tr.addElement(CoveredTableCell())
            col += c.span
        if sheet.header_rows and sheet.header_rows[0] <= r <= sheet.header_rows[1]:
            if header is None:
                header = TableHeaderRows()
                t.addElement(header)
            header.addElement(tr)
        else:
            t.addElement(tr)
    return t


def document_ods(doc: Document, path: str | Path, *, title: str, source: str = "",
                 layout: str = "accessible") -> Path:
    """Write the .ods of ``doc``; returns the path."""
    from odf.opendocument import OpenDocumentSpreadsheet

    p = out_path(path, "to_ods")
    layout = check_layout(layout, "to_ods")
    check_texts(doc, title, source, "to_ods")
    ods = OpenDocumentSpreadsheet()
    from odf.dc import Title

    ods.meta.addElement(Title(text=title))
    styles = _Styles(ods)
    for sheet in workbook(doc, title=title, source=source, layout=layout):
        ods.spreadsheet.addElement(_sheet(styles, sheet))
    _save_reproducibly(ods, p)
    return p


def _save_reproducibly(ods: Any, p: Path) -> None:
    """Save with fixed zip dates and no generation time, so that the same analysis gives a
    byte-identical file (as the xlsx)."""
    import io
    import re
    import zipfile

    buf = io.BytesIO()
    ods.write(buf)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(p, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "meta.xml":
                data = re.sub(rb"<meta:(creation-date|date)>[^<]*</meta:\1>", b"", data)
                data = re.sub(rb"<meta:generator>[^<]*</meta:generator>",
                              b"<meta:generator>delibpoll</meta:generator>", data)
            if info.filename.endswith(".xml"):  # odfpy's attribute order varies by run
                from xml.etree.ElementTree import canonicalize

                data = (b"<?xml version='1.0' encoding='UTF-8'?>\n"
                        + canonicalize(data.decode("utf-8")).encode("utf-8"))
            out = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            out.compress_type = (zipfile.ZIP_STORED if info.filename == "mimetype"
                                 else zipfile.ZIP_DEFLATED)
            dst.writestr(out, data)


def to_ods(table: BannerTable, path: str | Path, *, title: str = "Weighted banner tables",
           source: str = "", layout: str = "accessible") -> Path:
    """Write the .ods of :meth:`BannerTable.to_ods <delibpoll.BannerTable.to_ods>`."""
    return document_ods(banner_document(table), path, title=title, source=source,
                        layout=layout)


register("banner.ods", to_ods)


def grid_ods(grid: LikertGrid, path: str | Path, *, title: str = "Likert grid",
             source: str = "", layout: str = "accessible") -> Path:
    """The .ods of a Likert grid (see :meth:`LikertGrid.to_ods <delibpoll.LikertGrid.to_ods>`)."""
    return document_ods(grid_document(grid), path, title=title, source=source, layout=layout)


register("grid.ods", grid_ods)
