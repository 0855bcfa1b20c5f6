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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from watcher.baselines import Baseline
from watcher.config.models import FeedSettings, Settings, TopicSettings
from watcher.exceptions import ParseError
from watcher.figures import Extractor
from watcher.pipeline.analysis import ParsePool
from watcher.pipeline.compare import Decision, decide, same_figure
from watcher.pipeline.fetch import Fetcher, FetchResult
from watcher.pipeline.fulltext import decode_page, extract_main_text
from watcher.pipeline.health import median_gap, newest_published, poll_interval
from watcher.pipeline.match import TopicIndex, TopicMatcher
from watcher.pipeline.politeness import HostLimiter, site_of
from watcher.pipeline.syndication import Candidate, find_original
from watcher.storage import FeedState, FetchOutcome, Store, StoredArticle, StoredClaim
from watcher.types import ArticleRef, Claim, Entry, FigureChange, FigureRecord

log = logging.getLogger("watcher.poll")

MAX_BACKOFF = timedelta(hours=6)
MAX_RETRY_AFTER = timedelta(days=1)  # a Retry-After longer than this is read as a day
REDIRECT_CONFIRMATIONS = 2  # polls in a row a 301/308 must repeat before the feed moves
MAX_PAGES_PER_POLL = 30  # full_text: article pages fetched per feed per poll
COPY_WINDOW = timedelta(days=14)  # how far back a syndicated copy's original is looked for
BASELINE_FEED = "baseline"  # the pseudo-feed that baseline figures are filed under
JITTER = 0.1  # ±10% of the interval, so feeds drift apart instead of polling in lockstep


