"""The shape of watcher.yaml: frozen pydantic settings, validated before anything starts.

This module owns *what* a valid config is as a whole: `Settings`, its top-level keys and
their defaults, the small top-level sections (`http:`, `retention:`), and running the
checks between sections before anything starts. The sections themselves live beside it:
`watcher.config.feeds`, `.topics`, `.channels` (built from `.fields`); the checks between
sections are `watcher.config.references`. Every name other modules import from here is
re-exported, so `from watcher.config.models import FeedSettings` keeps working.

Reading YAML, `${VAR}` substitution and turning validation errors into located,
human messages is `watcher.config.loader`'s job (with `.yaml_document`, `.variables`
and `.problems`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError, field_validator, model_validator

from watcher.config.channels import (
    AppriseChannel,
    Channel,
    EmailChannel,
    RetrySettings,
    SmtpSettings,
    WebhookChannel,
    apprise_installed,
)
from watcher.config.feeds import FeedSettings, FetchSettings
from watcher.config.fields import (
    Duration,
    Identifier,
    Language,
    Section,
    parse_duration,
    parse_language,
)
from watcher.config.references import Loc, merged_error, reference_problems
from watcher.config.topics import (
    AlertSettings,
    CustomFigure,
    MatchSettings,
    SourceName,
    SourceSettings,
    TopicSettings,
    source_words,
)

__all__ = [
    "AlertSettings", "AppriseChannel", "Channel", "CustomFigure", "Duration", "EmailChannel",
    "FeedSettings", "FetchSettings", "HttpSettings", "Identifier", "Language", "Loc",
    "MatchSettings", "RetentionSettings", "RetrySettings", "Settings", "SmtpSettings",
    "SourceName", "SourceSettings", "TopicSettings", "WebhookChannel", "apprise_installed",
    "parse_duration", "parse_language", "reference_problems", "source_words",
]


class HttpSettings(Section):
    listen: str = "127.0.0.1:9464"  # /healthz /readyz /metrics; loopback unless told otherwise

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"{value!r} is not host:port; write e.g. 127.0.0.1:9464 "
                             "(or 0.0.0.0:9464 to be scraped from other machines)")
        return value


class RetentionSettings(Section):
    """How long bulky data is kept. Claims, changes and deliveries are kept forever."""

    article_text: Duration | None = timedelta(days=90)  # None ("forever"): never prune

    @field_validator("article_text", mode="before")
    @classmethod
    def _forever(cls, value: object) -> object:
        return None if value in (None, "forever") else value

    @field_validator("article_text")
    @classmethod
    def _at_least_a_day(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(days=1):
            raise ValueError("keep article texts at least 1d (or write forever)")
        return value


class Settings(Section):
    database: str = "sqlite:///data/watcher.db"
    http: HttpSettings | None = None
    fetch: FetchSettings = FetchSettings()
    feeds: list[FeedSettings] = []
    topics: list[TopicSettings] = []
    figures: list[CustomFigure] = []
    sources: list[SourceSettings] = []  # one source under several names; every topic
    channels: list[Channel] = []
    baselines: list[str] = []  # YAML files of figures known before watcher started
    retention: RetentionSettings = RetentionSettings()

    @model_validator(mode="wrap")
    @classmethod
    def _cross_references(cls, data: Any, handler: Callable[[Any], Settings]) -> Settings:
        """Ids used twice, unknown figures and topics, each at its own key.

        Checked on the input even when other keys are invalid, so that `watcher check`
        reports every problem at once (a plain after-validator would not run then).
        """
        problems = reference_problems(data) if isinstance(data, Mapping) else []
        try:
            settings = handler(data)
        except ValidationError as e:
            raise merged_error(e, problems) from None
        if problems:
            raise merged_error(None, problems)
        return settings._with_sources() if settings.sources else settings

    def _with_sources(self) -> Settings:
        """Every topic's alert settings learn the `sources:` names (see AlertSettings)."""
        topics = [_replaced(t, alert=t.alert.with_sources(self.sources)) for t in self.topics]
        return _replaced(self, topics=topics)

    def topic(self, topic_id: str) -> TopicSettings:
        for t in self.topics:
            if t.id == topic_id:
                return t
        raise KeyError(topic_id)


_Model = TypeVar("_Model", bound=BaseModel)


def _replaced(model: _Model, **changes: Any) -> _Model:
    """A copy with `changes` that still records only the keys the user wrote."""
    copy = model.model_copy(update=changes)
    copy.__pydantic_fields_set__.intersection_update(model.model_fields_set)
    return copy
