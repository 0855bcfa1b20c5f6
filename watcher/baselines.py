"""Baselines: figures known before watcher started, read from YAML files.

A baseline becomes a claim in the history like any other (from a pseudo-feed named
"baseline"), so the first article about a topic is compared with it rather than
reported as new. Loading the same file twice records nothing new. The format is
documented at the top of seeds/baselines.yaml.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from watcher.exceptions import ConfigError, ConfigProblem
from watcher.types import Qualifier


class Baseline(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str
    metric: str
    value: float
    value_max: float | None = None
    qualifier: Qualifier = "exact"
    source: str | None = None
    published: AwareDatetime
    url: str | None = None
    quote: str = ""


def load_baselines(path: Path) -> list[Baseline]:
    """Parse and validate one file; every problem is reported with its item number."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    except OSError as e:
        raise ConfigError([ConfigProblem(str(path), None, "baselines",
                                         f"cannot read the baselines file: {e.strerror}")]) from e
    except yaml.YAMLError as e:
        raise ConfigError([ConfigProblem(str(path), None, "", f"not valid YAML: {e}")]) from e
    if not isinstance(data, list):
        raise ConfigError([ConfigProblem(str(path), None, "", "expected a list of figures")])
    baselines, problems = [], []
    for index, item in enumerate(data):
        try:
            baselines.append(Baseline.model_validate(item))
        except ValidationError as e:
            problems += [ConfigProblem(str(path), None,
                                       f"[{index}]." + ".".join(map(str, err["loc"])),
                                       err["msg"]) for err in e.errors()]
    if problems:
        raise ConfigError(problems)
    return baselines
