"""Reading watcher.yaml into frozen `Settings`, with every problem located by file, line and key.

This module owns: finding the config file, safe YAML parsing with the line of every key,
`${VAR}` / `${VAR:-default}` substitution from the environment, resolving relative sqlite
paths against the config file's directory, and turning pydantic's errors into one-line
`ConfigProblem`s (what is wrong and how to fix it), all reported together.

It does not own what a valid config is (that is `watcher.config.models`) nor how problems
are printed (the CLI top level does that).
"""

from __future__ import annotations

import os
import re
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from rapidfuzz import fuzz, process

from watcher.config.models import Settings
from watcher.exceptions import ConfigError, ConfigProblem

DEFAULT_CONFIG = Path("config/watcher.yaml")
Path_ = tuple[str | int, ...]  # a key's place in the document: ("channels", 0, "smtp", "port")

_VAR = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_VAR_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)
_RELATIVE_SQLITE = re.compile(r"^(sqlite(?:\+\w+)?):///(?!/)([^?]+)(\?.*)?$")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


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
    doc = _parse(_read(path), file, env)
    if not isinstance(doc.data, dict):
        got = "nothing" if doc.data is None else _describe_value(doc.data)
        raise ConfigError([ConfigProblem(file, 1, "", f"expected keys such as feeds:, topics: "
                                         f"and channels: at the top level, got {got}")])
    _resolve_database(doc.data, path.resolve().parent)
    _resolve_baselines(doc.data, path.resolve().parent)
    try:
        settings = Settings.model_validate(doc.data)
    except ValidationError as e:
        doc.problems.extend(_validation_problems(e, doc, file))
    if doc.problems:
        raise ConfigError(sorted(doc.problems, key=lambda p: (p.line or 0, p.key)))
    return settings


# --- reading and parsing -------------------------------------------------------------------


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


def _parse(text: str, file: str, env: Mapping[str, str]) -> _Document:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        doc = _Document(file=file, env=env, loader=loader)
        doc.data = None if root is None else doc.build(root, ())
    except yaml.MarkedYAMLError as e:
        raise ConfigError([_syntax_problem(e, file, text)]) from None
    except yaml.YAMLError as e:
        raise ConfigError([ConfigProblem(file, None, "", f"not valid YAML: {e}")]) from None
    finally:
        loader.dispose()
    if root is None:
        raise ConfigError([ConfigProblem(file, None, "", "the config file has no settings, only "
                          "comments; start from the documented example config/watcher.yaml")])
    return doc


def _syntax_problem(e: yaml.MarkedYAMLError, file: str, text: str) -> ConfigProblem:
    mark = e.problem_mark or e.context_mark
    line = mark.line + 1 if mark else None
    column = f" (column {mark.column + 1})" if mark else ""
    what = e.problem or e.context or "invalid YAML"
    if what.startswith("but ") and e.context:  # "expected a single document…, but found…"
        what = f"{e.context}, {what}"
    message = f"YAML syntax error{column}: {what}"
    lines = text.splitlines()
    source_line = lines[mark.line] if mark and mark.line < len(lines) else ""
    if "another document" in what:
        message += "; a config is one document: remove the '---' line"
    elif "${" in source_line and ("{" in source_line.replace("${", "") or "[" in source_line):
        # `{port: ${PORT}}` is a YAML error: `{`/`}` delimit flow mappings. Quoting fixes it.
        message += ('; inside [ ] or { }, quote values that use ${…}, '
                    'e.g. password: "${SMTP_PASSWORD}"')
    else:
        message += "; check the indentation and quoting on this line and the one before"
    return ConfigProblem(file, line, "", message)


