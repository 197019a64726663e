"""Charts for reports (plotnine). Every function returns a ``ggplot`` and never draws or saves
by itself; :func:`alt_text` gives a description of the chart for accessible publishing.

Colours are the Okabe-Ito palette (safe for the common forms of colour-blindness).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._stats import kish_deff
from ._types import TierPlotKind
from .design import SurveyDesign
from .exceptions import DelibpollError
from .weighting import WeightingReport

__all__ = [
    "OKABE_ITO",
    "alt_text",
    "plot_estimates",
    "plot_likert",
    "plot_margins",
    "plot_tiers",
    "plot_weights",
    "theme_delibpoll",
]

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
_ALT = "_delibpoll_alt_text"


def theme_delibpoll(base_size: float = 11) -> Any:
    """The house theme: plain background, readable type, legend at the bottom."""
    from plotnine import element_blank, element_line, element_text, theme, theme_minimal

    return theme_minimal(base_size=base_size) + theme(
        panel_grid_minor=element_blank(),
        panel_grid_major_y=element_line(color="#DDDDDD"),
        plot_title=element_text(weight="bold", size=base_size + 2),
        plot_caption=element_text(size=base_size - 2, color="#444444"),
        legend_position="bottom",
        figure_size=(7, 4.5),
    )


def _with_alt(plot: Any, text: str) -> Any:
    setattr(plot, _ALT, text)
    return plot


def alt_text(plot: Any) -> str:
    """Alternative text describing a chart made by delibpoll (for accessible publishing)."""
    text = getattr(plot, _ALT, None)
    if text is None:
        raise DelibpollError("This chart was not made by a delibpoll plot function; it has no alt text.")
    return str(text)


def _meta(obj: Any, name: str, default: Any) -> Any:
    """An attribute of a result object; ``default`` for a plain frame (whose columns, such as
    an estimate's ``variable`` column, are not metadata)."""
    return default if isinstance(obj, pd.DataFrame) else getattr(obj, name, default)


def _frame_of(obj: Any) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        return obj.copy()
    if hasattr(obj, "to_frame"):
        out: pd.DataFrame = obj.to_frame()
        return out
    raise DelibpollError(f"Expected a result with .to_frame() or a DataFrame; got {type(obj).__name__}.")


def _pct(x: Any) -> str:
    return f"{100 * float(x):.0f}%"


def _check_text(value: object, name: str, func: str) -> None:
    if value is not None and not isinstance(value, str):
        raise DelibpollError(
            f"The '{name}' parameter of {func} must be text or None. Got {type(value).__name__} "
            "instead."
        )


def _need_columns(fr: pd.DataFrame, cols: Sequence[str], func: str) -> None:
    missing = [c for c in cols if c not in fr.columns]
    if missing:
        raise DelibpollError(
            f"{func} needs an estimate with columns {list(cols)}; the frame lacks {missing}."
        )


def plot_estimates(
    estimate: Any,
    *,
    title: str | None = None,
    caption: str | None = None,
    percent: bool | None = None,
) -> Any:
    """Dot-and-whisker chart of estimates with their confidence intervals, by domain.

    Parameters
    ----------
    estimate : Estimate
        From :func:`~delibpoll.proportion`, :func:`~delibpoll.mean` or
        :func:`~delibpoll.total`.
    percent : bool, optional
        Show as percentages (default for proportions).
    """
    from plotnine import (
        aes,
        coord_flip,
        geom_errorbar,
        geom_point,
        ggplot,
        labs,
        position_dodge,
        scale_color_manual,
        scale_y_continuous,
    )

    for name, val in (("title", title), ("caption", caption)):
        _check_text(val, name, "plot_estimates")
    if percent is not None and not isinstance(percent, bool):
        raise DelibpollError(f"The 'percent' parameter of plot_estimates must be True, False or None. Got {percent!r} instead.")
    fr = _frame_of(estimate)
    _need_columns(fr, ["estimate", "ci_lower", "ci_upper"], "plot_estimates")
    if fr.empty:
        raise DelibpollError("plot_estimates got an estimate with no rows; there is nothing to plot.")
    stat = _meta(estimate, "statistic", "proportion")
    variable = _meta(estimate, "variable", "")
    by = list(_meta(estimate, "by", ()))
    _need_columns(fr, by, "plot_estimates")
    pct = (stat == "proportion") if percent is None else percent
    level = _meta(estimate, "level", None)
    fr["label"] = fr["category"].astype(str) if "category" in fr else variable
    fr["domain"] = fr[by].astype(str).agg(" / ".join, axis=1) if by else "All"
    fr["label"] = pd.Categorical(fr["label"], categories=list(dict.fromkeys(fr["label"]))[::-1])
    dodge = position_dodge(width=0.6)
    p = (
        ggplot(fr, aes(x="label", y="estimate", ymin="ci_lower", ymax="ci_upper", color="domain"))
        + geom_errorbar(width=0.25, position=dodge)
        + geom_point(size=2.5, position=dodge)
        + coord_flip()
        + scale_color_manual(values=OKABE_ITO * 4, name=" / ".join(by) if by else "")
        + labs(
            x="", y=("Estimate (%)" if pct else "Estimate"),
            title=title or (f"{variable}: weighted estimates with {level:.0%} CIs" if level is not None
                            else f"{str(variable) + ': ' if variable else ''}Estimates with confidence intervals"),
            caption=caption or _base_caption(fr, by),
        )
        + theme_delibpoll()
    )
    if pct:
        p = p + scale_y_continuous(labels=lambda xs: [_pct(x) for x in xs])
    parts = [
        f"{row['label']}{'' if not by else ' (' + row['domain'] + ')'}: "
        f"{_pct(row['estimate']) if pct else f'{row.estimate:.2f}'} "
        f"(CI {_pct(float(row['ci_lower'])) if pct else f'{row.ci_lower:.2f}'} to "
        f"{_pct(row['ci_upper']) if pct else f'{row.ci_upper:.2f}'})"
        for _, row in fr.iterrows()
    ]
    return _with_alt(p, f"Dot-and-whisker chart of {variable}. " + "; ".join(parts) + ".")


def _base_caption(fr: pd.DataFrame, by: list[str]) -> str:
    """The unweighted base(s) actually in the frame: one number, or the range over domains."""
    if "n" not in fr or fr["n"].isna().all():
        return "Bases not given."
    per = fr.groupby("domain", sort=False)["n"].max()
    lo, hi = int(per.min()), int(per.max())
    if not by or lo == hi:
        return f"Base: {hi} respondents{' per domain' if by else ''}."
    return f"Bases: {lo} to {hi} respondents per domain."


def plot_likert(
    estimate: Any,
    *,
    negative: Sequence[Any] = (),
    neutral: Sequence[Any] = (),
    positive: Sequence[Any] = (),
    other: Sequence[Any] = (),
    title: str | None = None,
    caption: str | None = None,
) -> Any:
    """Diverging stacked bars: negatives left of zero, positives right; neutral and other
    answers (e.g. "Don't know") shown apart at the right, so they do not distort the balance.
    """
    from plotnine import (
        aes,
        coord_flip,
        facet_grid,
        geom_col,
        geom_hline,
        ggplot,
        labs,
        scale_fill_manual,
        scale_y_continuous,
    )

    fr = _frame_of(estimate)
    if "category" not in fr:
        raise DelibpollError("plot_likert needs proportions (an Estimate with categories).")
    by = list(_meta(estimate, "by", ()))
    fr["domain"] = fr[by].astype(str).agg(" / ".join, axis=1) if by else "All"
    for name, val in (("title", title), ("caption", caption)):
        _check_text(val, name, "plot_likert")
    groups: dict[str, list[Any]] = {}
    for gname, cats_ in (("negative", negative), ("neutral", neutral), ("positive", positive), ("other", other)):
        if isinstance(cats_, str) or not isinstance(cats_, Sequence):
            raise DelibpollError(
                f"The '{gname}' parameter of plot_likert must be a list of categories. Got "
                f"{cats_!r} instead."
            )
        groups[gname] = list(cats_)
    available = list(fr["category"].unique())
    assigned: dict[Any, str] = {}
    for gname, cats_ in groups.items():
        for c in cats_:
            if c in assigned:
                raise DelibpollError(
                    f"plot_likert: category {c!r} is given twice (in {assigned[c]!r} and {gname!r}); "
                    "give each category one group."
                )
            if c not in available:
                raise DelibpollError(
                    f"The '{gname}' parameter of plot_likert names category {c!r}, which is not in "
                    f"the estimate. Available categories: {available!r}."
                )
            assigned[c] = gname
    if len(groups["negative"]) > 3 or len(groups["positive"]) > 3 or len(groups["neutral"]) + len(groups["other"]) > 3:
        raise DelibpollError(
            "plot_likert shows at most 3 negative, 3 positive and 3 neutral/other categories "
            "(one colour each); combine categories first."
        )
    unknown = [c for c in available if c not in assigned]
    if unknown:
        raise DelibpollError(
            f"plot_likert: categories {unknown} are not assigned to negative, neutral, positive or other."
        )
    fr["group"] = fr["category"].map(assigned)
    fr["panel"] = np.where(fr["group"].isin(["neutral", "other"]), "Neutral / other", "Balance")
    fr["value"] = np.where(fr["group"] == "negative", -fr["estimate"], fr["estimate"])
    negative, neutral, positive, other = (groups[k] for k in ("negative", "neutral", "positive", "other"))
    order = list(negative)[::-1] + list(positive) + list(neutral) + list(other)
    fr["category"] = pd.Categorical(fr["category"].astype(str), categories=[str(c) for c in order])
    fr["panel"] = pd.Categorical(fr["panel"], categories=["Balance", "Neutral / other"])
    colours = (
        ["#D55E00", "#E69F00", "#F0E442"][: len(negative)][::-1]
        + ["#56B4E9", "#0072B2", "#009E73"][: len(positive)]
        + ["#999999", "#CCCCCC", "#666666"][: len(neutral) + len(other)]
    )
    p = (
        ggplot(fr, aes(x="domain", y="value", fill="category"))
        + geom_col(width=0.7)
        + geom_hline(yintercept=0, color="#333333")
        + coord_flip()
        + facet_grid(". ~ panel", scales="free_x")
        + scale_fill_manual(values=colours + OKABE_ITO, name="")
        + scale_y_continuous(labels=lambda xs: [_pct(abs(float(x))) for x in xs])
        + labs(x="", y="Share of respondents", title=title or f"{_meta(estimate, 'variable', '')}",
               caption=caption or "Weighted shares; negatives to the left of zero, positives to the right.")
        + theme_delibpoll()
    )
    text = "; ".join(
        f"{d}: " + ", ".join(f"{c} {_pct(v)}" for c, v in zip(sub["category"].astype(str), sub["estimate"], strict=True))
        for d, sub in fr.groupby("domain", sort=False, observed=True)
    )
    return _with_alt(p, f"Diverging stacked bar chart of {_meta(estimate, 'variable', '')}. {text}.")


def plot_tiers(
    comparison: Any,
    *,
    kind: TierPlotKind = "dumbbell",
    category: Any = None,
    title: str | None = None,
    caption: str | None = None,
) -> Any:
    """Tier 1 (informed) against Tier 3 (uninformed).

    ``kind="dumbbell"``: per question (and category), Tier 1 before and after deliberation
    and Tier 3, each with its CI. ``kind="scatter"``: Tier 1 against Tier 3 with a 45-degree
    line, for many questions. Takes :func:`~delibpoll.compare_tiers` or
    :func:`~delibpoll.compare_questions` results (or their frames).
    """
    from plotnine import (
        aes,
        coord_flip,
        geom_abline,
        geom_errorbar,
        geom_errorbarh,
        geom_point,
        geom_segment,
        ggplot,
        labs,
        position_dodge,
        scale_color_manual,
        scale_x_continuous,
        scale_y_continuous,
    )

    fr = _frame_of(comparison)
    need = {"informed", "uninformed", "informed_ci_lower", "informed_ci_upper", "uninformed_ci_lower", "uninformed_ci_upper"}
    missing = need - set(fr.columns)
    if missing:
        raise DelibpollError(f"plot_tiers needs a tier comparison; the frame lacks {sorted(missing)}.")
    if "question" not in fr:
        fr["question"] = _meta(comparison, "variable", "")
    for name, val in (("title", title), ("caption", caption)):
        _check_text(val, name, "plot_tiers")
    if kind not in ("dumbbell", "scatter"):
        raise DelibpollError(f"The 'kind' parameter of plot_tiers must be 'dumbbell' or 'scatter'. Got {kind!r} instead.")
    if "category" not in fr:
        fr["category"] = np.nan
    if category is not None:
        available = list(fr["category"].dropna().unique())
        if category not in available:
            raise DelibpollError(
                f"The 'category' parameter of plot_tiers names {category!r}, which is not in the "
                f"comparison. Available categories: {available!r}."
            )
        fr = fr[fr["category"] == category]
    if fr.empty:
        raise DelibpollError("plot_tiers got a comparison with no rows; there is nothing to plot.")
    fr["item"] = fr["question"].astype(str) + np.where(
        fr["category"].notna(), ": " + fr["category"].astype(str), ""
    )
    fr["item"] = pd.Categorical(fr["item"], categories=list(dict.fromkeys(fr["item"]))[::-1])
    note = "Descriptive, non-randomised comparison."
    if kind == "scatter":
        p = (
            ggplot(fr, aes(x="uninformed", y="informed"))
            + geom_abline(intercept=0, slope=1, linetype="dashed", color="#777777")
            + geom_errorbar(aes(ymin="informed_ci_lower", ymax="informed_ci_upper"), color="#0072B2", width=0)
            + geom_errorbarh(aes(xmin="uninformed_ci_lower", xmax="uninformed_ci_upper"), color="#E69F00", height=0)
            + geom_point(size=2.5)
            + scale_x_continuous(labels=lambda xs: [_pct(x) for x in xs])
            + scale_y_continuous(labels=lambda xs: [_pct(x) for x in xs])
            + labs(x="Tier 3 (public, weighted)", y="Tier 1 (after deliberation)",
                   title=title or "Informed and uninformed views", caption=caption or note)
            + theme_delibpoll()
        )
        both = fr["informed"].notna() & fr["uninformed"].notna()
        above = int((fr["informed"] > fr["uninformed"]).sum())
        below = int((fr["informed"] < fr["uninformed"]).sum())
        return _with_alt(
            p, f"Scatter plot of {len(fr)} question categories: Tier 1 against Tier 3 with a 45-degree line; "
            f"of the {int(both.sum())} with both shares, {above} lie above the line (higher in Tier 1) "
            f"and {below} below. {note}",
        )
    if kind != "dumbbell":
        raise DelibpollError(f"The 'kind' parameter of plot_tiers must be 'dumbbell' or 'scatter'; got {kind!r}.")
    rows = []
    has_before = "informed_before" in fr
    for _, r in fr.iterrows():
        if has_before:
            rows.append((r["item"], "Tier 1 before", r["informed_before"], r["informed_before_ci_lower"], r["informed_before_ci_upper"]))
        rows.append((r["item"], "Tier 1 after" if has_before else "Tier 1", r["informed"], r["informed_ci_lower"], r["informed_ci_upper"]))
        rows.append((r["item"], "Tier 3 (public)", r["uninformed"], r["uninformed_ci_lower"], r["uninformed_ci_upper"]))
    long = pd.DataFrame(rows, columns=["item", "group", "estimate", "lo", "hi"])
    long["item"] = pd.Categorical(long["item"].astype(str), categories=list(fr["item"].cat.categories))
    groups = list(dict.fromkeys(long["group"]))
    long["group"] = pd.Categorical(long["group"], categories=groups)
    seg = fr.assign(start=fr["informed_before"] if has_before else fr["uninformed"], end=fr["informed"])
    dodge = position_dodge(width=0.5)
    p = (
        ggplot(long, aes(x="item", y="estimate", color="group"))
        + geom_segment(
            mapping=aes(x="item", xend="item", y="start", yend="end"), data=seg,
            color="#BBBBBB", size=2, inherit_aes=False,
        )
        + geom_errorbar(aes(ymin="lo", ymax="hi"), width=0.2, position=dodge)
        + geom_point(size=3, position=dodge)
        + coord_flip()
        + scale_color_manual(values=["#999999", "#0072B2", "#E69F00"][-len(groups):] if has_before else ["#0072B2", "#E69F00"], name="")
        + scale_y_continuous(labels=lambda xs: [_pct(x) for x in xs])
        + labs(x="", y="Share (weighted for Tier 3)", title=title or "Before and after deliberation, and the public",
               caption=caption or note)
        + theme_delibpoll()
    )
    text = "; ".join(
        f"{r['item']}: Tier 1 "
        + (f"{_pct(r['informed_before'])} before, " if has_before else "")
        + f"{_pct(r['informed'])}{' after' if has_before else ''}; Tier 3 {_pct(r['uninformed'])}"
        for _, r in fr.iterrows()
    )
    return _with_alt(p, f"Dumbbell chart. {text}. {note}")


def plot_weights(design: Any, *, bins: int = 40, title: str | None = None) -> Any:
    """Histogram of the design's weights with the Kish design effect in the caption."""
    from plotnine import aes, geom_histogram, geom_vline, ggplot, labs

    if not isinstance(design, SurveyDesign):
        raise DelibpollError(f"plot_weights needs a SurveyDesign; got {type(design).__name__}.")
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise DelibpollError(f"The 'bins' parameter of plot_weights must be an integer >= 1. Got {bins!r} instead.")
    _check_text(title, "title", "plot_weights")
    w = design.weight_array
    deff = kish_deff(w)  # the package's one Kish design effect
    ratio = (f"ratio {w.max() / w.min():.1f}" if w.min() > 0
             else f"{int((w <= 0).sum())} weights zero or negative")
    fr = pd.DataFrame({"weight": w})
    p = (
        ggplot(fr, aes(x="weight"))
        + geom_histogram(bins=bins, fill="#0072B2", color="white")
        + geom_vline(xintercept=float(w.mean()), linetype="dashed", color="#D55E00")
        + labs(x="Weight", y="Respondents", title=title or "Distribution of the weights",
               caption=f"n = {len(w)}; mean weight (dashed) {w.mean():.3g}; Kish design effect {deff:.2f}, "
                       f"effective n {len(w) / deff:.0f}.")
        + theme_delibpoll()
    )
    return _with_alt(
        p, f"Histogram of {len(w)} weights from {w.min():.3g} to {w.max():.3g} ({ratio}); "
        f"Kish design effect {deff:.2f}, effective sample size {len(w) / deff:.0f}.",
    )


def plot_margins(design: Any, *, title: str | None = None) -> Any:
    """Unweighted, weighted and target shares for each weighting variable (from the
    design's weighting report, or from a :class:`~delibpoll.WeightingReport` itself); the
    shares and their errors are the report's, nothing is recomputed."""
    from plotnine import (
        aes,
        coord_flip,
        facet_wrap,
        geom_point,
        ggplot,
        labs,
        scale_color_manual,
        scale_shape_manual,
        scale_y_continuous,
    )

    _check_text(title, "title", "plot_margins")
    rep = design if isinstance(design, WeightingReport) else getattr(design, "weighting_report", None)
    if rep is None:
        raise DelibpollError("plot_margins needs a weighted design (rake, calibrate or poststratify first).")
    m = rep.margins()
    long = pd.concat(
        [
            m.assign(kind="Sample (unweighted)", share=m["unweighted_share"]),
            m.assign(kind="Weighted", share=m["weighted_share_after"]),
            m.assign(kind="Target", share=m["target_share"]),
        ]
    )
    order = list(dict.fromkeys(m["category"].astype(str)))[::-1]
    long["category"] = pd.Categorical(long["category"].astype(str), categories=order)
    long["kind"] = pd.Categorical(long["kind"], categories=["Sample (unweighted)", "Weighted", "Target"])
    # every claim below is computed from the shares plotted
    after = m.assign(err=m["error"].abs())  # the report's error: weighted share - target
    worst_after = after.sort_values("err", kind="stable").iloc[-1]
    gap = float(worst_after["err"])
    gap_txt = f"{100 * gap:.2g} percentage points" if gap >= 5e-5 else "below 0.005 percentage points"
    p = (
        ggplot(long, aes(x="category", y="share", color="kind", shape="kind"))
        + geom_point(size=2.5)
        + coord_flip()
        + facet_wrap("~variable", scales="free", ncol=2)
        + scale_color_manual(values=["#D55E00", "#0072B2", "#000000"], name="")
        + scale_shape_manual(values=["o", "o", "x"], name="")
        + scale_y_continuous(labels=lambda xs: [_pct(x) for x in xs])
        + labs(x="", y="Share", title=title or "Weighting margins: sample, weighted and target",
               caption=f"Largest difference between a weighted share and its target: {gap_txt}.")
        + theme_delibpoll()
        + _wide()
    )
    worst = m.assign(gap=(m["unweighted_share"] - m["target_share"]).abs()).sort_values("gap", kind="stable").iloc[-1]
    if gap < 5e-5:
        result = "after weighting, every weighted share is within 0.005 percentage points of its target"
    else:
        result = (f"after weighting, the largest difference is {worst_after['variable']} "
                  f"'{worst_after['category']}': {100 * float(worst_after['weighted_share_after']):.1f}% "
                  f"weighted against a target of {100 * float(worst_after['target_share']):.1f}% "
                  f"({gap_txt})")
    status = "" if rep.converged else " The weighting did not converge."
    return _with_alt(
        p, f"Dot chart of {m['variable'].nunique()} weighting variables: unweighted sample shares, "
        f"weighted shares and population targets. The largest sample gap was {worst['variable']} "
        f"'{worst['category']}': {_pct(worst['unweighted_share'])} in the sample against "
        f"{_pct(worst['target_share'])} in the population; {result}.{status}",
    )


def _wide() -> Any:
    from plotnine import theme

    return theme(figure_size=(10, 9))
