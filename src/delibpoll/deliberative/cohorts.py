"""Tracking across cohorts: :func:`stack_cohorts`, :func:`compare_cohorts` and
:func:`compare_deliberation` (inference layer).

A programme that runs the same three tiers in several cohorts (Cohort 1 data use and access,
Cohort 2 primary care data, Cohort 3 the opt-out landscape) asks the same questions again.
The cohorts are independent samples, so their designs are *stacked* as R would stack them:
the rows bound together with the cohort as an extra stratum level, each cohort's strata,
PSUs and weighting kept as its own (``rbind`` of the data, ``svydesign(strata=~cohort:...)``
and raking on cohort-by-variable margins). Estimates of different cohorts then have
covariance 0, the degrees of freedom are the cohorts' summed, and everything runs through
the package's one estimation path: :func:`~delibpoll.proportion` / :func:`~delibpoll.mean`
by cohort, :func:`~delibpoll.contrast` for the differences, :func:`~delibpoll.banner` with
the cohort as a banner variable for letters, and :func:`~delibpoll.paired_change` /
:func:`~delibpoll.compare_tiers` for each cohort's deliberation effect. Part of
:mod:`delibpoll.deliberative`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._ci import t_quantile, two_sided_p
from .._coding import category_codes
from .._display import frame_html
from .._format import p_value
from .._multiplicity import adjust_pvalues
from .._records import (
    CalibrationRecord,
    GregRecord,
    PostStratRecord,
    RakingRecord,
    StepRecord,
    WeightingReport,
)
from .._stats import kish_deff
from .._types import Adjust, CIMethod, ItemKind, values
from .._validation import check_choice, check_level
from ..contrast import contrast
from ..design import SurveyDesign, check_design
from ..estimation import mean, proportion
from ..exceptions import DelibpollError
from ._common import conf_int_frame, frozen, item_kind, welch_df
from .paired import paired_change
from .tiers import compare_tiers

__all__ = [
    "CohortComparison",
    "CohortDeliberation",
    "CohortStack",
    "compare_cohorts",
    "compare_deliberation",
    "stack_cohorts",
]

#: The note every comparison between cohorts carries.
COHORT_NOTE = (
    "Cohorts are independent samples surveyed at different times on different topics: a "
    "difference between cohorts describes how answers differ, not what caused the difference."
)


# ====================================================================== stacking
@dataclass(frozen=True)
class _StackStep:
    """The stacked design's log entry: the cohorts' own weighting, kept per cohort (their
    calibration records, cohort by cohort, for the variance). Not replayable: a stacked
    design carries no replicate weights."""

    cohorts: tuple[str, ...]
    kinds: tuple[str, ...]

    @property
    def method(self) -> str:
        return "stack"

    @property
    def targets(self) -> None:
        return None

    @property
    def options(self) -> Mapping[str, Any]:
        return {"cohorts": self.cohorts, "calibration": self.kinds}

    @property
    def iterations(self) -> int:
        return 0

    @property
    def converged(self) -> bool:
        return True

    @property
    def max_error(self) -> float:
        return float("nan")

    @property
    def record(self) -> StepRecord:
        raise DelibpollError(
            "A stacked cohort design keeps each cohort's weighting as it was made; it cannot "
            "be replayed on replicate weights. Stack linearised designs (without_replicates())."
        )

    def apply(self, row_w: np.ndarray) -> np.ndarray:
        raise DelibpollError(
            "A stacked cohort design's weighting cannot be replayed; weight each cohort, then "
            "stack the weighted designs."
        )


def _kind(rec: CalibrationRecord) -> str:
    if isinstance(rec, RakingRecord):
        return f"raking on {len(rec.cell_codes)} margins"
    if isinstance(rec, PostStratRecord):
        return "post-stratification"
    return "calibration (GREG)"


def _merge(records: Sequence[CalibrationRecord]) -> CalibrationRecord:
    """One calibration record for the stacked rows: the cohorts' cells (and their margins'
    categories, or model columns) kept apart, so the variance adjusts each cohort for its own
    weighting only, exactly as R does for raking on cohort-by-variable margins."""
    first = records[0]
    if isinstance(first, PostStratRecord):
        ps = [r for r in records if isinstance(r, PostStratRecord)]
        offs = np.cumsum([0] + [r.n_cells for r in ps])
        return PostStratRecord(
            row_cell=np.concatenate([r.row_cell + o for r, o in zip(ps, offs, strict=False)]),
            n_cells=int(offs[-1]),
            old_w=np.concatenate([r.old_w for r in ps]),
            new_w=np.concatenate([r.new_w for r in ps]),
        )
    if isinstance(first, RakingRecord):
        rk = [r for r in records if isinstance(r, RakingRecord)]
        offs = np.cumsum([0] + [r.n_cells for r in rk])
        n_m = len(first.cell_codes)
        codes, n_cat = [], []
        for m in range(n_m):
            cat_offs = np.cumsum([0] + [r.n_categories[m] for r in rk])
            codes.append(np.concatenate([r.cell_codes[m] + o
                                         for r, o in zip(rk, cat_offs, strict=False)]))
            n_cat.append(int(cat_offs[-1]))
        return RakingRecord(
            row_cell=np.concatenate([r.row_cell + o for r, o in zip(rk, offs, strict=False)]),
            n_cells=int(offs[-1]),
            cell_codes=tuple(codes),
            n_categories=tuple(n_cat),
            cell_counts=np.concatenate([r.cell_counts for r in rk]),
            psw=np.concatenate([r.psw for r in rk]),
        )
    gr = [r for r in records if isinstance(r, GregRecord)]
    offs = np.cumsum([0] + [r.x.shape[0] for r in gr])
    cols = np.cumsum([0] + [r.x.shape[1] for r in gr])
    x = np.zeros((int(offs[-1]), int(cols[-1])))
    for r, o, c in zip(gr, offs, cols, strict=False):
        x[o:o + r.x.shape[0], c:c + r.x.shape[1]] = r.x  # block-diagonal: one model per cohort
    return GregRecord(
        row_cell=np.concatenate([r.row_cell + o for r, o in zip(gr, offs, strict=False)]),
        x=x,
        w0_cell=np.concatenate([r.w0_cell for r in gr]),
        g_cell=np.concatenate([r.g_cell for r in gr]),
        new_w=np.concatenate([r.new_w for r in gr]),
    )


def _check_same_weighting(designs: Mapping[str, SurveyDesign]) -> list[CalibrationRecord]:
    """The merged calibration records, after checking that every cohort was weighted the same
    way (the same kinds of calibration step, in the same order, raking on as many margins)."""
    names = list(designs)
    kinds = {k: [_kind(r) for r in d.calibration] for k, d in designs.items()}
    ref = kinds[names[0]]
    for k in names[1:]:
        if kinds[k] != ref:
            desc = "; ".join(f"'{c}': {', '.join(v) if v else 'no calibration'}"
                             for c, v in kinds.items())
            raise DelibpollError(
                f"stack_cohorts needs every cohort weighted the same way, so that the stacked "
                f"design keeps each cohort's weighting in its variance; the cohorts' weights do "
                f"not match ({desc}). Weight every cohort with the same steps (e.g. rake each "
                "to its margins on the same variables), or pass designs whose weights are "
                "taken as fixed (design.with_fixed_weights(design.weight_array)) in every cohort."
            )
    return [_merge([d.calibration[i] for d in designs.values()]) for i in range(len(ref))]


@dataclass(frozen=True)
class CohortStack:
    """Several cohorts' designs stacked as one (see :func:`stack_cohorts`).

    Attributes
    ----------
    design : SurveyDesign
        The stacked design: the cohorts' rows in the order given, the column ``column``
        naming each row's cohort, the cohort as an extra stratum level (each cohort's
        strata and PSUs its own) and each cohort's weighting kept for the variance.
    cohorts : tuple of str
        The cohorts' labels, in order.
    column : str
        The cohort column of ``design``.
    """

    design: SurveyDesign
    cohorts: tuple[str, ...]
    column: str
    _frame: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per cohort: ``cohort``, ``n`` (rows), ``weighted_n``, ``n_psu``,
        ``n_strata``, ``df`` (PSUs minus strata, R ``degf`` of the cohort's own design)."""
        return self._frame.copy()

    def __repr__(self) -> str:
        return (f"CohortStack({len(self.cohorts)} cohorts, n={self.design.n}, "
                f"df={self.design.df:g})\n" + self._frame.to_string(index=False))

    def _repr_html_(self) -> str:
        return frame_html(self._frame, caption=f"{len(self.cohorts)} cohorts stacked")