@dataclass
class FeedReport:
    feed_id: str
    status: str = "ok"  # ok / not_modified / error / retired (not polled)
    http_status: int | None = None
    error: str | None = None
    entries: int = 0
    new_entries: int = 0
    updated_entries: int = 0
    matches: int = 0
    claims: int = 0
    changes: int = 0
    elapsed: float = 0.0
    pages: int = 0  # article pages fetched (full_text feeds)

    def summary(self) -> str:
        if self.status == "error":
            return f"feed {self.feed_id}: FAILED {self.error} ({self.elapsed:.2f}s)"
        if self.status == "retired":
            return f"feed {self.feed_id}: retired, not polled: {self.error}"
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
        self.index = TopicIndex([m for _, m in self.matchers])
        self.rng = rng or random.Random()
        self.parser = ParsePool()
        store.feeds.sync([(f.id, f.url) for f in settings.feeds])

    # -- polling -------------------------------------------------------------------------
    def poll(self, now: datetime, feed_ids: Iterable[str] | None = None,
             only_due: bool = False, on_feed: Callable[[FeedReport], None] | None = None,
             should_stop: Callable[[], bool] = lambda: False,
             on_fetched: Callable[[FeedReport], None] | None = None) -> PollReport:
        """Fetch and parse the selected feeds concurrently (politely per site), then process
        all their new entries oldest first, one at a time, so that two articles arriving in
        one poll are compared in the order they were published (whichever feed or position
        they came from). `on_fetched` is told as each feed's fetch ends (progress)."""
        selected, retired = self._select(feed_ids, only_due, now)
        fetched = self._fetch_all(selected, now, should_stop, on_fetched)
        queue = [(entry, f.report) for f in fetched for entry in f.entries]
        queue.sort(key=lambda item: item[0].published or now)
        for entry, report in queue:
            started = time.monotonic()
            self.process_entry(entry, now, report)
            report.elapsed += time.monotonic() - started
        for f in fetched:
            self._finish(f, now, on_feed)
        for report in retired:
            if on_feed:
                on_feed(report)
        return PollReport([f.report for f in fetched] + retired)

    def _select(self, feed_ids: Iterable[str] | None, only_due: bool,
                now: datetime) -> tuple[list[tuple[FeedSettings, FeedState | None]], list[FeedReport]]:
        """The feeds to fetch with their stored state; retired feeds named explicitly are
        reported (never fetched), others are silently left out."""
        wanted = set(feed_ids) if feed_ids is not None else None
        selected, retired = [], []
        for feed in self.settings.feeds:
            if wanted is not None and feed.id not in wanted:
                continue
            state = self.store.feeds.get(feed.id)
            if state is not None and state.retired:
                if wanted is not None:
                    retired.append(FeedReport(feed.id, status="retired", error=_retired_message(state)))
                continue
            if not only_due or _due(state, now):
                selected.append((feed, state))
        return selected, retired

    def _fetch_all(self, selected: list[tuple[FeedSettings, FeedState | None]], now: datetime,
                   should_stop: Callable[[], bool],
                   on_fetched: Callable[[FeedReport], None] | None) -> list[_FetchedFeed]:
        """Fetch in a thread pool, one lane per site slot: a site's feeds are fetched one
        after another (spaced), so a slow site holds at most `per_host_concurrency`
        workers and never delays other sites' feeds. Results come back in config order."""
        fs = self.settings.fetch
        limiter = HostLimiter(fs.per_host_concurrency, fs.host_spacing.total_seconds(), rng=self.rng)
        lanes = _lanes(selected, fs.per_host_concurrency)
        done: dict[str, _FetchedFeed] = {}
        in_pool = self.parser.worth_it(len(selected))

        def run(lane: list[tuple[FeedSettings, FeedState | None]]) -> None:
            for feed, state in lane:
                if should_stop():  # shutting down: the feeds left are polled after the restart
                    return
                fetched = self._fetch(feed, state, now, limiter, in_pool)
                done[feed.id] = fetched
                if on_fetched:
                    on_fetched(fetched.report)

        if lanes:
            with ThreadPoolExecutor(max_workers=min(fs.concurrency, len(lanes)),
                                    thread_name_prefix="watcher-fetch") as pool:
                for future in [pool.submit(run, lane) for lane in lanes]:
                    future.result()
        return [done[feed.id] for feed, _ in selected if feed.id in done]

    def _fetch(self, feed: FeedSettings, state: FeedState | None, now: datetime,
               limiter: HostLimiter, in_pool: bool = False) -> _FetchedFeed:
        started = time.monotonic()
        result = self._get(state.url if state else feed.url, state, limiter)
        report = FeedReport(feed.id, status=result.status, http_status=result.http_status,
                            error=result.error)
        entries = self._parse(feed, result, report, in_pool) if result.status == "ok" else ()
        if feed.full_text and entries:
            entries = self._with_full_text(feed, entries, limiter, report)
        report.elapsed = time.monotonic() - started
        return _FetchedFeed(feed, state, result, report, entries)

    def _get(self, url: str, state: FeedState | None, limiter: HostLimiter) -> FetchResult:
        """One polite fetch: waits for the site's slot; a site that asked to wait (429/503
        Retry-After earlier in this poll) is not asked again before then."""
        wait = limiter.paused(url)
        if wait > 0:
            return _deferred(url, wait)
        with limiter.slot(url):
            result = self.fetcher.fetch(url, etag=state.etag if state else None,
                                        last_modified=state.last_modified if state else None)
        if result.retry_after and result.http_status in (429, 503):
            limiter.pause(url, min(result.retry_after, MAX_RETRY_AFTER.total_seconds()))
        return result

    def _parse(self, feed: FeedSettings, result: FetchResult, report: FeedReport,
               in_pool: bool) -> tuple[Entry, ...]:
        """Parsed in a worker process when `in_pool` (large polls), else in this thread."""
        try:
            parsed = self.parser.parse(result.body or b"", feed.id, headers=result.headers,
                                       base_url=result.final_url, default_lang=feed.lang,
                                       in_pool=in_pool)
        except ParseError as e:
            report.status, report.error = "error", str(e)
            return ()
        if parsed.warning:
            log.info("feed %s: readable despite a problem: %s", feed.id, parsed.warning)
        entries = _first_of_each_key(parsed.entries)
        report.entries = len(entries)
        if feed.lang:  # the user's word beats the feed's declaration (often a wrong "en")
            return tuple(replace(e, lang=feed.lang) for e in entries)
        return entries

    def _with_full_text(self, feed: FeedSettings, entries: tuple[Entry, ...],
                        limiter: HostLimiter, report: FeedReport) -> tuple[Entry, ...]:
        """New entries get their article page's main text instead of the feed's summary.
        Entries already stored are left out: their page was read once (edits to a
        summary would otherwise look like edits to the article)."""
        out = []
        for entry in entries:
            if self.store.articles.find(feed.id, entry.key) is not None:
                continue
            if entry.link and report.pages < MAX_PAGES_PER_POLL:
                report.pages += 1
                entry = self._page_text(entry, limiter)
            out.append(entry)
        return tuple(out)

    def _page_text(self, entry: Entry, limiter: HostLimiter) -> Entry:
        assert entry.link is not None
        with limiter.slot(entry.link):
            result = self.fetcher.fetch(entry.link, guard="page")
        if result.status != "ok" or not result.body:
            log.info("feed %s: article page not used: %s", entry.feed_id,
                     result.error or f"HTTP {result.http_status}")
            return entry
        text = extract_main_text(decode_page(result.body, result.headers.get("content-type")),
                                 result.final_url)
        return replace(entry, text=text) if len(text) > len(entry.text) else entry

    def _finish(self, f: _FetchedFeed, now: datetime,
                on_feed: Callable[[FeedReport], None] | None) -> None:
        """Validators and health are recorded only after the entries are stored: a crash
        before this point re-fetches the feed in full next time instead of skipping it."""
        self.store.feeds.record(f.feed.id, self._outcome(f, now))
        (log.warning if f.report.status == "error" else log.info)(f.report.summary())
        if on_feed:
            on_feed(f.report)

    def _outcome(self, f: _FetchedFeed, now: datetime) -> FetchOutcome:
        """What to remember of this fetch: validators, health, rhythm, a confirmed move,
        retirement (410), and when to poll next (backoff on failure, never giving up)."""
        result, report, state = f.result, f.report, f.state
        ok = report.status != "error"
        failures = 0 if ok else (state.consecutive_failures if state else 0) + 1
        gap = median_gap(e.published for e in f.entries) if f.entries else None
        gap = gap if gap is not None else (state.median_gap if state else None)
        delay = self._delay(f.feed, gap, failures, result.retry_after)
        moved, pending, count = self._redirect(f, ok)
        gone = result.error_kind == "gone"
        if gone:
            report.error = _gone_message(result)
        return FetchOutcome(
            ok=ok, at=now, next_poll_at=now + delay, etag=result.etag,
            last_modified=result.last_modified, error=report.error,
            error_kind=result.error_kind or ("parse" if report.error else None),
            new_url=moved, new_entries=report.new_entries, retire=gone,
            redirect_url=pending, redirect_count=count,
            newest_entry_at=newest_published((e.published for e in f.entries), now),
            median_gap=gap,
        )

    def _delay(self, feed: FeedSettings, gap: float | None, failures: int,
               retry_after: float | None) -> timedelta:
        """The interval (adaptive or fixed); on failure doubled per failure up to a cap of
        max(6 h, interval); ±10% jitter; never sooner than the server's Retry-After."""
        interval = poll_interval(feed, gap)
        delay = interval
        if failures:
            cap = max(MAX_BACKOFF, interval)
            delay = min(interval * 2 ** min(failures, 30), cap)
        delay *= 1 + self.rng.uniform(-JITTER, JITTER)
        if retry_after:
            delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
        return delay

    def _redirect(self, f: _FetchedFeed, ok: bool) -> tuple[str | None, str | None, int]:
        """(new url, pending redirect, times seen in a row): a 301/308 moves the feed only
        once it has been seen on REDIRECT_CONFIRMATIONS polls in a row, so one
        misconfigured response never loses a feed."""
        state = f.state
        if not ok:  # a failed poll neither confirms nor cancels a pending move
            return None, state.redirect_url if state else None, state.redirect_count if state else 0
        target = f.result.permanent_redirect
        if target is None:
            return None, None, 0
        count = state.redirect_count + 1 if state and state.redirect_url == target else 1
        if count < REDIRECT_CONFIRMATIONS:
            return None, target, count
        log.info("feed %s moved permanently to %s (seen %d polls in a row)", f.feed.id, target, count)
        return target, None, 0

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
            for i in self.index.candidates(entry.title, entry.text):
                topic, matcher = self.matchers[i]
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
        state one; and a headline number the body also states is the body's figure told
        in other words ("lost 300 soldiers" over a body's "300 killed"), not another one."""
        def claims_in(text: str) -> list[Claim]:
            return self.extractor.extract(text, entry.lang, subject=topic.subject,
                                          figures=topic.figures) if text.strip() else []
        body = claims_in(entry.text)
        stated = {c.value for c in body}
        headline = [c for c in claims_in(entry.title) if c.value not in stated]
        chosen: dict[str, Claim] = {}
        for claim in body + headline:
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

    def close(self) -> None:
        """Stop the parsing workers (the pipeline can still poll: they start again)."""
        self.parser.close()

    def _channels_for(self, topic_id: str) -> list[str]:
        return [c.id for c in self.settings.channels if c.topics is None or topic_id in c.topics]


# -- fetch phase helpers -----------------------------------------------------------------
def _due(state: FeedState | None, now: datetime) -> bool:
    if state is not None and state.retired:
        return False
    return state is None or state.next_poll_at is None or state.next_poll_at <= now


def _lanes(selected: list[tuple[FeedSettings, FeedState | None]],
           per_site: int) -> list[list[tuple[FeedSettings, FeedState | None]]]:
    """Feeds split into sequential lanes: up to `per_site` lanes per site, sites
    interleaved so that every site's first feed is among the first fetched."""
    by_site: dict[str, list[list[tuple[FeedSettings, FeedState | None]]]] = {}
    for item in selected:
        url = item[1].url if item[1] else item[0].url
        site_lanes = by_site.setdefault(site_of(url), [[] for _ in range(per_site)])
        min(site_lanes, key=len).append(item)
    lanes = [lane for site_lanes in by_site.values() for lane in site_lanes if lane]
    return sorted(lanes, key=len, reverse=True)  # longest first: they bound the poll's time


def _first_of_each_key(entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
    """One entry per key: a feed that lists two different items under one guid would
    otherwise have each replace the other on every poll (an "edit" each time)."""
    seen: set[str] = set()
    out = []
    for entry in entries:
        if entry.key not in seen:
            seen.add(entry.key)
            out.append(entry)
    return tuple(out)


def _deferred(url: str, wait: float) -> FetchResult:
    return FetchResult(status="error", body=None, headers={}, etag=None, last_modified=None,
                       final_url=url, permanent_redirect=None, http_status=None,
                       error=f"not fetched: its site asked to wait {wait:.0f}s (Retry-After)",
                       error_kind="deferred", retry_after=wait)


def _gone_message(result: FetchResult) -> str:
    return (f"HTTP 410 Gone from {result.final_url}: feed retired, no more polls; "
            "to poll it again, change its url in the config")


def _retired_message(state: FeedState) -> str:
    return state.last_error or "retired; to poll it again, change its url in the config"


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
