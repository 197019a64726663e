"""The love plot of covariate balance: :func:`plot_balance` (presentation layer).

Absolute standardised mean differences (ASMD) of Tier 1 against Tier 3 per covariate
category, before and after a composition adjustment, from a
:class:`~delibpoll.deliberative.Balance` (e.g. ``compare_tiers(..., adjust_for=...).balance``).
Returns a ``ggplot``; :func:`~delibpoll.plots.alt_text` describes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._labels import Labels, wrap
from .deliberative.balance import Balance
from .exceptions import DelibpollError
from .plots import A4_WIDTH, OKABE_ITO, theme_delibpoll

__all__ = ["plot_balance"]

# the attribute :func:`delibpoll.plots.alt_text` reads (its public protocol for charts)
_ALT_ATTRIBUTE = "_delibpoll_alt_text"


def _worst(fr: pd.DataFrame, col: str) -> str:
    finite = fr[np.isfinite(fr[col])]
    if finite.empty:
        return "none finite"
    r = finite.loc[finite[col].idxmax()]
    return f"largest {r[col]:.2f} ({r['shown']})"


def plot_balance(
    balance_result: Balance, *, title: str | None = None, caption: str | None = None,
    labels: Labels | Mapping[str, Any] | None = None, note: str | None = None,
) -> Any:
    """Love plot: the ASMD of every covariate category before and after the adjustment,
    with a reference line at the balance threshold (0.1 by default).

    Parameters
    ----------
    balance_result : Balance
        From :func:`~delibpoll.deliberative.balance` or ``TierComparison.balance``.
    title, caption : str, optional
        Replace the default title and caption.
    labels : Labels or mapping, optional
        Words for the covariates and their categories (default: the column names and
        category values).
    note : str, optional
        A line added under the caption (e.g. the synthetic-data notice).

    Returns
    -------
    plotnine.ggplot
        Never drawn or saved by itself. An infinite ASMD (a category one tier lacks
        entirely, with no spread in the other) is not drawn; the alt text says how many.

    Examples
    --------
    >>> import warnings
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign
    >>> from delibpoll.deliberative import balance
    >>> from delibpoll.plots import alt_text
    >>> from delibpoll.plots_balance import plot_balance
    >>> t1 = SurveyDesign(pd.DataFrame({"sex": ["F", "F", "F", "M"]}))
    >>> t3 = SurveyDesign(pd.DataFrame({"sex": ["F", "M"]}))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     b = balance(t1, t3, ["sex"])
    >>> print(alt_text(plot_balance(b)))  # doctest: +NORMALIZE_WHITESPACE
    Love plot of the absolute standardised mean difference between Tier 1 and Tier 3 for
    2 covariate categories (sex), with a reference line at 0.1. Before adjustment: 2 of 2
    above 0.1, largest 0.53 (sex = F). Kish effective size of Tier 1: 4.0 of 4.
    """
    from plotnine import (
        aes,
        geom_point,
        geom_segment,
        geom_vline,
        ggplot,
        labs,
        scale_color_manual,
        scale_shape_manual,
        theme,
    )

    if not isinstance(balance_result, Balance):
        raise DelibpollError(
            "The 'balance_result' parameter of plot_balance must be a Balance (from "
            "delibpoll.deliberative.balance() or a TierComparison's .balance). Got "
            f"{type(balance_result).__name__} instead."
        )
    if labels is not None and not isinstance(labels, Labels | Mapping):
        raise DelibpollError(
            "The 'labels' parameter of plot_balance must be a Labels or a mapping of words "
            f"(e.g. {{'age_group': 'Age group'}}). Got {type(labels).__name__} instead."
        )
    lab = (None if labels is None else labels if isinstance(labels, Labels)
           else Labels.from_mapping(labels))
    for name, val in (("title", title), ("caption", caption), ("note", note)):
        if val is not None and not isinstance(val, str):
            raise DelibpollError(
                f"The '{name}' parameter of plot_balance must be a string. Got "
                f"{type(val).__name__} instead."
            )
    fr = balance_result.to_frame()
    thr = balance_result.threshold
    has_after = "asmd_after" in fr
    fr["item"] = [f"{c}: {v}" if lab is None else f"{lab.variable(c)}: {lab.category(c, v)}"
                  for c, v in zip(fr["covariate"], fr["category"], strict=True)]
    fr["shown"] = [f"{c} = {v}" if lab is None else f"{lab.variable(c)} = {lab.category(c, v)}"
                   for c, v in zip(fr["covariate"], fr["category"], strict=True)]  # alt text
    fr["item"] = [wrap(t, 36) for t in fr["item"]]  # long labels on two lines, not a clipped panel
    order = list(dict.fromkeys(fr["item"]))[::-1]
    stages = [("asmd_before", "Before adjustment")] + (
        [("asmd_after", "After adjustment")] if has_after else [])
    long = pd.concat(
        [pd.DataFrame({"item": fr["item"], "asmd": fr[c], "stage": label}) for c, label in stages],
        ignore_index=True,
    )
    n_inf = int((~np.isfinite(long["asmd"])).sum())
    long = long[np.isfinite(long["asmd"])]
    long["item"] = pd.Categorical(long["item"], categories=order)
    long["stage"] = pd.Categorical(long["stage"], categories=[s[1] for s in stages])
    p = ggplot(long, aes(x="asmd", y="item", color="stage", shape="stage"))
    if has_after:
        seg = fr[np.isfinite(fr["asmd_before"]) & np.isfinite(fr["asmd_after"])]
        seg = seg.assign(item=pd.Categorical(seg["item"], categories=order))
        p = p + geom_segment(aes(x="asmd_before", xend="asmd_after", y="item", yend="item"),
                             data=seg, color="#BBBBBB", inherit_aes=False)
    covs = ", ".join(c if lab is None else lab.variable(c) for c in balance_result.covariates)
    p = (
        p
        + geom_vline(xintercept=thr, linetype="dashed", color="#555555")
        + geom_point(size=3)
        + scale_color_manual(values=[OKABE_ITO[1], OKABE_ITO[0]][: len(stages)], name="")
        + scale_shape_manual(values=["o", "s"][: len(stages)], name="")
        + labs(
            x="Absolute standardised mean difference (Tier 1 vs Tier 3)",
            y="", color="", shape="",
            title=title or "Covariate balance of Tier 1 against the public",
            caption=caption or (f"Dashed line: {thr:g}, the usual threshold for balance.\n"
                                f"Kish effective size of Tier 1: {balance_result.n_eff_before:.1f}"
                                + (f" before, {balance_result.n_eff_after:.1f} after"
                                   if has_after else "")
                                + f" (n = {balance_result.n_informed})."
                                + (f"\n{note}" if note else "")),
        )
        + theme_delibpoll()
        + theme(figure_size=(A4_WIDTH, 1.9 + 0.3 * len(order)))
    )
    n = len(fr)
    parts = []
    for col, label in stages:
        above = int((fr[col] > thr).sum())
        parts.append(f"{label}: {above} of {n} above {thr:g}, {_worst(fr, col)}.")
    neff = (f"Kish effective size of Tier 1: {balance_result.n_eff_before:.1f}"
            + (f" before and {balance_result.n_eff_after:.1f} after" if has_after else "")
            + f" of {balance_result.n_informed}.")
    text = (f"Love plot of the absolute standardised mean difference between Tier 1 and "
            f"Tier 3 for {n} covariate categories ({covs}), with a reference line at {thr:g}. "
            + " ".join(parts) + " " + neff
            + (f" {n_inf} infinite values are not drawn." if n_inf else "")
            + (f" {note}" if note else ""))
    setattr(p, _ALT_ATTRIBUTE, text)
    return p
