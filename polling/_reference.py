"""Reference tables for the docs, read from the code they describe.

A class's parameters come from its attrs fields (or its signature): name, type and
default; their meaning from the `Args:` section of its docstring, or from the
docstring under the field. A command's options come from its argparse parser.
`scripts/reference-tables` writes the tables between the markers of the pages
(`<!-- reference:NAME -->` ... `<!-- /reference:NAME -->`), and
`tests/docs/test_reference_tables.py` fails when a page and the code disagree.
"""

from __future__ import annotations

import argparse
import ast
import enum
import inspect
import itertools
import re
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import attrs

from ._registry import available, strategy_class

Tables = Mapping[str, Callable[[], str]]


@attrs.frozen
class Parameter:
    """One parameter of a class, as the reference shows it."""

    name: str
    type: str
    default: str
    meaning: str


def parameters_of(cls: type[Any]) -> list[Parameter]:
    """The parameters a class takes, with their documented meaning."""
    meanings = {**field_docstrings(cls), **docstring_args(inspect.getdoc(cls) or "")}
    if attrs.has(cls):
        return [
            Parameter(
                field.name,
                _type_name(field.type),
                _default(field.default),
                meanings.get(field.name, ""),
            )
            for field in attrs.fields(cls)
            if field.init
        ]
    found = []
    for name, parameter in inspect.signature(cls).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        empty = parameter.empty
        annotation = parameter.annotation
        default = attrs.NOTHING if parameter.default is empty else parameter.default
        found.append(
            Parameter(
                name,
                "" if annotation is empty else _type_name(annotation),
                _default(default),
                meanings.get(name, ""),
            )
        )
    return found


def docstring_args(doc: str) -> dict[str, str]:
    """The entries of a Google-style `Args:` section, by name, each on one line."""
    entries: dict[str, str] = {}
    inside = False
    current: str | None = None
    for line in doc.splitlines():
        if line.strip() == "Args:":
            inside = True
            continue
        if not inside:
            continue
        if line and not line.startswith(" "):
            break
        match = re.match(r"^    (\**\w+)(?: \([^)]*\))?: (.*)$", line)
        if match:
            current = match.group(1).lstrip("*")
            entries[current] = match.group(2).strip()
        elif line.strip() and current is not None:
            entries[current] += " " + line.strip()
        elif not line.strip():
            current = None
    return entries


