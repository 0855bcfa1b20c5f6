"""Checks that span sections: ids used twice, unknown figures and topics, a name under two
sources, each reported at its own key.

This module owns finding those problems in the raw input (tolerant of input that is
otherwise invalid, so that every problem is reported at once) and merging them with
pydantic's own errors into one `ValidationError`.

It does not own the sections' shapes (`watcher.config.models` and the section modules),
when the checks run (`Settings`' validator), nor the wording of pydantic's own errors
for users (`watcher.config.problems`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from difflib import get_close_matches
from typing import Any, get_args

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from watcher.config.topics import source_words
from watcher.types import BUILTIN_METRICS

Loc = tuple[str | int, ...]
_KNOWN_ERROR_TYPES = frozenset(get_args(ErrorType))


def _get(item: object, name: str) -> Any:
    """A key of raw YAML data (a dict) or an attribute of an already built model."""
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _items(data: Mapping[str, Any], section: str) -> list[Any]:
    value = data.get(section)
    return list(value) if isinstance(value, (list, tuple)) else []


def _did_you_mean(word: object, known: list[str]) -> str:
    close = get_close_matches(str(word), known, n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else ""


def _duplicate_ids(data: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    out: list[tuple[Loc, str]] = []
    for section in ("feeds", "topics", "channels", "figures"):
        first: dict[str, int] = {}
        for i, item in enumerate(_items(data, section)):
            ident = _get(item, "id")
            if not isinstance(ident, str):
                continue
            if ident in first:
                out.append(((section, i, "id"), f"id {ident!r} is already used by "
                            f"{section}[{first[ident]}]; give each entry its own id"))
            first.setdefault(ident, i)
    return out


def _unknown_figures(data: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    custom = [_get(f, "id") for f in _items(data, "figures")]
    known = list(BUILTIN_METRICS) + [c for c in custom if isinstance(c, str)]
    out: list[tuple[Loc, str]] = []
    for t, topic in enumerate(_items(data, "topics")):
        figures = _get(topic, "figures")
        for f, fig in enumerate(figures if isinstance(figures, (list, tuple)) else []):
            if isinstance(fig, str) and fig not in known:
                out.append((("topics", t, "figures", f), f"unknown figure {fig!r}"
                            f"{_did_you_mean(fig, known)} (built-in: {', '.join(BUILTIN_METRICS)};"
                            " or define it under figures:)"))
    return out


def _unknown_topics(data: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    known = [i for i in (_get(t, "id") for t in _items(data, "topics")) if isinstance(i, str)]
    out: list[tuple[Loc, str]] = []
    for c, channel in enumerate(_items(data, "channels")):
        topics = _get(channel, "topics")
        for t, topic in enumerate(topics if isinstance(topics, (list, tuple)) else []):
            if isinstance(topic, str) and topic not in known:
                listed = ", ".join(known) if known else "none defined"
                out.append((("channels", c, "topics", t), f"unknown topic {topic!r}"
                            f"{_did_you_mean(topic, known)} (topics: {listed})"))
    return out


def _source_names(data: Mapping[str, Any]) -> Iterable[tuple[int, Loc, str]]:
    """(entry index, location, name) for every name and alias under `sources:`."""
    for i, entry in enumerate(_items(data, "sources")):
        name, aliases = _get(entry, "name"), _get(entry, "aliases")
        yield i, ("sources", i, "name"), name
        for j, alias in enumerate(aliases if isinstance(aliases, (list, tuple)) else []):
            yield i, ("sources", i, "aliases", j), alias


def _names_in_two_sources(data: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """A name may stand for one source only: "NIS" under two entries is ambiguous."""
    entries = _items(data, "sources")
    first: dict[frozenset[str], tuple[int, str]] = {}
    out: list[tuple[Loc, str]] = []
    for i, loc, name in _source_names(data):
        words = source_words(name) if isinstance(name, str) else frozenset()
        if not words:
            continue
        owner, written = first.setdefault(words, (i, name))
        if owner != i:
            out.append((loc, (f"{name!r} is listed under two sources: "
                              f"{_get(entries[owner], 'name')!r} (sources[{owner}], as "
                              f"{written!r}) and {_get(entries[i], 'name')!r} (sources[{i}]); "
                              "a name can stand for one source only, keep it under one of them")))
    return out


def reference_problems(data: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """Cross-references between sections, as (location, message); tolerant of bad input."""
    return (_duplicate_ids(data) + _unknown_figures(data) + _unknown_topics(data)
            + _names_in_two_sources(data))


def _carry(error: Any) -> InitErrorDetails:
    """Re-raise a nested error unchanged (custom error types keep their message)."""
    if error["type"] in _KNOWN_ERROR_TYPES:
        details = InitErrorDetails(type=error["type"], loc=error["loc"], input=error["input"])
    else:
        details = InitErrorDetails(type=PydanticCustomError(error["type"], "{detail}",
                                                            {"detail": error["msg"]}),
                                   loc=error["loc"], input=error["input"])
    if "ctx" in error and error["type"] in _KNOWN_ERROR_TYPES:
        details["ctx"] = error["ctx"]
    return details


def merged_error(error: ValidationError | None,
                 problems: list[tuple[Loc, str]]) -> ValidationError:
    """pydantic's errors (if any) and the reference `problems`, as one ValidationError."""
    details = [_carry(e) for e in error.errors()] if error else []
    for loc, message in problems:
        details.append(InitErrorDetails(
            type=PydanticCustomError("reference", "{detail}", {"detail": message}),
            loc=loc, input=None))
    return ValidationError.from_exception_data("Settings", details)
