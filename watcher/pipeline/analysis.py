"""Parsing on the second core: a small process pool that the fetch threads hand documents to.

Owns: the pool's life (started on the first large poll, reused across polls, closed by
`Watcher.close()`), and the fallback to parsing in-process when the pool cannot start or
breaks, or the poll is too small to be worth a hand-off. Parsing is pure (bytes in,
entries out), so a document parsed in a worker gives exactly the entries it would give
here; only picklable values cross (bytes, strings, `ParsedFeed`, `ParseError`).

Does not own: what parsing means (`pipeline.parse`), fetching, or the order of entries.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from watcher.pipeline.parse import ParsedFeed, parse_feed

log = logging.getLogger("watcher.poll")

WORKERS = 2
MIN_FEEDS = 16  # smaller polls parse in-process: a worker's start costs more than they do


class ParsePool:
    """parse_feed in worker processes (spawned, so no thread or database handle is copied)."""

    def __init__(self, workers: int = WORKERS, min_feeds: int = MIN_FEEDS):
        self.workers = workers
        self.min_feeds = min_feeds
        self._pool: ProcessPoolExecutor | None = None
        self._failed = False  # the pool could not start or broke: parse in-process from now on
        self._lock = threading.Lock()

    def parse(self, body: bytes, feed_id: str, *, headers: Mapping[str, str],
              base_url: str | None, default_lang: str | None, in_pool: bool) -> ParsedFeed:
        pool = self._get() if in_pool else None
        if pool is not None:
            try:
                return pool.submit(parse_feed, body, feed_id, headers=dict(headers),
                                   base_url=base_url, default_lang=default_lang).result()
            except (BrokenProcessPool, RuntimeError, OSError) as e:  # not a ParseError
                self._broken(e)
        return parse_feed(body, feed_id, headers=headers, base_url=base_url,
                          default_lang=default_lang)

    def worth_it(self, feeds: int) -> bool:
        return self.workers > 0 and feeds >= self.min_feeds and not self._failed

    def _get(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._pool is None and not self._failed:
                try:
                    self._pool = ProcessPoolExecutor(
                        self.workers, mp_context=multiprocessing.get_context("spawn"),
                        initializer=_ignore_interrupts)
                except (OSError, ValueError, ImportError) as e:
                    self._failed = True
                    log.info("parsing in-process: no worker processes (%s)", e)
            return self._pool

    def _broken(self, error: BaseException) -> None:
        log.warning("parsing in-process: the worker pool failed (%s)", error)
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


def _ignore_interrupts() -> None:
    """Ctrl-C reaches the whole process group: the daemon decides when to stop, not workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