@dataclass
class _Document:
    """The YAML tree turned into plain data, remembering the line of every key and item."""

    file: str
    env: Mapping[str, str]
    loader: yaml.SafeLoader
    data: Any = None
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[ConfigProblem] = field(default_factory=list)
    _open: set[int] = field(default_factory=set)  # nodes being built: catches recursive aliases

    def problem(self, line: int | None, path: Path_, message: str) -> None:
        self.problems.append(ConfigProblem(self.file, line, dotted(path), message))

    def build(self, node: yaml.Node, path: Path_) -> Any:
        if id(node) in self._open:
            self.problem(node.start_mark.line + 1, path, "an alias refers to itself; remove it")
            return None
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            # Safe YAML only: `!!python/object/apply [...]` must not pass as a plain list.
            self.problem(node.start_mark.line + 1, path, f"the YAML tag {node.tag!r} is not "
                         "allowed in a config; remove it")
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, path)
            return self._scalar(node, path)
        finally:
            self._open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        own = {id(k) for k, _ in node.value if k.tag != _MERGE_TAG}
        self.loader.flatten_mapping(node)  # resolves `<<: *anchor` merges like safe_load does
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(line, path, "a key must be a plain word, not a list or mapping")
                continue
            key = key_node.value  # the text as written: `on:` stays "on", not True
            if key in first_line and id(key_node) in own:
                self.problem(line, path + (key,), f"key {key!r} appears twice (also on line "
                             f"{first_line[key]}); keep one")
            if id(key_node) in own:
                first_line.setdefault(key, line)
            self.lines[dotted(path + (key,))] = line
            out[key] = self.build(value_node, path + (key,))
        return out

    def _sequence(self, node: yaml.SequenceNode, path: Path_) -> list[Any]:
        out = []
        for i, item in enumerate(node.value):
            self.lines[dotted(path + (i,))] = item.start_mark.line + 1
            out.append(self.build(item, path + (i,)))
        return out

    def _scalar(self, node: yaml.Node, path: Path_) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as e:  # e.g. !!python/name: safe YAML only
            self.problem(node.start_mark.line + 1, path, f"{e.problem}; remove the tag")
            return None
        if isinstance(value, str) and "$" in value:
            value = self._substitute(value, node.start_mark.line + 1, path)
        return value

    def _substitute(self, text: str, line: int, path: Path_) -> str:
        def replace(m: re.Match[str]) -> str:
            if m.group(0) == "$${":
                return "${"  # `$${` writes a literal `${`
            name, value = _lookup(m.group(1), self.env)
            if value is None:
                self.problem(line, path, _missing_variable(name, m.group(1)))
                return ""
            return value

        return _VAR.sub(replace, text)


def _lookup(expression: str, env: Mapping[str, str]) -> tuple[str, str | None]:
    """`NAME` or `NAME:-default` → (NAME, its value or None when unset and no default)."""
    m = _VAR_NAME.match(expression.strip())
    if not m:
        return expression, None
    name, default = m.group(1), m.group(2)
    value = env.get(name)
    if default is not None and not value:  # `:-` as in the shell: unset or empty
        return name, default
    return name, value


def _missing_variable(name: str, expression: str) -> str:
    if not _VAR_NAME.match(expression.strip()):
        return (f"'${{{expression}}}' is not a variable reference; write ${{NAME}} or "
                f"${{NAME:-default}} with NAME of letters, digits and _")
    return (f"environment variable {name} is not set; export {name}=… before starting "
            f"watcher, write ${{{name}:-default}}, or remove the key")


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


# --- turning pydantic's errors into located problems ---------------------------------------


def dotted(path: Path_) -> str:
    """("channels", 0, "smtp", "port") → "channels[0].smtp.port"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validation_problems(error: ValidationError, doc: _Document, file: str
                         ) -> Iterator[ConfigProblem]:
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
        return f"must be {words} {err['ctx'][limit]}, got {_describe_value(given)}"
    template = _EXPECTED.get(kind)
    if template:
        return f"{template}, got {_describe_value(given)}"
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
    return f"{msg[0].lower()}{msg[1:]}, got {_describe_value(err['input'])}"


def _describe_value(value: Any) -> str:
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
        candidates = list(_models_in(field_info.annotation))
        data = data[part]
    return _pick(candidates, data)


def _field(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """BaseModel classes inside list[…], X | None, Annotated[Union[…], …]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


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
