"""Safe YAML parsing into plain data that remembers the line of every key and item.

This module owns turning config text into a `Document`: the data (with `${VAR}`s
substituted, `<<:` merges resolved, and only safe YAML: no Python tags, no recursive
aliases), the line of every key and list item by its dotted path
("channels[0].smtp.port"), and the problems found while reading it (a key written
twice, a refused tag, an unset variable); and the message for a YAML syntax error.

It does not own what the keys mean (`watcher.config.models`), the `${VAR}` syntax
(`watcher.config.variables`), nor pydantic's errors (`watcher.config.problems`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from watcher.config.variables import substitute
from watcher.exceptions import ConfigError, ConfigProblem

Path_ = tuple[str | int, ...]  # a key's place in the document: ("channels", 0, "smtp", "port")

_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def dotted(path: Path_) -> str:
    """("channels", 0, "smtp", "port") → "channels[0].smtp.port"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_document(text: str, file: str, env: Mapping[str, str]) -> Document:
    """The one YAML document in `text`; raise ConfigError when it cannot be parsed at all."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        doc = Document(file=file, env=env, loader=loader)
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
class Document:
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
            line = node.start_mark.line + 1
            value = substitute(value, self.env,
                               lambda message: self.problem(line, path, message))
        return value
