"""HTML exporter of a :class:`~delibpoll.BannerTable` (presentation layer)."""

from __future__ import annotations

import html

from .._render import register
from ..banner import BannerTable
from ._common import display_grid, heads

__all__ = ["to_html"]


def to_html(table: BannerTable) -> str:
    """HTML: one table per question with a caption, then the notes (see
    :meth:`BannerTable.to_html <delibpoll.BannerTable.to_html>`). Every label and cell is
    escaped."""
    head = "".join(f"<th scope='col'>{html.escape(c)}</th>" for c in heads(table))
    parts = []
    for q, name in enumerate(table.questions):
        row_labels, grid = display_grid(table, q)
        rows = "".join(
            f"<tr><th scope='row'>{html.escape(label)}</th>"
            + "".join(f"<td>{html.escape(v)}</td>" for v in row)
            + "</tr>"
            for label, row in zip(row_labels, grid, strict=True)
        )
        parts.append(
            f"<table class='delibpoll-banner'><caption>{html.escape(name)}</caption>"
            f"<thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table>"
        )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in table.notes)
    return "\n".join(parts) + f"\n<p>Notes</p><ul>{notes}</ul>\n"


register("banner.html", to_html)
