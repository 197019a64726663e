"""delibpoll: survey weighting and deliberative-poll analysis.

Weight a survey to population margins, estimate proportions, means and totals with
design-based standard errors equal to R's ``survey`` package, compare deliberators with the
public, and publish weighted tables and charts.

The names of ``__all__`` are imported when first used (PEP 562 ``__getattr__``): ``import
delibpoll`` and the ``delibpoll`` command line start without loading numpy, pandas or
plotnine. ``from delibpoll import rake`` and ``delibpoll.rake`` work as before; type checkers
read the imports under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from . import _render
from ._version import __version__

if TYPE_CHECKING:
    from . import cells, datasets
    from ._repweights import ReplicateWeights
    from .banner import BannerTable, banner
    from .chisq import ChisqResult, chisq_test
    from .contrast import ContrastResult, contrast
    from .deliberative import (
        Attrition,
        AttritionWarning,
        CohortComparison,
        CohortDeliberation,
        CohortStack,
        DifferenceInDifferences,
        GroupDynamics,
        Knowledge,
        Learning,
        PairedChange,
        QuestionComparison,
        Representativeness,
        TierComparison,
        attrition,
        compare_cohorts,
        compare_deliberation,
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
        stack_cohorts,
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
    from .lazy import LazyDesign, scan
    from .ordinal import OLRResult, olr
    from .pipeline import PipelineResult, run_config
    from .plots import (
        alt_text,
        plot_estimates,
        plot_likert,
        plot_margins,
        plot_tiers,
        plot_trend,
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
    from .summaries import means, ratio, std_dev, table, variance
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


# The exporters of the result objects (BannerTable.to_excel, ...) live in delibpoll.export,
# a higher layer: the registry imports that module when an exporter is first asked for.
_render.set_provider("delibpoll.export")

# public name -> the module (relative to the package) that defines it
_LAZY: dict[str, str] = {
    "ReplicateWeights": "_repweights",
    "BannerTable": "banner",
    "banner": "banner",
    "ChisqResult": "chisq",
    "chisq_test": "chisq",
    "ContrastResult": "contrast",
    "contrast": "contrast",
    "Attrition": "deliberative",
    "AttritionWarning": "deliberative",
    "CohortComparison": "deliberative",
    "CohortDeliberation": "deliberative",
    "CohortStack": "deliberative",
    "compare_cohorts": "deliberative",
    "compare_deliberation": "deliberative",
    "stack_cohorts": "deliberative",
    "DifferenceInDifferences": "deliberative",
    "GroupDynamics": "deliberative",
    "Knowledge": "deliberative",
    "Learning": "deliberative",
    "PairedChange": "deliberative",
    "QuestionComparison": "deliberative",
    "Representativeness": "deliberative",
    "TierComparison": "deliberative",
    "attrition": "deliberative",
    "compare_questions": "deliberative",
    "compare_tiers": "deliberative",
    "difference_in_differences": "deliberative",
    "group_dynamics": "deliberative",
    "knowledge": "deliberative",
    "learning": "deliberative",
    "minimum_detectable_difference": "deliberative",
    "paired_change": "deliberative",
    "possible_comparisons": "deliberative",
    "representativeness": "deliberative",
    "SurveyDesign": "design",
    "Estimate": "estimation",
    "mean": "estimation",
    "proportion": "estimation",
    "total": "estimation",
    "ConvergenceError": "exceptions",
    "ConvergenceWarning": "exceptions",
    "DelibpollError": "exceptions",
    "DelibpollWarning": "exceptions",
    "DomainWarning": "exceptions",
    "SmallSampleWarning": "exceptions",
    "WeightingWarning": "exceptions",
    "LikertGrid": "grid",
    "likert_grid": "grid",
    "read_survey": "io",
    "write_survey": "io",
    "OLRResult": "ordinal",
    "olr": "ordinal",
    "PipelineResult": "pipeline",
    "run_config": "pipeline",
    "alt_text": "plots",
    "plot_estimates": "plots",
    "plot_likert": "plots",
    "plot_margins": "plots",
    "plot_tiers": "plots",
    "plot_trend": "plots",
    "plot_weights": "plots",
    "theme_delibpoll": "plots",
    "QuantileEstimate": "quantiles",
    "median": "quantiles",
    "quantile": "quantiles",
    "GLMByResult": "regression",
    "GLMPrediction": "regression",
    "GLMResult": "regression",
    "PredictiveMargins": "regression",
    "WaldTest": "regression",
    "glm": "regression",
    "predictive_margins": "regression",
    "means": "summaries",
    "ratio": "summaries",
    "std_dev": "summaries",
    "table": "summaries",
    "LazyDesign": "lazy",
    "scan": "lazy",
    "variance": "summaries",
    "Targets": "targets",
    "WeightingReport": "weighting",
    "WeightingStep": "weighting",
    "calibrate": "weighting",
    "kish_deff": "weighting",
    "poststratify": "weighting",
    "rake": "weighting",
    "trim": "weighting",
}
# submodules reachable as attributes (delibpoll.datasets) without an import statement
_SUBMODULES = frozenset({"cells", "datasets", "export", "deliberative", "pipeline", "plots", "cli",
                         "mapping", "codebook", "weightspec", "io", "estimation",
                         "weighting", "design", "banner", "targets", "contrast", "chisq",
                         "grid", "quantiles", "summaries", "regression", "ordinal"})


def __getattr__(name: str) -> Any:
    """Import a public name (or a submodule) the first time it is used (PEP 562)."""
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'delibpoll' has no attribute {name!r}")
    globals()[name] = value  # later uses are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)


class _Package(types.ModuleType):
    """The package module. Importing a submodule sets it as an attribute of its package;
    where a function has the submodule's name (``delibpoll.banner``, ``delibpoll.contrast``)
    the function stays the attribute, as with the eager imports before."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == name:
            return  # the import system setting delibpoll.banner = <module>: keep the function
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


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
    "CohortComparison",
    "CohortDeliberation",
    "CohortStack",
    "compare_cohorts",
    "compare_deliberation",
    "stack_cohorts",
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
    "plot_trend",
    "plot_weights",
    "theme_delibpoll",
    "minimum_detectable_difference",
    "paired_change",
    "representativeness",
    "cells",
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
    "means",
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
    "LazyDesign",
    "scan",
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
