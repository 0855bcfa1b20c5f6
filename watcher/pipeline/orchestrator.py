"""The orchestrator: the one place that knows the order of the stages.

    fetch (pipeline.fetch) → parse (pipeline.parse) → match topics (pipeline.match)
    → extract figures (watcher.figures) → compare with history (pipeline.compare)
    → queue changes in the outbox (storage) — digests are rendered and delivered
    later by `watcher.deliver.outbox`, on each channel's schedule.

One broken feed is a `FeedReport` with status "error", never an aborted poll. Each
entry is processed in one transaction: its article, claims, changes and pending
deliveries commit together, so a crash never leaves a change without its deliveries.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from watcher.baselines import Baseline
from watcher.config.models import FeedSettings, Settings, TopicSettings
from watcher.figures import Extractor
from watcher.pipeline.compare import Decision, decide, same_figure
from watcher.pipeline.fetch import Fetcher, FetchResult
from watcher.pipeline.match import TopicMatcher
from watcher.pipeline.parse import parse_feed
from watcher.pipeline.syndication import Candidate, find_original
from watcher.storage import FeedState, FetchOutcome, Store, StoredArticle, StoredClaim
from watcher.exceptions import ParseError
from watcher.types import ArticleRef, Claim, Entry, FigureChange, FigureRecord

log = logging.getLogger("watcher.poll")

MAX_BACKOFF = timedelta(hours=6)
COPY_WINDOW = timedelta(days=14)  # how far back a syndicated copy's original is looked for
BASELINE_FEED = "baseline"  # the pseudo-feed that baseline figures are filed under
JITTER = 0.1  # ±10% of the interval, so feeds drift apart instead of polling in lockstep


@dataclass
class FeedReport:
    feed_id: str
    status: str = "ok"  # ok / not_modified / error
    http_status: int | None = None
    error: str | None = None
    entries: int = 0
    new_entries: int = 0
    updated_entries: int = 0
    matches: int = 0
    claims: int = 0
    changes: int = 0
    elapsed: float = 0.0

    def summary(self) -> str:
        if self.status == "error":
            return f"feed {self.feed_id}: FAILED {self.error} ({self.elapsed:.2f}s)"
        if self.status == "not_modified":
            return f"feed {self.feed_id}: not modified ({self.elapsed:.2f}s)"
        return (f"feed {self.feed_id}: ok, {self.entries} entries ({self.new_entries} new, "
                f"{self.updated_entries} updated), {self.matches} matched, {self.claims} claims, "
                f"{self.changes} changes ({self.elapsed:.2f}s)")


@dataclass
class _FetchedFeed:
    feed: FeedSettings
    state: FeedState | None
    result: FetchResult
    report: FeedReport
    entries: tuple[Entry, ...]


@dataclass
class PollReport:
    feeds: list[FeedReport] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.feeds)

    @property
    def failed(self) -> list[FeedReport]:
        return [f for f in self.feeds if f.status == "error"]


class Pipeline:
    def __init__(self, settings: Settings, store: Store, fetcher: Fetcher, extractor: Extractor,
                 rng: random.Random | None = None):
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.extractor = extractor
        self.matchers = [(t, TopicMatcher(t)) for t in settings.topics]
        self.rng = rng or random.Random()
        store.feeds.sync([(f.id, f.url) for f in settings.feeds])

    # -- polling -------------------------------------------------------------------------
    def poll(self, now: datetime, feed_ids: Iterable[str] | None = None,
             only_due: bool = False, on_feed: Callable[[FeedReport], None] | None = None,
             should_stop: Callable[[], bool] = lambda: False) -> PollReport:
        """Fetch and parse the selected feeds, then process all their new entries oldest
        first, so that two articles arriving in one poll are compared in the order they
        were published (whichever feed or position they came from)."""
        wanted = set(feed_ids) if feed_ids is not None else None
        fetched: list[_FetchedFeed] = []
        for feed in self.settings.feeds:
            if should_stop():  # shutting down: the feeds left are polled after the restart
                break
            if (wanted is None or feed.id in wanted) and (not only_due or self.is_due(feed, now)):
                fetched.append(self._fetch(feed, now))
        queue = [(entry, f.report) for f in fetched for entry in f.entries]
        queue.sort(key=lambda item: item[0].published or now)
        for entry, report in queue:
            started = time.monotonic()
            self.process_entry(entry, now, report)
            report.elapsed += time.monotonic() - started
        for f in fetched:
            self._finish(f, now, on_feed)
        return PollReport([f.report for f in fetched])

    def is_due(self, feed: FeedSettings, now: datetime) -> bool:
        state = self.store.feeds.get(feed.id)
        return state is None or state.next_poll_at is None or state.next_poll_at <= now

    def poll_feed(self, feed: FeedSettings, now: datetime) -> FeedReport:
        return self.poll(now, [feed.id]).feeds[0]

    def _fetch(self, feed: FeedSettings, now: datetime) -> _FetchedFeed:
        started = time.monotonic()
        state = self.store.feeds.get(feed.id)
        result = self.fetcher.fetch(state.url if state else feed.url,
                                    etag=state.etag if state else None,
                                    last_modified=state.last_modified if state else None)
        report = FeedReport(feed.id, status=result.status, http_status=result.http_status,
                            error=result.error)
        entries = self._parse(feed, result, report) if result.status == "ok" else ()
        report.elapsed = time.monotonic() - started
        return _FetchedFeed(feed, state, result, report, entries)

    def _parse(self, feed: FeedSettings, result: FetchResult, report: FeedReport) -> tuple[Entry, ...]:
        try:
            parsed = parse_feed(result.body or b"", feed.id, headers=result.headers,
                                base_url=result.final_url, default_lang=feed.lang)
        except ParseError as e:
            report.status, report.error = "error", str(e)
            return ()
        if parsed.warning:
            log.info("feed %s: readable despite a problem: %s", feed.id, parsed.warning)
        report.entries = len(parsed.entries)
        if feed.lang:  # the user's word beats the feed's declaration (often a wrong "en")
            return tuple(replace(e, lang=feed.lang) for e in parsed.entries)
        return parsed.entries

    def _finish(self, f: _FetchedFeed, now: datetime,
                on_feed: Callable[[FeedReport], None] | None) -> None:
        """Validators and health are recorded only after the entries are stored: a crash
        before this point re-fetches the feed in full next time instead of skipping it."""
        self.store.feeds.record(f.feed.id, self._outcome(f.feed, f.result, f.report, now, f.state))
        (log.warning if f.report.status == "error" else log.info)(f.report.summary())
        if on_feed:
            on_feed(f.report)

    def _outcome(self, feed: FeedSettings, result: FetchResult, report: FeedReport,
                 now: datetime, state) -> FetchOutcome:  # type: ignore[no-untyped-def]
        ok = report.status != "error"
        failures = 0 if ok else (state.consecutive_failures if state else 0) + 1
        delay = feed.interval if ok else min(feed.interval * 2 ** failures, max(MAX_BACKOFF, feed.interval))
        if result.retry_after:
            delay = max(delay, timedelta(seconds=result.retry_after))
        delay *= 1 + self.rng.uniform(-JITTER, JITTER)
        return FetchOutcome(
            ok=ok, at=now, next_poll_at=now + delay, etag=result.etag,
            last_modified=result.last_modified, error=report.error,
            error_kind=result.error_kind or ("parse" if report.error else None),
            new_url=result.permanent_redirect, new_entries=report.new_entries,
        )

    # -- one entry -----------------------------------------------------------------------
    def process_entry(self, entry: Entry, now: datetime, report: FeedReport) -> None:
        """Store the entry if new or edited, and its topics' claims, changes and deliveries."""
        with self.store.transaction():
            known = self.store.articles.find(entry.feed_id, entry.key)
            if known is not None and known.content_hash == entry.content_hash:
                return
            if known is None:
                article = self.store.articles.add(entry, now)
                report.new_entries += 1
            else:
                article = self.store.articles.replace_text(known.id, entry, now)
                report.updated_entries += 1
            previous_claims = self.store.claims.for_article(article.id) if known else []
            for topic, matcher in self.matchers:
                match = matcher.match(entry.title, entry.text)
                if not match.matched:
                    continue
                report.matches += 1
                log.debug("entry %r matches topic %s: %s", entry.title, topic.id, match.reason)
                claims = self._extract(topic, entry)
                report.claims += len(claims)
                original = None if known else self._original_of(topic, entry, article, now)
                if original is not None:
                    claims = self._record_copies(topic, claims, article, original, now)
                report.changes += self._record_claims(topic, claims, article, previous_claims, now)

    def _extract(self, topic: TopicSettings, entry: Entry) -> list[Claim]:
        """One claim per metric: the body's first, else the headline's. Headlines carry
        the freshest figure but rarely its source or hedge, so the body wins when both
        state one."""
        def claims_in(text: str) -> list[Claim]:
            return self.extractor.extract(text, entry.lang, subject=topic.subject,
                                          figures=topic.figures) if text.strip() else []
        chosen: dict[str, Claim] = {}
        for claim in claims_in(entry.text) + claims_in(entry.title):
            chosen.setdefault(claim.metric, claim)
        return list(chosen.values())

    # -- syndicated copies ---------------------------------------------------------------
    def _original_of(self, topic: TopicSettings, entry: Entry, article: StoredArticle,
                     now: datetime) -> Candidate | None:
        since = now - COPY_WINDOW
        candidates = [Candidate(*row) for row in self.store.articles.recent_with_claims(topic.id, since)
                      if row[0] != article.id]
        original = find_original(entry.text, candidates, feed_id=entry.feed_id)
        if original is not None:
            log.info("entry %r in %s is a copy of article %d in %s", entry.title, entry.feed_id,
                     original.article_id, original.feed_id)
        return original

    def _record_copies(self, topic: TopicSettings, claims: list[Claim], article: StoredArticle,
                       original: Candidate, now: datetime) -> list[Claim]:
        """A copy's figures that the original stated corroborate it (dated as the original,
        so a late copy never turns an old figure back into the current one). Returns the
        copy's other figures, which are compared like any new claim."""
        theirs = [c for c in self.store.claims.for_article(original.article_id) if c.topic_id == topic.id]
        rest = []
        for claim in claims:
            match = next((o for o in theirs if o.metric == claim.metric
                          and same_figure(_record(claim, article, o.published), o.record())), None)
            if match is None:
                rest.append(claim)
                continue
            record = _record(claim, article, match.published)
            decision = Decision("corroborated", match.record(),
                                f"syndicated copy of {original.feed_id}'s article: same figure")
            self._store_decision(topic, claim, record, article, decision, match.id, now)
        return rest

    def _record_claims(self, topic: TopicSettings, claims: list[Claim], article: StoredArticle,
                       previous_claims: list[StoredClaim], now: datetime) -> int:
        alerts = 0
        published = min(article.effective_time, now)  # a feed's clock may run ahead of ours
        for claim in claims:
            old = [c for c in previous_claims if c.topic_id == topic.id and c.metric == claim.metric]
            record = _record(claim, article, published)
            if any(_same_claim(o, record) for o in old):
                continue  # the edit did not touch this figure
            alerts += self._decide_and_store(topic, claim, record, article, now)
            self.store.claims.supersede([o.id for o in old])
        return alerts

    def _decide_and_store(self, topic: TopicSettings, claim: Claim, record: FigureRecord,
                          article: StoredArticle, now: datetime) -> int:
        history = self.store.claims.history(topic.id, claim.metric)
        decision = decide(record, [c.record() for c in history], topic.alert)
        return self._store_decision(topic, claim, record, article, decision,
                                    history[-1].id if history else None, now)

    def _store_decision(self, topic: TopicSettings, claim: Claim, record: FigureRecord,
                        article: StoredArticle, decision: Decision, previous_claim_id: int | None,
                        now: datetime) -> int:
        claim_id = self.store.claims.add(topic.id, claim, article_id=article.id,
                                         published=record.published, now=now)
        change = FigureChange(
            id=_change_id(topic.id, claim, article), topic=topic.id, topic_name=topic.name,
            metric=claim.metric, kind=decision.kind,  # type: ignore[arg-type]
            previous=decision.previous, current=record, reason=f"{decision.kind}: {decision.reason}",
        )
        channels = self._channels_for(topic.id)
        self.store.outbox.record_change(change, alert=decision.alert, claim_id=claim_id,
                                        previous_claim_id=previous_claim_id,
                                        channels=channels, now=now)
        log.info("topic %s %s %s: %s", topic.id, claim.metric, decision.kind, decision.reason)
        return 1 if decision.alert else 0

    # -- baselines -----------------------------------------------------------------------
    def record_baselines(self, baselines: Iterable[Baseline], now: datetime) -> int:
        """Figures known before watcher started enter the history without alerting."""
        topics = {t.id: t for t in self.settings.topics}
        added = 0
        for b in baselines:
            if b.topic not in topics:
                log.warning("baseline for unknown topic %r ignored", b.topic)
                continue
            added += self._record_baseline(topics[b.topic], b, now)
        return added

    def _record_baseline(self, topic: TopicSettings, b: Baseline, now: datetime) -> int:
        entry = Entry(feed_id=BASELINE_FEED, guid=_baseline_key(b), link=b.url,
                      title=f"{b.source or 'baseline'}: {b.metric} {b.value:g}", text=b.quote,
                      published=b.published)
        claim = Claim(b.metric, b.value, b.value_max, b.qualifier, b.source, b.quote, (0, 0), "")
        with self.store.transaction():
            if self.store.articles.find(entry.feed_id, entry.key):
                return 0
            article = self.store.articles.add(entry, now)
            record = _record(claim, article, b.published)
            claim_id = self.store.claims.add(topic.id, claim, article_id=article.id,
                                             published=b.published, now=now)
            change = FigureChange(_change_id(topic.id, claim, article), topic.id, topic.name,
                                  b.metric, "baseline", None, record, "baseline: known before watcher")
            self.store.outbox.record_change(change, alert=False, claim_id=claim_id,
                                            previous_claim_id=None, channels=[], now=now)
        return 1

    def _channels_for(self, topic_id: str) -> list[str]:
        return [c.id for c in self.settings.channels if c.topics is None or topic_id in c.topics]


def _record(claim: Claim, article: StoredArticle, published: datetime) -> FigureRecord:
    ref = ArticleRef(title=article.title, url=article.url, feed=article.feed_id,
                     published=article.effective_time)
    return FigureRecord(value=claim.value, value_max=claim.value_max, qualifier=claim.qualifier,
                        source=claim.source, published=published, quote=claim.quote,
                        articles=(ref,), lang=claim.lang)


def _baseline_key(b: Baseline) -> str:
    parts = [b.topic, b.metric, f"{b.value:g}", f"{b.value_max}", b.published.isoformat(), b.source or ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _same_claim(old: StoredClaim, new: FigureRecord) -> bool:
    return (old.value, old.value_max, old.qualifier, old.source) == (
        new.value, new.value_max, new.qualifier, new.source)


def _change_id(topic_id: str, claim: Claim, article: StoredArticle) -> str:
    parts = [topic_id, claim.metric, article.feed_id, article.key, f"{claim.value:g}",
             f"{claim.value_max}", claim.qualifier, claim.source or ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
