"""Deliberative-poll comparisons: the same people before and after deliberation, and the
informed (Tier 1) against the uninformed public (Tier 3) (inference layer).

Every comparison between tiers here is *descriptive and non-randomised*: Tier 1 is a small,
self-selected group, so a gap between tiers mixes the effect of deliberation with who took
part. The functions separate the two as far as the data allow (before/after decomposition,
composition adjustment) and never call a non-significant gap "agreement": agreement is only
claimed through an equivalence test against a stated margin.

Modules: :mod:`.paired` (:func:`paired_change`), :mod:`.tiers` (:func:`compare_tiers`, the
composition adjustment), :mod:`.questions` (:func:`compare_questions`,
:func:`minimum_detectable_difference`), :mod:`.representativeness`
(:func:`representativeness`), :mod:`.cohorts` (:func:`stack_cohorts`,
:func:`compare_cohorts`, :func:`compare_deliberation`: tracking across cohorts); what they share is in :mod:`._common`.
"""

from __future__ import annotations

from ._common import WaldTest, adjusted_wald
from .attrition import Attrition, AttritionWarning, attrition
from .balance import Balance, balance
from .cohorts import (
    CohortComparison,
    CohortDeliberation,
    CohortStack,
    compare_cohorts,
    compare_deliberation,
    stack_cohorts,
)
from .control import DifferenceInDifferences, difference_in_differences, possible_comparisons
from .dynamics import GroupDynamics, group_dynamics, icc1
from .knowledge import Knowledge, Learning, cronbach_alpha, knowledge, learning
from .paired import PairedChange, paired_change
from .questions import QuestionComparison, compare_questions, minimum_detectable_difference
from .representativeness import Representativeness, representativeness
from .tiers import TierComparison, compare_tiers

__all__ = [
    "CohortComparison",
    "CohortDeliberation",
    "CohortStack",
    "compare_cohorts",
    "compare_deliberation",
    "stack_cohorts",
    "Balance",
    "balance",
    "DifferenceInDifferences",
    "difference_in_differences",
    "possible_comparisons",
    "Attrition",
    "AttritionWarning",
    "attrition",
    "GroupDynamics",
    "group_dynamics",
    "icc1",
    "Knowledge",
    "Learning",
    "cronbach_alpha",
    "knowledge",
    "learning",
    "PairedChange",
    "QuestionComparison",
    "Representativeness",
    "TierComparison",
    "WaldTest",
    "adjusted_wald",
    "compare_questions",
    "compare_tiers",
    "minimum_detectable_difference",
    "paired_change",
    "representativeness",
]
