"""docs/api.md is the app's OpenAPI document, rendered, and stays so."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from server import Settings, create_app
from server._errors import ApiError
from server._reference import app_openapi, render

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "api.md"


def test_api_page_is_what_the_app_describes_today() -> None:
    """docs/api.md equals a fresh rendering; run scripts/api-reference if not."""
    assert PAGE.read_text() == render(app_openapi()), (
        "docs/api.md is out of date: run scripts/api-reference"
    )


def test_every_route_of_the_app_has_its_section() -> None:
    """Each method and path of the OpenAPI document is a heading on the page."""
    document = app_openapi()
    headings = set(re.findall(r"^### `(\w+ \S+)`$", render(document), re.M))

    routes = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
    }
    assert routes
    assert routes <= headings


def test_a_new_route_changes_the_page() -> None:
    """A route added to the app shows up in the rendering, so the page goes stale."""
    app = create_app(Settings(db_path=":memory:"))

    @app.get("/forecast-jobs/{job_id}/logs", tags=["jobs"])
    async def logs(job_id: str, tail: int = 10) -> dict[str, Any]:
        """The last lines a job logged."""
        return {}

    page = render(app.openapi())

    assert page != render(app_openapi())
    assert "### `GET /forecast-jobs/{job_id}/logs`" in page
    assert "| `tail` | query | integer | no | `10` |  |" in page


def test_every_error_code_is_listed_with_its_status() -> None:
    """Each `ApiError` the server raises has a row: status, code, meaning."""
    page = PAGE.read_text()
    leaves = [cls for cls in _subclasses(ApiError) if not cls.__subclasses__()]

    assert len(leaves) >= 10
    for error in leaves:
        assert f"| `{error.status_code}` | `{error.code}` |" in page


def test_every_schema_the_routes_name_is_described() -> None:
    """Every `#anchor` link on the page leads to a heading of the page."""
    page = PAGE.read_text()
    anchors = set(re.findall(r"\]\(#([^)]+)\)", page))
    headings = {
        _anchor(title) for title in re.findall(r"^#+ `?([^`\n]+)`?$", page, re.M)
    }

    assert anchors
    assert anchors <= headings


def test_server_guide_and_reference_link_to_each_other() -> None:
    """server.md points to the reference, and the reference back to server.md."""
    assert "(api.md)" in (ROOT / "docs" / "server.md").read_text()
    assert "(server.md)" in PAGE.read_text()


def _subclasses(base: type[ApiError]) -> list[type[ApiError]]:
    found = []
    for sub in base.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _anchor(title: str) -> str:
    kept = "".join(ch for ch in title.lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def test_the_script_writes_the_page(tmp_path: Path) -> None:
    """`python -m server._reference PATH` writes what the test compares with."""
    from server._reference import main

    target = tmp_path / "api.md"

    assert main([str(target)]) == 0
    assert target.read_text() == PAGE.read_text()
