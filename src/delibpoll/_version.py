"""The package version (base layer): one place, read by ``delibpoll.__version__`` and by
``delibpoll --version`` without importing anything else."""

__all__ = ["__version__"]

__version__ = "0.1.0"