def _check_cohorts(designs: object, func: str, what: str = "cohorts") -> dict[str, SurveyDesign]:
    if not isinstance(designs, Mapping):
        raise DelibpollError(
            f"The '{what}' parameter of {func} must be a mapping of cohort labels to designs, "
            f"e.g. {{'Cohort 1': design1, 'Cohort 2': design2}}; got {type(designs).__name__}."
        )
    if len(designs) < 2:
        raise DelibpollError(
            f"{func} needs at least two cohorts to compare; got {len(designs)} "
            f"({list(designs)}). Add the other cohorts' designs to '{what}'."
        )
    out: dict[str, SurveyDesign] = {}
    for label, d in designs.items():
        if not isinstance(label, str) or not label:
            raise DelibpollError(
                f"Cohort labels in '{what}' of {func} must be non-empty text; got {label!r}."
            )
        out[label] = check_design(d, func)
    return out


def stack_cohorts(cohorts: Mapping[str, SurveyDesign], *, column: str = "cohort") -> CohortStack:
    """Stack independent cohorts' designs into one design, as R stacks them.

    Parameters
    ----------
    cohorts : mapping of str to SurveyDesign
        Each cohort's design (e.g. its raked Tier 3), labelled; at least two. Every cohort
        must be weighted the same way (the same kinds of calibration step in the same
        order), without replicate weights, and with the same lonely-PSU rule.
    column : str, default "cohort"
        Name of the cohort column added to the stacked data (a column no cohort has).

    Returns
    -------
    CohortStack

    Raises
    ------
    DelibpollError
        Fewer than two cohorts; a label that is not text; ``column`` already a column of a
        cohort; replicate weights, two-stage designs, mixed fpc or lonely-PSU rules; cohorts
        weighted in different ways.

    Notes
    -----
    R equivalent: ``rbind`` the cohorts' data with a cohort column, ``svydesign(ids=~psu,
    strata=~interaction(cohort, stratum), weights=~w0)``, and rake on the margins crossed
    with the cohort (``~cohort + sex``, ...): each margin's cells lie inside one cohort, so
    the weights and the calibration residuals are each cohort's own. The stacked design
    holds exactly that: the weights of every cohort as they are, its strata and PSUs coded
    apart, and one calibration record per step with the cohorts' cells kept apart. So
    estimates of different cohorts have covariance exactly 0 and the design df is the sum
    of the cohorts' (R ``degf`` of the stacked design). Columns are bound by name: a
    question one cohort did not ask is missing for its rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, stack_cohorts
    >>> a = SurveyDesign(pd.DataFrame({"q": ["yes", "no", "yes"]}))
    >>> b = SurveyDesign(pd.DataFrame({"q": ["no", "no", "yes", "yes"]}))
    >>> stack = stack_cohorts({"Cohort 1": a, "Cohort 2": b})
    >>> stack.design.n, stack.design.df
    (7, 5.0)
    """
    func = "stack_cohorts"
    designs = _check_cohorts(cohorts, func)
    if not isinstance(column, str) or not column:
        raise DelibpollError(f"The 'column' parameter of {func} must be a non-empty column name; got {column!r}.")
    lonely = {d.lonely_psu for d in designs.values()}
    for label, d in designs.items():
        if column in d.columns:
            raise DelibpollError(
                f"Cohort '{label}' already has a column '{column}'; pass another name as "
                f"column= (e.g. column='cohort_label')."
            )
        if d.replicates is not None:
            raise DelibpollError(
                f"Cohort '{label}' has replicate weights; {func} stacks linearised designs. "
                "Pass design.without_replicates() (the linearised variance accounts for the "
                "weighting)."
            )
        if d.structure.stage2 is not None:
            raise DelibpollError(
                f"Cohort '{label}' is a two-stage design with second-stage fpc; {func} stacks "
                "one-stage designs. Pass the first stage only (ids=psu)."
            )
    if len(lonely) > 1:
        raise DelibpollError(
            f"The cohorts use different lonely_psu rules ({sorted(lonely)}); give every cohort "
            "the same rule (design.with_lonely_psu(...))."
        )
    fpcs = {d.structure.has_fpc for d in designs.values()}
    if len(fpcs) > 1:
        raise DelibpollError(
            "Some cohorts have a finite population correction and some do not; stack designs "
            "that all have one or none."
        )
    merged = _check_same_weighting(designs)
    key = "\x1f"
    parts, rows = [], []
    for label, d in designs.items():
        st = d.structure
        df = d.data.reset_index(drop=True)
        extra = pd.DataFrame({
            column: label,
            f"{key}stratum": [f"{label}{key}{s}" for s in st.stratum],
            f"{key}psu": [f"{label}{key}{p}" for p in st.psu],
            f"{key}w0": d.base_weight_array if merged else d.weight_array,
        })
        if st.has_fpc:
            extra[f"{key}fpc"] = 1.0 - st.fpc_f[st.stratum]
        parts.append(pd.concat([df, extra], axis=1))
        rows.append({"cohort": label, "n": d.n, "weighted_n": float(d.weight_array.sum()),
                     "n_psu": st.n_psu, "n_strata": st.n_strata, "df": d.df})
    data = pd.concat(parts, ignore_index=True)
    data[column] = pd.Categorical(data[column], categories=list(designs))
    attrs: dict[Hashable, Any] = {}
    for d in designs.values():  # labels of the first cohort that has them win
        for k, v in d.attrs.items():
            if k == "missing_reasons":  # keyed by the cohort's own row labels
                continue
            if isinstance(v, Mapping) and isinstance(attrs.get(k), Mapping):
                attrs[k] = {**v, **attrs[k]}
            else:
                attrs.setdefault(k, v)
    data.attrs = attrs
    stacked = SurveyDesign(
        data, weights=f"{key}w0", strata=f"{key}stratum", ids=f"{key}psu",
        fpc=f"{key}fpc" if True in fpcs else None, lonely_psu=next(iter(lonely)),
    )
    if merged:
        w = np.concatenate([d.weight_array for d in designs.values()])
        step = _StackStep(cohorts=tuple(designs), kinds=tuple(_kind(r) for r in merged))
        deff = kish_deff(w)
        report = WeightingReport.of(
            pd.DataFrame(columns=["variable", "category", "n", "target_share", "unweighted_share",
                                  "weighted_share_before", "weighted_share_after", "error"]),
            w, method="stack", iterations=0, converged=True, max_margin_error=float("nan"),
            n=len(w), weight_sum=float(w.sum()), kish_deff=deff, kish_n_eff=len(w) / deff,
            weight_min=float(w.min()), weight_max=float(w.max()),
            weight_ratio=float(w.max() / w.min()),
        )
        for rec in merged:
            stacked = stacked.reweighted(w, step=step, report=report, record=rec, replicates=None)
    return CohortStack(design=stacked, cohorts=tuple(designs), column=column,
                       _frame=pd.DataFrame(rows))


