"""The built-in polling strategies, registered by name in `polling.strategies`."""

from ._adaptive import Adaptive
from ._baselines import Naive, PerJobBackoff
from ._batch import Batch
from ._predictive import Predictive
from ._sample import Sample
from ._seeds import SeedAdaptive, SeedBatch, SeedSample, SeedSemaphore
from ._semaphore import Semaphore
from ._stack import Stack

__all__ = [
    "Adaptive",
    "Batch",
    "Naive",
    "PerJobBackoff",
    "Predictive",
    "Sample",
    "SeedAdaptive",
    "SeedBatch",
    "SeedSample",
    "SeedSemaphore",
    "Semaphore",
    "Stack",
]
