"""Reading watcher.yaml into frozen `Settings`, with every problem located by file, line and key.

This module owns: finding the config file, reading it (missing, unreadable, not UTF-8,
empty), resolving relative sqlite and baseline paths against the config file's directory,
and the order of loading, so that every problem is reported together. The steps live
beside it: safe YAML with the line of every key (`watcher.config.yaml_document`),
`${VAR}` / `${VAR:-default}` substitution (`watcher.config.variables`), and pydantic's
errors as one-line `ConfigProblem`s with "did you mean" (`watcher.config.problems`).

It does not own what a valid config is (that is `watcher.config.models`) nor how problems
are printed (the CLI top level does that).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from watcher.config.models import Settings
from watcher.config.problems import describe_value, validation_problems
from watcher.config.problems import models_in as _models_in  # noqa: F401 (tests read it here)
from watcher.config.yaml_document import Path_, dotted, parse_document  # noqa: F401
from watcher.exceptions import ConfigError, ConfigProblem

DEFAULT_CONFIG = Path("config/watcher.yaml")

_RELATIVE_SQLITE = re.compile(r"^(sqlite(?:\+\w+)?):///(?!/)([^?]+)(\?.*)?$")


def default_config_path(env: Mapping[str, str] | None = None,
                        given: str | os.PathLike[str] | None = None) -> Path:
    """`--config PATH` if given, else `$WATCHER_CONFIG`, else config/watcher.yaml (SPEC)."""
    env = os.environ if env is None else env
    chosen = given or env.get("WATCHER_CONFIG") or DEFAULT_CONFIG
    return Path(chosen).expanduser()


def load_settings(path: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Read, substitute and validate one config file; raise ConfigError listing every problem."""
    env = os.environ if env is None else env
    path = Path(path)
    file = str(path)
    doc = parse_document(_read(path), file, env)
    if not isinstance(doc.data, dict):
        got = "nothing" if doc.data is None else describe_value(doc.data)
        raise ConfigError([ConfigProblem(file, 1, "", f"expected keys such as feeds:, topics: "
                                         f"and channels: at the top level, got {got}")])
    _resolve_database(doc.data, path.resolve().parent)
    _resolve_baselines(doc.data, path.resolve().parent)
    try:
        settings = Settings.model_validate(doc.data)
    except ValidationError as e:
        doc.problems.extend(validation_problems(e, doc, file))
    if doc.problems:
        raise ConfigError(sorted(doc.problems, key=lambda p: (p.line or 0, p.key)))
    return settings


def _read(path: Path) -> str:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(file, None, "", "config file not found; pass --config "
                          "PATH, set WATCHER_CONFIG, or copy config/watcher.yaml here and edit it")]
                          ) from None
    except UnicodeDecodeError as e:
        raise ConfigError([ConfigProblem(file, None, "", f"not UTF-8 text (byte {e.start}); "
                          "save the file as UTF-8")]) from None
    except OSError as e:
        raise ConfigError([ConfigProblem(file, None, "", f"cannot read the config file: "
                          f"{e.strerror}; check the path and its permissions")]) from None
    if not text.strip():
        raise ConfigError([ConfigProblem(file, None, "", "the config file is empty; start from "
                          "the documented example config/watcher.yaml")])
    return text


def _resolve_database(data: dict[str, Any], base: Path) -> None:
    """`sqlite:///data/w.db` means data/w.db next to the config file, not in the cwd.

    The default database is resolved the same way; absolute paths, `:memory:` and
    other URLs are left alone.
    """
    url = data.get("database", Settings.model_fields["database"].default)
    if not isinstance(url, str):
        return
    m = _RELATIVE_SQLITE.match(url)
    if m is None or m.group(2) == ":memory:":
        return
    data["database"] = f"{m.group(1)}:///{(base / m.group(2)).resolve()}{m.group(3) or ''}"


def _resolve_baselines(data: dict[str, Any], base: Path) -> None:
    """Baseline files, like the database, are relative to the config file."""
    files = data.get("baselines")
    if isinstance(files, list):
        data["baselines"] = [str(base / f) if isinstance(f, str) else f for f in files]
