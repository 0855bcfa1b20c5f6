"""The orchestrator: the one place that knows the order of the stages.

    fetch (pipeline.fetch) → parse (pipeline.parse) → match topics (pipeline.match)
    → extract figures (watcher.figures) → compare with history (pipeline.compare)
    → queue changes in the outbox (storage) — digests are rendered and delivered
    later by `watcher.deliver.outbox`, on each channel's schedule.

`Pipeline.poll` returns a `PollReport` (pipeline.poll_report): one `FeedReport` per feed.

A poll has two phases. Fetching: feeds are downloaded concurrently (politely per site)
and each document is read — parsed, matched, its figures extracted — in a worker
process (`pipeline.workers`, `pipeline.reading`). Recording: the new entries of all
feeds are stored and their figures compared, oldest first (`pipeline.record`). Feed
state (validators, health, next poll) is saved last. One broken feed is a `FeedReport`
with status "error", never an aborted poll.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from watcher.baselines import Baseline
from watcher.config.models import FeedSettings, Settings
from watcher.exceptions import ParseError
from watcher.figures import Extractor
from watcher.pipeline.fetch import Fetcher, FetchResult
from watcher.pipeline.fulltext import decode_page, extract_main_text
from watcher.pipeline.health import (
    FeedAsk,
    ask_reason,
    http_ask,
    median_gap,
    newest_published,
    polite_interval,
    poll_interval,
    short_span,
)
from watcher.pipeline.politeness import HostLimiter, site_of
from watcher.pipeline.poll_report import FeedReport, PollReport
from watcher.pipeline.reading import Analyser, FeedReading, ReadEntry
from watcher.pipeline.record import ClaimRecorder, FeedRecording
from watcher.pipeline.workers import ReadingPool
from watcher.storage import FeedState, FetchOutcome, Store
from watcher.types import Entry

log = logging.getLogger("watcher.poll")

_Selected = tuple[FeedSettings, FeedState | None]  # a feed to fetch, with its stored state

MAX_BACKOFF = timedelta(hours=6)
MAX_RETRY_AFTER = timedelta(days=1)  # a Retry-After longer than this is read as a day
REDIRECT_CONFIRMATIONS = 2  # polls in a row a 301/308 must repeat before the feed moves
MAX_PAGES_PER_POLL = 30  # full_text: article pages fetched per feed per poll
JITTER = 0.1  # ±10% of the interval, so feeds drift apart instead of polling in lockstep


@dataclass
class _FetchedFeed:
    feed: FeedSettings
    state: FeedState | None
    result: FetchResult
    report: FeedReport
    entries: tuple[ReadEntry, ...]
    ttl: float | None  # what the document asks between polls (stored one if not read now)


class Pipeline:
    def __init__(self, settings: Settings, store: Store, fetcher: Fetcher, extractor: Extractor,
                 rng: random.Random | None = None):
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.analyser = Analyser(settings.topics, extractor)
        self.recorder = ClaimRecorder(settings, store)
        self.rng = rng or random.Random()
        self.readers = ReadingPool(self.analyser)
        store.feeds.sync([(f.id, f.url) for f in settings.feeds])

    # -- polling -------------------------------------------------------------------------
    def poll(self, now: datetime, feed_ids: Iterable[str] | None = None,
             only_due: bool = False, on_feed: Callable[[FeedReport], None] | None = None,
             should_stop: Callable[[], bool] = lambda: False,
             on_fetched: Callable[[FeedReport], None] | None = None) -> PollReport:
        """Fetch and read the selected feeds concurrently (politely per site), then record
        all their new entries, those with figures oldest first, so that two articles
        arriving in one poll are compared in the order they were published (whichever
        feed or position they came from). `on_fetched` is told as each feed's fetch ends
        (progress)."""
        selected, retired = self._select(feed_ids, only_due, now)
        recordings: dict[str, FeedRecording] = {}

        def arrived(f: _FetchedFeed) -> None:  # runs while other feeds are still fetched
            recordings[f.feed.id] = self.recorder.store_feed(f.feed.id, f.entries, now)

        fetched = self._fetch_all(selected, now, should_stop, on_fetched, arrived)
        self.recorder.record_figures(list(recordings.values()), now)
        for f in fetched:
            f.report.add(recordings[f.feed.id].counts)
        for f in fetched:
            self._finish(f, now, on_feed)
        for report in retired:
            if on_feed:
                on_feed(report)
        return PollReport([f.report for f in fetched] + retired)

    def _select(self, feed_ids: Iterable[str] | None, only_due: bool,
                now: datetime) -> tuple[list[_Selected], list[FeedReport]]:
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
                    retired.append(FeedReport(feed.id, status="retired",
                                              error=_retired_message(state)))
                continue
            if not only_due or _due(state, now):
                selected.append((feed, state))
        return selected, retired

    def _fetch_all(self, selected: list[_Selected], now: datetime,
                   should_stop: Callable[[], bool],
                   on_fetched: Callable[[FeedReport], None] | None,
                   arrived: Callable[[_FetchedFeed], None]) -> list[_FetchedFeed]:
        """Fetch in a thread pool, one lane per site slot: a site's feeds are fetched one
        after another (spaced), so a slow site holds at most `per_host_concurrency`
        workers and never delays other sites' feeds. Each fetched feed is handed to
        `arrived` in this thread as it comes; results are returned in config order."""
        fs = self.settings.fetch
        limiter = HostLimiter(fs.per_host_concurrency, fs.host_spacing.total_seconds(),
                              rng=self.rng)
        lanes = _lanes(selected, fs.per_host_concurrency)
        done: dict[str, _FetchedFeed] = {}
        in_pool = self.readers.worth_it(len(selected))
        results: queue.Queue[_FetchedFeed | None] = queue.Queue()
        aborted = threading.Event()  # this thread failed: the lanes stop fetching

        def run(lane: list[_Selected]) -> None:
            try:
                for feed, state in lane:
                    if should_stop() or aborted.is_set():  # shutting down: polled after restart
                        return
                    fetched = self._fetch(feed, state, now, limiter, in_pool)
                    results.put(fetched)
                    if on_fetched:
                        on_fetched(fetched.report)
            finally:
                results.put(None)  # this lane is done

        if lanes:
            with ThreadPoolExecutor(max_workers=min(fs.concurrency, len(lanes)),
                                    thread_name_prefix="watcher-fetch") as pool:
                futures = [pool.submit(run, lane) for lane in lanes]
                try:
                    open_lanes = len(lanes)
                    while open_lanes:
                        fetched = results.get()
                        if fetched is None:
                            open_lanes -= 1
                            continue
                        done[fetched.feed.id] = fetched
                        arrived(fetched)
                except BaseException:
                    aborted.set()
                    raise
                for future in futures:
                    future.result()  # a lane's own error, if any
        return [done[feed.id] for feed, _ in selected if feed.id in done]

    def _fetch(self, feed: FeedSettings, state: FeedState | None, now: datetime,
               limiter: HostLimiter, in_pool: bool = False) -> _FetchedFeed:
        started = time.monotonic()
        result = self._get(state.url if state else feed.url, state, limiter)
        report = FeedReport(feed.id, status=result.status, http_status=result.http_status,
                            error=result.error)
        reading = self._read(feed, result, report, in_pool) if result.status == "ok" else None
        entries = reading.entries if reading else ()
        if feed.full_text and entries:
            pages = self._with_full_text(feed, tuple(r.entry for r in entries), limiter, report)
            entries = tuple(self.analyser.read(e) for e in pages)
        report.elapsed = time.monotonic() - started
        ttl = reading.ttl if reading else (state.feed_ttl if state else None)
        return _FetchedFeed(feed, state, result, report, entries, ttl)

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

    def _read(self, feed: FeedSettings, result: FetchResult, report: FeedReport,
              in_pool: bool) -> FeedReading | None:
        """Read in a worker process when `in_pool` (large polls), else in this thread.
        Full-text feeds are only parsed here: their entries are read once their article
        pages have replaced the feed's summaries."""
        try:
            reading = self.readers.read(result.body or b"", feed.id, headers=result.headers,
                                        base_url=result.final_url, lang=feed.lang,
                                        analyse=not feed.full_text, in_pool=in_pool)
        except ParseError as e:
            report.status, report.error = "error", str(e)
            return None
        if reading.warning:
            log.info("feed %s: readable despite a problem: %s", feed.id, reading.warning)
        report.entries = len(reading.entries)
        return reading

    def _with_full_text(self, feed: FeedSettings, entries: tuple[Entry, ...],
                        limiter: HostLimiter, report: FeedReport) -> tuple[Entry, ...]:
        """New entries get their article page's main text instead of the feed's summary.
        Entries already stored are left out: their page was read once (edits to a
        summary would otherwise look like edits to the article)."""
        known = self.store.articles.find_many(feed.id, [e.key for e in entries])
        out = []
        for entry in entries:
            if entry.key in known:
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
        gap = median_gap(r.entry.published for r in f.entries) if f.entries else None
        gap = gap if gap is not None else (state.median_gap if state else None)
        asks = [FeedAsk(f.ttl, "ttl") if f.ttl else None,
                http_ask(result.headers, now) if result.status != "error" else None]
        delay, ask = self._delay(f.feed, gap, failures, result.retry_after, asks)
        if ask is not None:
            why = ("failing; " if failures else "") + ask_reason(f.feed, ask)
            report.next_poll = f"next poll in {short_span(delay)} ({why})"
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
            newest_entry_at=newest_published((r.entry.published for r in f.entries), now),
            median_gap=gap, feed_ttl=f.ttl,
        )

    def _delay(self, feed: FeedSettings, gap: float | None, failures: int,
               retry_after: float | None,
               asks: Iterable[FeedAsk | None] = ()) -> tuple[timedelta, FeedAsk | None]:
        """The interval (adaptive or fixed), lengthened to what the feed asks; on failure
        doubled per failure up to a cap of max(6 h, interval); ±10% jitter, only upwards
        when the feed asked (never sooner than it wants); never sooner than the server's
        Retry-After. Also returns the feed's ask when it lengthened the interval."""
        interval, ask = polite_interval(feed, poll_interval(feed, gap), asks)
        delay = interval
        if failures:
            cap = max(MAX_BACKOFF, interval)
            delay = min(interval * 2 ** min(failures, 30), cap)
        delay *= 1 + self.rng.uniform(0 if ask else -JITTER, JITTER)
        if retry_after:
            delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
        return delay, ask

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
        log.info("feed %s moved permanently to %s (seen %d polls in a row)",
                 f.feed.id, target, count)
        return target, None, 0

    # -- baselines -----------------------------------------------------------------------
    def record_baselines(self, baselines: Iterable[Baseline], now: datetime) -> int:
        """Figures known before watcher started enter the history without alerting."""
        return self.recorder.record_baselines(baselines, now)

    def close(self) -> None:
        """Stop the reading workers (the pipeline can still poll: they start again)."""
        self.readers.close()


# -- fetch phase helpers -----------------------------------------------------------------
def _due(state: FeedState | None, now: datetime) -> bool:
    if state is not None and state.retired:
        return False
    return state is None or state.next_poll_at is None or state.next_poll_at <= now


def _lanes(selected: list[_Selected],
           per_site: int) -> list[list[_Selected]]:
    """Feeds split into sequential lanes: up to `per_site` lanes per site, sites
    interleaved so that every site's first feed is among the first fetched."""
    by_site: dict[str, list[list[_Selected]]] = {}
    for item in selected:
        url = item[1].url if item[1] else item[0].url
        site_lanes = by_site.setdefault(site_of(url), [[] for _ in range(per_site)])
        min(site_lanes, key=len).append(item)
    lanes = [lane for site_lanes in by_site.values() for lane in site_lanes if lane]
    return sorted(lanes, key=len, reverse=True)  # longest first: they bound the poll's time


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
