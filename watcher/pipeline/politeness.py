"""Per-site politeness: how many requests may be in flight to one site, and how far apart.

Owns: the site key of a URL (its registrable domain, via tldextract's bundled suffix list,
never downloaded at run time: feeds.reuters.com and www.reuters.com are one site; an IP
address or a single-label host such as localhost is its own site), a per-site slot
(`per_host_concurrency` requests at once, `host_spacing` between the starts of two
requests, plus up to 25% jitter) and a per-site pause when a site answers 429/503 with
Retry-After. Thread-safe: the poll's fetch workers share one `HostLimiter`.

Does not own: fetching (`pipeline.fetch`) or per-feed backoff (the orchestrator).
Waiting for a busy site blocks only the worker that wants that site; other sites'
feeds are fetched by the other workers meanwhile.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

JITTER = 0.25  # up to +25% of the spacing, so workers do not fire in lockstep
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # bundled list only


@lru_cache(maxsize=4096)
def site_of(url: str) -> str:
    """The politeness key of a URL: its registrable domain, else its host."""
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return url
    if not host:
        return url
    parts = _EXTRACT(host)
    return parts.top_domain_under_public_suffix or host


@dataclass
class _Site:
    """One site's state: requests in flight, when the next may start, any pause."""

    active: int = 0
    next_start: float = 0.0
    paused_until: float = 0.0
    cond: threading.Condition = field(default_factory=lambda: threading.Condition(threading.Lock()))


class HostLimiter:
    """At most `per_host` requests in flight per site, starts at least `spacing` apart."""

    def __init__(self, per_host: int = 1, spacing: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None):
        self.per_host = per_host
        self.spacing = spacing
        self.clock = clock
        self.rng = rng or random.Random()
        self._sites: dict[str, _Site] = {}
        self._lock = threading.Lock()

    def _site(self, key: str) -> _Site:
        with self._lock:
            return self._sites.setdefault(key, _Site())

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        """Hold one of the URL's site slots for the duration of a request."""
        site = self._site(site_of(url))
        self._acquire(site)
        try:
            yield
        finally:
            with site.cond:
                site.active -= 1
                site.cond.notify_all()

    def _acquire(self, site: _Site) -> None:
        with site.cond:
            while True:
                now = self.clock()
                ready = max(site.next_start, site.paused_until)
                if site.active < self.per_host and now >= ready:
                    break
                site.cond.wait(timeout=max(ready - now, 0.0) if now < ready else None)
            site.active += 1
            gap = self.spacing * (1 + self.rng.uniform(0, JITTER)) if self.spacing else 0.0
            site.next_start = now + gap

    def pause(self, url: str, seconds: float) -> None:
        """Hold back every request to the URL's site for `seconds` (a Retry-After)."""
        site = self._site(site_of(url))
        with site.cond:
            site.paused_until = max(site.paused_until, self.clock() + seconds)
            site.cond.notify_all()

    def paused(self, url: str) -> float:
        """Seconds left of the site's pause (0 when not paused)."""
        site = self._site(site_of(url))
        with site.cond:
            return max(0.0, site.paused_until - self.clock())
