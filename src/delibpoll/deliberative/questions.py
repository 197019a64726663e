"""Many questions at once: :func:`compare_questions` with one test per question in the
multiplicity family, and the :func:`minimum_detectable_difference` (inference layer).

Part of :mod:`delibpoll.deliberative`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from .._display import frame_html, readable_number
from .._format import p_value
from .._multiplicity import adjust_pvalues
from .._types import Adjust, CIMethod, TierAdjustment, values
from .._validation import check_choice
from ..design import SurveyDesign
from ..exceptions import DelibpollError
from ._common import NOTE, adjusted_wald, minimum_detectable_difference
from .tiers import TierComparison, compare_tiers

__all__ = ["QuestionComparison", "compare_questions", "minimum_detectable_difference"]


@dataclass(frozen=True)
class QuestionComparison:
    """Tier comparisons for many questions with multiplicity control."""

    adjust: str
    alpha: float
    n_tests: int
    n_significant: int
    expected_false_positives: float
    note: str
    comparisons: Mapping[str, TierComparison]
    _frame: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per question and category: ``question``, the :func:`compare_tiers`
        columns, ``tested`` (whether the row is the question's test in the family),
        ``p_value_question``, ``p_adjusted``, ``significant``."""
        return self._frame.copy()

    def _repr_html_(self) -> str:
        """The family of comparisons in fixed notation, p-values as "<0.001"."""
        cap = (f"{self.n_tests} tests ({self.adjust}): {self.n_significant} significant at "
               f"{readable_number(self.alpha)}. {self.note}")
        cols = [c for c in ("question", "category", "informed_before", "informed", "uninformed",
                            "difference", "ci_lower", "ci_upper", "p_adjusted", "significant",
                            "mdd") if c in self._frame]
        return frame_html(self._frame[cols], caption=cap, formats={"p_adjusted": p_value})

    def __repr__(self) -> str:
        return (
            f"QuestionComparison({self.n_tests} tests, {self.adjust}: {self.n_significant} "
            f"significant; {self.expected_false_positives:.2f} expected by chance at "
            f"alpha={self.alpha} without adjustment)\n{self.note}"
        )


def _omnibus(comp: TierComparison) -> float:
    """Adjusted Wald F test (:func:`adjusted_wald`) that the whole distribution is the same
    in both tiers: the first k - 1 share differences, covariance ``V_1 + V_3``, design df the
    Satterthwaite df of the summed covariance's trace,
    ``(tr V_1 + tr V_3)^2 / (tr(V_1)^2 / df_1 + tr(V_3)^2 / df_3)`` (for two categories the
    Welch df of the row's t test, so the F test is that t test squared)."""
    fr = comp.to_frame()
    d = fr["difference"].to_numpy(dtype=float)
    if len(d) < 2:
        return float(fr["p_value"].iloc[0])
    v1, v3 = comp.vcov["informed"], comp.vcov["uninformed"]
    df1, df3 = comp.tier_df
    tr1, tr3 = float(np.trace(v1)), float(np.trace(v3))
    with np.errstate(divide="ignore", invalid="ignore"):
        nu = (tr1 + tr3) ** 2 / (tr1**2 / df1 + tr3**2 / df3)
    v = v1 + v3
    return adjusted_wald(d[:-1], v[:-1, :-1], float(nu)).p_value


def compare_questions(
    informed: SurveyDesign,
    uninformed: SurveyDesign,
    questions: Sequence[str] | Mapping[str, tuple[str | None, str]],
    *,
    adjust: Adjust = "holm",
    categories: Mapping[str, Hashable] | None = None,
    equivalence_margin: float | None = None,
    adjust_for: Sequence[str] | None = None,
    method: TierAdjustment = "raking",
    balance_threshold: float = 0.1,
    alpha: float = 0.05,
    level: float = 0.95,
    ci_method: CIMethod = "logit",
) -> QuestionComparison:
    """Compare the tiers on many questions with one test per question in the multiplicity
    family.

    Parameters
    ----------
    questions : list or mapping
        Tier 3 question names (Tier 1's post-deliberation columns named the same), or
        ``{question: (before, after)}`` with Tier 1's column names.
    adjust : {"holm", "bonferroni", "fdr_bh", "none"}
        Multiplicity adjustment over the family (the numbers of statsmodels ``multipletests``
        with the same method name).
    categories : mapping, optional
        ``{question: category}``: the category whose difference is the question's test.
        Binary items use category 1 / "Yes" when none is declared; other questions use an
        omnibus design-based Wald test that the whole distribution is the same in both
        tiers (``p_value_question``): R's adjusted Wald F (``svychisq`` ``"adjWald"``) on
        k - 1 and ``nu - k + 2`` df, ``nu`` the Satterthwaite df of the two tiers' summed
        covariance (dominated by Tier 1's few discussion groups). Numeric items use the difference in
        means.
    adjust_for, method, balance_threshold, equivalence_margin, level, ci_method
        As in :func:`~delibpoll.compare_tiers`, for every question.
    """
    check_choice(adjust, "adjust", "compare_questions", values(Adjust))
    items: list[tuple[str, str | None, str]]
    if isinstance(questions, Mapping):
        items = [(q, ba[0], ba[1]) for q, ba in questions.items()]
    else:
        items = [(q, None, q) for q in questions]
    if not items:
        raise DelibpollError("compare_questions needs at least one question.")
    cats = dict(categories or {})
    comps: dict[str, TierComparison] = {}
    frames = []
    pvals = []
    for q, before, after in items:
        comp = compare_tiers(
            informed, uninformed, q, before=before, after=after, adjust_for=adjust_for,
            method=method, balance_threshold=balance_threshold, equivalence_margin=equivalence_margin, level=level, ci_method=ci_method,
        )
        comps[q] = comp
        fr = comp.to_frame()
        fr.insert(0, "question", q)
        tested = np.zeros(len(fr), dtype=bool)
        declared = cats.get(q)
        if comp.kind == "numeric":
            p_q = float(fr["p_value"].iloc[0])
            tested[0] = True
        else:
            labels = list(fr["category"])
            if declared is None and len(labels) == 2:
                for cand in (1, "1", "Yes", "yes", True):
                    if cand in labels:
                        declared = cand
                        break
            if declared is not None:
                if declared not in labels:
                    raise DelibpollError(
                        f"Declared category {declared!r} of '{q}' is not among its categories {labels}."
                    )
                i = labels.index(declared)
                p_q = float(fr["p_value"].iloc[i])
                tested[i] = True
            else:
                p_q = _omnibus(comp)
                tested[:] = True
        fr["tested"] = tested
        fr["p_value_question"] = p_q
        pvals.append(p_q)
        frames.append(fr)
    pv = np.array(pvals)
    if adjust == "none":
        padj = pv
    else:
        padj = adjust_pvalues(np.nan_to_num(pv, nan=1.0), adjust)
    for fr, pa in zip(frames, padj, strict=True):
        fr["p_adjusted"] = np.where(fr["tested"], pa, np.nan)
        fr["significant"] = fr["tested"] & (fr["p_adjusted"] < alpha)
    frame = pd.concat(frames, ignore_index=True)
    n_sig = int(np.sum(padj < alpha))
    return QuestionComparison(
        adjust=adjust,
        alpha=alpha,
        n_tests=len(pv),
        n_significant=n_sig,
        expected_false_positives=len(pv) * alpha,
        note=NOTE,
        comparisons=MappingProxyType(dict(comps)),
        _frame=frame,
    )