def field_docstrings(cls: type[Any]) -> dict[str, str]:
    """The docstrings written under a class's fields, by field, each on one line."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    body = ast.parse(source).body[0]
    if not isinstance(body, ast.ClassDef):
        return {}
    found: dict[str, str] = {}
    for statement, after in itertools.pairwise(body.body):
        target = statement.target if isinstance(statement, ast.AnnAssign) else None
        if (
            isinstance(target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            text = inspect.cleandoc(after.value.value).split("\n\n")[0]
            found[target.id] = " ".join(text.split())
    return found


def parameter_table(parameters: Sequence[Parameter]) -> str:
    """A Markdown table of parameters: name, type, default, meaning."""
    rows = ["| parameter | type | default | meaning |", "| --- | --- | --- | --- |"]
    for parameter in parameters:
        kind = parameter.type.replace("|", "\\|")
        rows.append(
            f"| `{parameter.name}` | `{kind}` | {parameter.default} "
            f"| {parameter.meaning} |"
        )
    return "\n".join(rows) + "\n"


def strategy_reference() -> str:
    """Every registered strategy: its summary, entry point and parameters."""
    parts = []
    points = available()
    for name in sorted(points):
        cls = strategy_class(name)
        summary = " ".join((inspect.getdoc(cls) or "").split("\n\n")[0].split())
        parts.append(f"#### `{name}`\n\n{summary} (`{points[name].value}`)\n")
        parameters = parameters_of(cls)
        parts.append(parameter_table(parameters) if parameters else "No parameters.\n")
    return "\n".join(parts)


def command_reference(parser: argparse.ArgumentParser) -> str:
    """A Markdown table of a command's options: flag, value, meaning.

    Defaults are left to the help texts, which state them: some are read from the
    environment when the parser is built, and would leak into the page.
    """
    rows = ["| option | value | meaning |", "| --- | --- | --- |"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings:
            continue
        flags = ", ".join(f"`{flag}`" for flag in action.option_strings)
        if action.nargs == 0:
            value = ""
        elif action.choices is not None:
            value = " \\| ".join(f"`{choice}`" for choice in action.choices)
        else:
            value = f"`{action.metavar or action.dest.upper()}`"
        meaning = (action.help or "").replace("|", "\\|")
        if action.required:
            meaning = f"required; {meaning}"
        rows.append(f"| {flags} | {value} | {meaning} |")
    return "\n".join(rows) + "\n"


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of one subcommand of `parser`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise KeyError(name)


def tables() -> dict[str, Callable[[], str]]:
    """The core's reference tables, by marker name."""
    from ._cli import _parser
    from ._client import ForecastClient
    from ._engine import Poller
    from ._http import HttpJobAPI
    from .testing import SimulatedJobStore

    def command(name: str) -> Callable[[], str]:
        return lambda: command_reference(subcommand(_parser(), name))

    return {
        "strategies": strategy_reference,
        "poller": lambda: parameter_table(parameters_of(Poller)),
        "http-job-api": lambda: parameter_table(parameters_of(HttpJobAPI)),
        "forecast-client": lambda: parameter_table(parameters_of(ForecastClient)),
        "polling-run": command("run"),
        "polling-demo": command("demo"),
        "simulated-job-store": lambda: parameter_table(
            parameters_of(SimulatedJobStore)
        ),
    }


def splice(page: str, name: str, block: str) -> str:
    """The page with `block` between the markers of `name`.

    Raises:
        ValueError: The page lacks the markers.
    """
    start_mark, end_mark = f"<!-- reference:{name} -->", f"<!-- /reference:{name} -->"
    start, end = page.find(start_mark), page.find(end_mark)
    if start < 0 or end < start:
        raise ValueError(f"the page has no {start_mark} ... {end_mark} markers")
    return page[: start + len(start_mark)] + "\n\n" + block + "\n" + page[end:]


def markers(page: str) -> list[str]:
    """The names of the tables a page has markers for, in order."""
    return re.findall(r"<!-- reference:([\w-]+) -->", page)


def write_tables(path: Path, made: Tables) -> None:
    """Rewrite the tables of `made` that the page at `path` has markers for."""
    page = path.read_text(encoding="utf-8")
    for name in markers(page):
        if name in made:
            page = splice(page, name, made[name]())
    path.write_text(page, encoding="utf-8")


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _default(value: Any) -> str:
    if value is attrs.NOTHING:
        return "required"
    factory = getattr(value, "factory", None)
    if callable(factory) and hasattr(value, "takes_self"):
        return f"`{getattr(factory, '__name__', 'factory')}()`"
    if isinstance(value, PurePath):
        return f"`{str(value)!r}`"
    if isinstance(value, enum.Enum):
        return f"`{type(value).__name__}.{value.name}`"
    if getattr(value, "__name__", None) == "<lambda>":
        return f"`{_lambda_source(value)}`"
    if inspect.isroutine(value):
        return f"`{value.__module__}.{value.__name__}`"
    return f"`{value!r}`"


def _lambda_source(function: Any) -> str:
    """A default written as a lambda, as it is written: `lambda request: 1.0`."""
    try:
        line = inspect.getsource(function)
    except (OSError, TypeError):
        return "a function"
    text = line[line.index("lambda") :]
    depth = 0
    for end, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}" or (char == "," and not depth):
            if not depth:
                return text[:end].strip()
            depth -= 1
    return text.strip()


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the core's tables in the pages given."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        sys.stderr.write("usage: python -m polling._reference PAGE...\n")
        return 2
    for page in args:
        write_tables(Path(page), tables())
    return 0


if __name__ == "__main__":
    sys.exit(main())
