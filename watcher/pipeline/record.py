"""Recording a poll's entries: new articles, their claims, the decisions, the outbox.

    read entries (pipeline.reading) → known? (storage) → compare with history
    (pipeline.compare) → claims, changes and pending deliveries (storage)

Entries that belong to no topic are stored as soon as their feed arrives, in one
transaction per feed: they carry no claim, so nothing depends on their order, and a
crash loses none of them for good (a feed's validators are saved only after the poll
is recorded, so it is fetched in full again). Entries with figures wait for the whole
poll and are recorded oldest first across feeds; an entry's article, claims, changes
and pending deliveries always commit together, so a crash never leaves a change
without its deliveries.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from watcher.baselines import Baseline
from watcher.config.models import Settings, TopicSettings
from watcher.pipeline.compare import Decision, decide, same_figure
from watcher.pipeline.reading import ReadEntry
from watcher.pipeline.syndication import Candidate, find_original
from watcher.storage import Store, StoredArticle, StoredClaim
from watcher.types import ArticleRef, Claim, Entry, FigureChange, FigureRecord

log = logging.getLogger("watcher.poll")

COPY_WINDOW = timedelta(days=14)  # how far back a syndicated copy's original is looked for
BASELINE_FEED = "baseline"  # the pseudo-feed that baseline figures are filed under


@dataclass
class Recorded:
    """What recording one feed's entries did (added to the feed's poll report)."""

    new_entries: int = 0
    updated_entries: int = 0
    matches: int = 0
    claims: int = 0
    changes: int = 0


@dataclass(frozen=True)
class _Todo:
    read: ReadEntry
    known: StoredArticle | None  # stored before, with another text: an edit
    counts: Recorded

    @property
    def entry(self) -> Entry:
        return self.read.entry


@dataclass
class FeedRecording:
    """One feed's entries once their articles without figures are stored: the counts
    so far and the entries with figures, which wait for the whole poll to arrive."""

    feed_id: str
    counts: Recorded
    with_figures: list[_Todo]


FIGURES_PER_TRANSACTION = 100  # entries with figures committed together (all or none of each)


class ClaimRecorder:
    def __init__(self, settings: Settings, store: Store):
        self.settings = settings
        self.store = store
        self.topics = list(settings.topics)

    def store_feed(self, feed_id: str, entries: Sequence[ReadEntry],
                   now: datetime) -> FeedRecording:
        """Store a feed's new entries that belong to no topic (one transaction, as soon as
        the feed arrives: no claim, so their order does not matter); keep the others."""
        counts = Recorded()
        todo = self._unseen(feed_id, entries, counts)
        self._store_plain([t for t in todo if not t.read.hits], now)
        return FeedRecording(feed_id, counts, [t for t in todo if t.read.hits])

    def record_figures(self, recordings: Sequence[FeedRecording], now: datetime) -> None:
        """The entries with figures of every feed of a poll, oldest first across feeds, so
        that two articles arriving in one poll are compared in the order they were
        published. Each entry's article, claims, changes and pending deliveries commit
        together (in batches of entries: a crash loses a batch, never half an entry, and
        the feeds are fetched in full again as their state is saved after this)."""
        todo = [t for r in recordings for t in r.with_figures]
        todo.sort(key=lambda t: t.entry.published or now)
        for start in range(0, len(todo), FIGURES_PER_TRANSACTION):
            with self.store.transaction():
                for t in todo[start:start + FIGURES_PER_TRANSACTION]:
                    self._record(t, now)

    def _unseen(self, feed_id: str, entries: Sequence[ReadEntry], counts: Recorded) -> list[_Todo]:
        """Entries not stored yet, or stored with another text (one query per feed)."""
        known = self.store.articles.find_many(feed_id, [r.entry.key for r in entries])
        out = []
        for r in entries:
            stored = known.get(r.entry.key)
            if stored is None or stored.content_hash != r.entry.content_hash:
                out.append(_Todo(r, stored, counts))
        return out

    def _store_plain(self, todo: list[_Todo], now: datetime) -> None:
        """Entries of no topic: new ones in one batch, edits in place, one transaction."""
        if not todo:
            return
        with self.store.transaction():
            self.store.articles.add_many([t.entry for t in todo if t.known is None], now)
            for t in todo:
                if t.known is None:
                    t.counts.new_entries += 1
                else:
                    self.store.articles.replace_text(t.known.id, t.entry, now)
                    t.counts.updated_entries += 1

    # -- one entry with figures ------------------------------------------------------------
    def _record(self, t: _Todo, now: datetime) -> None:
        entry, counts = t.entry, t.counts
        if t.known is None:
            article = self.store.articles.add(entry, now)
            counts.new_entries += 1
        else:
            article = self.store.articles.replace_text(t.known.id, entry, now)
            counts.updated_entries += 1
        previous_claims = self.store.claims.for_article(article.id) if t.known else []
        for hit in t.read.hits:
            topic = self.topics[hit.topic]
            counts.matches += 1
            log.debug("entry %r matches topic %s: %s", entry.title, topic.id, hit.reason)
            claims = list(hit.claims)
            counts.claims += len(claims)
            original = None if t.known else self._original_of(topic, entry, article, now)
            if original is not None:
                claims = self._record_copies(topic, claims, article, original, now)
            counts.changes += self._record_claims(topic, claims, article, previous_claims, now)

    def _original_of(self, topic: TopicSettings, entry: Entry, article: StoredArticle,
                     now: datetime) -> Candidate | None:
        since = now - COPY_WINDOW
        recent = self.store.articles.recent_with_claims(topic.id, since)
        candidates = [Candidate(*row) for row in recent if row[0] != article.id]
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
        theirs = [c for c in self.store.claims.for_article(original.article_id)
                  if c.topic_id == topic.id]
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
            old = [c for c in previous_claims
                   if c.topic_id == topic.id and c.metric == claim.metric]
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
            previous=decision.previous, current=record,
            reason=f"{decision.kind}: {decision.reason}",
        )
        self.store.outbox.record_change(change, alert=decision.alert, claim_id=claim_id,
                                        previous_claim_id=previous_claim_id,
                                        channels=self._channels_for(topic.id), now=now)
        log.info("topic %s %s %s: %s", topic.id, claim.metric, decision.kind, decision.reason)
        return 1 if decision.alert else 0

    def _channels_for(self, topic_id: str) -> list[str]:
        return [c.id for c in self.settings.channels if c.topics is None or topic_id in c.topics]

    # -- baselines -------------------------------------------------------------------------
    def record_baselines(self, baselines: Iterable[Baseline], now: datetime) -> int:
        """Figures known before watcher started enter the history without alerting."""
        topics = {t.id: t for t in self.topics}
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
                                  b.metric, "baseline", None, record,
                                  "baseline: known before watcher")
            self.store.outbox.record_change(change, alert=False, claim_id=claim_id,
                                            previous_claim_id=None, channels=[], now=now)
        return 1


def _record(claim: Claim, article: StoredArticle, published: datetime) -> FigureRecord:
    ref = ArticleRef(title=article.title, url=article.url, feed=article.feed_id,
                     published=article.effective_time)
    return FigureRecord(value=claim.value, value_max=claim.value_max, qualifier=claim.qualifier,
                        source=claim.source, published=published, quote=claim.quote,
                        articles=(ref,), lang=claim.lang)


def _baseline_key(b: Baseline) -> str:
    parts = [b.topic, b.metric, f"{b.value:g}", f"{b.value_max}", b.published.isoformat(),
             b.source or ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _same_claim(old: StoredClaim, new: FigureRecord) -> bool:
    return (old.value, old.value_max, old.qualifier, old.source) == (
        new.value, new.value_max, new.qualifier, new.source)


def _change_id(topic_id: str, claim: Claim, article: StoredArticle) -> str:
    parts = [topic_id, claim.metric, article.feed_id, article.key, f"{claim.value:g}",
             f"{claim.value_max}", claim.qualifier, claim.source or ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
