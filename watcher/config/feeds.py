"""The `fetch:` and `feeds:` sections: what to poll, how often, and the limits of every request.

This module owns the keys, defaults and checks of one feed (`FeedSettings`) and of the
HTTP limits shared by all of them (`FetchSettings`).

It does not own fetching or scheduling itself (`watcher.pipeline`, `watcher.scheduler`)
nor the checks that span sections, such as a feed id used twice (`watcher.config.references`).
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import Field, field_validator, model_validator

from watcher.config.fields import Duration, Identifier, Language, Section


class FetchSettings(Section):
    """Limits applied to every HTTP request watcher makes."""

    timeout: Duration = timedelta(seconds=30)
    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    user_agent: str = "watcher/0.1 (+https://github.com/watcher-news/watcher)"
    concurrency: int = Field(default=8, ge=1, le=64)  # feeds fetched at the same time
    per_host_concurrency: int = Field(default=1, ge=1, le=16)  # requests at once to one site
    host_spacing: Duration = timedelta(seconds=1)  # least time between requests to one site
    allow_private_networks: bool = False  # article pages (full_text) on private addresses


class FeedSettings(Section):
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
