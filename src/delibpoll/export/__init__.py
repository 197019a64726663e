"""Exporters of result objects (presentation layer).

Importing this package registers, in :mod:`delibpoll._render`, one renderer per format of a
:class:`~delibpoll.BannerTable`: ``banner.excel`` (:func:`excel.to_excel`), ``banner.html``
(:func:`html.to_html`), ``banner.markdown`` (:func:`markdown.to_markdown`) and
``banner.csv`` (:func:`csv.to_csv`). Each renders from the table's arrays in one pass.
``import delibpoll`` imports it, so ``BannerTable.to_excel(path)`` etc. just work.
"""

from __future__ import annotations

from . import csv, excel, html, markdown

__all__ = ["csv", "excel", "html", "markdown"]
