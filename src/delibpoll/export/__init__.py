"""Exporters of result objects (presentation layer).

Importing this package registers, in :mod:`delibpoll._render`, one renderer per format of a
:class:`~delibpoll.BannerTable` and of a :class:`~delibpoll.LikertGrid`: ``banner.excel`` /
``grid.excel`` (:mod:`excel`), ``.ods`` (:mod:`ods`), ``.html`` (:mod:`html`),
``.markdown`` (:mod:`markdown`) and ``.csv`` (:mod:`csv`). Every format lays out the same
views (:mod:`_common`: the words and the numbers formatted for readers); the spreadsheets
share one sheet layout (:mod:`_sheets`). ``import delibpoll`` imports it, so
``BannerTable.to_excel(path)`` etc. just work.
"""

from __future__ import annotations

from . import csv, excel, html, markdown, ods

__all__ = ["csv", "excel", "html", "markdown", "ods"]
