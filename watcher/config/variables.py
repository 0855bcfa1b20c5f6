"""`${VAR}` substitution: environment variables in the text of config values.

This module owns the syntax (`${NAME}`, `${NAME:-default}` used when NAME is unset or
empty, `$${` for a literal `${`) and the message for a variable that is not set.

It does not own which environment is read (the caller passes it), where a value is in
the file (`watcher.config.yaml_document` reports the problem at its line and key), nor
anything else about YAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_VAR = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_VAR_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)


def substitute(text: str, env: Mapping[str, str], problem: Callable[[str], None]) -> str:
    """`text` with every `${…}` replaced from `env`; an unset one becomes "" and `problem`
    is told how to fix it."""
    def replace(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"  # `$${` writes a literal `${`
        name, value = _lookup(m.group(1), env)
        if value is None:
            problem(_missing_variable(name, m.group(1)))
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
