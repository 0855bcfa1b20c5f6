"""Where the files shipped with watcher are: templates, seeds, language data.

`templates/` and `seeds/` sit at the top of the repository, where users look for them,
and are installed as the packages `watcher.templates` and `watcher.seeds`. This module
finds them in both situations (installed wheel, or running from a checkout).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent


def _package_dir(package: str, repo_folder: str) -> Path:
    checkout = _REPO_ROOT / repo_folder
    if checkout.is_dir() and (_REPO_ROOT / "pyproject.toml").is_file():
        return checkout
    try:
        return Path(str(resources.files(package)))
    except ModuleNotFoundError:  # pragma: no cover - broken install
        return checkout


def templates_dir() -> Path:
    return _package_dir("watcher.templates", "templates")


def seeds_dir() -> Path:
    return _package_dir("watcher.seeds", "seeds")
