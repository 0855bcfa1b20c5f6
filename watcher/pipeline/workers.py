"""The second core: a small process pool that the fetch threads hand documents to.

A worker parses a document and reads its entries (topics and figures, see
`pipeline.reading`); the main process is left with fetching and storing. Feedparser
and the matchers are pure Python, so threads alone would share one core.

Owns: the pool's life (started on the first large poll, reused across polls, closed by
`Watcher.close()`), each worker's copy of the `Analyser` (sent once, when the worker
starts), and the fallback to reading in-process when the pool cannot start or breaks,
or the poll is too small to be worth a hand-off. Only picklable values cross (bytes,
strings, `FeedReading`, `ParseError`).

Does not own: what reading means (`pipeline.reading`), fetching, or the order of entries.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import signal
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from watcher.pipeline.reading import Analyser, FeedReading, read_feed

log = logging.getLogger("watcher.poll")

WORKERS = 2
MIN_FEEDS = 16  # smaller polls read in-process: a worker's start costs more than they do


class ReadingPool:
    """read_feed in worker processes (spawned, so no thread or database handle is copied)."""

    def __init__(self, analyser: Analyser, workers: int = WORKERS, min_feeds: int = MIN_FEEDS):
        self.analyser = analyser
        self.workers = workers
        self.min_feeds = min_feeds
        self._pool: ProcessPoolExecutor | None = None
        self._failed = False  # the pool could not start or broke: read in-process from now on
        self._lock = threading.Lock()

    def read(self, body: bytes, feed_id: str, *, headers: Mapping[str, str],
             base_url: str | None, lang: str | None, analyse: bool,
             in_pool: bool) -> FeedReading:
        """The document's reading; entries are matched and their figures extracted
        when `analyse` (else they come back with no topics, to be read later)."""
        pool = self._get() if in_pool else None
        if pool is not None:
            try:
                return pool.submit(_read_in_worker, body, feed_id, dict(headers), base_url,
                                   lang, analyse).result()
            except (BrokenProcessPool, RuntimeError, OSError, pickle.PicklingError) as e:
                self._broken(e)  # not a ParseError: that one is the document's fault
        return read_feed(body, feed_id, headers=headers, base_url=base_url, lang=lang,
                         analyser=self.analyser if analyse else None)

    def worth_it(self, feeds: int) -> bool:
        return self.workers > 0 and feeds >= self.min_feeds and not self._failed

    def _get(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._pool is None and not self._failed:
                try:
                    self._pool = ProcessPoolExecutor(
                        self.workers, mp_context=multiprocessing.get_context("spawn"),
                        initializer=_start_worker, initargs=(self.analyser,))
                except (OSError, ValueError, ImportError) as e:
                    self._failed = True
                    log.info("reading feeds in-process: no worker processes (%s)", e)
            return self._pool

    def _broken(self, error: BaseException) -> None:
        log.warning("reading feeds in-process: the worker pool failed (%s)", error)
        with self._lock:
            self._failed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# -- inside a worker process ---------------------------------------------------------------
_analyser: Analyser | None = None


def _start_worker(analyser: Analyser) -> None:
    """Ctrl-C reaches the whole process group: the daemon decides when to stop, not workers."""
    global _analyser
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _analyser = analyser


def _read_in_worker(body: bytes, feed_id: str, headers: dict[str, str], base_url: str | None,
                    lang: str | None, analyse: bool) -> FeedReading:
    return read_feed(body, feed_id, headers=headers, base_url=base_url, lang=lang,
                     analyser=_analyser if analyse else None)
