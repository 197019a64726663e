"""Markdown exporter of banner tables and Likert grids (presentation layer)."""

from __future__ import annotations

import re

from .._render import register
from ..banner import BannerTable
from ..grid import LikertGrid
from ._common import Document, View, banner_document, check_layout, grid_document, head_text

__all__ = ["document_markdown", "grid_markdown", "md_cell", "to_markdown"]

_MD_SPECIAL = str.maketrans({
    "\\": "\\\\", "|": "\\|", "*": "\\*", "`": "\\`", "[": "\\[", "]": "\\]",
    "&": "&amp;", "<": "&lt;", ">": "&gt;",
})
_LONE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")


def md_cell(text: object) -> str:
    """A Markdown table cell: Markdown and HTML specials escaped (``|`` as ``\\|``, ``<``,
    ``>``, ``&`` as entities), newlines as ``<br>``, so a label can neither shift the columns
    nor inject markup.

    Examples
    --------
    >>> md_cell("a|b <i>")
    'a\\\\|b &lt;i&gt;'
    """
    s = str(text).translate(_MD_SPECIAL)
    # "_" inside a word (q_pact) cannot open or close emphasis in GFM: kept as it is
    s = _LONE_UNDERSCORE.sub(r"\\_", s)
    return s.replace("\r\n", "<br>").replace("\r", "<br>").replace("\n", "<br>")


def _table(v: View, layout: str, memo: dict[str, str]) -> list[str]:
    def cell(text: str) -> str:
        out = memo.get(text)
        if out is None:
            out = memo[text] = md_cell(text)
        return out

    n = len(v.heads)
    sep = "|---|" + "---:|" * n
    if layout == "classic":
        head = "| " + md_cell(v.stub) + " | " + " | ".join(
            md_cell(f"{h.group}: {h.label}" if h.group else h.label) for h in v.heads) + " |"
        lines = [head, sep]
        if any(h.letter for h in v.heads):
            lines.append("| | " + " | ".join(f"({h.letter})" if h.letter else "" for h in v.heads)
                         + " |")
        order = [r for r in v.rows if r.role in ("base", "flag")] + [
            r for r in v.rows if r.role not in ("base", "flag")]
    else:
        head = "| " + md_cell(v.stub) + " | " + " | ".join(md_cell(head_text(h)) for h in v.heads)
        lines = [head + " |", sep]
        order = list(v.rows)
    for r in order:
        label = md_cell(r.label_text())
        if r.role == "net":
            label = f"**{label}**"
        lines.append(f"| {label} | " + " | ".join(cell(c.shown()) for c in r.cells) + " |")
    return lines


def document_markdown(doc: Document, layout: str = "accessible") -> str:
    """Markdown of a :class:`~delibpoll.export._common.Document`: per view a heading (its
    title), the base line, the table; then the notes."""
    layout = check_layout(layout, "to_markdown")
    memo: dict[str, str] = {}  # cell texts repeat ("45%", "[c]"): each escaped once
    parts = []
    for i, v in enumerate(doc.views):
        lines = [f"### Table {i + 1}: {md_cell(v.title)}", "", md_cell(v.base_line), ""]
        lines += _table(v, layout, memo)
        parts.append("\n".join(lines))
    parts.append("**Notes**\n\n" + "\n".join(f"{i + 1}. {md_cell(n)}"
                                            for i, n in enumerate(doc.notes)))
    return "\n\n".join(parts) + "\n"


def to_markdown(table: BannerTable, *, layout: str = "accessible") -> str:
    """Markdown of a banner table (see
    :meth:`BannerTable.to_markdown <delibpoll.BannerTable.to_markdown>`)."""
    return document_markdown(banner_document(table), layout)


register("banner.markdown", to_markdown)


def grid_markdown(grid: LikertGrid, *, layout: str = "accessible") -> str:
    """Markdown of a Likert grid (see :meth:`LikertGrid.to_markdown
    <delibpoll.LikertGrid.to_markdown>`)."""
    return document_markdown(grid_document(grid), layout)


register("grid.markdown", grid_markdown)
