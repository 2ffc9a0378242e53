"""The forecast computation: a request in, point forecasts per series out.

`run_forecast` is a pure function of its request, so the executors (a local process
pool, a Modal function) and the tests all compute exactly the same thing.
"""

from __future__ import annotations

import enum
import math
import warnings
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from ._errors import ForecastError

__all__ = ["ForecastRequest", "ModelName", "Series", "run_forecast"]


class ModelName(enum.StrEnum):
    """The statsforecast models a request may name."""

    NAIVE = "Naive"
    SEASONAL_NAIVE = "SeasonalNaive"
    HISTORIC_AVERAGE = "HistoricAverage"
    RANDOM_WALK_WITH_DRIFT = "RandomWalkWithDrift"
    AUTO_ETS = "AutoETS"
    AUTO_ARIMA = "AutoARIMA"
    AUTO_THETA = "AutoTheta"
    AUTO_CES = "AutoCES"


_SEASONAL: frozenset[ModelName] = frozenset(
    {
        ModelName.SEASONAL_NAIVE,
        ModelName.AUTO_ETS,
        ModelName.AUTO_ARIMA,
        ModelName.AUTO_THETA,
        ModelName.AUTO_CES,
    }
)

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class Series(BaseModel):
    """One series: its id and its observed values, oldest first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unique_id: Annotated[str, Field(min_length=1, max_length=200)]
    values: Annotated[list[FiniteFloat], Field(min_length=1)]


class ForecastRequest(BaseModel):
    """What one forecast job computes.

    The limits that depend on the server's settings (series length, horizon, number
    of series) are checked by the server on submit, not here.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ModelName
    horizon: Annotated[int, Field(ge=1)]
    season_length: Annotated[int | None, Field(ge=1)] = None
    series: Annotated[list[Series], Field(min_length=1)]


def build_model(name: ModelName, season_length: int) -> Any:
    """The statsforecast model object a request names."""
    from statsforecast import models

    model_class = getattr(models, name.value)
    if name in _SEASONAL:
        return model_class(season_length=season_length)
    return model_class()


def run_forecast(request: ForecastRequest | Mapping[str, Any]) -> dict[str, Any]:
    """Compute the point forecast of every series in a request.

    Each series is fitted on its own, with the model's own `forecast` method, which
    is what `StatsForecast.forecast` does per series.

    Args:
        request: The request, as a model or as its JSON-shaped mapping.

    Returns:
        `{"model": ..., "horizon": ..., "forecasts": {unique_id: [h floats]}}`.

    Raises:
        ForecastError: The model could not fit a series, or gave non-finite values.
    """
    import numpy as np

    if not isinstance(request, ForecastRequest):
        request = ForecastRequest.model_validate(request)

    season_length = request.season_length or 1
    forecasts: dict[str, list[float]] = {}
    for series in request.series:
        model = build_model(request.model, season_length)
        y = np.asarray(series.values, dtype=np.float64)
        try:
            # statsforecast warns about too short a series and then fills NaN, which
            # the finite check below reports as the job's error.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                mean = model.forecast(y=y, h=request.horizon)["mean"]
        except Exception as exc:
            raise ForecastError(
                f"{request.model.value} failed on series {series.unique_id!r}: {exc}"
            ) from exc

        values = [float(v) for v in mean]
        if not all(math.isfinite(v) for v in values):
            raise ForecastError(
                f"{request.model.value} gave non-finite values for series "
                f"{series.unique_id!r}"
            )
        forecasts[series.unique_id] = values

    return {
        "model": request.model.value,
        "horizon": request.horizon,
        "forecasts": forecasts,
    }