# ====================================================================== comparisons
def _cohort_categories(answers: Mapping[str, pd.Series], question: str) -> list[Hashable]:
    """The one category set of a question asked in every cohort (``answers``: each cohort's
    column): declared categoricals must declare the same set (the first cohort's order),
    other columns must show the same answers; otherwise an error naming the cohorts and the
    categories that differ."""
    sets: dict[str, list[Hashable]] = {}
    for label, s in answers.items():
        sets[label] = (list(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype)
                       else list(category_codes(s.dropna())[1]))
    first_label = next(iter(sets))
    first = sets[first_label]
    for label, cats in sets.items():
        if set(cats) != set(first):
            only_a = [c for c in first if c not in cats]
            only_b = [c for c in cats if c not in first]
            raise DelibpollError(
                f"Question '{question}' has different categories in cohort '{first_label}' and "
                f"cohort '{label}': {only_a} only in '{first_label}', {only_b} only in "
                f"'{label}'. Recode the cohorts to the same categories (declare them with "
                "pd.Categorical(..., categories=[...]) in every cohort) before comparing."
            )
    return first


def _check_questions(questions: object, func: str) -> list[str]:
    qs = [questions] if isinstance(questions, str) else questions
    if not isinstance(qs, Sequence) or not qs or not all(isinstance(q, str) for q in qs):
        raise DelibpollError(
            f"The 'questions' parameter of {func} must be a column name or a non-empty list "
            f"of column names; got {questions!r}."
        )
    if len(set(qs)) != len(qs):
        raise DelibpollError(f"The 'questions' parameter of {func} names a question twice: {list(qs)}.")
    return list(qs)


