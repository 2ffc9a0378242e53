"""`docs/api.md`: the API reference, rendered from the app's OpenAPI document.

`python -m server._reference docs/api.md` (or `scripts/api-reference`) writes it;
`tests/docs/test_api_reference.py` fails when the page and the app disagree. The
routes, parameters, bodies and answers come from `create_app(...).openapi()`; the
error codes, which OpenAPI does not carry, from the `ApiError` classes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._errors import ApiError

_METHODS = ("get", "post", "put", "patch", "delete")

_HEADER = """\
# Server API reference

<!-- Written by scripts/api-reference from the app's OpenAPI document; edit the
routes and models in server/, not this page. -->

Every route of the reference forecast-jobs server, as `server.create_app(settings)`
describes it in its OpenAPI document (served at `/openapi.json` and browsable at
`/docs`). [server.md](server.md) explains what the routes are for, the limits and
headers, storage and deployment; this page lists what each one takes and answers.
Limits that depend on `Settings` (batch sizes, `max_wait`, series lengths) are
checked by the routes and appear in [server.md](server.md), not in the schemas.
"""


def render(openapi: Mapping[str, Any]) -> str:
    """The Markdown reference of an OpenAPI document."""
    schemes = openapi.get("components", {}).get("securitySchemes", {})
    parts = [_HEADER, f"API version {openapi['info']['version']}.\n"]
    parts.append(_auth(schemes))
    parts.append("## Routes\n")
    parts.append(_route_index(openapi))
    shared = _shared_answers(openapi)
    parts.append(
        "Every route may also answer "
        + ", ".join(f"`{status}`" for status in sorted(shared))
        + " with an [`ErrorAnswer`](#erroranswer); the "
        "[error codes](#error-codes) say when. Each route below lists its other "
        "answers.\n"
    )
    for path, method, operation in _operations(openapi):
        parts.append(_operation(path, method, operation, shared))
    parts.append(_schemas(openapi.get("components", {}).get("schemas", {})))
    parts.append(_error_codes())
    return "\n".join(parts).rstrip() + "\n"


def _auth(schemes: Mapping[str, Any]) -> str:
    lines = ["## Authentication\n"]
    for name, scheme in schemes.items():
        kind = scheme.get("scheme", scheme.get("type", ""))
        lines.append(
            f"`{name}`: `Authorization: {kind.title()} <key>`. "
            f"{scheme.get('description', '')}".rstrip()
        )
    lines.append(
        "\nThe routes with auth *yes* need it; a missing or unknown key answers `401`."
    )
    return "\n".join(lines) + "\n"


def _operations(openapi: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    for path, item in openapi["paths"].items():
        for method in _METHODS:
            if method in item:
                yield path, method, item[method]


def _route_index(openapi: Mapping[str, Any]) -> str:
    lines = ["| route | summary | auth |", "| --- | --- | --- |"]
    for path, method, operation in _operations(openapi):
        title = f"{method.upper()} {path}"
        summary = _first_line(operation.get("description", operation["summary"]))
        auth = "yes" if operation.get("security") else "no"
        lines.append(f"| [`{title}`](#{_anchor(title)}) | {summary} | {auth} |")
    return "\n".join(lines) + "\n"


def _shared_answers(openapi: Mapping[str, Any]) -> dict[str, Any]:
    """The answers that every operation declares alike (the app-wide errors)."""
    answers = [dict(op.get("responses", {})) for _, _, op in _operations(openapi)]
    if not answers:
        return {}
    first = answers[0]
    return {
        status: answer
        for status, answer in first.items()
        if all(other.get(status) == answer for other in answers[1:])
    }


def _operation(
    path: str, method: str, operation: Mapping[str, Any], shared: Mapping[str, Any]
) -> str:
    title = f"{method.upper()} {path}"
    lines = [f"### `{title}`\n"]
    description = operation.get("description", operation.get("summary", ""))
    lines.append(description.strip() + "\n")
    auth = "a bearer key" if operation.get("security") else "none"
    lines.append(f"Auth: {auth}.\n")

    parameters = operation.get("parameters", [])
    if parameters:
        lines.append("| parameter | in | type | required | default | constraints |")
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for parameter in parameters:
            schema = parameter.get("schema", {})
            lines.append(
                "| `{}` | {} | {} | {} | {} | {} |".format(
                    parameter["name"],
                    parameter["in"],
                    _type(schema),
                    "yes" if parameter.get("required") else "no",
                    _default(schema),
                    _constraints(schema),
                )
            )
        lines.append("")

    body = operation.get("requestBody")
    if body:
        for media, content in body.get("content", {}).items():
            required = "required" if body.get("required") else "optional"
            lines.append(
                f"Body ({media}, {required}): {_type(content.get('schema', {}))}.\n"
            )

    lines.append("| answer | meaning | body |")
    lines.append("| --- | --- | --- |")
    for status, answer in sorted(operation.get("responses", {}).items()):
        if status in shared:
            continue
        content = answer.get("content", {})
        schemas = [value.get("schema", {}) for value in content.values()]
        shape = ", ".join(_type(schema) for schema in schemas) or "none"
        lines.append(f"| `{status}` | {answer.get('description', '')} | {shape} |")
    return "\n".join(lines) + "\n"


def _schemas(schemas: Mapping[str, Any]) -> str:
    lines = ["## Schemas\n"]
    for name, schema in sorted(schemas.items()):
        lines.append(f"### `{name}`\n")
        if schema.get("description"):
            lines.append(schema["description"].strip() + "\n")
        if "enum" in schema:
            values = ", ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
            lines.append(f"One of {values}.\n")
            continue
        properties = schema.get("properties", {})
        if not properties:
            lines.append(f"{_type(schema)}.\n")
            continue
        required = set(schema.get("required", ()))
        lines.append("| field | type | required | default | constraints |")
        lines.append("| --- | --- | --- | --- | --- |")
        for field, spec in properties.items():
            lines.append(
                "| `{}` | {} | {} | {} | {} |".format(
                    field,
                    _type(spec),
                    "yes" if field in required else "no",
                    _default(spec),
                    _constraints(spec),
                )
            )
        if schema.get("additionalProperties") is False:
            lines.append("\nOther fields are refused (`422`).")
        lines.append("")
    return "\n".join(lines)


def _error_codes() -> str:
    lines = [
        "## Error codes\n",
        'Every refused request answers `{"error": {"code": ..., "message": '
        "...}}` (the `ErrorAnswer` schema); the message names the field and what "
        "was wrong.\n",
        "| status | code | when |",
        "| --- | --- | --- |",
    ]
    for error in sorted(_leaves(ApiError), key=lambda cls: cls.status_code):
        doc = _first_line(error.__doc__ or "")
        lines.append(f"| `{error.status_code}` | `{error.code}` | {doc} |")
    return "\n".join(lines) + "\n"


def _leaves(base: type[ApiError]) -> list[type[ApiError]]:
    found: list[type[ApiError]] = []
    for sub in base.__subclasses__():
        found.extend(_leaves(sub) or [sub])
    return found


def _type(schema: Mapping[str, Any]) -> str:
    """A schema as a short phrase: `integer`, `array of ForecastRequest`, ..."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f"[`{name}`](#{_anchor(name)})"
    if "anyOf" in schema:
        options = [_type(option) for option in schema["anyOf"]]
        return " or ".join(options)
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object":
        values = schema.get("additionalProperties")
        if isinstance(values, Mapping) and values:
            return f"object of {_type(values)}"
        return "object"
    if "enum" in schema:
        return " or ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    return str(kind) if kind else "any"


def _default(schema: Mapping[str, Any]) -> str:
    if "default" not in schema:
        return ""
    return f"`{json.dumps(schema['default'])}`"


_BOUNDS: Sequence[tuple[str, str, str]] = (
    ("minimum", "maximum", ""),
    ("minLength", "maxLength", " characters"),
    ("minItems", "maxItems", " items"),
)


def _constraints(schema: Mapping[str, Any]) -> str:
    found = _bounds(schema)
    for option in schema.get("anyOf", ()):
        found.extend(_bounds(option))
    items = schema.get("items")
    if isinstance(items, Mapping):
        inner = _constraints(items)
        if inner:
            found.append(f"each {inner}")
    return ", ".join(found)


def _bounds(schema: Mapping[str, Any]) -> list[str]:
    found = []
    for low_key, high_key, unit in _BOUNDS:
        low, high = _number(schema.get(low_key)), _number(schema.get(high_key))
        if low is not None and high is not None:
            found.append(f"{low} to {high}{unit}")
        elif low is not None:
            found.append(f"{low} or more{unit}")
        elif high is not None:
            found.append(f"at most {high}{unit}")
    if "exclusiveMinimum" in schema:
        found.append(f"over {_number(schema['exclusiveMinimum'])}")
    if "exclusiveMaximum" in schema:
        found.append(f"under {_number(schema['exclusiveMaximum'])}")
    return found


def _number(value: Any) -> str | None:
    """A bound as written: `1`, not `1.0`."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _first_line(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())


def _anchor(title: str) -> str:
    """The anchor GitHub gives a heading with this text."""
    kept = "".join(ch for ch in title.lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def app_openapi() -> dict[str, Any]:
    """The OpenAPI document of the app with default settings and no job store."""
    from ._app import create_app
    from ._settings import Settings

    app = create_app(Settings(db_path=":memory:"))
    document: dict[str, Any] = app.openapi()
    return document


def config_tables() -> dict[str, Callable[[], str]]:
    """The server's tables in `docs/configuration.md`, by marker name."""
    from polling._reference import command_reference, parameter_table, parameters_of

    from ._settings import Settings
    from .cli import add_arguments

    def flags() -> str:
        parser = argparse.ArgumentParser(prog="polling serve")
        add_arguments(parser)
        return command_reference(parser)

    return {
        "server-settings": lambda: parameter_table(parameters_of(Settings)),
        "polling-serve": flags,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Write the reference to the path given, or print it.

    With `--tables PAGE...`, rewrite the server's tables in those pages instead.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--tables"]:
        from polling._reference import write_tables

        for page in args[1:]:
            write_tables(Path(page), config_tables())
        return 0
    text = render(app_openapi())
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
