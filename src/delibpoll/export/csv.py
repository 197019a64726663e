"""CSV exporter of banner tables and Likert grids: their tidy frames (presentation layer)."""

from __future__ import annotations

from pathlib import Path

from .._render import register
from ..banner import BannerTable
from ..grid import LikertGrid
from ._common import out_path

__all__ = ["grid_csv", "to_csv"]


def to_csv(table: BannerTable, path: str | Path) -> Path:
    """The tidy frame (:meth:`BannerTable.to_frame <delibpoll.BannerTable.to_frame>`: the
    data's names and codes, and the labels shown) as CSV; returns the path written."""
    p = out_path(path, "to_csv")
    table.to_frame().to_csv(p, index=False)
    return p


def grid_csv(grid: LikertGrid, path: str | Path) -> Path:
    """The tidy frame of a Likert grid (:meth:`LikertGrid.to_frame
    <delibpoll.LikertGrid.to_frame>`) as CSV; returns the path written."""
    p = out_path(path, "to_csv")
    grid.to_frame().to_csv(p, index=False)
    return p


register("banner.csv", to_csv)
register("grid.csv", grid_csv)
