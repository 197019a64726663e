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
    PairedChange,
    QuestionComparison,
    Representativeness,
    TierComparison,
    compare_questions,
    compare_tiers,
    minimum_detectable_difference,
    paired_change,
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
]
