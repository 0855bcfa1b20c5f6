"""Wiring in one place: `make_watcher` picks the real fetcher, store, extractor and
deliverers for a config; tests and the demo pass their own pieces instead.

Nothing here decides anything: `watcher.pipeline` polls, `watcher.deliver.outbox` sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from watcher.baselines import load_baselines
from watcher.config.models import Settings
from watcher.deliver import Deliverer
from watcher.deliver import make_deliverer as real_deliverer
from watcher.deliver.outbox import OutboxSender, SendReport
from watcher.figures import Extractor
from watcher.pipeline.fetch import Fetcher
from watcher.pipeline.orchestrator import Pipeline, PollReport
from watcher.storage import Store


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Watcher:
    settings: Settings
    store: Store
    pipeline: Pipeline
    sender: OutboxSender
    clock: Callable[[], datetime] = utcnow

    def poll(self, feed_ids: list[str] | None = None, *, only_due: bool = False,
             on_feed=None, should_stop=lambda: False) -> PollReport:  # type: ignore[no-untyped-def]
        return self.pipeline.poll(self.clock(), feed_ids, only_due=only_due, on_feed=on_feed,
                                  should_stop=should_stop)

    def deliver_immediate(self) -> list[SendReport]:
        """Batch and send what `immediate` channels have waiting, plus any retries now due."""
        now = self.clock()
        self.sender.gather(self.sender.immediate_channels(), now)
        return self.sender.send_due(list(self.sender.channels), now)

    def deliver(self, channel_ids: list[str], *, retry_all: bool = False) -> list[SendReport]:
        """Gather and send now for these channels, whatever their schedule."""
        now = self.clock()
        self.sender.gather(channel_ids, now)
        return self.sender.send_due(channel_ids, now, retry_all=retry_all)

    def prune(self, now: datetime | None = None) -> int:
        """Retention: empty the bodies of articles first seen more than
        `retention.article_text` ago (claims, changes, titles and links stay); how many were
        emptied. Meant to run once a day; cheap when there is nothing to prune."""
        keep = self.settings.retention.article_text
        if keep is None:
            return 0
        now = now or self.clock()
        return self.store.articles.prune_text(now - keep, now)

    def close(self) -> None:
        self.pipeline.close()
        self.store.close()


def make_watcher(settings: Settings, *, store: Store | None = None, fetcher: Fetcher | None = None,
                 extractor: Extractor | None = None,
                 make_deliverer: Callable[[object], Deliverer] | None = None,
                 clock: Callable[[], datetime] = utcnow) -> Watcher:
    store = store or Store(settings.database)
    extractor = extractor or Extractor(custom_figures=settings.figures)
    pipeline = Pipeline(settings, store, fetcher or Fetcher(settings.fetch), extractor)
    sender = OutboxSender(settings, store, make_deliverer or real_deliverer)  # type: ignore[arg-type]
    for path in settings.baselines:
        pipeline.record_baselines(load_baselines(Path(path)), clock())
    return Watcher(settings, store, pipeline, sender, clock)