def _check_asked(designs: Mapping[str, SurveyDesign], column: str, question: str, func: str) -> None:
    for label, d in designs.items():
        if column not in d.columns:
            what = f"'{column}'" + ("" if column == question else f" (question '{question}')")
            raise DelibpollError(
                f"{func}: {what} is not a column of cohort '{label}' (was it "
                f"asked there?). Compare only questions every cohort asked, or rename the "
                f"cohort's column. Cohort '{label}' has: {', '.join(map(str, d.columns[:30]))}"
                f"{' ...' if len(d.columns) > 30 else ''}."
            )
        if not d.column(column).notna().any():
            raise DelibpollError(
                f"{func}: '{column}' has no answers in cohort '{label}'; compare "
                "only questions every cohort asked."
            )


def _pairs(cohorts: Sequence[str]) -> list[tuple[str, str]]:
    """Every pair (earlier, later) of cohorts, in cohort order."""
    return [(a, b) for i, a in enumerate(cohorts) for b in cohorts[i + 1:]]


def _significance(frame: pd.DataFrame, adjust: str, sig_level: float) -> pd.DataFrame:
    p = frame["p_value"].to_numpy(dtype=float)
    ok = ~np.isnan(p)
    adj = np.full(len(p), np.nan)
    adj[ok] = adjust_pvalues(p[ok], adjust)
    frame["p_adjusted"] = adj
    frame["significant"] = adj < sig_level
    return frame


