"""Send what the outbox holds: batch a channel's changes into digests, deliver, record.

This is the only code that moves a digest from "pending" to "sent" or "dead", and it
does so only after the channel accepted it (see `watcher.storage.outbox` for why a
crash in between causes a resend with the same id, never a loss).

Retry policy: temporary failures wait the channel's `retry.first` (default 30s), then
twice as long after each failure up to `retry.max` (default 6h), ±20% jitter, never
less than the server's Retry-After, and are retried forever; permanent failures go
to the dead-letter state, shown by `watcher status`, revived by `watcher digest --retry`.

Feed health: every digest ends with the feeds needing attention (failing, stale,
retired). All configured feeds, not only those feeding the channel's topics: a desk
wants to know that a source it relies on broke, and a broken feed's topics are exactly
the ones it can no longer tell. The summary is taken at the first attempt and stored
with the digest, so a retry resends the same body; it never causes a digest by itself.

Time is a parameter (`now`) everywhere, so tests drive retries with their own clock.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from watcher.config.models import Settings
from watcher.deliver import Deliverer
from watcher.deliver.redact import redact_url
from watcher.exceptions import DeliveryError
from watcher.pipeline.health import feed_warnings, health_of_feeds
from watcher.storage import OutboxDigest, Store
from watcher.storage.outbox import corroborating_articles
from watcher.types import Digest, FeedWarning, FigureChange, FigureRecord

log = logging.getLogger("watcher.deliver")

JITTER = 0.2
_URL = re.compile(r"https?://[^\s<>\"']*[^\s<>\"'.,;:)\]]")  # not a closing ")" or ":"


@dataclass(frozen=True)
class SendReport:
    """The outcome of one delivery attempt, for the CLI and the logs."""

    channel_id: str
    digest_id: str
    changes: int
    ok: bool
    error: str | None = None
    retry_at: datetime | None = None


class OutboxSender:
    """Moves digests from the outbox to their channels, one attempt per due digest."""

    def __init__(self, settings: Settings, store: Store,
                 make_deliverer: Callable[[object], Deliverer], rng: random.Random | None = None):
        self.settings = settings
        self.store = store
        self.channels = {c.id: c for c in settings.channels}
        self._make_deliverer = make_deliverer
        self._deliverers: dict[str, Deliverer] = {}
        self.rng = rng or random.Random()

    def immediate_channels(self) -> list[str]:
        return [c.id for c in self.channels.values() if c.schedule.strip() == "immediate"]

    def gather(self, channel_ids: Sequence[str], now: datetime) -> None:
        """Batch each channel's waiting changes into a digest (its schedule has come)."""
        for channel_id in channel_ids:
            digest_id = self.store.outbox.batch(channel_id, now)
            if digest_id:
                log.info("channel %s: new digest %s", channel_id, digest_id[:12])

    def send_due(self, channel_ids: Sequence[str], now: datetime, *,
                 retry_all: bool = False) -> list[SendReport]:
        reports = []
        for channel_id in channel_ids:
            due = self.store.outbox.due(channel_id, now, include_waiting=retry_all,
                                        include_dead=retry_all)
            reports += [self._send(d, now) for d in due]
        return reports

    def preview(self, channel_id: str, now: datetime) -> list[OutboxDigest]:
        """Digests the next send would deliver: those due, plus one for waiting changes."""
        items = self.store.outbox.due(channel_id, now)
        waiting = self.store.outbox.undigested(channel_id, now)
        return items + ([waiting] if waiting else [])

    def build_digest(self, item: OutboxDigest, now: datetime) -> Digest:
        """The digest to send: dated when it was gathered (not `now`), so that every
        retry sends the same body under the same id."""
        history: dict[tuple[str, str], tuple[FigureRecord, ...]] = {}
        for change in item.changes:
            key = (change.topic, change.metric)
            if key not in history:
                claims = self.store.claims.history(change.topic, change.metric)
                history[key] = tuple(c.record() for c in claims)
        changes = tuple(self._with_outlets(c) for c in item.changes)
        attention = item.feed_health if item.feed_health is not None else self.feed_health(now)
        return Digest(id=item.id, channel=item.channel_id, generated_at=item.created_at,
                      changes=changes, history=history, feeds_needing_attention=attention)

    def feed_health(self, now: datetime) -> tuple[FeedWarning, ...]:
        """The feeds needing attention now, every configured feed considered (see the
        module docstring); URLs in error messages lose their credentials and query values."""
        health = health_of_feeds(self.settings, self.store.feeds.all(), now)
        return tuple(replace(w, reason=_URL.sub(lambda m: redact_url(m.group()), w.reason))
                     for w in feed_warnings(health, now))

    def _with_outlets(self, change: FigureChange) -> FigureChange:
        """Add the articles that repeated the figure since (other outlets, syndicated copies)."""
        seen = {a.url for a in change.current.articles}
        more = [a for a in corroborating_articles(self.store.db, change.id) if a.url not in seen]
        if not more:
            return change
        current = replace(change.current, articles=change.current.articles + tuple(more))
        return replace(change, current=current)

    def _send(self, item: OutboxDigest, now: datetime) -> SendReport:
        channel = item.channel_id
        if channel not in self.channels:
            return SendReport(channel, item.id, len(item.changes), False,
                              f"channel {channel!r} is no longer in the config")
        digest = self.build_digest(item, now)
        if item.feed_health is None:  # the first attempt: fix the summary for every retry
            kept = self.store.outbox.keep_feed_health(item.id, digest.feeds_needing_attention)
            digest = replace(digest, feeds_needing_attention=kept)
        try:
            self._deliverer(channel).send(digest)
        except DeliveryError as e:
            return self._failed(item, e, now)
        self.store.outbox.mark_sent(item.id, now)
        log.info("channel %s: delivered digest %s (%d changes)", channel, item.id[:12],
                 len(item.changes))
        return SendReport(channel, item.id, len(item.changes), True)

    def _failed(self, item: OutboxDigest, error: DeliveryError, now: datetime) -> SendReport:
        retry_at = (now + self._backoff(item.channel_id, item.attempts, error.retry_after)
                    if error.retryable else None)
        self.store.outbox.mark_failed(item.id, str(error), retry_at=retry_at)
        if retry_at:  # the error names the channel already
            log.warning("%s; retrying at %s UTC", error, retry_at.strftime("%Y-%m-%d %H:%M:%S"))
        else:
            log.error("%s; giving up on digest %s (see `watcher status`, "
                      "`watcher digest --retry`)", error, item.id[:12])
        return SendReport(item.channel_id, item.id, len(item.changes), False, str(error), retry_at)

    def _backoff(self, channel_id: str, attempts: int, retry_after: float | None) -> timedelta:
        """first · 2^attempts, capped at max, ±20% jitter; at least what the server asked."""
        policy = self.channels[channel_id].retry
        base = policy.first * 2 ** min(attempts, 32)
        delay = min(base, policy.max) * (1 + self.rng.uniform(-JITTER, JITTER))
        if retry_after:
            delay = max(delay, timedelta(seconds=retry_after))
        return delay

    def _deliverer(self, channel_id: str) -> Deliverer:
        if channel_id not in self._deliverers:
            self._deliverers[channel_id] = self._make_deliverer(self.channels[channel_id])
        return self._deliverers[channel_id]
