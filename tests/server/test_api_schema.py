"""schemathesis over the app's OpenAPI document: no input gets a 5xx."""

from __future__ import annotations

from typing import Any

import hypothesis
import schemathesis
from serverkit import AUTH, KEY, ControlledExecutor

from server import Settings, create_app


def _schema() -> Any:
    # An in-memory store: the app lives as long as the module, and leaves no file.
    settings = Settings.with_api_keys(
        [KEY], db_path=":memory:", rate_limit_burst=100_000
    )
    app = create_app(settings, executor=ControlledExecutor())
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = _schema()


@schema.parametrize()  # type: ignore[untyped-decorator]  # schemathesis is untyped
@hypothesis.settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_no_input_gets_a_server_error(case: Any) -> None:
    """Whatever the generated request, the answer is not a 5xx."""
    response = case.call(headers=AUTH)

    assert response.status_code < 500, response.text
