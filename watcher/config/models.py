"""The shape of watcher.yaml: frozen pydantic settings, validated before anything starts.

This module owns *what* a valid config is (keys, types, defaults, cross-references).
Reading YAML, `${VAR}` substitution and turning validation errors into located,
human messages is `watcher.config.loader`'s job.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from difflib import get_close_matches
from types import MappingProxyType
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

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


def parse_language(value: object) -> str:
    """'it', 'it-IT', 'pt_BR' → the primary language subtag ('it', 'pt'), as stored."""
    if isinstance(value, str):
        m = re.match(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*\s*$", value)
        if m:
            return m.group(1).lower()
    raise ValueError(f"{value!r} is not a language code; write e.g. en, it, fr, de, es, ru, uk")


Language = Annotated[str, BeforeValidator(parse_language)]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]

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


class _Section(BaseModel):
    """Every section refuses unknown keys and is immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HttpSettings(_Section):
    listen: str = "127.0.0.1:9464"  # /healthz /readyz /metrics; loopback unless told otherwise

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"{value!r} is not host:port; write e.g. 127.0.0.1:9464 "
                             "(or 0.0.0.0:9464 to be scraped from other machines)")
        return value


class FetchSettings(_Section):
    """Limits applied to every HTTP request watcher makes."""

    timeout: Duration = timedelta(seconds=30)
    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    user_agent: str = "watcher/0.1 (+https://github.com/watcher-news/watcher)"
    concurrency: int = Field(default=8, ge=1, le=64)  # feeds fetched at the same time
    per_host_concurrency: int = Field(default=1, ge=1, le=16)  # requests at once to one site
    host_spacing: Duration = timedelta(seconds=1)  # least time between requests to one site
    allow_private_networks: bool = False  # article pages (full_text) on private addresses


class FeedSettings(_Section):
    id: Identifier
    url: str
    name: str | None = None
    lang: Language | None = None  # language of the feed's articles; guessed when absent
    interval: Duration = timedelta(minutes=15)
    full_text: bool = False
    adaptive: bool = False  # poll at the feed's own publishing rhythm, within the bounds below
    min_interval: Duration = timedelta(minutes=5)
    max_interval: Duration = timedelta(hours=6)
    stale_after: Duration | None = None  # None: 10× the feed's median gap between entries
    # poll no more often than the feed asks (<ttl>, sy:updatePeriod, Cache-Control max-age,
    # Expires), up to max_interval when adaptive, else 24 h; never more often than `interval`
    honour_feed_ttl: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> FeedSettings:
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval must not be longer than max_interval")
        return self

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, url: str) -> str:
        # A field validator (not a model one) so that the error points at the `url` key.
        if not re.match(r"^(https?|file)://", url):
            raise ValueError(f"{url!r} must start with http://, https:// or file://")
        return url


class MatchSettings(_Section):
    all: list[list[str]] = []  # every group must match (any term of the group)
    any: list[str] = []  # at least one must match, when given
    exclude: list[str] = []  # none may match
    min_score: int = Field(default=85, ge=0, le=100)


class AlertSettings(_Section):
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


class CustomFigure(_Section):
    """A figure beyond the built-in metrics, with its words per language."""

    id: Identifier
    name: str | None = None
    terms: dict[str, list[str]]


class SourceSettings(_Section):
    """One source known by several names: in other languages, abbreviated, paraphrased.

    Claims keep the name as the article wrote it; comparing figures reads every name of
    an entry as the same source (so its revision is a change, never a conflict).
    """

    name: SourceName  # the canonical name, shown in reasons and `figures --explain`
    aliases: list[SourceName] = []  # other names of the same source, as articles write them

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


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


class RetrySettings(_Section):
    """How long a channel waits before retrying a temporary failure: `first`, doubling
    after each failed attempt up to `max` (±20% jitter; never less than Retry-After)."""

    first: Duration = timedelta(seconds=30)
    max: Duration = timedelta(hours=6)

    @model_validator(mode="after")
    def _ordered(self) -> RetrySettings:
        if self.first <= timedelta(0) or self.max < self.first:
            raise ValueError("retry.first must be positive and retry.max at least retry.first")
        return self


class _ChannelBase(_Section):
    id: Identifier
    schedule: str = "immediate"  # "immediate" or a 5-field cron expression
    topics: list[str] | None = None  # None: every topic
    retry: RetrySettings = RetrySettings()


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
    format: Literal["json", "slack", "discord"] = "json"


def apprise_installed() -> bool:
    """Whether the optional `apprise` package can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("apprise") is not None
    except (ImportError, ValueError):
        return False


class AppriseChannel(_ChannelBase):
    """Notifications through Apprise (https://github.com/caronc/apprise): one plain-text
    digest to every URL (slack://, discord://, tgram://, mailto://, json://, …)."""

    type: Literal["apprise"]
    urls: list[SecretStr] = Field(min_length=1)  # URLs carry tokens: secrets, never logged

    @field_validator("type")
    @classmethod
    def _installed(cls, value: str) -> str:
        if not apprise_installed():
            raise ValueError("the apprise channel type needs the apprise package, which is "
                             "not installed; run: pip install 'watcher[apprise]'")
        return value


class RetentionSettings(_Section):
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


Channel = Annotated[EmailChannel | WebhookChannel | AppriseChannel,
                    Field(discriminator="type")]


class Settings(_Section):
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
            raise _merged(e, problems) from None
        if problems:
            raise _merged(None, problems)
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


def _merged(error: ValidationError | None, problems: list[tuple[Loc, str]]) -> ValidationError:
    details = [_carry(e) for e in error.errors()] if error else []
    for loc, message in problems:
        details.append(InitErrorDetails(
            type=PydanticCustomError("reference", "{detail}", {"detail": message}),
            loc=loc, input=None))
    return ValidationError.from_exception_data("Settings", details)
