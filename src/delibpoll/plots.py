"""Charts for reports (plotnine). Every function returns a ``ggplot`` and never draws or saves
by itself; :func:`alt_text` gives a description of the chart for accessible publishing.

Words, not variable names: every function takes ``labels=`` (a mapping in the shapes of
:meth:`Labels.from_mapping <delibpoll._labels.Labels.from_mapping>`, or a ``Labels``) and,
where the chart is drawn from a design, also uses the file's own labels
(``SurveyDesign.attrs``). Titles are wrapped (:func:`delibpoll._labels.wrap`); axis, facet and
legend titles, category names and the alt text use the same labels; a variable nobody
labelled gets a readable fallback (``age_group`` -> "Age group").

Sizes are set for a chart pasted at full width into an A4 Word page: 6.3 inches wide (16 cm,
A4 less 2.5 cm margins) and type of 9 to 12 points, so the text is printed at the size it
was drawn. Save at 300 dpi for print (``p.save(path, dpi=300)``); the cohort pipeline saves
PNG at 300 dpi and SVG.

Colours (:data:`PALETTE`): the Okabe-Ito palette (Wong 2011, Nature Methods 8:441), which
stays distinguishable under the common forms of colour-blindness, with its yellow
(``#F0E442``, contrast 1.3:1 on white, unreadable as a dot or a line) left out, followed by
the dark tones of Paul Tol's colour-blind-safe "muted" scheme (indigo, wine, olive, teal,
purple), so up to 12 groups each get a colour readable on white (every one at least 2:1
against white by the WCAG formula; the yellow is 1.3:1). Beyond about 8 groups no
palette keeps every pair distinct for every reader: split such charts or label directly.
Diverging Likert bars use ColorBrewer's RdBu scheme (colour-blind safe), grey for the neutral
and other answers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._format import count, number, percent
from ._frames import is_frame, to_pandas
from ._labels import Labels, wrap
from ._stats import kish_deff
from ._types import TierPlotKind
from .design import SurveyDesign
from .exceptions import DelibpollError
from .grid import LikertGrid
from .weighting import WeightingReport

__all__ = [
    "A4_WIDTH",
    "OKABE_ITO",
    "PALETTE",
    "alt_text",
    "plot_estimates",
    "plot_likert",
    "plot_margins",
    "plot_tiers",
    "plot_trend",
    "plot_weights",
    "theme_delibpoll",
]

#: The Okabe-Ito palette, without its yellow (unreadable on white).
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
#: Up to 12 groups: Okabe-Ito (no yellow), then the dark tones of Paul Tol's "muted" scheme.
PALETTE = [*OKABE_ITO, "#332288", "#882255", "#999933", "#44AA99", "#AA4499"]
#: Width in inches of a chart pasted full width into an A4 page (16 cm: A4 less 2.5 cm margins).
A4_WIDTH = 6.3
#: Diverging scheme (ColorBrewer RdBu): negatives strongest first, positives mildest first.
_NEGATIVE = ["#B2182B", "#D6604D", "#F4A582"]
_POSITIVE = ["#92C5DE", "#4393C3", "#2166AC"]
_NEUTRAL = ["#BBBBBB", "#888888", "#DDDDDD"]
_ALT = "_delibpoll_alt_text"
_BALANCE = "Negative | positive answers"
_KEYS = re.compile(r"^\d+\x1f")
_TITLE_WIDTH = 55
_CAPTION_WIDTH = 95
_LABEL_WIDTH = 30


def theme_delibpoll(base_size: float = 10) -> Any:
    """The house theme: plain background, type that survives an A4 page, legend at the bottom.

    The figure is :data:`A4_WIDTH` inches wide; ``base_size`` is the size of axis and legend
    text in points (titles 2 points larger, captions 1 point smaller).
    """
    from plotnine import element_blank, element_line, element_text, theme, theme_minimal

    return theme_minimal(base_size=base_size) + theme(
        panel_grid_minor=element_blank(),
        panel_grid_major_y=element_line(color="#DDDDDD"),
        plot_title=element_text(weight="bold", size=base_size + 2, ha="left"),
        plot_subtitle=element_text(size=base_size, color="#333333", ha="left"),
        plot_caption=element_text(size=base_size - 1, color="#333333", ha="left"),
        plot_title_position="plot",
        plot_caption_position="plot",
        axis_text=element_text(size=base_size, color="#222222"),
        strip_text=element_text(size=base_size, weight="bold", ha="left"),
        legend_position="bottom",
        legend_title=element_text(size=base_size),
        figure_size=(A4_WIDTH, 4.2),
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


def _labels_of(labels: Any, func: str, attrs: Mapping[str, Any] | None = None) -> Labels:
    """The author's ``labels=`` on top of the file's labels (``attrs``), as one Labels."""
    if labels is not None and not isinstance(labels, Labels | Mapping):
        raise DelibpollError(
            f"The 'labels' parameter of {func} must be a mapping of variable names to labels "
            f"or a Labels; got {type(labels).__name__}. Example: labels={{'q_pact': 'Would a "
            "Data Pact increase your confidence?'}."
        )
    base = Labels.from_attrs(attrs) if attrs else Labels()
    if labels is None:
        return base
    return base.merge(labels)


def _meta(obj: Any, name: str, default: Any) -> Any:
    """An attribute of a result object; ``default`` for a plain frame (whose columns, such as
    an estimate's ``variable`` column, are not metadata)."""
    return default if isinstance(obj, pd.DataFrame) or is_frame(obj) else getattr(
        obj, name, default)


def _frame_of(obj: Any) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        return obj.copy()
    if is_frame(obj):  # a Polars / Arrow / DuckDB frame of estimates
        return to_pandas(obj, "plot_estimates", "estimate").copy()
    if hasattr(obj, "to_frame"):
        out: pd.DataFrame = obj.to_frame()
        return out
    raise DelibpollError(f"Expected a result with .to_frame() or a DataFrame; got {type(obj).__name__}.")


def _pct(x: Any, decimals: int = 0) -> str:
    return percent(None if pd.isna(x) else float(x), decimals)


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


def _caption(*parts: str | None) -> str:
    """Caption lines, each wrapped to the width of an A4 chart."""
    return "\n".join(wrap(p, _CAPTION_WIDTH) for p in parts if p)


# ---------------------------------------------------------------- percentage axes
_NICE_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0)
_MORE_STEPS = (0.003, 0.004, 0.03, 0.04, 0.15, 0.3, 0.4)


