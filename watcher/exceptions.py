"""The one exception tree of watcher.

    WatcherError                 base of everything we raise on purpose
    ├── ConfigError              the YAML is invalid; carries every ConfigProblem found
    ├── FetchError               a feed could not be fetched (network, HTTP status, size cap)
    ├── ParseError               a feed document could not be read at all
    ├── StorageError             the database refused or is unreachable
    └── DeliveryError            a channel did not accept a digest
                                 (`retryable` says whether trying later may help)

Foreign exceptions (requests, smtplib, SQLAlchemy, yaml) are converted where they
enter, with ``raise … from e``, and shown to humans in one place: the CLI top level.
Every message is one line that says what, where, and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass


class WatcherError(Exception):
    """Base class: a failure we know how to explain to the user."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a config file, located as precisely as we can."""

    file: str
    line: int | None
    key: str  # dotted path, e.g. "channels[0].smtp.port"
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [p for p in (where, self.key, self.message) if p]
        return ": ".join(parts)


class ConfigError(WatcherError):
    """The configuration is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[ConfigProblem] | str):
        if isinstance(problems, str):
            problems = [ConfigProblem(file="", line=None, key="", message=problems)]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class FetchError(WatcherError):
    """A feed could not be fetched. `kind` is a short label for logs and metrics."""

    def __init__(self, message: str, kind: str = "error", retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


class ParseError(WatcherError):
    """A feed document could not be read at all (not even partially)."""


class StorageError(WatcherError):
    """The database failed; the message says which database and what to do."""


class DeliveryError(WatcherError):
    """A channel did not accept a digest.

    `retryable` is True for temporary failures (SMTP 4xx, HTTP 5xx/429/408, timeouts,
    connection refused) and False for permanent ones (SMTP 5xx, other HTTP 4xx).
    `retry_after` is the delay in seconds the server asked for, if any.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
