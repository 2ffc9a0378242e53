"""Collect the results of many asynchronous jobs with as few requests as possible.

The public surface: job and outcome types, the `JobAPI` and `PollStrategy`
protocols, the `Poller` engine and its request budget, strategies by name, and the
errors. The simulated job store and property-testing kit live in `polling.testing`.
"""

from ._api import Capabilities, FeedPage, JobAPI, RateLimit
from ._budget import Backoff, Budget, retry_after_seconds
from ._client import ForecastClient
from ._engine import Poller
from ._errors import (
    AuthError,
    CapabilityMissing,
    ConfigError,
    DeadlineExceeded,
    PollingError,
    ProtocolError,
    RateLimited,
    RejectedError,
    RequestError,
    TransientError,
)
from ._http import HttpJobAPI
from ._registry import (
    available,
    parse_spec,
    strategy_from,
    strategy_from_env,
    strategy_from_toml,
)
from ._report import DelaySummary, Report
from ._strategy import (
    Board,
    Check,
    Decision,
    Observation,
    Poll,
    PollStrategy,
    Reply,
    Submitted,
    Tracked,
)
from ._types import JobId, JobState, JobStatus, Outcome, OutcomeKind, RequestKind
from ._validate import fraction, non_negative, positive, positive_int

__all__ = [
    "AuthError",
    "Backoff",
    "Board",
    "Budget",
    "Capabilities",
    "CapabilityMissing",
    "Check",
    "ConfigError",
    "DeadlineExceeded",
    "Decision",
    "DelaySummary",
    "FeedPage",
    "ForecastClient",
    "HttpJobAPI",
    "JobAPI",
    "JobId",
    "JobState",
    "JobStatus",
    "Observation",
    "Outcome",
    "OutcomeKind",
    "Poll",
    "PollStrategy",
    "Poller",
    "PollingError",
    "ProtocolError",
    "RateLimit",
    "RateLimited",
    "RejectedError",
    "Reply",
    "Report",
    "RequestError",
    "RequestKind",
    "Submitted",
    "Tracked",
    "TransientError",
    "available",
    "fraction",
    "non_negative",
    "parse_spec",
    "positive",
    "positive_int",
    "retry_after_seconds",
    "strategy_from",
    "strategy_from_env",
    "strategy_from_toml",
]
