"""Likert batteries as one grid: statements down the side, the shared scale across (inference
layer).

A battery is a set of statements answered on one scale ("Strongly disagree" ... "Strongly
agree"). :func:`likert_grid` estimates, per statement (and per column of a banner variable
``by``): the share at each scale point, the top-box and bottom-box nets, the **net score**
(top minus bottom: the weighted mean of the indicator difference, as R's
``svymean(~I(top) - I(bottom))``) with its design-based SE and CI, and the mean score where
the scale is numeric. Every number is a ratio of weighted totals computed in one call of the
estimation kernel (:func:`~delibpoll._ratios.ratio_estimates`, the path of
:func:`~delibpoll.proportion`), so shares, nets and net scores have one joint covariance: the
significance letters compare statements (or banner columns) with the SE of the difference
from it, as :func:`~delibpoll.contrast` would.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._ci import proportion_cis_noted, t_quantiles
from ._format import count
from ._labels import Labels
from ._multiplicity import adjust_pvalues
from ._ratios import domain_summary, ratio_estimates
from ._render import render
from ._types import Adjust, CIMethod, TableLayout, values
from ._validation import check_level
from .banner import column_letters
from .design import SurveyDesign, check_design
from .exceptions import DelibpollError

__all__ = ["QUANTITIES", "LikertGrid", "likert_grid"]

#: The quantities of a grid, in the order of :meth:`LikertGrid.to_frame`'s ``quantity``.
QUANTITIES = ("share", "top", "bottom", "net_score", "mean_score")


@dataclass(frozen=True, eq=False)
class LikertGrid:
    """A Likert battery as a grid (see :func:`likert_grid`): arrays, no formatting.

    Arrays are indexed ``[group, statement, value]``: group 0 is the whole sample (Total),
    then the columns of ``by``; value ``0 .. k-1`` the scale points (shares), then ``k``
    top box, ``k + 1`` bottom box, ``k + 2`` net score and, when the scale is numeric,
    ``k + 3`` the mean score.

    Attributes
    ----------
    title : str
        The battery's words (the lead-in its statements share, or the author's ``title``).
    items, item_labels : tuple of str
        The statements' columns and their words.
    scale, scale_labels : tuple
        The scale points shown (data values, most negative first) and their words.
    top, bottom : tuple
        The points of the top box and of the bottom box.
    top_label, bottom_label : str
        The nets' words ("Agree (top 2)").
    by, by_label : str or None
        The banner variable and its words.
    groups, group_labels, group_letters : tuple
        Per group: its category ("Total" first), words and letter ("" for Total).
    scores : tuple of float or None
        The score of each scale point (None: no mean score).
    estimate, se, ci_lower, ci_upper : numpy.ndarray
        ``(groups, statements, values)``.
    higher_than : numpy.ndarray
        ``(groups, statements, values)`` of str: letters of the statements (``by`` None) or
        of the banner columns (``by`` given) this cell is significantly higher than; nets,
        net score and mean score only.
    n, weighted_n : numpy.ndarray
        ``(groups, statements)`` unweighted and weighted bases.
    base_lines : tuple of str
        Per statement, who the percentages are of.
    notes : tuple of str
    decimals : int
    level : float
    """

    title: str
    items: tuple[str, ...]
    item_labels: tuple[str, ...]
    scale: tuple[Hashable, ...]
    scale_labels: tuple[str, ...]
    top: tuple[Hashable, ...]
    bottom: tuple[Hashable, ...]
    top_label: str
    bottom_label: str
    by: str | None
    by_label: str | None
    groups: tuple[str, ...]
    group_labels: tuple[str, ...]
    group_letters: tuple[str, ...]
    scores: tuple[float, ...] | None
    estimate: np.ndarray = field(repr=False)
    se: np.ndarray = field(repr=False)
    ci_lower: np.ndarray = field(repr=False)
    ci_upper: np.ndarray = field(repr=False)
    higher_than: np.ndarray = field(repr=False)
    n: np.ndarray = field(repr=False)
    weighted_n: np.ndarray = field(repr=False)
    base_lines: tuple[str, ...] = field(repr=False)
    notes: tuple[str, ...] = field(repr=False)
    decimals: int = 0
    level: float = 0.95

    @property
    def k(self) -> int:
        """The number of scale points shown."""
        return len(self.scale)

    def to_frame(self) -> pd.DataFrame:
        """Tidy long form, one row per group, statement and quantity.

        Columns: ``item``, ``item_label``, ``banner`` (``by`` or ""), ``column`` ("Total"
        or the category), ``column_label``, ``letter``, ``quantity`` (``share``, ``top``,
        ``bottom``, ``net_score``, ``mean_score``), ``category`` (the scale point of a
        share, else None), ``category_label``, ``estimate``, ``se``, ``ci_lower``,
        ``ci_upper``, ``n``, ``weighted_n``, ``higher_than``. Shares, nets and net scores
        are proportions (0.25 for 25%, or 25 points).
        """
        rows: list[dict[str, Any]] = []
        k = self.k
        names = [("share", c, lab) for c, lab in zip(self.scale, self.scale_labels, strict=True)]
        names += [("top", None, self.top_label), ("bottom", None, self.bottom_label),
                  ("net_score", None, "Net score")]
        if self.scores is not None:
            names.append(("mean_score", None, "Mean score"))
        for g, col in enumerate(self.groups):
            for s, item in enumerate(self.items):
                for v, (qty, cat, lab) in enumerate(names):
                    rows.append({
                        "item": item, "item_label": self.item_labels[s],
                        "banner": self.by or "", "column": col,
                        "column_label": self.group_labels[g], "letter": self.group_letters[g],
                        "quantity": qty, "category": cat, "category_label": lab,
                        "estimate": self.estimate[g, s, v], "se": self.se[g, s, v],
                        "ci_lower": self.ci_lower[g, s, v], "ci_upper": self.ci_upper[g, s, v],
                        "n": int(self.n[g, s]), "weighted_n": float(self.weighted_n[g, s]),
                        "higher_than": str(self.higher_than[g, s, v]),
                    })
        del k
        return pd.DataFrame(rows)

    def to_markdown(self, *, layout: TableLayout = "accessible") -> str:
        """Markdown: the grid (statements by scale points, nets, net score, mean score,
        bases), then, with ``by``, the nets and scores by column; then the notes."""
        out: str = render("grid.markdown", self, layout=layout)
        return out

    def to_html(self, *, fragment: bool = False, layout: TableLayout = "accessible",
                title: str = "Likert grid") -> str:
        """HTML: a standalone document, or with ``fragment=True`` the tables and notes."""
        out: str = render("grid.html", self, layout=layout, fragment=fragment, title=title)
        return out

    def _repr_html_(self) -> str:
        return self.to_html(fragment=True)

    def to_excel(self, path: str | Path, *, title: str = "Likert grid", source: str = "",
                 layout: TableLayout = "accessible") -> Path:
        """Spreadsheet (cover, notes, contents, tables) as :meth:`BannerTable.to_excel
        <delibpoll.BannerTable.to_excel>`."""
        out: Path = render("grid.excel", self, path, title=title, source=source, layout=layout)
        return out

    def to_ods(self, path: str | Path, *, title: str = "Likert grid", source: str = "",
               layout: TableLayout = "accessible") -> Path:
        """OpenDocument spreadsheet with the sheets of :meth:`to_excel`."""
        out: Path = render("grid.ods", self, path, title=title, source=source, layout=layout)
        return out

    def to_csv(self, path: str | Path) -> Path:
        """The tidy frame (:meth:`to_frame`) as CSV."""
        out: Path = render("grid.csv", self, path)
        return out

    def __repr__(self) -> str:
        by = f" by {self.by}" if self.by else ""
        return f"LikertGrid({len(self.items)} statements x {self.k} scale points{by})"


def _check_items(design: SurveyDesign, items: object) -> list[str]:
    if isinstance(items, str) or not isinstance(items, Sequence) or len(items) < 1:
        raise DelibpollError(
            "The 'items' parameter of likert_grid must be a list of the battery's statement "
            f"columns, e.g. ['trust_gp', 'trust_nhs']. Got {items!r} instead."
        )
    cols = list(items)
    bad = [c for c in cols if not isinstance(c, str)]
    if bad:
        raise DelibpollError(f"The 'items' parameter of likert_grid names non-text columns {bad!r}.")
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise DelibpollError(f"The 'items' parameter of likert_grid names {dup} more than once.")
    design.check_columns(cols, "items")
    return cols


def _scale_of(design: SurveyDesign, items: list[str], scale: object,
              exclude: list[Hashable]) -> tuple[list[Hashable], list[list[Hashable]]]:
    """The scale points (most negative first), and each item's categories."""
    cats = [list(design.column_codes(c)[1]) for c in items]
    if scale is None:
        first = cats[0]
        for c, cs in zip(items, cats, strict=True):
            if set(cs) - set(first) - set(exclude):
                raise DelibpollError(
                    f"The statements of likert_grid do not share one scale: '{c}' has "
                    f"{sorted(map(str, set(cs) - set(first)))} that '{items[0]}' has not. Give "
                    "the scale points in order with scale=[...]."
                )
        points = [x for x in first if x not in exclude]
    else:
        if isinstance(scale, str) or not isinstance(scale, Sequence) or len(scale) < 2:
            raise DelibpollError(
                "The 'scale' parameter of likert_grid must list at least two scale points, "
                f"most negative first. Got {scale!r} instead."
            )
        points = list(scale)
        for c, cs in zip(items, cats, strict=True):
            odd = [x for x in cs if x not in points and x not in exclude]
            if odd:
                raise DelibpollError(
                    f"Statement '{c}' of likert_grid has answers {odd!r} that are neither scale "
                    f"points {points!r} nor excluded (exclude=). Add them to one of the two."
                )
    if len(points) < 2:
        raise DelibpollError(
            f"likert_grid needs at least two scale points; got {points!r} after exclude."
        )
    return points, cats