def _percent_breaks(limits: Sequence[float], max_breaks: int = 6) -> list[float]:
    """Breaks at round percentages, 2 to ``max_breaks`` of them, each a whole multiple of a
    step of 1, 2 or 5 times a power of ten (or 25%; else 3 or 4 times a power of ten), so that
    every tick is labelled with its exact value ("5%", "10%", "15%", never 7.5% shown as "8%")."""
    lo, hi = float(limits[0]), float(limits[1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []

    def at(step: float) -> list[float]:
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        return [round(k * step, 12) for k in range(first, last + 1)]

    fits = [s for s in _NICE_STEPS if 2 <= len(at(s)) <= max_breaks]
    if not fits:
        fits = [s for s in sorted(_MORE_STEPS) if 2 <= len(at(s)) <= max_breaks]
    if not fits:
        fits = [next((s for s in _NICE_STEPS if len(at(s)) <= max_breaks), 1.0)]
    return at(fits[0])


def _percent_labels(breaks: Sequence[float], absolute: bool = False) -> list[str]:
    """Labels with the decimals the breaks need (``2.5%``), the same for every tick."""
    vals = [abs(float(b)) if absolute else float(b) for b in breaks]
    decimals = 0
    while decimals < 3 and any(abs(round(100 * v, decimals) - 100 * v) > 1e-9 for v in vals):
        decimals += 1
    return [percent(v, decimals) for v in vals]


def _step_breaks(lim: Sequence[float], step: float) -> list[float]:
    """Ticks at multiples of ``step`` within the limits (the same spacing in every panel)."""
    lo, hi = float(lim[0]), float(lim[1])
    first = int(np.ceil(lo / step - 1e-9))
    last = int(np.floor(hi / step + 1e-9))
    return [round(k * step, 10) for k in range(first, last + 1)]


def _percent_axis(aesthetic: str = "y", absolute: bool = False, max_breaks: int = 6,
                  step: float | None = None, **kwargs: Any) -> Any:
    from plotnine import scale_x_continuous, scale_y_continuous

    scale = scale_y_continuous if aesthetic == "y" else scale_x_continuous
    if step is not None:
        return scale(breaks=lambda lim: _step_breaks(lim, step),
                     labels=lambda xs: _percent_labels([float(x) for x in xs], absolute=absolute),
                     **kwargs)
    return scale(breaks=lambda lim: _percent_breaks(lim, max_breaks),
                 labels=lambda xs: _percent_labels([float(x) for x in xs], absolute=absolute),
                 **kwargs)


def _no_legend_title() -> Any:
    """The legend's entries say what they are (the title would only repeat the aesthetic)."""
    from plotnine import element_blank, theme

    return theme(legend_title=element_blank())


def _colours(n: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(max(n, 1))]


def _domain_text(row: pd.Series, by: Sequence[str], lab: Labels) -> str:
    return " / ".join(lab.category(b, row[b]) for b in by)


# ---------------------------------------------------------------- estimates
def plot_estimates(
    estimate: Any,
    *,
    labels: Labels | Mapping[str, Any] | None = None,
    title: str | None = None,
    caption: str | None = None,
    note: str | None = None,
    percent: bool | None = None,
) -> Any:
    """Dot-and-whisker chart of estimates with their confidence intervals, by domain.

    Parameters
    ----------
    estimate : Estimate
        From :func:`~delibpoll.proportion`, :func:`~delibpoll.mean` or
        :func:`~delibpoll.total` (or its frame).
    labels : mapping or Labels, optional
        Words for the variable, its categories and the domain variables.
    title : str, optional
        Default: the variable's label (wrapped).
    caption : str, optional
        Default: the unweighted base, or the range of the domains' bases.
    note : str, optional
        A line added under the caption (e.g. the synthetic-data notice).
    percent : bool, optional
        Show as percentages (default for proportions).

    Examples
    --------
    >>> import delibpoll as dp
    >>> from delibpoll._labels import Labels
    >>> t3 = dp.read_survey(dp.datasets.data_path("example", "tier3.sav"))
    >>> p = dp.plot_estimates(dp.proportion(dp.SurveyDesign(t3), "q_charge", by="info_arm"),
    ...                       labels=Labels.from_attrs(t3.attrs))
    >>> print(p.labels.title)
    Is it right or wrong for the NHS to make money by charging for access
    to data?
    >>> p.labels.caption
    'Base: 2,000 respondents in each group.'
    """
    from plotnine import (
        aes,
        coord_flip,
        geom_errorbar,
        geom_point,
        ggplot,
        guide_legend,
        guides,
        labs,
        position_dodge,
        scale_color_manual,
        theme,
    )

    for name, val in (("title", title), ("caption", caption), ("note", note)):
        _check_text(val, name, "plot_estimates")
    if percent is not None and not isinstance(percent, bool):
        raise DelibpollError(f"The 'percent' parameter of plot_estimates must be True, False or None. Got {percent!r} instead.")
    fr = _frame_of(estimate)
    _need_columns(fr, ["estimate", "ci_lower", "ci_upper"], "plot_estimates")
    if fr.empty:
        raise DelibpollError("plot_estimates got an estimate with no rows; there is nothing to plot.")
    lab = _labels_of(labels, "plot_estimates")
    stat = _meta(estimate, "statistic", "proportion")
    variable = str(_meta(estimate, "variable", ""))
    by = list(_meta(estimate, "by", ()))
    _need_columns(fr, by, "plot_estimates")
    pct = (stat == "proportion") if percent is None else percent
    level = _meta(estimate, "level", None)
    var_label = lab.variable(variable) if variable else ""
    if "category" in fr:
        fr["label"] = [wrap(lab.category(variable, c), _LABEL_WIDTH) for c in fr["category"]]
    else:
        fr["label"] = wrap(var_label, _LABEL_WIDTH) if var_label else "Estimate"
    fr["domain"] = [_domain_text(r, by, lab) for _, r in fr.iterrows()] if by else "All"
    fr["label"] = pd.Categorical(fr["label"], categories=list(dict.fromkeys(fr["label"]))[::-1])
    domains = list(dict.fromkeys(fr["domain"]))
    fr["domain"] = pd.Categorical(fr["domain"], categories=domains)
    dodge = position_dodge(width=0.7 if by else 0.0)
    if level is not None:
        subtitle = f"Weighted {'percentages' if pct else 'estimates'} with {_pct(level)} confidence intervals"
    else:
        subtitle = "Estimates with confidence intervals"
    default_title = wrap(var_label, _TITLE_WIDTH) if var_label else subtitle
    p = (
        ggplot(fr, aes(x="label", y="estimate", ymin="ci_lower", ymax="ci_upper", color="domain"))
        + geom_errorbar(width=0.3 if not by else 0.5 / max(len(domains), 1), position=dodge)
        + geom_point(size=2.5, position=dodge)
        + coord_flip()
        + scale_color_manual(values=_colours(len(domains)),
                             name=" / ".join(lab.variable(b) for b in by) if by else "")
        + labs(
            x="", y=("Percentage of respondents" if pct else ("Mean" if stat == "mean" else "Estimate")),
            title=wrap(title, _TITLE_WIDTH) if title else default_title,
            subtitle=subtitle if (title or var_label) else None,
            caption=_caption(caption or _base_caption(fr, by), note),
        )
        + theme_delibpoll()
    )
    if not by:
        p = p + theme(legend_position="none")
    elif len(domains) > 3:
        p = p + guides(color=guide_legend(ncol=3)) + theme(legend_title_position="top")
    if pct:
        p = p + _percent_axis("y")
    fmt = (lambda v: _pct(v)) if pct else (lambda v: number(v, 2))
    parts = [
        f"{row['label']}{'' if not by else ' (' + str(row['domain']) + ')'}: "
        f"{fmt(row['estimate'])} ({_pct(level) + ' ' if level is not None else ''}CI "
        f"{fmt(row['ci_lower'])} to {fmt(row['ci_upper'])})"
        for _, row in fr.iterrows()
    ]
    what = f" of {var_label}" if var_label else ""
    by_txt = f", by {' and '.join(lab.variable(b) for b in by)}" if by else ""
    text = f"Dot-and-whisker chart{what}{by_txt}. " + "; ".join(p_.replace("\n", " ") for p_ in parts) + "."
    return _with_alt(p, text + (f" {note}" if note else ""))


def _base_caption(fr: pd.DataFrame, by: list[str]) -> str:
    """The unweighted base(s) actually in the frame: one number, or the range over domains."""
    if "n" not in fr or fr["n"].isna().all():
        return "Bases not given."
    per = fr.groupby("domain", sort=False, observed=True)["n"].max()
    lo, hi = per.min(), per.max()
    if lo == hi:
        return f"Base: {count(hi)} respondents{' in each group' if by else ''}."
    return f"Bases: {count(lo)} to {count(hi)} respondents."


# ---------------------------------------------------------------- Likert
def plot_likert(
    estimate: Any,
    *,
    negative: Sequence[Any] = (),
    neutral: Sequence[Any] = (),
    positive: Sequence[Any] = (),
    other: Sequence[Any] = (),
    labels: Labels | Mapping[str, Any] | None = None,
    title: str | None = None,
    caption: str | None = None,
    note: str | None = None,
) -> Any:
    """Diverging stacked bar chart of a scale: negative answers left of zero, positive right.

    One bar per domain of the estimate, or per statement when ``estimate`` is a list of
    estimates of a battery of statements sharing one scale (bars top to bottom in the order
    given, as the rows of the grid table). Categories are given in the scale's order as the
    chart reads left to right: ``negative`` from the most negative (``["Strongly disagree",
    "Disagree"]``), ``positive`` from the mildest (``["Agree", "Strongly agree"]``).

    The neutral answer and answers off the scale ("Don't know") are **shown apart**, in a
    panel to the right, rather than split across zero: the bars then start at zero on both
    sides, so the length of each side is the share that disagrees or agrees (the net score
    reads directly), and a large neutral share is not mistaken for agreement or disagreement
    (Robbins & Heiberger 2011 discuss both layouts).

    Parameters
    ----------
    estimate : Estimate, list of Estimate, or LikertGrid
        Proportions (with ``by=`` for one bar per domain), one per statement, or a
        :func:`~delibpoll.likert_grid` (its statements, order and words; Total column).
    negative, neutral, positive, other : list
        The categories of each kind; every category of the estimate must be in one.
    labels : mapping or Labels, optional
        Words for the statements (variables), categories and domain variables.
    title, caption, note : str, optional
        ``note`` is a line added under the caption.
    """
    from plotnine import (
        aes,
        coord_flip,
        facet_grid,
        geom_col,
        geom_hline,
        geom_text,
        ggplot,
        guide_legend,
        guides,
        labs,
        position_stack,
        scale_fill_manual,
    )

    for name, val in (("title", title), ("caption", caption), ("note", note)):
        _check_text(val, name, "plot_likert")
    lab = _labels_of(labels, "plot_likert")
    if isinstance(estimate, LikertGrid):
        # a grid table: one bar per statement, in the grid's order and with its words
        gf = estimate.to_frame()
        gf = gf[(gf["quantity"] == "share") & (gf["column"] == "Total")]
        grid_words = Labels(
            variables={str(i): str(t) for i, t in zip(gf["item"], gf["item_label"], strict=True)},
            values={str(i): {c: str(t) for c, t in zip(g["category"], g["category_label"], strict=True)}
                    for i, g in gf.groupby("item", sort=False)},
        )
        lab = grid_words.merge(lab)
        estimate = [
            g[["item", "category", "estimate", "se", "ci_lower", "ci_upper", "n"]]
            .rename(columns={"item": "variable"}).reset_index(drop=True)
            for _, g in gf.groupby("item", sort=False)
        ]
    battery = isinstance(estimate, list | tuple)
    ests = list(estimate) if battery else [estimate]
    if not ests:
        raise DelibpollError("plot_likert got an empty list of estimates; pass one per statement.")
    frames = []
    for e in ests:
        fr = _frame_of(e)
        if "category" not in fr:
            raise DelibpollError("plot_likert needs proportions (an Estimate with categories).")
        variable = str(_meta(e, "variable", fr["variable"].iloc[0] if "variable" in fr else ""))
        by = list(_meta(e, "by", ()))
        if battery and by:
            raise DelibpollError(
                "plot_likert takes either one estimate with by= (a bar per domain) or a list of "
                "estimates without by= (a bar per statement); got a list with by=."
            )
        if battery:
            fr["row"] = wrap(lab.variable(variable), 40)
        elif by:
            fr["row"] = [_domain_text(r, by, lab) for _, r in fr.iterrows()]
        else:
            fr["row"] = wrap(lab.variable(variable), 40) if variable else "All"
        fr["variable_"] = variable
        frames.append(fr)
    fr = pd.concat(frames, ignore_index=True)
    first_var = str(frames[0]["variable_"].iloc[0])
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
    neg, neu, pos, oth = (groups[k] for k in ("negative", "neutral", "positive", "other"))
    name_of = {c: lab.category(first_var, c) for c in available}
    fr["group"] = fr["category"].map(assigned)
    apart = "Neutral,\nother" if neu or oth else ""
    fr["panel"] = np.where(fr["group"].isin(["neutral", "other"]), apart, _BALANCE)
    fr["value"] = np.where(fr["group"] == "negative", -fr["estimate"], fr["estimate"])
    scale_order = [name_of[c] for c in [*neg, *neu, *pos, *oth]]
    # stacking puts the first level farthest from zero: the strongest answer on each side
    stack_order = [name_of[c] for c in [*neg, *pos[::-1], *neu, *oth]]
    fr["answer"] = pd.Categorical(fr["category"].map(name_of), categories=stack_order)
    panels = [_BALANCE] + ([apart] if apart else [])
    fr["panel"] = pd.Categorical(fr["panel"], categories=panels)
    rows = list(dict.fromkeys(fr["row"]))
    fr["row"] = pd.Categorical(fr["row"], categories=rows[::-1])
    tones = {1: [1], 2: [0, 2], 3: [0, 1, 2]}
    colour = {name_of[c]: _NEGATIVE[tones[len(neg)][i]] for i, c in enumerate(neg)}
    colour |= {name_of[c]: _POSITIVE[tones[len(pos)][i]] for i, c in enumerate(pos)}
    colour |= {name_of[c]: _NEUTRAL[i] for i, c in enumerate([*neu, *oth])}
    fr["text"] = [_pct(v) if v >= 0.05 else "" for v in fr["estimate"]]
    fr["text_colour"] = ["white" if colour[a] in ("#B2182B", "#2166AC", "#888888", "#D6604D", "#4393C3") else "black"
                         for a in fr["answer"].astype(str)]
    stack = position_stack(vjust=0.5)
    p = (
        ggplot(fr, aes(x="row", y="value", fill="answer"))
        + geom_col(width=0.7)
        + geom_text(aes(label="text", color="text_colour", group="answer"), position=stack, size=8,
                    show_legend=False)
        + geom_hline(yintercept=0, color="#333333")
        + coord_flip()
        + facet_grid(". ~ panel", scales="free_x", space="free_x")
        + scale_fill_manual(values=colour, breaks=scale_order, name="")
        + guides(fill=guide_legend(nrow=2 if len(scale_order) > 4 else 1, byrow=True))
        # one tick spacing in both panels, so the narrow neutral panel is not crowded
        + _percent_axis("y", absolute=True, step=0.2)
        + labs(x="", y="Percentage of respondents",
               title=wrap(title or lab.variable(first_var), _TITLE_WIDTH) if (title or not battery) else None,
               caption=_caption(caption or "Weighted percentages. Negative answers to the left of "
                                "zero, positive to the right; neutral and other answers apart.", note))
        + theme_delibpoll()
        + _no_legend_title()
    )
    from plotnine import scale_color_identity

    p = p + scale_color_identity()
    text = "; ".join(
        f"{str(r).replace(chr(10), ' ')}: " + ", ".join(
            f"{a} {_pct(v)}" for a, v in zip(sub["answer"].astype(str), sub["estimate"], strict=True))
        for r, sub in fr.groupby("row", sort=False, observed=True)
    )
    subject = "a battery of statements" if battery else lab.variable(first_var)
    return _with_alt(p, f"Diverging stacked bar chart of {subject}. {text}." + (f" {note}" if note else ""))


# ---------------------------------------------------------------- tiers
_BEFORE, _AFTER, _PUBLIC = "Tier 1 before", "Tier 1 after", "Tier 3 (public)"


def plot_tiers(
    comparison: Any,
    *,
    kind: TierPlotKind = "dumbbell",
    category: Any = None,
    labels: Labels | Mapping[str, Any] | None = None,
    title: str | None = None,
    caption: str | None = None,
    note: str | None = None,
) -> Any:
    """Tier 1 (informed) against Tier 3 (uninformed).

    ``kind="dumbbell"``: one panel per question (titled with its wording), one row per
    category, with Tier 1 before and after deliberation and Tier 3, each with its CI, side by
    side so the whiskers never overlap. ``kind="scatter"``: Tier 1 against Tier 3 with a
    45-degree line, for many questions. Takes :func:`~delibpoll.compare_tiers` or
    :func:`~delibpoll.compare_questions` results (or their frames).

    Parameters
    ----------
    labels : mapping or Labels, optional
        Words for the questions (by their Tier 3 names) and their categories.
    note : str, optional
        A line added under the caption (e.g. the synthetic-data notice).
    """
    from plotnine import (
        aes,
        coord_flip,
        facet_wrap,
        geom_abline,
        geom_errorbar,
        geom_errorbarh,
        geom_point,
        ggplot,
        labs,
        position_dodge,
        scale_color_manual,
        scale_shape_manual,
        scale_x_discrete,
    )

    fr = _frame_of(comparison)
    need = {"informed", "uninformed", "informed_ci_lower", "informed_ci_upper", "uninformed_ci_lower", "uninformed_ci_upper"}
    missing = need - set(fr.columns)
    if missing:
        raise DelibpollError(f"plot_tiers needs a tier comparison; the frame lacks {sorted(missing)}.")
    if "question" not in fr:
        fr["question"] = _meta(comparison, "variable", "")
    for name, val in (("title", title), ("caption", caption), ("note", note)):
        _check_text(val, name, "plot_tiers")
    if kind not in ("dumbbell", "scatter"):
        raise DelibpollError(f"The 'kind' parameter of plot_tiers must be 'dumbbell' or 'scatter'. Got {kind!r} instead.")
    lab = _labels_of(labels, "plot_tiers")
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
    fr = fr.reset_index(drop=True)
    fr["question_label"] = [wrap(lab.variable(q), 70) for q in fr["question"]]
    fr["category_label"] = [
        wrap(lab.category(q, c), _LABEL_WIDTH) if not pd.isna(c) else "Mean"
        for q, c in zip(fr["question"], fr["category"], strict=True)
    ]
    fr["item"] = [f"{q.replace(chr(10), ' ')}: {lab.category(qn, cn) if not pd.isna(cn) else 'Mean'}"
                  for q, qn, cn in zip(fr["question_label"], fr["question"], fr["category"], strict=True)]
    desc = "Descriptive, non-randomised comparison."
    if kind == "scatter":
        hi = float(np.nanmax(fr[["informed_ci_upper", "uninformed_ci_upper"]].to_numpy()))
        lim = (0.0, min(1.0, max(hi, 0.05) * 1.05))
        p = (
            ggplot(fr, aes(x="uninformed", y="informed"))
            + geom_abline(intercept=0, slope=1, linetype="dashed", color="#777777")
            + geom_errorbar(aes(ymin="informed_ci_lower", ymax="informed_ci_upper"), color="#0072B2", width=0)
            + geom_errorbarh(aes(xmin="uninformed_ci_lower", xmax="uninformed_ci_upper"), color="#D55E00", height=0)
            + geom_point(size=2.5)
            + _percent_axis("x", limits=lim)
            + _percent_axis("y", limits=lim)
            + labs(x="Tier 3: the public (weighted)", y="Tier 1: after deliberation",
                   title=wrap(title or "Tier 1 after deliberation against the public (Tier 3)", _TITLE_WIDTH),
                   caption=_caption(caption or f"Each point is one answer to one question; whiskers are "
                                    f"confidence intervals (Tier 1 blue, Tier 3 vermilion). Points above "
                                    f"the dashed line are higher in Tier 1. {desc}", note))
            + theme_delibpoll()
            + _square()
        )
        both = fr["informed"].notna() & fr["uninformed"].notna()
        above = int((fr["informed"] > fr["uninformed"]).sum())
        below = int((fr["informed"] < fr["uninformed"]).sum())
        return _with_alt(
            p, f"Scatter plot of {len(fr)} answers to the questions compared: Tier 1 after "
            f"deliberation against Tier 3, with a 45-degree line; of the {int(both.sum())} with "
            f"both shares, {above} lie above the line (higher in Tier 1) and {below} below. {desc}"
            + (f" {note}" if note else ""),
        )
    rows = []
    has_before = "informed_before" in fr
    q_index = {q: i for i, q in enumerate(dict.fromkeys(fr["question"]))}
    fr["category_label"] = [f"{q_index[q]}\x1f{c}" for q, c in zip(fr["question"], fr["category_label"], strict=True)]
    for _, r in fr.iterrows():
        if has_before:
            rows.append((r["question_label"], r["category_label"], _BEFORE, r["informed_before"],
                         r["informed_before_ci_lower"], r["informed_before_ci_upper"]))
        rows.append((r["question_label"], r["category_label"], _AFTER if has_before else "Tier 1",
                     r["informed"], r["informed_ci_lower"], r["informed_ci_upper"]))
        rows.append((r["question_label"], r["category_label"], _PUBLIC, r["uninformed"],
                     r["uninformed_ci_lower"], r["uninformed_ci_upper"]))
    long = pd.DataFrame(rows, columns=["question", "category", "group", "estimate", "lo", "hi"])
    long["question"] = pd.Categorical(long["question"], categories=list(dict.fromkeys(long["question"])))
    long["category"] = pd.Categorical(long["category"], categories=list(dict.fromkeys(long["category"]))[::-1])
    groups = list(dict.fromkeys(long["group"]))
    long["group"] = pd.Categorical(long["group"], categories=groups)
    colours = {_BEFORE: "#777777", _AFTER: "#0072B2", "Tier 1": "#0072B2", _PUBLIC: "#D55E00"}
    shapes = {_BEFORE: "o", _AFTER: "s", "Tier 1": "s", _PUBLIC: "^"}
    dodge = position_dodge(width=0.75)
    n_q = long["question"].nunique()
    p = (
        ggplot(long, aes(x="category", y="estimate", color="group", shape="group"))
        + geom_errorbar(aes(ymin="lo", ymax="hi"), width=0.2, position=dodge)
        + geom_point(size=2.5, position=dodge, fill="white")
        + coord_flip()
        + scale_color_manual(values=[colours[g] for g in groups], name="")
        + scale_shape_manual(values=[shapes[g] for g in groups], name="")
        + _percent_axis("y")
        + labs(x="", y="Percentage giving the answer",
               title=wrap(title or "Tier 1 before and after deliberation, and the public (Tier 3)", _TITLE_WIDTH),
               caption=_caption(caption or f"Points are shares with their confidence intervals. {desc}", note))
        + scale_x_discrete(labels=lambda keys: [_KEYS.sub("", str(k)) for k in keys])
        + theme_delibpoll()
        + _no_legend_title()
    )
    if n_q > 1:
        p = p + facet_wrap("~question", ncol=1, scales="free_y")
    else:
        p = p + labs(subtitle=str(long["question"].iloc[0]))
    text = "; ".join(
        f"{r['item']}: Tier 1 "
        + (f"{_pct(r['informed_before'])} before, " if has_before else "")
        + f"{_pct(r['informed'])}{' after' if has_before else ''}; Tier 3 {_pct(r['uninformed'])}"
        for _, r in fr.iterrows()
    )
    return _with_alt(p, f"Chart of shares with confidence intervals. {text}. {desc}"
                     + (f" {note}" if note else ""))


def _square() -> Any:
    from plotnine import theme

    return theme(figure_size=(A4_WIDTH * 0.8, A4_WIDTH * 0.8))


# ---------------------------------------------------------------- weights and margins
def plot_weights(
    design: Any,
    *,
    bins: int = 40,
    labels: Labels | Mapping[str, Any] | None = None,
    title: str | None = None,
    caption: str | None = None,
    note: str | None = None,
) -> Any:
    """Histogram of the design's weights with the Kish design effect in the caption."""
    from plotnine import aes, geom_histogram, geom_vline, ggplot, labs

    if not isinstance(design, SurveyDesign):
        raise DelibpollError(f"plot_weights needs a SurveyDesign; got {type(design).__name__}.")
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise DelibpollError(f"The 'bins' parameter of plot_weights must be an integer >= 1. Got {bins!r} instead.")
    for name, val in (("title", title), ("caption", caption), ("note", note)):
        _check_text(val, name, "plot_weights")
    _labels_of(labels, "plot_weights", design.attrs)
    w = design.weight_array
    deff = kish_deff(w)  # the package's one Kish design effect
    n_eff = len(w) / deff
    ratio = (f"the largest is {number(w.max() / w.min(), 1)} times the smallest" if w.min() > 0
             else f"{count(int((w <= 0).sum()))} weights are zero or negative")
    fr = pd.DataFrame({"weight": w})
    mean_w = float(w.mean())
    p = (
        ggplot(fr, aes(x="weight"))
        + geom_histogram(bins=bins, fill="#0072B2", color="white")
        + geom_vline(xintercept=mean_w, linetype="dashed", color="#D55E00")
        + labs(x="Weight", y="Number of respondents", title=wrap(title or "Distribution of the weights", _TITLE_WIDTH),
               caption=_caption(caption or (
                   f"{count(len(w))} respondents; mean weight {_readable(mean_w)} (dashed line); "
                   f"Kish design effect {number(deff, 2)}, effective sample size {count(n_eff)}."), note))
        + theme_delibpoll()
    )
    return _with_alt(
        p, f"Histogram of {count(len(w))} weights from {_readable(w.min())} to "
        f"{_readable(w.max())} ({ratio}); Kish design effect {number(deff, 2)}, effective sample "
        f"size {count(n_eff)}." + (f" {note}" if note else ""),
    )


def _readable(x: float) -> str:
    """A weight in fixed notation with three significant digits."""
    if x == 0 or not math.isfinite(x):
        return number(x, 0)
    decimals = max(0, 2 - math.floor(math.log10(abs(x))))
    return number(x, min(decimals, 10))


def plot_margins(
    design: Any,
    *,
    labels: Labels | Mapping[str, Any] | None = None,
    title: str | None = None,
    caption: str | None = None,
    note: str | None = None,
) -> Any:
    """Unweighted, weighted and target shares for each weighting variable (from the
    design's weighting report, or from a :class:`~delibpoll.WeightingReport` itself); the
    shares and their errors are the report's, nothing is recomputed.

    Facets are titled with the variables' labels, categories with their labels; the
    percentage ticks sit at round values, each labelled with its exact value.
    """
    from plotnine import (
        aes,
        coord_flip,
        facet_wrap,
        geom_point,
        ggplot,
        labs,
        scale_color_manual,
        scale_shape_manual,
        theme,
    )

    for name, val in (("title", title), ("caption", caption), ("note", note)):
        _check_text(val, name, "plot_margins")
    rep = design if isinstance(design, WeightingReport) else getattr(design, "weighting_report", None)
    if rep is None:
        raise DelibpollError("plot_margins needs a weighted design (rake, calibrate or poststratify first).")
    attrs = design.attrs if isinstance(design, SurveyDesign) else None
    lab = _labels_of(labels, "plot_margins", attrs)
    m = rep.margins()
    var_label = {v: lab.variable(v) for v in m["variable"].unique()}
    cat_label = [wrap(lab.category(v, c), 26) for v, c in zip(m["variable"], m["category"], strict=True)]
    kinds = ["Sample, unweighted", "Sample, weighted", "Population target"]
    long = pd.concat(
        [
            m.assign(kind=kinds[0], share=m["unweighted_share"], cat=cat_label),
            m.assign(kind=kinds[1], share=m["weighted_share_after"], cat=cat_label),
            m.assign(kind=kinds[2], share=m["target_share"], cat=cat_label),
        ]
    )
    # facet titles wrapped to the width of a panel (half the chart, less the category labels)
    long["facet"] = pd.Categorical([wrap(var_label[v], 20) for v in long["variable"]],
                                   categories=list(dict.fromkeys(wrap(var_label[v], 20) for v in m["variable"])))
    long["cat"] = pd.Categorical(long["cat"], categories=list(dict.fromkeys(cat_label))[::-1])
    long["kind"] = pd.Categorical(long["kind"], categories=kinds)
    # every claim below is computed from the shares plotted
    after = m.assign(err=m["error"].abs())  # the report's error: weighted share - target
    worst_after = after.sort_values("err", kind="stable").iloc[-1]
    gap = float(worst_after["err"])
    gap_txt = (f"{number(100 * gap, _gap_decimals(100 * gap))} percentage points" if gap >= 5e-5
               else "below 0.005 percentage points")
    n_vars = m["variable"].nunique()
    p = (
        ggplot(long, aes(x="cat", y="share", color="kind", shape="kind"))
        + geom_point(size=2.2, fill="none")
        + coord_flip()
        + facet_wrap("~facet", scales="free", ncol=2)
        + scale_color_manual(values=["#D55E00", "#0072B2", "#000000"], name="")
        + scale_shape_manual(values=["o", "s", "x"], name="")
        + _percent_axis("y", max_breaks=3)
        + labs(x="", y="Percentage", title=wrap(title or "Weighting margins: the sample before and after weighting, and the population", _TITLE_WIDTH),
               caption=_caption(caption or f"Largest difference between a weighted share and its target: {gap_txt}.", note))
        + theme_delibpoll(9)
        + _no_legend_title()
        + theme(figure_size=(A4_WIDTH, 2.0 + 2.3 * math.ceil(n_vars / 2)))
    )
    worst = m.assign(gap=(m["unweighted_share"] - m["target_share"]).abs()).sort_values("gap", kind="stable").iloc[-1]
    wv, wc = worst_after["variable"], worst_after["category"]
    if gap < 5e-5:
        result = "after weighting, every weighted share is within 0.005 percentage points of its target"
    else:
        result = (f"after weighting, the largest difference is {lab.variable(wv)} "
                  f"'{lab.category(wv, wc)}': {_pct(worst_after['weighted_share_after'], 1)} "
                  f"weighted against a target of {_pct(worst_after['target_share'], 1)} "
                  f"({gap_txt})")
    status = "" if rep.converged else " The weighting did not converge."
    return _with_alt(
        p, f"Dot chart of {n_vars} weighting variables ({', '.join(var_label.values())}): "
        f"unweighted sample shares, weighted shares and population targets. The largest sample "
        f"gap was {lab.variable(worst['variable'])} '{lab.category(worst['variable'], worst['category'])}': "
        f"{_pct(worst['unweighted_share'])} in the sample against {_pct(worst['target_share'])} in "
        f"the population; {result}.{status}" + (f" {note}" if note else ""),
    )


def _gap_decimals(points_: float) -> int:
    """Decimals showing two significant digits of a gap in percentage points."""
    if points_ <= 0 or not math.isfinite(points_):
        return 0
    return max(0, 1 - math.floor(math.log10(points_)))


# ---------------------------------------------------------------- tracking across cohorts
def plot_trend(
    comparison: Any,
    *,
    question: str | None = None,
    categories: Sequence[Any] | None = None,
    labels: Labels | Mapping[str, Any] | None = None,
    title: str | None = None,
    caption: str | None = None,
    note: str | None = None,
) -> Any:
    """Trend chart: one question's estimates with their confidence intervals by cohort.

    Cohorts run left to right in their order; each answer is a line of points with whiskers
    (its confidence interval), labelled directly with its value and, at the last cohort,
    with the answer's words (no legend to look up). Takes a
    :func:`~delibpoll.compare_cohorts` result (or its ``estimates()`` frame).

    Parameters
    ----------
    comparison : CohortComparison or pandas.DataFrame
    question : str, optional
        The question drawn; needed when the comparison has more than one.
    categories : sequence, optional
        The answers drawn (default every answer of the question).
    labels : mapping or Labels, optional
        Words for the question and its answers, on top of the file's labels that the
        comparison carries (``comparison.attrs``).
    title, caption, note : str, optional
        ``note`` is a line added under the caption (e.g. the synthetic-data notice).

    Examples
    --------
    >>> import pandas as pd
    >>> import delibpoll as dp
    >>> a = dp.SurveyDesign(pd.DataFrame({"q": ["yes", "no", "yes", "yes"]}))
    >>> b = dp.SurveyDesign(pd.DataFrame({"q": ["no", "no", "yes", "no"]}))
    >>> p = dp.plot_trend(dp.compare_cohorts({"C1": a, "C2": b}, "q"), categories=["yes"])
    >>> dp.alt_text(p).split(". ")[1]
    'yes: C1 75%, C2 25%'
    """
    from plotnine import (
        aes,
        expand_limits,
        geom_errorbar,
        geom_line,
        geom_point,
        geom_text,
        ggplot,
        labs,
        scale_color_manual,
        scale_x_discrete,
        theme,
    )

    func = "plot_trend"
    for name, val in (("title", title), ("caption", caption), ("note", note), ("question", question)):
        _check_text(val, name, func)
    if isinstance(comparison, pd.DataFrame):
        fr = comparison.copy()
    elif hasattr(comparison, "estimates"):
        fr = comparison.estimates()
    else:
        raise DelibpollError(
            f"{func} needs a compare_cohorts result (or its estimates() frame); got "
            f"{type(comparison).__name__}."
        )
    _need_columns(fr, ["question", "cohort", "category", "estimate", "ci_lower", "ci_upper"], func)
    qs = list(dict.fromkeys(fr["question"]))
    if question is None:
        if len(qs) != 1:
            raise DelibpollError(
                f"The comparison has {len(qs)} questions ({qs}); pass question= to choose the "
                f"one {func} draws."
            )
        question = qs[0]
    if question not in qs:
        raise DelibpollError(f"The 'question' parameter of {func} names {question!r}; the comparison has {qs}.")
    fr = fr[fr["question"] == question].reset_index(drop=True)
    numeric = bool(fr["category"].isna().all())
    if categories is not None:
        if numeric:
            raise DelibpollError(f"'{question}' is numeric (its mean is drawn); remove categories=.")
        available = list(dict.fromkeys(fr["category"]))
        bad = [c for c in categories if c not in available]
        if bad or not categories:
            raise DelibpollError(
                f"The 'categories' parameter of {func} names {bad or list(categories)!r}, not "
                f"answers of '{question}'. Available: {available!r}."
            )
        fr = fr[fr["category"].isin(list(categories))].reset_index(drop=True)
    attrs = _meta(comparison, "attrs", None)
    lab = _labels_of(labels, func, dict(attrs) if attrs else None)
    cohorts = list(dict.fromkeys(fr["cohort"]))
    fr["cohort"] = pd.Categorical(fr["cohort"], categories=cohorts)
    fr["answer"] = ["Mean" if numeric else lab.category(question, c) for c in fr["category"]]
    answers = list(dict.fromkeys(fr["answer"]))
    fr["answer"] = pd.Categorical(fr["answer"], categories=answers)
    fr["value_label"] = [number(v, 2) if numeric else _pct(v) for v in fr["estimate"]]
    lo = min(0.0 if not numeric else float(fr["ci_lower"].min()), float(fr["ci_lower"].min()))
    hi = float(fr["ci_upper"].max())
    gap = 0.055 * (hi - lo if hi > lo else 1.0)
    # labels: values left of the first cohort, "value  answer" right of the last (direct
    # labels, no legend), values right of the cohorts between; spread apart where close
    fr["label_y"] = fr["estimate"].astype(float)
    fr["text"] = fr["value_label"]
    fr["side"] = ["left" if c == cohorts[0] else "right" if c == cohorts[-1] else "above"
                  for c in fr["cohort"]]
    is_last = fr["cohort"] == cohorts[-1]
    fr.loc[is_last, "text"] = [f"{v}  {wrap(str(a), 24)}" for v, a in
                               zip(fr.loc[is_last, "value_label"], fr.loc[is_last, "answer"], strict=True)]
    label_y = fr["label_y"].to_numpy(dtype=float).copy()
    codes = fr["cohort"].cat.codes.to_numpy()
    for k in range(len(cohorts)):
        prev = -np.inf
        for i in np.flatnonzero(codes == k)[np.argsort(label_y[codes == k], kind="stable")]:
            label_y[i] = max(label_y[i], prev + gap)
            prev = label_y[i]
    fr["label_y"] = label_y
    left = fr[fr["side"] == "left"]
    right = fr[fr["side"] == "right"]
    above = fr[fr["side"] == "above"]
    colours = _colours(len(answers))
    level = _meta(comparison, "level", 0.95)
    p = (
        ggplot(fr, aes(x="cohort", y="estimate", color="answer", group="answer"))
        + geom_line(size=0.8)
        + geom_errorbar(aes(ymin="ci_lower", ymax="ci_upper"), width=0.08)
        + geom_point(size=2.5)
        + geom_text(aes(y="label_y", label="text"), data=left, nudge_x=-0.1, ha="right", size=8,
                    show_legend=False)
        + geom_text(aes(y="label_y", label="text"), data=right, nudge_x=0.1, ha="left", size=8,
                    show_legend=False)
        + geom_text(aes(y="label_y", label="text"), data=above, nudge_x=0.06, nudge_y=gap * 0.45, ha="left",
                    va="bottom", size=8, show_legend=False)
        + scale_color_manual(values=colours)
        + scale_x_discrete(expand=(0, 0.5, 0, 1.5))
        + expand_limits(y=lo)
        + labs(x="", y="Mean" if numeric else "Percentage giving the answer",
               title=wrap(title or lab.variable(question), _TITLE_WIDTH),
               subtitle="By cohort, with " + percent(float(level)) + " confidence intervals",
               caption=_caption(caption or (
                   "Points are estimates in each cohort; whiskers are confidence intervals; "
                   "lines join the same answer. Cohorts are independent samples: a difference "
                   "between cohorts describes how answers differ, not why."
                   + (" The vertical axis shows only the range of the means, not the whole "
                      "scale." if numeric else "")), note))
        + theme_delibpoll()
        + theme(legend_position="none")
    )
    p = p + (_number_axis() if numeric else _percent_axis("y"))
    text = "; ".join(
        f"{a}: " + ", ".join(f"{r['cohort']} {r['value_label']}" for _, r in grp.iterrows())
        for a, grp in fr.groupby("answer", observed=True, sort=True)
    )
    return _with_alt(p, f"Line chart of {lab.variable(question)} by cohort. {text}. "
                     "Whiskers show confidence intervals." + (f" {note}" if note else ""))


def _number_axis() -> Any:
    """A plain numeric y axis (means)."""
    from plotnine import scale_y_continuous

    return scale_y_continuous()
