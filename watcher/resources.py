"""Where the files shipped with watcher are: templates and seeds.

`templates/` and `seeds/` sit at the top of the repository, where users look for them,
and are installed inside the package as `watcher/templates` and `watcher/seeds`
(pyproject.toml maps them). This module finds them in both situations: an installed
wheel, or running from a checkout.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO_ROOT = _PACKAGE.parent


def _shipped_dir(name: str) -> Path:
    installed = _PACKAGE / name
    if installed.is_dir():
        return installed
    return _REPO_ROOT / name  # a checkout: the folder at the top of the repository


def templates_dir() -> Path:
    return _shipped_dir("templates")


def seeds_dir() -> Path:
    return _shipped_dir("seeds")
