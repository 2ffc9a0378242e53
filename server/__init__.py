"""The reference forecast-jobs server of pollstack.

`create_app(settings)` builds the FastAPI app; `python -m server` or `polling serve`
runs it with uvicorn.
"""

from ._app import capabilities, create_app
from ._errors import ApiError, ForecastError, ServerError
from ._executors import (
    Completion,
    Executor,
    JobSpec,
    LocalExecutor,
    StartedCallback,
)
from ._settings import ExecutorKind, Settings, hash_api_key

__all__ = [
    "ApiError",
    "Completion",
    "Executor",
    "ExecutorKind",
    "ForecastError",
    "JobSpec",
    "LocalExecutor",
    "ServerError",
    "Settings",
    "StartedCallback",
    "capabilities",
    "create_app",
    "hash_api_key",
]
