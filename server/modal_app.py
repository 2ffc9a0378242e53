"""The Modal deployment: `modal deploy server/modal_app.py`.

Two functions in one app: `forecast_job`, spawned once per job, and `web`, the same
FastAPI app as on loopback with the Modal executor. The API keys come from the Modal
secret `pollstack-api-keys` (variable `POLLING_API_KEYS`, comma-separated). The job
store is SQLite on the Volume `pollstack-db`, so `web` runs in one container at a
time, serving many requests at once.
"""

from __future__ import annotations

import os
from typing import Any

import modal

from server._modal import (
    APP_NAME,
    COMPLETIONS_QUEUE,
    FUNCTION_NAME,
    RESULTS_DICT,
    job_record,
)

JOB_TIMEOUT = 600
"""Seconds one forecast job may run."""

app = modal.App(APP_NAME)

# The `polling` and `server` sources are shipped as they are, not installed: the
# image installs what `pollstack` and its server extra depend on, in full.
image = (
    modal.Image.debian_slim(python_version="3.11")
    .uv_pip_install(
        "anyio>=4.4",
        "attrs>=24.1",
        "fastapi>=0.115",
        "httpx>=0.27",
        "limits>=4.0",
        "numpy>=1.26",
        "orjson>=3.10",
        "pandas>=2.0",
        "psutil>=5.9",
        "pydantic>=2.7",
        "sortedcontainers>=2.4",
        "statsforecast>=2.0",
        "tqdm>=4.66",
        "trio>=0.26",
        "uvicorn>=0.30",
    )
    .add_local_python_source("polling", "server")
)

results = modal.Dict.from_name(RESULTS_DICT, create_if_missing=True)
completions = modal.Queue.from_name(COMPLETIONS_QUEUE, create_if_missing=True)
store_volume = modal.Volume.from_name("pollstack-db", create_if_missing=True)


@app.function(image=image, timeout=JOB_TIMEOUT, retries=2)
def forecast_job(job_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Compute one job and record its completion where the server looks for it."""
    record = job_record(job_id, request)
    # First writer wins: a retried input keeps, and sends again, the record a first
    # attempt already made, so the Dict and the queue never disagree.
    if not results.put(job_id, record, skip_if_exists=True):
        record = results.get(job_id) or record
    completions.put(record)
    return dict(record)


@app.function(
    image=image,
    secrets=[modal.Secret.from_name("pollstack-api-keys")],
    volumes={"/data": store_volume},
    max_containers=1,
    timeout=JOB_TIMEOUT,
)
@modal.concurrent(max_inputs=1000)
@modal.asgi_app()
def web() -> Any:
    """The forecast-jobs API, running its jobs as `forecast_job` calls."""
    from server import ExecutorKind, Settings, create_app, hash_api_key
    from server._modal import ModalExecutor

    keys = [k.strip() for k in os.environ.get("POLLING_API_KEYS", "").split(",")]
    settings = Settings(
        db_path="/data/jobs.sqlite",
        api_key_hashes=frozenset(hash_api_key(k) for k in keys if k),
        executor=ExecutorKind.MODAL,
    )
    executor = ModalExecutor(
        function=forecast_job,
        from_id=modal.FunctionCall.from_id,
        results=results,
        completions=completions,
    )
    return create_app(settings, executor=executor)


__all__ = ["FUNCTION_NAME", "app", "forecast_job", "web"]
