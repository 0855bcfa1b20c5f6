"""The shape of watcher.yaml: frozen pydantic settings, validated before anything starts.

This module owns *what* a valid config is (keys, types, defaults, cross-references).
Reading YAML, `${VAR}` substitution and turning validation errors into located,
human messages is `watcher.config.loader`'s job.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

from watcher.types import BUILTIN_METRICS

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
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]


class _Section(BaseModel):
    """Every section refuses unknown keys and is immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HttpSettings(_Section):
    listen: str = "127.0.0.1:9464"


class FetchSettings(_Section):
    """Limits applied to every HTTP request watcher makes."""

    timeout: Duration = timedelta(seconds=30)
    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    user_agent: str = "watcher/0.1 (+https://github.com/watcher-news/watcher)"


class FeedSettings(_Section):
    id: Identifier
    url: str
    name: str | None = None
    lang: str | None = None  # language of the feed's articles; guessed when absent
    interval: Duration = timedelta(minutes=15)
    full_text: bool = False

    @model_validator(mode="after")
    def _url_scheme(self) -> FeedSettings:
        if not re.match(r"^(https?|file)://", self.url):
            raise ValueError(f"url {self.url!r} must start with http://, https:// or file://")
        return self


class MatchSettings(_Section):
    all: list[list[str]] = []  # every group must match (any term of the group)
    any: list[str] = []  # at least one must match, when given
    exclude: list[str] = []  # none may match
    min_score: int = Field(default=85, ge=0, le=100)


class AlertSettings(_Section):
    min_change: float | str = 0  # absolute number, or "5%"
    conflict_window: Duration = timedelta(days=7)

    @model_validator(mode="after")
    def _min_change_form(self) -> AlertSettings:
        if isinstance(self.min_change, str) and not re.match(r"^\d+(\.\d+)?%$", self.min_change):
            raise ValueError(f"min_change {self.min_change!r}: write a number (50) or a percentage (\"5%\")")
        return self


class CustomFigure(_Section):
    """A figure beyond the built-in metrics, with its words per language."""

    id: Identifier
    name: str | None = None
    terms: dict[str, list[str]]


class TopicSettings(_Section):
    id: Identifier
    name: str
    match: MatchSettings
    subject: list[str] = []
    figures: list[str] = list(BUILTIN_METRICS)
    alert: AlertSettings = AlertSettings()


class SmtpSettings(_Section):
    host: str
    port: int = 587
    starttls: bool = True
    ssl: bool = False  # implicit TLS (port 465)
    username: str | None = None
    password: SecretStr | None = None
    timeout: Duration = timedelta(seconds=30)


class _ChannelBase(_Section):
    id: Identifier
    schedule: str = "immediate"  # "immediate" or a 5-field cron expression
    topics: list[str] | None = None  # None: every topic


class EmailChannel(_ChannelBase):
    type: Literal["email"]
    to: list[str] = Field(min_length=1)
    from_: str = Field(alias="from")
    smtp: SmtpSettings
    subject_prefix: str = "[watcher]"
    list_unsubscribe: str | None = None


class WebhookChannel(_ChannelBase):
    type: Literal["webhook"]
    url: str
    secret: SecretStr | None = None
    timeout: Duration = timedelta(seconds=15)
    format: Literal["json"] = "json"


Channel = Annotated[Union[EmailChannel, WebhookChannel], Field(discriminator="type")]


class Settings(_Section):
    database: str = "sqlite:///data/watcher.db"
    http: HttpSettings | None = None
    fetch: FetchSettings = FetchSettings()
    feeds: list[FeedSettings] = []
    topics: list[TopicSettings] = []
    figures: list[CustomFigure] = []
    channels: list[Channel] = []

    @model_validator(mode="after")
    def _cross_references(self) -> Settings:
        problems = []
        for kind, items in (("feeds", self.feeds), ("topics", self.topics),
                            ("channels", self.channels), ("figures", self.figures)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    problems.append(f"{kind}: id {item.id!r} is used twice")
                seen.add(item.id)
        known_figures = set(BUILTIN_METRICS) | {f.id for f in self.figures}
        for topic in self.topics:
            for fig in topic.figures:
                if fig not in known_figures:
                    problems.append(f"topic {topic.id!r}: unknown figure {fig!r} "
                                    f"(built-in: {', '.join(BUILTIN_METRICS)}; or define it under figures:)")
        topic_ids = {t.id for t in self.topics}
        for ch in self.channels:
            for t in ch.topics or []:
                if t not in topic_ids:
                    problems.append(f"channel {ch.id!r}: unknown topic {t!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def topic(self, topic_id: str) -> TopicSettings:
        for t in self.topics:
            if t.id == topic_id:
                return t
        raise KeyError(topic_id)
