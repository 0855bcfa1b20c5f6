"""Turning pydantic's validation errors into located, human `ConfigProblem`s.

This module owns, for each error: the key it is about (without the union member names
pydantic inserts), the line of that key (or of the nearest enclosing one that was
written), and a one-line message saying what is wrong and how to fix it, with a "did you
mean" for a misspelt key or channel type and the allowed keys when nothing is close.

It does not own reading YAML or the lines of keys (`watcher.config.yaml_document`), what
is valid (`watcher.config.models`), the wording of cross-section problems
(`watcher.config.references`), nor printing (the CLI top level).
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from rapidfuzz import fuzz, process

from watcher.config.models import Settings
from watcher.config.yaml_document import Document, Path_, dotted
from watcher.exceptions import ConfigProblem


def validation_problems(error: ValidationError, doc: Document, file: str
                        ) -> Iterator[ConfigProblem]:
    """One problem per key `error` is about, skipping keys `doc` has already reported."""
    # A key already reported (a missing ${VAR}, a refused tag) is not reported again as,
    # e.g., "expected an integer, got ''".
    reported = {p.key for p in doc.problems}
    seen: set[str] = set()
    for err in error.errors():
        path, stripped = _locate(err["loc"], doc.data, err["type"])
        key_path = _key_path(path, err)
        key = dotted(key_path)
        if key in reported or (stripped and key in seen):
            continue  # (stripped: the other members of a union, float | str, said the same)
        seen.add(key)
        yield ConfigProblem(file, _line(key_path, doc.lines), key,
                            _message(err, path, doc.data))


def _locate(loc: tuple[Any, ...], data: Any, kind: str) -> tuple[Path_, bool]:
    """Pydantic's loc without the union member names it inserts ("email", "float"…).

    Returns the path through the data, and whether anything was dropped.
    """
    path: list[str | int] = []
    stripped = False
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        elif last and kind == "missing":
            pass  # the key the user did not write
        else:
            stripped = True
            continue
        path.append(part)
    return tuple(path), stripped


def _key_path(path: Path_, err: Any) -> Path_:
    """Union tag errors are reported on the channel; name its `type` key instead."""
    if err["type"] in ("union_tag_not_found", "union_tag_invalid"):
        return path + ("type",)
    return path


def _line(path: Path_, lines: Mapping[str, int]) -> int | None:
    """The line of the key, else of the nearest enclosing key or item that was written."""
    for end in range(len(path), 0, -1):
        line = lines.get(dotted(path[:end]))
        if line is not None:
            return line
    return None


def _message(err: Any, path: Path_, data: Any) -> str:
    kind, given = err["type"], err["input"]
    if kind == "extra_forbidden":
        return _unknown_key(str(path[-1]), _model_at(path[:-1], data))
    if kind == "missing":
        return _missing_key(str(path[-1]), path[:-1])
    if kind == "union_tag_not_found":
        return "missing key 'type': say which kind of channel this is (email or webhook)"
    if kind == "union_tag_invalid":
        tag = str(err["ctx"]["tag"])
        return f"{tag!r} is not a channel type{_suggest(tag, ['email', 'webhook'])} " \
               "(types: email, webhook, apprise)"
    if kind in _BOUNDS:
        words, limit = _BOUNDS[kind]
        return f"must be {words} {err['ctx'][limit]}, got {describe_value(given)}"
    template = _EXPECTED.get(kind)
    if template:
        return f"{template}, got {describe_value(given)}"
    return _pydantic_message(err)


_EXPECTED = {
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected text",
    "list_type": "expected a list (one '- item' per line, or [a, b])",
    "dict_type": "expected keys and values (key: value, indented below)",
    "model_type": "expected keys and values (key: value, indented below)",
    "model_attributes_type": "expected keys and values (key: value, indented below)",
    "timedelta_type": "expected a duration such as 30s, 15m, 1h or 7d",
    "timedelta_parsing": "expected a duration such as 30s, 15m, 1h or 7d",
}


_BOUNDS = {  # error type → (words, the ctx key holding the limit)
    "greater_than": ("more than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}


def _pydantic_message(err: Any) -> str:
    """Validator messages are already written for users; others get the value appended."""
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix):]
    if err["type"] == "reference":
        return msg
    if err["type"] == "string_pattern_mismatch":
        return (f"{err['input']!r} is not a valid id; use letters, digits, '-', '_' or '.', "
                "starting with a letter or digit")
    return f"{msg[0].lower()}{msg[1:]}, got {describe_value(err['input'])}"


def describe_value(value: Any) -> str:
    """A value as the user wrote it, in words for the empty value and collections."""
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, dict):
        return "a mapping of keys"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _missing_key(name: str, parent: Path_) -> str:
    where = dotted(parent) or "the top level"
    return f"missing required key {name!r}; add `{name}: …` under {where}"


def _unknown_key(name: str, model: type[BaseModel] | None) -> str:
    if model is None:
        return f"unknown key {name!r}; remove it"
    known = _key_names(model)
    hint = _suggest(name, known)
    if hint:
        return f"unknown key {name!r}{hint}"
    return f"unknown key {name!r}; allowed here: {', '.join(known)}"


def _suggest(word: str, candidates: list[str]) -> str:
    best = process.extractOne(word, candidates, scorer=fuzz.ratio, score_cutoff=70)
    return f" — did you mean {best[0]!r}?" if best else ""


def _key_names(model: type[BaseModel]) -> list[str]:
    """The keys a user writes: aliases where they exist (`from`, not `from_`)."""
    return [f.alias or name for name, f in model.model_fields.items()]


# --- which model a path is in (for "did you mean") -----------------------------------------


def _model_at(path: Path_, data: Any) -> type[BaseModel] | None:
    candidates: list[type[BaseModel]] = [Settings]
    for part in path:
        if isinstance(part, int):
            data = data[part]
            continue
        model = _pick(candidates, data)
        field_info = _field(model, part) if model else None
        if field_info is None:
            return None
        candidates = list(models_in(field_info.annotation))
        data = data[part]
    return _pick(candidates, data)


def _field(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """BaseModel classes inside list[…], X | None, Annotated[Union[…], …]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from models_in(arg)


def _pick(candidates: list[type[BaseModel]], data: Any) -> type[BaseModel] | None:
    """One model, or the union member whose `type` literal matches the data's `type`."""
    if len(candidates) == 1:
        return candidates[0]
    kind = data.get("type") if isinstance(data, dict) else None
    for model in candidates:
        type_field = model.model_fields.get("type")
        if type_field is not None and kind in typing.get_args(type_field.annotation):
            return model
    return None
