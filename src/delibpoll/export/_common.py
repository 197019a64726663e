"""What the exporters share: output paths, number text and the display grid of a question."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..banner import LOW_BASE, SUPPRESSED, BannerTable
from ..exceptions import DelibpollError

__all__ = ["BASE_ROWS", "QuestionView", "display_grid", "fixed", "heads", "out_path", "view"]

BASE_ROWS = ("Base (unweighted)", "Base (weighted)", "Base (effective)")


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


def fixed(x: float, decimals: int) -> str:
    """``x`` with ``decimals`` decimals in fixed notation (never scientific), no "-0"."""
    txt = f"{x:.{decimals}f}"
    return txt[1:] if txt.startswith("-") and float(txt) == 0 else txt


def heads(table: BannerTable) -> list[str]:
    """The column headings: "Total", then "banner: column (letter)"."""
    return ["Total" if b == "" else f"{b}: {c} ({letter})" for b, c, letter in table.columns]


class QuestionView:
    """One question's cells of a :class:`~delibpoll.BannerTable` as (columns, labels) grids,
    and which columns show the values of which (a column label can repeat within a banner
    variable, e.g. 1 and "1": every lookup then finds the first, as a frame filter would)."""

    def __init__(self, table: BannerTable, q: int) -> None:
        self.labels = list(table.categories[q])
        self.kind = table.kinds[q]
        C, L = len(table.columns), len(self.labels)
        sl = table.cell_slice(q)
        self.estimate = table.estimate[sl].reshape(C, L)
        self.higher_than = np.array(table.higher_than[sl], dtype=object).reshape(C, L)
        self.n = table.n[q]
        self.weighted_n = table.weighted_n[q]
        self.n_eff = table.n_eff[q]
        self.low_base = table.low_base[q]
        self.suppressed = table.suppressed[q]
        same: dict[tuple[str, str], list[int]] = {}
        for ci, (b, c, _letter) in enumerate(table.columns):
            same.setdefault((b, c), []).append(ci)
        #: per column, the columns with its (banner, column) label, in order
        self.matching = [same[(b, c)] for b, c, _letter in table.columns]


def view(table: BannerTable, q: int) -> QuestionView:
    """The cells of question number ``q``."""
    return QuestionView(table, q)


def _column_texts(v: QuestionView, ci: int, decimals: int) -> list[str]:
    """The shown text of every category of column ``ci``."""
    if v.suppressed[ci]:
        return [SUPPRESSED] * len(v.labels)
    low = f" {LOW_BASE}" if v.low_base[ci] else ""
    numeric = v.kind == "numeric"
    out = []
    for est, higher in zip(v.estimate[ci].tolist(), v.higher_than[ci].tolist(), strict=True):
        if est != est:  # NaN
            out.append("-")
            continue
        txt = fixed(est, max(decimals, 1)) if numeric else fixed(100 * est, decimals) + "%"
        if higher:
            txt += f" {higher}"
        out.append(txt + low)
    return out


def display_grid(table: BannerTable, q: int) -> tuple[list[str], list[list[str]]]:
    """The text table of question ``q`` shown by the Markdown and HTML exporters: row labels
    (categories, then the three bases) and, per row, one text per column."""
    v = view(table, q)
    C, L = len(table.columns), len(v.labels)
    row_labels = [str(c) for c in dict.fromkeys(v.labels)] + list(BASE_ROWS)
    rows_of: dict[str, list[int]] = {}
    for i, lab in enumerate(row_labels):
        rows_of.setdefault(lab, []).append(i)
    label_rows = [rows_of[str(lab)] for lab in v.labels]
    texts = [_column_texts(v, ci, table.decimals) for ci in range(C)]
    grid = [[""] * C for _ in row_labels]
    for ci in range(C):
        group = v.matching[ci]
        for cj in group:
            for li in range(L):
                for r in label_rows[li]:
                    grid[r][ci] = texts[cj][li]
        if L:
            c0 = group[0]
            sup = bool(v.suppressed[c0])
            bases = (
                SUPPRESSED if sup else f"{int(v.n[c0])}",
                SUPPRESSED if sup else fixed(v.weighted_n[c0], 0),
                SUPPRESSED if sup else fixed(v.n_eff[c0], 0),
            )
            for label, text in zip(BASE_ROWS, bases, strict=True):
                for r in rows_of[label]:
                    grid[r][ci] = text
    return row_labels, grid