@dataclass(frozen=True)
class CohortComparison:
    """The same questions across cohorts (see :func:`compare_cohorts`).

    Attributes
    ----------
    questions : tuple of str
    cohorts : tuple of str
    level : float
    adjust : str
        The multiplicity adjustment over every difference of the result.
    sig_level : float
    df : float
        The degrees of freedom of the differences: the stacked design's (the cohorts'
        summed).
    note : str
    """

    questions: tuple[str, ...]
    cohorts: tuple[str, ...]
    level: float
    adjust: str
    sig_level: float
    df: float
    note: str
    _estimates: pd.DataFrame = field(repr=False)
    _differences: pd.DataFrame = field(repr=False)
    _attrs: Mapping[Hashable, Any] = field(repr=False, default_factory=dict)

    @property
    def attrs(self) -> Mapping[Hashable, Any]:
        """The stacked data's file metadata (variable and value labels, the first cohort's
        where cohorts differ), which charts use for their words."""
        return self._attrs

    def estimates(self) -> pd.DataFrame:
        """One row per question, cohort and category (the mean for a numeric question):
        ``question``, ``cohort``, ``category``, ``estimate``, ``se``, ``ci_lower``,
        ``ci_upper``, ``df``, ``n``."""
        return self._estimates.copy()

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Confidence intervals of the differences at ``level`` (default: the result's,
        giving exactly ``ci_lower``/``ci_upper`` of :meth:`to_frame`): ``difference -/+
        t(level, df) se``, in the rows' order; not adjusted for multiplicity.

        Parameters
        ----------
        level : float, optional
            Confidence level in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Columns ``ci_lower``, ``ci_upper``.
        """
        return conf_int_frame(self._differences, "difference",
                              self.level if level is None else level, "CohortComparison.conf_int")

    def to_frame(self) -> pd.DataFrame:
        """The differences between cohorts, one row per question, category and pair of
        cohorts (later minus earlier): ``question``, ``category``, ``cohort_a``, ``cohort_b``,
        ``comparison`` (e.g. "Cohort 2 - Cohort 1"), ``estimate_a``, ``estimate_b``,
        ``difference``, ``se``, ``ci_lower``, ``ci_upper``, ``df``, ``t``, ``p_value``,
        ``p_adjusted``, ``significant``."""
        return self._differences.copy()

    def __repr__(self) -> str:
        cols = ["question", "category", "comparison", "difference", "ci_lower", "ci_upper",
                "p_value", "p_adjusted"]
        return (f"CohortComparison({len(self.questions)} questions, cohorts "
                f"{', '.join(self.cohorts)}; {self.adjust}, df={self.df:g})\n{self.note}\n"
                + self._differences[cols].to_string(index=False))

    def _repr_html_(self) -> str:
        fr = self._differences
        return frame_html(fr, caption=f"Differences between cohorts ({self.adjust}). {self.note}",
                          formats={c: p_value for c in ("p_value", "p_adjusted")})


def compare_cohorts(
    cohorts: CohortStack | Mapping[str, SurveyDesign],
    questions: str | Sequence[str],
    *,
    categories: Mapping[str, Hashable] | None = None,
    adjust: Adjust = "holm",
    sig_level: float = 0.05,
    level: float = 0.95,
    ci_method: CIMethod = "logit",
    kind: Mapping[str, ItemKind] | None = None,
) -> CohortComparison:
    """The same questions across cohorts: each cohort's estimates and the differences between
    cohorts with design-based SEs, CIs, p-values and multiplicity control.

    Parameters
    ----------
    cohorts : CohortStack or mapping of str to SurveyDesign
        Stacked cohorts (:func:`stack_cohorts`), or the cohorts' designs (stacked here).
    questions : str or list of str
        Questions every cohort asked (columns of the same name, with the same categories).
    categories : mapping, optional
        ``{question: category}``: test only this category of a categorical question (e.g.
        the headline answer); by default every category is compared.
    adjust : {"holm", "bonferroni", "fdr_bh", "none"}, default "holm"
        Multiplicity adjustment over every difference in the result (all questions,
        categories and pairs of cohorts).
    sig_level : float, default 0.05
        Level of the ``significant`` column (adjusted p-values below it).
    level : float, default 0.95
    ci_method : str, default "logit"
        Interval of each cohort's shares (as :func:`~delibpoll.proportion`).
    kind : mapping, optional
        ``{question: "categorical" | "numeric"}`` where the inferred kind is not wanted.

    Returns
    -------
    CohortComparison

    Raises
    ------
    DelibpollError
        Fewer than two cohorts; a question missing (or unanswered) in a cohort; categories
        that differ between cohorts; a category not among a question's; a bad option.

    Notes
    -----
    Each cohort's shares (or mean) come from :func:`~delibpoll.proportion` (or
    :func:`~delibpoll.mean`) with ``by=`` the cohort on the stacked design, missing answers
    left out; their joint covariance is block-diagonal (the cohorts are independent, so
    estimates of different cohorts have covariance 0). A difference ``d = p_b - p_a`` is a
    :func:`~delibpoll.contrast` (R ``svycontrast`` after ``svyby``): ``se = sqrt(se_a^2 +
    se_b^2)``, ``t = d / se``, two-sided p on the stacked design's df (the sum of the cohorts'
    PSUs minus strata), CI ``d -/+ t_{df} se``. Adjusted p-values as R ``p.adjust``.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, compare_cohorts
    >>> a = SurveyDesign(pd.DataFrame({"y": [1.0, 2.0, 3.0]}))
    >>> b = SurveyDesign(pd.DataFrame({"y": [2.0, 3.0, 4.0, 7.0]}))
    >>> res = compare_cohorts({"C1": a, "C2": b}, "y")
    >>> float(res.to_frame()["difference"].iloc[0])
    2.0
    """
    func = "compare_cohorts"
    qs = _check_questions(questions, func)
    if isinstance(cohorts, CohortStack):
        stack = cohorts
    else:
        designs = _check_cohorts(cohorts, func)
        for q in qs:
            _check_asked(designs, q, q, func)
        stack = stack_cohorts(designs)
    level = check_level(level, func)
    check_choice(adjust, "adjust", func, values(Adjust))
    check_choice(ci_method, "ci_method", func, values(CIMethod))
    if not (isinstance(sig_level, float | int) and 0 < sig_level < 1):
        raise DelibpollError(f"The 'sig_level' parameter of {func} must be a number in (0, 1); got {sig_level!r}.")
    cats_wanted = dict(categories or {})
    for q in cats_wanted:
        if q not in qs:
            raise DelibpollError(
                f"The 'categories' parameter of {func} names '{q}', which is not one of the "
                f"questions {qs}."
            )
    kinds = dict(kind or {})
    des, col = stack.design, stack.column
    per = {c: des.column(col) == c for c in stack.cohorts}
    est_rows: list[pd.DataFrame] = []
    diff_rows: list[dict[str, Any]] = []
    dof = des.df
    for q in qs:
        if q not in des.columns:
            raise DelibpollError(
                f"{func}: question '{q}' is not a column of the stacked cohorts "
                f"{list(stack.cohorts)}; compare only questions every cohort asked."
            )
        s = des.column(q)
        for c in stack.cohorts:
            if not s[per[c].to_numpy()].notna().any():
                raise DelibpollError(
                    f"{func}: question '{q}' has no answers in cohort '{c}' (was it asked "
                    "there?). Compare only questions every cohort asked."
                )
        by_cohort = [s[per[c].to_numpy()] for c in stack.cohorts]
        k = item_kind(by_cohort, kinds.get(q))
        if k == "categorical":
            cats = _cohort_categories(dict(zip(stack.cohorts, by_cohort, strict=True)), q)
            work = des.with_columns({q: pd.Series(pd.Categorical(s.astype(object).where(s.notna(), None),
                                                                 categories=cats), index=s.index)})
            est = proportion(work, q, by=col, level=level, ci_method=ci_method, na="drop")
            tested = cats
            if q in cats_wanted:
                if cats_wanted[q] not in cats:
                    raise DelibpollError(
                        f"The 'categories' parameter of {func} names {cats_wanted[q]!r} for "
                        f"'{q}', which is not one of its categories {cats}."
                    )
                tested = [cats_wanted[q]]
        else:
            if q in cats_wanted:
                raise DelibpollError(
                    f"The 'categories' parameter of {func} names a category for '{q}', a "
                    "numeric question (its mean is compared); remove it."
                )
            num = pd.to_numeric(s, errors="coerce")
            est = mean(des.with_columns({q: num}), q, by=col, level=level, na="drop")
            tested = [None]
        fr = est.to_frame()
        fr = fr.rename(columns={col: "cohort"})
        if "category" not in fr:
            fr["category"] = None
        fr.insert(0, "question", q)
        est_rows.append(fr[["question", "cohort", "category", "estimate", "se", "ci_lower",
                            "ci_upper", "df", "n"]])
        coefs: dict[str, dict[Hashable, float]] = {}
        meta: list[tuple[Any, str, str]] = []
        for cat in tested:
            for a, b in _pairs(stack.cohorts):
                ka = a if cat is None else (a, cat)
                kb = b if cat is None else (b, cat)
                coefs[f"{len(coefs)}"] = {kb: 1.0, ka: -1.0}
                meta.append((cat, a, b))
        con = contrast(est, coefs, level=level, df=dof).to_frame()
        for (cat, a, b), (_, r) in zip(meta, con.iterrows(), strict=True):
            ea = est.estimate_of(a if cat is None else (a, cat))
            eb = est.estimate_of(b if cat is None else (b, cat))
            diff_rows.append({
                "question": q, "category": cat, "cohort_a": a, "cohort_b": b,
                "comparison": f"{b} - {a}", "estimate_a": ea, "estimate_b": eb,
                "difference": float(r["estimate"]), "se": float(r["se"]),
                "ci_lower": float(r["ci_lower"]), "ci_upper": float(r["ci_upper"]),
                "df": dof, "t": float(r["t"]), "p_value": float(r["p_value"]),
            })
    diffs = _significance(pd.DataFrame(diff_rows), adjust, float(sig_level))
    return CohortComparison(
        questions=tuple(qs), cohorts=stack.cohorts, level=level, adjust=adjust,
        sig_level=float(sig_level), df=dof, note=COHORT_NOTE,
        _estimates=pd.concat(est_rows, ignore_index=True), _differences=diffs,
        _attrs=frozen(dict(des.attrs)),
    )


# ====================================================================== deliberation effects
@dataclass(frozen=True)
class CohortDeliberation:
    """Deliberation effects compared between cohorts (see :func:`compare_deliberation`).

    Attributes
    ----------
    questions : tuple of str
    cohorts : tuple of str
    level : float
    adjust : str
    sig_level : float
    df : float
        Degrees of freedom of the differences in change: the sum of the cohorts' Tier 1
        design df (the stacked Tier 1 design's).
    note : str
    """

    questions: tuple[str, ...]
    cohorts: tuple[str, ...]
    level: float
    adjust: str
    sig_level: float
    df: float
    note: str
    _changes: pd.DataFrame = field(repr=False)
    _differences: pd.DataFrame = field(repr=False)
    _gaps: pd.DataFrame = field(repr=False)
    _gap_differences: pd.DataFrame = field(repr=False)

    def changes(self) -> pd.DataFrame:
        """Each cohort's Tier 1 change (from :func:`~delibpoll.paired_change`): ``question``,
        ``cohort``, ``category``, ``before``, ``after``, ``change``, ``se``, ``ci_lower``,
        ``ci_upper``, ``df``, ``p_value``, ``n_pairs``."""
        return self._changes.copy()

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Confidence intervals of the differences in change at ``level`` (default: the
        result's, giving exactly ``ci_lower``/``ci_upper`` of :meth:`to_frame`), in the rows'
        order; not adjusted for multiplicity.

        Parameters
        ----------
        level : float, optional
            Confidence level in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Columns ``ci_lower``, ``ci_upper``.
        """
        return conf_int_frame(self._differences, "difference",
                              self.level if level is None else level, "CohortDeliberation.conf_int")

    def to_frame(self) -> pd.DataFrame:
        """Differences in change between cohorts (later minus earlier): ``question``,
        ``category``, ``cohort_a``, ``cohort_b``, ``comparison``, ``change_a``, ``change_b``,
        ``difference``, ``se``, ``ci_lower``, ``ci_upper``, ``df``, ``t``, ``p_value``,
        ``p_adjusted``, ``significant``."""
        return self._differences.copy()

    def gaps(self) -> pd.DataFrame:
        """With ``tier3``: each cohort's Tier 1 after minus Tier 3 gap (from
        :func:`~delibpoll.compare_tiers`): ``question``, ``cohort``, ``category``,
        ``informed``, ``uninformed``, ``gap``, ``se``, ``df``, ``ci_lower``, ``ci_upper``,
        ``p_value``; empty without."""
        return self._gaps.copy()

    def gap_differences(self) -> pd.DataFrame:
        """With ``tier3``: the differences of the gaps between cohorts, columns as
        :meth:`to_frame` (``gap_a``, ``gap_b`` for the changes; Welch-Satterthwaite df);
        empty without."""
        return self._gap_differences.copy()

    def __repr__(self) -> str:
        cols = ["question", "category", "comparison", "difference", "ci_lower", "ci_upper",
                "p_value", "p_adjusted"]
        return (f"CohortDeliberation({len(self.questions)} questions, cohorts "
                f"{', '.join(self.cohorts)}; {self.adjust})\n{self.note}\n"
                + self._differences[cols].to_string(index=False))

    def _repr_html_(self) -> str:
        return frame_html(self._differences,
                          caption=f"Differences in deliberation change between cohorts "
                                  f"({self.adjust}). {self.note}",
                          formats={c: p_value for c in ("p_value", "p_adjusted")})


def _difference_rows(
    frames: Mapping[str, pd.DataFrame], question: str, value: str, names: tuple[str, str],
    cohorts: Sequence[str], level: float, df_of: Any,
) -> list[dict[str, Any]]:
    """``b - a`` of each category's ``value`` for every pair of cohorts, independent
    samples: ``se = sqrt(se_a^2 + se_b^2)``, t on ``df_of(row_a, row_b)``."""
    rows: list[dict[str, Any]] = []
    first = frames[cohorts[0]]
    for i in range(len(first)):
        cat = first["category"].iloc[i]
        for a, b in _pairs(cohorts):
            ra, rb = frames[a].iloc[i], frames[b].iloc[i]
            d = float(rb[value] - ra[value])
            se = float(np.hypot(ra["se"], rb["se"]))
            dfr = float(df_of(ra, rb))
            q = t_quantile(level, dfr)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = d / se if se > 0 else float("nan")
            p = float(two_sided_p(np.array([t]), dfr)[0]) if se > 0 else float("nan")
            rows.append({"question": question, "category": cat, "cohort_a": a, "cohort_b": b,
                         "comparison": f"{b} - {a}", names[0]: float(ra[value]),
                         names[1]: float(rb[value]), "difference": d, "se": se,
                         "ci_lower": d - q * se, "ci_upper": d + q * se, "df": dfr, "t": t,
                         "p_value": p})
    return rows


def compare_deliberation(
    tier1: Mapping[str, SurveyDesign],
    questions: Mapping[str, tuple[str, str]],
    *,
    tier3: Mapping[str, SurveyDesign] | None = None,
    categories: Mapping[str, Hashable] | None = None,
    adjust: Adjust = "holm",
    sig_level: float = 0.05,
    level: float = 0.95,
) -> CohortDeliberation:
    """The difference in deliberation effects between cohorts: Tier 1's paired change in one
    cohort minus another's, and (with ``tier3``) the difference of the Tier 1 - Tier 3 gaps.

    Parameters
    ----------
    tier1 : mapping of str to SurveyDesign
        Each cohort's Tier 1 design (clustered by discussion group where known); at least
        two cohorts.
    questions : mapping
        ``{question: (before, after)}``: each question's Tier 1 columns, the same names in
        every cohort. The question name is Tier 3's column (used with ``tier3``).
    tier3 : mapping of str to SurveyDesign, optional
        Each cohort's weighted Tier 3 design (the same cohorts): adds each cohort's gap
        between Tier 1 after deliberation and Tier 3 (:func:`~delibpoll.compare_tiers`) and
        the differences of the gaps.
    categories : mapping, optional
        ``{question: category}``: compare only this category (default every category).
    adjust : {"holm", "bonferroni", "fdr_bh", "none"}, default "holm"
        Multiplicity adjustment over the differences in change (and, separately, over the
        differences of the gaps).
    sig_level, level : float

    Returns
    -------
    CohortDeliberation

    Raises
    ------
    DelibpollError
        Fewer than two cohorts; ``tier3`` naming other cohorts; a question's columns missing
        in a cohort; categories that differ between cohorts.

    Notes
    -----
    Each cohort's change is :func:`~delibpoll.paired_change` on its own Tier 1 design (the
    one paired-change path: per-person differences, clustered SEs). The cohorts are
    independent samples, so ``D = c_b - c_a`` has ``se = sqrt(se_a^2 + se_b^2)`` (R: the
    cohorts' Tier 1 stacked with the cohort as stratum, ``svyby`` of the per-person change
    and ``svycontrast``), with t on the summed df of the cohorts' Tier 1 designs. The gaps
    are :func:`~delibpoll.compare_tiers`'s differences (Welch-Satterthwaite df); their
    difference has ``se = sqrt(se_a^2 + se_b^2)`` and Welch-Satterthwaite df from the two
    gaps'. Descriptive: Tier 1 is not randomly assigned, and cohorts differ in topic, time
    and who took part.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, compare_deliberation
    >>> a = SurveyDesign(pd.DataFrame({"pre": [1.0, 2, 3, 4], "post": [2.0, 3, 4, 6]}))
    >>> b = SurveyDesign(pd.DataFrame({"pre": [1.0, 2, 3, 4], "post": [1.0, 3, 3, 5]}))
    >>> res = compare_deliberation({"C1": a, "C2": b}, {"y": ("pre", "post")})
    >>> float(res.to_frame()["difference"].iloc[0])
    -0.75
    """
    func = "compare_deliberation"
    t1 = _check_cohorts(tier1, func, "tier1")
    labels = tuple(t1)
    t3 = None
    if tier3 is not None:
        t3 = _check_cohorts(tier3, func, "tier3")
        if tuple(t3) != labels:
            raise DelibpollError(
                f"The 'tier3' parameter of {func} must name the same cohorts as 'tier1', in "
                f"the same order: {list(labels)}; got {list(t3)}."
            )
    level = check_level(level, func)
    check_choice(adjust, "adjust", func, values(Adjust))
    if not (isinstance(sig_level, float | int) and 0 < sig_level < 1):
        raise DelibpollError(f"The 'sig_level' parameter of {func} must be a number in (0, 1); got {sig_level!r}.")
    if not isinstance(questions, Mapping) or not questions:
        raise DelibpollError(
            f"The 'questions' parameter of {func} must be a non-empty mapping "
            "{question: (before, after)}, e.g. {'q_pact': ('q_pact_pre', 'q_pact_post')}."
        )
    cats_wanted = dict(categories or {})
    changes, diffs, gaps, gap_diffs = [], [], [], []
    dof = float(sum(d.df for d in t1.values()))
    for q, pair in questions.items():
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise DelibpollError(
                f"The 'questions' parameter of {func} must map '{q}' to (before, after) "
                f"columns; got {pair!r}."
            )
        before, after = pair
        for col in (before, after):
            _check_asked(t1, col, q, func)
        kind_q = item_kind([d.column(before) for d in t1.values()], None)
        if kind_q == "categorical":
            cats = _cohort_categories({c: d.column(before) for c, d in t1.items()}, q)
            _cohort_categories({c: d.column(after) for c, d in t1.items()}, q)
        per: dict[str, pd.DataFrame] = {}
        for c, d in t1.items():
            pc = paired_change(d, before, after, level=level, kind=kind_q)
            fr = pc.to_frame()
            if "category" not in fr:
                fr["category"] = None
            if kind_q == "categorical":
                fr = fr.set_index("category").reindex(cats).reset_index()
            if q in cats_wanted:
                if cats_wanted[q] not in set(fr["category"]):
                    raise DelibpollError(
                        f"The 'categories' parameter of {func} names {cats_wanted[q]!r} for "
                        f"'{q}', which is not one of its categories {list(fr['category'])}."
                    )
                fr = fr[fr["category"] == cats_wanted[q]].reset_index(drop=True)
            per[c] = fr
            out = fr[["category", "before", "after", "change", "se", "ci_lower", "ci_upper",
                      "df", "p_value", "n_pairs"]].copy()
            out.insert(0, "cohort", c)
            out.insert(0, "question", q)
            changes.append(out)
        q_df = float(sum(per[c]["df"].iloc[0] for c in labels))
        diffs += _difference_rows(per, q, "change", ("change_a", "change_b"), labels, level,
                                  lambda _ra, _rb, v=q_df: v)
        if t3 is not None:
            per_gap: dict[str, pd.DataFrame] = {}
            for c in labels:
                if q not in t3[c].columns:
                    raise DelibpollError(
                        f"{func}: question '{q}' is not a column of cohort '{c}''s Tier 3 "
                        "design; name each question by its Tier 3 column."
                    )
                tc = compare_tiers(t1[c], t3[c], q, before=before, after=after, level=level,
                                   kind=kind_q)
                fr = tc.to_frame()
                if kind_q == "categorical":
                    fr = fr.set_index("category").reindex(per[c]["category"]).reset_index()
                fr = fr.rename(columns={"difference": "gap"})
                per_gap[c] = fr
                out = fr[["category", "informed", "uninformed", "gap", "se", "df", "ci_lower",
                          "ci_upper", "p_value"]].copy()
                out.insert(0, "cohort", c)
                out.insert(0, "question", q)
                gaps.append(out)
            gap_diffs += _difference_rows(
                per_gap, q, "gap", ("gap_a", "gap_b"), labels, level,
                lambda ra, rb: welch_df(np.array([ra["se"] ** 2]), float(ra["df"]),
                                        np.array([rb["se"] ** 2]), float(rb["df"]))[0])
    diff_frame = _significance(pd.DataFrame(diffs), adjust, float(sig_level))
    gap_frame = (_significance(pd.DataFrame(gap_diffs), adjust, float(sig_level))
                 if gap_diffs else pd.DataFrame())
    note = ("Descriptive, non-randomised comparison: Tier 1 participants were not randomly "
            "assigned to deliberate, and cohorts differ in topic, time and who took part; a "
            "difference in change between cohorts describes, it does not explain.")
    return CohortDeliberation(
        questions=tuple(questions), cohorts=labels, level=level, adjust=adjust,
        sig_level=float(sig_level), df=dof, note=note,
        _changes=pd.concat(changes, ignore_index=True), _differences=diff_frame,
        _gaps=pd.concat(gaps, ignore_index=True) if gaps else pd.DataFrame(),
        _gap_differences=gap_frame,
    )
