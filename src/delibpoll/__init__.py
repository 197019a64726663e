"""delibpoll: survey weighting and deliberative-poll analysis.

Weight a survey to population margins, estimate proportions, means and totals with
design-based standard errors equal to R's ``survey`` package, compare deliberators with the
public, and publish weighted tables and charts.
"""

from __future__ import annotations

from . import (
    datasets,
    export,  # noqa: F401  (importing it registers the exporters of the result objects)
)
from ._repweights import ReplicateWeights
from .banner import BannerTable, banner
from .chisq import ChisqResult, chisq_test
from .contrast import ContrastResult, contrast
from .deliberative import (
    Attrition,
    AttritionWarning,
    DifferenceInDifferences,
    GroupDynamics,
    Knowledge,
    Learning,
    PairedChange,
    QuestionComparison,
    Representativeness,
    TierComparison,
    attrition,
    compare_questions,
    compare_tiers,
    difference_in_differences,
    group_dynamics,
    knowledge,
    learning,
    minimum_detectable_difference,
    paired_change,
    possible_comparisons,
    representativeness,
)
from .design import SurveyDesign
from .estimation import Estimate, mean, proportion, total
from .exceptions import (
    ConvergenceError,
    ConvergenceWarning,
    DelibpollError,
    DelibpollWarning,
    DomainWarning,
    SmallSampleWarning,
    WeightingWarning,
)
from .grid import LikertGrid, likert_grid
from .io import read_survey, write_survey
from .ordinal import OLRResult, olr
from .pipeline import PipelineResult, run_config
from .plots import (
    alt_text,
    plot_estimates,
    plot_likert,
    plot_margins,
    plot_tiers,
    plot_weights,
    theme_delibpoll,
)
from .quantiles import QuantileEstimate, median, quantile
from .regression import (
    GLMByResult,
    GLMPrediction,
    GLMResult,
    PredictiveMargins,
    WaldTest,
    glm,
    predictive_margins,
)
from .summaries import ratio, std_dev, table, variance
from .targets import Targets
from .weighting import (
    WeightingReport,
    WeightingStep,
    calibrate,
    kish_deff,
    poststratify,
    rake,
    trim,
)

__version__ = "0.1.0"

__all__ = [
    "ChisqResult",
    "ContrastResult",
    "Estimate",
    "chisq_test",
    "PairedChange",
    "QuestionComparison",
    "Representativeness",
    "TierComparison",
    "compare_questions",
    "compare_tiers",
    "Attrition",
    "AttritionWarning",
    "attrition",
    "DifferenceInDifferences",
    "difference_in_differences",
    "possible_comparisons",
    "GroupDynamics",
    "Knowledge",
    "Learning",
    "group_dynamics",
    "knowledge",
    "learning",
    "BannerTable",
    "LikertGrid",
    "alt_text",
    "banner",
    "likert_grid",
    "contrast",
    "PipelineResult",
    "ReplicateWeights",
    "plot_estimates",
    "run_config",
    "plot_likert",
    "plot_margins",
    "plot_tiers",
    "plot_weights",
    "theme_delibpoll",
    "minimum_detectable_difference",
    "paired_change",
    "representativeness",
    "datasets",
    "read_survey",
    "write_survey",
    "mean",
    "proportion",
    "total",
    # issue 16: quantiles, ratios, variances, tables
    "QuantileEstimate",
    "median",
    "quantile",
    "ratio",
    "std_dev",
    "table",
    "variance",
    "ConvergenceError",
    "ConvergenceWarning",
    "DelibpollError",
    "DelibpollWarning",
    "DomainWarning",
    "SmallSampleWarning",
    "SurveyDesign",
    "Targets",
    "WeightingReport",
    "WeightingStep",
    "WeightingWarning",
    "__version__",
    "calibrate",
    "kish_deff",
    "poststratify",
    "rake",
    "trim",
    "GLMByResult",
    "GLMPrediction",
    "GLMResult",
    "OLRResult",
    "PredictiveMargins",
    "WaldTest",
    "glm",
    "olr",
    "predictive_margins",
]
