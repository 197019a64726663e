"""The package's option vocabularies, each defined once (base layer).

Every keyword option that takes one of a fixed set of words is typed with one of these
``Literal`` types, and validated against the tuple of its values derived from it (``values``),
so that the type, the check and the error message can never disagree.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

__all__ = [
    "Adjust",
    "CIMethod",
    "CalFun",
    "ChisqStatistic",
    "GLMCIMethod",
    "GLMFamily",
    "PredictType",
    "ItemKind",
    "LonelyPSU",
    "MeanOrTotal",
    "NumberKind",
    "NaPolicy",
    "OnNonconvergence",
    "ProblemKind",
    "QuantileCI",
    "QuantileRule",
    "Redistribute",
    "ReplicateMethod",
    "ReplicateType",
    "Statistic",
    "TableLayout",
    "TargetKind",
    "TierPlotKind",
    "TierVariance",
    "TierAdjustment",
    "Unmatched",
    "UserMissing",
    "WeightingMethod",
    "values",
]

#: Proportion confidence intervals (R ``svyciprop`` methods, plus Wilson).
CIMethod = Literal["logit", "likelihood", "asin", "beta", "mean", "xlogit", "wilson"]
#: Multiplicity adjustment of a family of p-values.
Adjust = Literal["none", "holm", "bonferroni", "fdr_bh"]
#: Single-PSU strata in variance estimation (R ``options(survey.lonely.psu=)``).
LonelyPSU = Literal["fail", "remove", "adjust", "average", "certainty"]
#: Missing answers of an estimated variable.
NaPolicy = Literal["error", "drop"]
#: What an estimate is.
Statistic = Literal["proportion", "mean", "total", "ratio", "variance"]
#: Categories in the data that have no target.
Unmatched = Literal["error", "keep"]
#: Calibration distance functions (R ``calfun``).
CalFun = Literal["linear", "raking", "logit"]
#: What a weighting function does when it cannot meet its targets.
OnNonconvergence = Literal["error", "warn"]
#: How trimmed weight is given back to the other rows.
Redistribute = Literal["additive", "proportional"]
#: Replicate weights delibpoll can build (``SurveyDesign.with_replicates``).
ReplicateMethod = Literal["jk1", "jkn", "bootstrap", "subbootstrap", "brr", "fay"]
#: How supplied replicate weights were made (R ``svrepdesign(type=)``).
ReplicateType = Literal[
    "bootstrap", "subbootstrap", "jk1", "jkn", "brr", "fay", "successive-difference", "acs",
    "jk2", "other",
]
#: How a population target is written.
TargetKind = Literal["share", "percent", "count"]
#: Statistic of ``chisq_test`` (R ``svychisq``): Rao-Scott ``F`` and ``Chisq``, the design-based
#: Wald tests ``Wald`` and ``adjWald``, and the saddlepoint p-value of Pearson's X^2.
ChisqStatistic = Literal["F", "Chisq", "Wald", "adjWald", "saddlepoint"]
#: A deliberative item: categories or a score.
ItemKind = Literal["categorical", "numeric"]
#: Variance of the composition-adjusted gap.
TierVariance = Literal["fixed", "bootstrap"]
#: How ``compare_tiers`` adjusts Tier 1 to Tier 3's covariate profile.
TierAdjustment = Literal["raking", "propensity", "entropy"]
#: User-missing codes of SPSS/Stata files.
UserMissing = Literal["missing", "keep"]
#: ``[weighting] method`` of a cohort config: raking, or calibration with a distance function.
WeightingMethod = Literal["rake", "linear", "raking", "logit"]
#: Layout of ``plot_tiers``.
TierPlotKind = Literal["dumbbell", "scatter"]
#: A statistic that is a weighted sum of a numeric variable.
MeanOrTotal = Literal["mean", "total"]
#: Family of a design-based GLM (``binomial`` is R's quasibinomial, ``poisson`` quasipoisson).
GLMFamily = Literal["gaussian", "binomial", "poisson"]
#: Confidence intervals of GLM coefficients (R ``confint(method=)``).
GLMCIMethod = Literal["wald", "likelihood"]
#: Scale of a GLM prediction: the linear predictor or the mean.
PredictType = Literal["link", "response"]
#: What kind of mismatch between data and targets a mapping check reports.
ProblemKind = Literal["variable", "category", "numeric", "missing_values", "absent_category"]
#: Quantile rules of R ``svyquantile(qrule=)`` (survey >= 4.1; ``math`` is R's default).
QuantileRule = Literal[
    "math", "school", "shahvaish", "hf1", "hf2", "hf3", "hf4", "hf5", "hf6", "hf7", "hf8",
    "hf9",
]
#: Quantile intervals (R ``svyquantile(interval.type=)``): ``mean`` is Woodruff's.
QuantileCI = Literal["mean", "beta", "xlogit", "asin", "score", "quantile"]
#: What a formatted value is.
NumberKind = Literal["percent", "points", "number"]
#: Layout of an exported banner table: one header row (publication spreadsheets), or the
#: CTABLES/Q layout (banner variables spanning their categories, letters under them).
TableLayout = Literal["accessible", "classic"]


def values(vocabulary: Any) -> tuple[str, ...]:
    """The words of a vocabulary, in its declared order: ``values(CIMethod)``."""
    return tuple(get_args(vocabulary))
