"""The building blocks every config section is made of.

This module owns the strict, frozen base of every section (`Section`: unknown keys are
errors) and the value types several sections share: durations ('15m', '7d'), language
codes ('it-IT' → 'it') and ids.

It does not own any section itself (feeds, topics and channels have their own modules;
`Settings` lives in `watcher.config.models`) nor how errors are shown to users
(`watcher.config.problems`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """'30s', '15m', '1h', '7d', '2w' (or a number of seconds) → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return timedelta(seconds=float(m.group(1)) * _UNIT_SECONDS[m.group(2)])
    raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 15m, 1h or 7d")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def parse_language(value: object) -> str:
    """'it', 'it-IT', 'pt_BR' → the primary language subtag ('it', 'pt'), as stored."""
    if isinstance(value, str):
        m = re.match(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*\s*$", value)
        if m:
            return m.group(1).lower()
    raise ValueError(f"{value!r} is not a language code; write e.g. en, it, fr, de, es, ru, uk")


Language = Annotated[str, BeforeValidator(parse_language)]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]


class Section(BaseModel):
    """Every section refuses unknown keys and is immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