def _scores_of(points: list[Hashable], scores: object, lab: Labels, item: str,
               attrs: Mapping[str, Any]) -> list[float] | None:
    if scores is not None:
        if not isinstance(scores, Mapping) or set(scores) != set(points):
            raise DelibpollError(
                "The 'scores' parameter of likert_grid must map every scale point to a number, "
                f"e.g. {{{points[0]!r}: 1, ...}}; scale points: {points!r}. Got {scores!r}."
            )
        out = [scores[p] for p in points]
        if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in out):
            raise DelibpollError(f"The 'scores' of likert_grid must be numbers; got {out!r}.")
        return [float(x) for x in out]
    if all(isinstance(p, int | float | np.integer | np.floating) and not isinstance(p, bool)
           for p in points):
        return [float(p) for p in points]  # type: ignore[arg-type]
    codes = attrs.get("value_labels", {}).get(item, {})
    back = {v: k for k, v in codes.items()}
    if all(p in back for p in points):
        return [float(back[p]) for p in points]
    return None


def likert_grid(
    design: SurveyDesign,
    items: Sequence[str],
    *,
    scale: Sequence[Hashable] | None = None,
    top: int = 2,
    bottom: int = 2,
    exclude: Sequence[Hashable] | None = None,
    scores: Mapping[Hashable, float] | None = None,
    by: str | None = None,
    labels: Labels | Mapping[str, Any] | None = None,
    title: str | None = None,
    level: float = 0.95,
    ci_method: CIMethod = "logit",
    sig_level: float = 0.05,
    adjust: Adjust = "none",
    decimals: int = 0,
    base_description: str | None = None,
) -> LikertGrid:
    """A battery of statements sharing one scale, as one grid.

    Parameters
    ----------
    design : SurveyDesign
    items : list of str
        The statements' columns (each a categorical answer on the shared scale).
    scale : list, optional
        The scale points in order, most negative first (default: the first statement's
        categories, in the package's category order, less ``exclude``).
    top, bottom : int, default 2
        How many points at the positive end form the top box ("agree") and at the negative
        end the bottom box ("disagree").
    exclude : list, optional
        Answers left out of the base ("Don't know"); named in the base lines and notes.
        Missing answers (and the file's missing codes, which :func:`~delibpoll.read_survey`
        makes missing) are always left out, and said so.
    scores : mapping, optional
        A number for each scale point, for the mean score. Default: the points themselves
        when numeric, else the file's codes of their labels (``design.attrs``), else no
        mean score.
    by : str, optional
        A banner variable: every quantity per column, and letters across its columns.
        Without it, letters compare the statements.
    labels : Labels or mapping, optional
        Words for statements, scale points and ``by`` on top of the file's labels.
    title : str, optional
        The grid's title (default: the lead-in the statements' labels share).
    level : float, default 0.95
    ci_method : str, default "logit"
        CI method of the shares (as :func:`~delibpoll.proportion`); net scores and mean
        scores have t intervals on the domain's df.
    sig_level : float, default 0.05
    adjust : {"none", "holm", "bonferroni", "fdr_bh"}
        Multiplicity adjustment over the pairs compared for one quantity.
    decimals : int, default 0
        Decimals of percentages and points (display only).
    base_description : str, optional
        Who was asked ("all adults in England"); default "all respondents".

    Returns
    -------
    LikertGrid

    Notes
    -----
    For statement ``s`` with valid answers ``v_s`` (not missing, not excluded) the share of
    point ``c`` is ``sum(w v_s 1[a_s = c]) / sum(w v_s)``; the net score is the ratio with
    numerator ``1[a_s in top] - 1[a_s in bottom]``, i.e. top share minus bottom share, and
    its variance is that of the contrast of the two shares (R: ``svymean(~I(top) -
    I(bottom))`` on the statement's subset, or ``svycontrast``). All ratios of all statements
    and groups are linearised together, so two statements' net scores (whose bases may
    differ) are compared with ``t = (d_1 - d_2) / se(d_1 - d_2)`` on the design df, as
    banner letters are.

    Examples
    --------
    >>> import pandas as pd, delibpoll as dp
    >>> pts = ["Disagree", "Neither", "Agree"]
    >>> df = pd.DataFrame({
    ...     "s1": pd.Categorical(["Agree", "Agree", "Neither", "Disagree"] * 10, pts),
    ...     "s2": pd.Categorical(["Agree", "Disagree", "Disagree", "Disagree"] * 10, pts)})
    >>> g = dp.likert_grid(dp.SurveyDesign(df), ["s1", "s2"], top=1, bottom=1)
    >>> fr = g.to_frame().set_index(["item", "quantity"])
    >>> float(fr.loc[("s1", "net_score"), "estimate"]), float(fr.loc[("s2", "net_score"), "estimate"])
    (0.25, -0.5)
    >>> fr.loc[("s1", "net_score"), "higher_than"]
    'B'
    """
    func = "likert_grid"
    design = check_design(design, func)
    level = check_level(level, func)
    cols = _check_items(design, items)
    for name, val in (("top", top), ("bottom", bottom), ("decimals", decimals)):
        if isinstance(val, bool) or not isinstance(val, int) or val < (0 if name == "decimals" else 1):
            raise DelibpollError(
                f"The '{name}' parameter of {func} must be an integer >= "
                f"{0 if name == 'decimals' else 1}. Got {val!r} instead."
            )
    if decimals > 10:
        raise DelibpollError(f"The 'decimals' parameter of {func} must be 0 to 10; got {decimals}.")
    if not isinstance(ci_method, str) or ci_method not in values(CIMethod):
        raise DelibpollError(f"The 'ci_method' parameter of {func} must be one of {list(values(CIMethod))}. Got {ci_method!r} instead.")
    if not isinstance(adjust, str) or adjust not in values(Adjust):
        raise DelibpollError(f"The 'adjust' parameter of {func} must be one of {list(values(Adjust))}. Got {adjust!r} instead.")
    if isinstance(sig_level, bool) or not isinstance(sig_level, int | float) or not 0 < sig_level < 1:
        raise DelibpollError(f"The 'sig_level' parameter of {func} must be a number in (0, 1). Got {sig_level!r} instead.")
    if labels is not None and not isinstance(labels, Labels | Mapping):
        raise DelibpollError(f"The 'labels' parameter of {func} must be a mapping or a Labels; got {type(labels).__name__}.")
    excl: list[Hashable] = [] if exclude is None else (
        [exclude] if isinstance(exclude, str) else list(exclude))
    points, cats = _scale_of(design, cols, scale, excl)
    k = len(points)
    if top + bottom > k:
        raise DelibpollError(
            f"top={top} and bottom={bottom} of {func} overlap: the scale has {k} points "
            f"({points!r}). Make top + bottom at most {k}."
        )
    attrs = design.attrs
    lab = Labels.from_attrs(attrs, labels)
    score_vals = _scores_of(points, scores, lab, cols[0], attrs)
    # per group: codes of every respondent
    if by is None:
        group_codes = [np.zeros(design.n, dtype=np.int64)]
        groups, g_labels, g_letters = ["Total"], ["Total"], [""]
        by_label = None
    else:
        if not isinstance(by, str):
            raise DelibpollError(f"The 'by' parameter of {func} must be a column name; got {by!r}.")
        design.check_columns([by], "by")
        if by in cols:
            raise DelibpollError(f"'{by}' is both a statement and the 'by' variable of {func}.")
        bcodes, bcats = design.column_codes(by)
        if (bcodes < 0).any():
            raise DelibpollError(
                f"The 'by' variable '{by}' of {func} has {(bcodes < 0).sum()} missing values; "
                "recode them to a category such as 'Not known'."
            )
        group_codes = [np.zeros(design.n, dtype=np.int64)] + [
            np.where(bcodes == i, 0, -1) for i in range(len(bcats))]
        groups = ["Total", *[str(c) for c in bcats]]
        g_labels = ["Total", *[lab.category(by, c) for c in bcats]]
        g_letters = ["", *column_letters(len(bcats))]
        by_label = lab.variable(by)
    G, S = len(groups), len(cols)
    nv = k + 3 + (score_vals is not None)
    # the value of every answer pattern: point indicators, top, bottom, net, score
    vals = np.zeros((k, nv))
    vals[np.arange(k), np.arange(k)] = 1.0
    vals[k - top:, k] = 1.0
    vals[:bottom, k + 1] = 1.0
    vals[:, k + 2] = vals[:, k] - vals[:, k + 1]
    if score_vals is not None:
        vals[:, k + 3] = score_vals
    n_rows = design.n
    num = np.zeros((n_rows, G * S * nv))
    den = np.zeros((n_rows, G * S * nv))
    valids = []
    n_missing, n_excluded = [], []
    for s, c in enumerate(cols):
        codes, cs = design.column_codes(c)
        idx = np.array([points.index(x) if x in points else -1 for x in cs] + [-1])
        pos = idx[np.where(codes < 0, len(cs), codes)]
        valid = pos >= 0
        valids.append(valid)
        n_missing.append(int((codes < 0).sum()))
        n_excluded.append(int(((codes >= 0) & ~valid).sum()))
        rowvals = vals[np.where(valid, pos, 0)] * valid[:, None]
        for g in range(G):
            ing = (group_codes[g] == 0).astype(float)
            j = (g * S + s) * nv
            num[:, j:j + nv] = rowvals * ing[:, None]
            den[:, j:j + nv] = (valid * ing)[:, None]
    est, vcov, _ = ratio_estimates(design, num, den)
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    w = design.weight_array
    n_arr = np.zeros((G, S), dtype=np.int64)
    wn = np.zeros((G, S))
    dfs = np.zeros((G, S))
    nrows = np.zeros((G, S))
    for g in range(G):
        for s in range(S):
            mask = valids[s] & (group_codes[g] == 0)
            ns, df_, nr = domain_summary(design, np.zeros(design.n, dtype=np.int64), 1, mask)
            n_arr[g, s], dfs[g, s], nrows[g, s] = int(ns[0]), float(df_[0]), float(nr[0])
            wn[g, s] = float(w[mask].sum())
    shape = (G, S, nv)
    est3, se3 = est.reshape(shape), se.reshape(shape)
    lo3, hi3 = np.full(shape, np.nan), np.full(shape, np.nan)
    share_idx = list(range(k + 2))
    df_k = np.repeat(dfs[:, :, None], len(share_idx), axis=2).ravel()
    n_k = np.repeat(n_arr[:, :, None], len(share_idx), axis=2).ravel().astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(n_k > 1, n_k / (n_k - 1), np.nan)
    lo, hi, _ = proportion_cis_noted(
        est3[:, :, share_idx].ravel(), se3[:, :, share_idx].ravel(), df_k, level, ci_method,
        n_rows=np.repeat(nrows[:, :, None], len(share_idx), axis=2).ravel(), phi=phi, n=n_k)
    lo3[:, :, share_idx] = lo.reshape(G, S, len(share_idx))
    hi3[:, :, share_idx] = hi.reshape(G, S, len(share_idx))
    for v in range(k + 2, nv):
        q = t_quantiles(level, dfs.ravel()).reshape(G, S)
        lo3[:, :, v] = est3[:, :, v] - q * se3[:, :, v]
        hi3[:, :, v] = est3[:, :, v] + q * se3[:, :, v]
    # letters: nets, net score and mean score
    higher = np.full(shape, "", dtype=object)
    dfree = design.df
    tested = list(range(k, nv))

    def compare(cells: list[tuple[int, int, int]], letters: list[str]) -> list[str]:
        m = len(cells)
        got: list[list[str]] = [[] for _ in range(m)]
        pairs = [(i, j) for i in range(m) for j in range(i + 1, m)]
        if not pairs or not dfree > 0:
            return ["" for _ in range(m)]
        flat = [int(np.ravel_multi_index(c, shape)) for c in cells]
        d = np.array([est[flat[i]] - est[flat[j]] for i, j in pairs])
        var = np.array([vcov[flat[i], flat[i]] + vcov[flat[j], flat[j]]
                        - 2 * vcov[flat[i], flat[j]] for i, j in pairs])
        p = np.full(len(pairs), np.nan)
        ok = np.isfinite(d) & (var > 0)
        p[ok] = 2 * stats.t.sf(np.abs(d[ok]) / np.sqrt(var[ok]), dfree)
        if adjust != "none" and ok.any():
            p[ok] = adjust_pvalues(p[ok], adjust)
        for (i, j), dd, pp in zip(pairs, d, p, strict=True):
            if np.isfinite(pp) and pp < sig_level:
                hi_, lo_ = (i, j) if dd > 0 else (j, i)
                got[hi_].append(letters[lo_])
        return ["".join(sorted(x, key=lambda t: (len(t), t))) for x in got]

    item_letters = column_letters(S)
    for v in tested:
        if by is None:
            res = compare([(0, s, v) for s in range(S)], item_letters)
            for s in range(S):
                higher[0, s, v] = res[s]
        else:
            for s in range(S):
                res = compare([(g, s, v) for g in range(1, G)], g_letters[1:])
                for g in range(1, G):
                    higher[g, s, v] = res[g - 1]
    items_words = lab.multi_response("battery", cols) if len(cols) > 1 else None
    item_labels = items_words.items if items_words is not None else (lab.variable(cols[0]),)
    if title is not None and (not isinstance(title, str) or not title.strip()):
        raise DelibpollError(f"The 'title' parameter of {func} must be non-empty text; got {title!r}.")
    shown_title = title or (items_words.title if items_words is not None
                            and items_words.title != "Battery" else "Statements")
    desc = (base_description or "all respondents").strip()
    s_labels = tuple(lab.category(cols[0], p) for p in points)
    top_label = f"{' / '.join(s_labels[k - top:])} (top {top})" if top > 1 else f"{s_labels[-1]} (top box)"
    bottom_label = (f"{' / '.join(s_labels[:bottom])} (bottom {bottom})" if bottom > 1
                    else f"{s_labels[0]} (bottom box)")
    base_lines = []
    notes = [
        "Weighted percentages with design-based standard errors"
        f"{' (raking/calibration-aware)' if design.is_calibrated else ''}; {level:.0%} "
        f"confidence intervals: {ci_method} for percentages, t intervals for net and mean "
        "scores.",
        f"Net score: {top_label} minus {bottom_label}, in percentage points, with its SE "
        "from the joint covariance of the two shares.",
        ("Letters: every pair of statements is compared" if by is None else
         f"Letters: within each statement, every pair of columns of {by_label} is compared")
        + f" with a two-sided design-based t test ({dfree:g} df) at the {sig_level:g} level"
        + (f", {adjust} adjusted" if adjust != "none" else "")
        + "; a letter marks a value significantly higher than that of the "
        + ("statement" if by is None else "column") + " with that letter (nets, net score and "
        "mean score only).",
    ]
    if score_vals is not None:
        notes.append("Mean score: " + ", ".join(
            f"{s_labels[i]} = {score_vals[i]:g}" for i in range(k)) + ".")
    for s, c in enumerate(cols):
        parts = []
        if n_excluded[s]:
            parts.append(" and ".join(lab.category(c, x) for x in excl if x in cats[s]))
        if n_missing[s]:
            codes_ = lab.missing_codes(c)
            parts.append("missing answers" + (
                " (" + "; ".join(f"{v}, code {kk}" for kk, v in codes_.items()) + ")"
                if codes_ else ""))
        extra = f", excluding {' and '.join(parts)}" if parts else ""
        base_lines.append(f"Base: {desc}{extra} (unweighted n = {count(int(valids[s].sum()))})")
        said = []
        if n_excluded[s]:
            said.append(f"{count(n_excluded[s])} respondents answering {parts[0]} left out "
                        "of the base (exclude=)")
        if n_missing[s]:
            said.append(f"{count(n_missing[s])} respondents with {parts[-1]} left out of the "
                        "base")
        if said:
            notes.append(f"{item_labels[s]}: " + "; ".join(said) + ".")
    notes.append("Percentages are rounded for display only; nets and scores use unrounded "
                 "values.")
    for a in (est3, se3, lo3, hi3, higher, n_arr, wn):
        a.flags.writeable = False
    return LikertGrid(
        title=shown_title, items=tuple(cols), item_labels=tuple(item_labels),
        scale=tuple(points), scale_labels=s_labels, top=tuple(points[k - top:]),
        bottom=tuple(points[:bottom]), top_label=top_label, bottom_label=bottom_label,
        by=by, by_label=by_label, groups=tuple(groups), group_labels=tuple(g_labels),
        group_letters=tuple(g_letters),
        scores=None if score_vals is None else tuple(score_vals),
        estimate=est3, se=se3, ci_lower=lo3, ci_upper=hi3, higher_than=higher, n=n_arr,
        weighted_n=wn, base_lines=tuple(base_lines), notes=tuple(notes),
        decimals=int(decimals), level=float(level),
    )
