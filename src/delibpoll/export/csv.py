"""CSV exporter of a :class:`~delibpoll.BannerTable`: its tidy frame (presentation layer)."""

from __future__ import annotations

from pathlib import Path

from .._render import register
from ..banner import BannerTable
from ._common import out_path

__all__ = ["to_csv"]


def to_csv(table: BannerTable, path: str | Path) -> Path:
    """The tidy frame (:meth:`BannerTable.to_frame <delibpoll.BannerTable.to_frame>`) as CSV;
    returns the path written."""
    p = out_path(path, "to_csv")
    table.to_frame().to_csv(p, index=False)
    return p


register("banner.csv", to_csv)
