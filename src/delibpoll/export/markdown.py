"""Markdown exporter of a :class:`~delibpoll.BannerTable` (presentation layer)."""

from __future__ import annotations

import re

from .._render import register
from ..banner import BannerTable
from ._common import display_grid, heads

__all__ = ["md_cell", "to_markdown"]

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


def to_markdown(table: BannerTable) -> str:
    """Markdown: one table per question, then the notes (see
    :meth:`BannerTable.to_markdown <delibpoll.BannerTable.to_markdown>`)."""
    memo: dict[str, str] = {}  # cell texts repeat ("45%", "[c]"): each escaped once

    def cell(text: str) -> str:
        out = memo.get(text)
        if out is None:
            out = memo[text] = md_cell(text)
        return out

    head = "| | " + " | ".join(md_cell(c) for c in heads(table)) + " |"
    sep = "|---|" + "---|" * len(table.columns)
    parts = []
    for q, name in enumerate(table.questions):
        row_labels, grid = display_grid(table, q)
        lines = [f"### {md_cell(name)}", "", head, sep]
        for label, row in zip(row_labels, grid, strict=True):
            lines.append(f"| {md_cell(label)} | " + " | ".join(cell(v) for v in row) + " |")
        parts.append("\n".join(lines))
    parts.append("**Notes**\n\n" + "\n".join(f"- {md_cell(n)}" for n in table.notes))
    return "\n\n".join(parts) + "\n"


register("banner.markdown", to_markdown)
