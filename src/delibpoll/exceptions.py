"""Exceptions and warnings raised by delibpoll.

Every error raised for bad user input is a :class:`DelibpollError` (a :class:`ValueError`),
so ``except ValueError`` keeps working for callers who do not know the package. Every
warning derives from :class:`DelibpollWarning`, so a pipeline can turn all of delibpoll's
warnings into errors with one filter::

    warnings.simplefilter("error", delibpoll.DelibpollWarning)
"""

from __future__ import annotations

__all__ = [
    "ConvergenceError",
    "ConvergenceWarning",
    "DelibpollError",
    "DelibpollWarning",
    "DomainWarning",
    "SmallSampleWarning",
    "WeightingWarning",
]


class DelibpollError(ValueError):
    """Base class of every error delibpoll raises for bad input or impossible requests."""


class ConvergenceError(DelibpollError):
    """Weighting did not meet its targets within the iteration limit.

    Attributes
    ----------
    iterations : int
        Iterations run before giving up.
    max_error : float
        Largest absolute difference between a weighted share and its target share.
    """

    def __init__(self, message: str, *, iterations: int, max_error: float) -> None:
        super().__init__(message)
        self.iterations = iterations
        self.max_error = max_error


class DelibpollWarning(UserWarning):
    """Base class of every warning delibpoll issues."""


class ConvergenceWarning(DelibpollWarning):
    """Weighting returned weights that do not meet the targets (``on_nonconvergence="warn"``)."""


class WeightingWarning(DelibpollWarning):
    """Weights are usable but deserve attention (extreme weights, collapsed effective n)."""


class DomainWarning(DelibpollWarning):
    """A domain (subgroup) estimate is empty, or has a variance that cannot be estimated."""


class SmallSampleWarning(DelibpollWarning):
    """A test is applied to fewer observations than it needs to be trustworthy."""
