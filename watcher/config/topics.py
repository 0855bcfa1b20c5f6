"""The `topics:`, `figures:` and `sources:` sections: what to follow and how to compare it.

This module owns the keys, defaults and checks of a topic (its match terms, subject,
figures and alert thresholds), of a custom figure beyond the built-in metrics, and of a
source known by several names, with `source_words`, the rule that says when two written
names are the same source.

It does not own matching, extraction or comparison (`watcher.pipeline`, `watcher.figures`)
nor the checks that span sections, such as an unknown figure or a name under two sources
(`watcher.config.references`); `Settings` hands the `sources:` to every topic's alert.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated

from pydantic import AfterValidator, Field, PrivateAttr, field_validator

from watcher.config.fields import Duration, Identifier, Section
from watcher.types import BUILTIN_METRICS

# Words that never tell two sources apart: articles and "of" in the built-in languages.
_FILLER_WORDS = frozenset({
    "the", "a", "an", "of",  # en
    "il", "lo", "la", "i", "gli", "le", "l", "di", "del", "della", "dei", "degli", "delle",  # it
    "les", "de", "du", "des", "d",  # fr
    "der", "die", "das", "dem", "den",  # de
    "el", "los", "las",  # es
})


def source_words(name: str) -> frozenset[str]:
    """A source's name as the words that identify it, whatever the case, accents, hyphens,
    apostrophes and articles: "South Korea's spy agency" and "south korea spy agency" are
    the same words, and so are "renseignement sud-coréen" and "le renseignement sudcoreen".
    Two names with the same words are one name (`sources:` refuses it under two entries)."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = re.sub(r"['’]s\b", "", folded)  # possessive: Korea's → korea
    words = (w.replace("-", "").strip("_") for w in re.split(r"[^\w-]+", folded))
    return frozenset(w for w in words if w and w not in _FILLER_WORDS)


def _a_source_name(name: str) -> str:
    if not source_words(name):
        raise ValueError(f"{name!r} has no words that could name a source; write the name as "
                         "articles print it, e.g. South Korea's spy agency")
    return name.strip()


SourceName = Annotated[str, AfterValidator(_a_source_name)]


class MatchSettings(Section):
    all: list[list[str]] = []  # every group must match (any term of the group)
    any: list[str] = []  # at least one must match, when given
    exclude: list[str] = []  # none may match
    min_score: int = Field(default=85, ge=0, le=100)


class AlertSettings(Section):
    min_change: float | str = 0  # absolute number, or "5%"
    conflict_window: Duration = timedelta(days=7)
    # Not a key: the top-level `sources:` resolved by `Settings`, every name as written
    # (entry name and aliases) → the entry's name. `watcher.pipeline.compare` reads it.
    _source_names: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def source_names(self) -> Mapping[str, str]:
        """Each name of a configured source (as written) → that source's canonical name."""
        return MappingProxyType(self._source_names)

    def with_sources(self, sources: Iterable[SourceSettings]) -> AlertSettings:
        """A copy that reads the names of each of `sources` as one source."""
        copy = self.model_copy()
        copy._source_names = {written: s.name for s in sources for written in s.names}
        return copy

    @field_validator("min_change")
    @classmethod
    def _min_change_form(cls, value: float | str) -> float | str:
        # A field validator (not a model one) so that the error points at `min_change`.
        if isinstance(value, str) and not re.match(r"^\d+(\.\d+)?%$", value):
            raise ValueError(f"{value!r}: write a number (50) or a percentage (\"5%\")")
        return value


class CustomFigure(Section):
    """A figure beyond the built-in metrics, with its words per language."""

    id: Identifier
    name: str | None = None
    terms: dict[str, list[str]]


class SourceSettings(Section):
    """One source known by several names: in other languages, abbreviated, paraphrased.

    Claims keep the name as the article wrote it; comparing figures reads every name of
    an entry as the same source (so its revision is a change, never a conflict).
    """

    name: SourceName  # the canonical name, shown in reasons and `figures --explain`
    aliases: list[SourceName] = []  # other names of the same source, as articles write them

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class TopicSettings(Section):
    id: Identifier
    name: str
    match: MatchSettings
    subject: list[str] = []
    figures: list[str] = list(BUILTIN_METRICS)
    alert: AlertSettings = AlertSettings()
