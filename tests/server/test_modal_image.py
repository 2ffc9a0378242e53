"""The Modal image installs everything the shipped packages import."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def _image_packages() -> set[str]:
    tree = ast.parse((ROOT / "server" / "modal_app.py").read_text())
    installed: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("pip_install", "uv_pip_install")
        ):
            for arg in node.args:
                assert isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                installed.add(_name(arg.value))
    return installed


def test_image_installs_the_core_and_server_dependencies() -> None:
    """Every dependency of `pollstack` and of its server extra is in the image:
    `polling` and `server` are shipped as source, so nothing else pulls them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = {
        _name(requirement)
        for requirement in [
            *project["dependencies"],
            *project["optional-dependencies"]["server"],
        ]
    }

    missing = needed - _image_packages()

    assert not missing, f"server/modal_app.py's image lacks {sorted(missing)}"
