"""The built-in polling strategies, registered by name in `polling.strategies`."""

from ._baselines import Naive, PerJobBackoff

__all__ = ["Naive", "PerJobBackoff"]
