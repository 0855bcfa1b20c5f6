"""Feed health: each feed's publishing rhythm, its polling interval, and whether it needs
attention (failing, retired, or stale: silent for much longer than its rhythm predicts).

The polling interval is the configured one (or the adaptive rhythm), lengthened when the
feed asks for fewer polls (`polite_interval`): by its document (`<ttl>`, `sy:updatePeriod`,
read by `pipeline.parse`) or by HTTP freshness (`Cache-Control: max-age`, `Expires`, read
here). A feed's wish never shortens the interval and never stretches it past a cap.

Pure functions over settings and stored `FeedState`s (`now` is a parameter); the
orchestrator records what they compute, `watcher status` and digests show it.

Does not own: fetching, backoff arithmetic (the orchestrator's `_outcome`) or printing.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from statistics import median

from watcher.config.models import FeedSettings, Settings
from watcher.storage import FeedState
from watcher.types import FeedWarning

REASON_MAX = 240  # a digest line, not a log: server text beyond this is cut
STALE_FACTOR = 10  # silent for 10× its median gap between entries: stale
MIN_STALE = timedelta(hours=1)  # never call a feed stale sooner than this
FAILING_AFTER = 3  # consecutive failed polls before a feed is reported as failing
MAX_FEED_ASK = timedelta(hours=24)  # a feed's wish stretches polls this far at most
# (an adaptive feed's own `max_interval` instead)


def newest_published(published: Iterable[datetime | None], now: datetime) -> datetime | None:
    """The newest publication time not in the future (feeds' clocks run ahead)."""
    return max((p for p in published if p is not None and p <= now), default=None)


def median_gap(published: Iterable[datetime | None]) -> float | None:
    """Median seconds between consecutive distinct publication times; None with < 2 dates."""
    moments = sorted({p for p in published if p is not None})
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]
    return median(gaps) if gaps else None


def poll_interval(feed: FeedSettings, gap: float | None) -> timedelta:
    """`interval`, or with `adaptive: true` the feed's rhythm kept within its bounds."""
    if not feed.adaptive or gap is None:
        return feed.interval
    return min(max(timedelta(seconds=gap), feed.min_interval), feed.max_interval)


@dataclass(frozen=True)
class FeedAsk:
    """How long a feed asks to be left alone between polls, and what said so."""

    seconds: float
    said_by: str  # "ttl" (the document), "max-age" or "Expires" (the HTTP response)


def polite_interval(feed: FeedSettings, interval: timedelta,
                    asks: Iterable[FeedAsk | None]) -> tuple[timedelta, FeedAsk | None]:
    """`interval` lengthened to the longest of the feed's `asks`, capped at the feed's
    `max_interval` when adaptive, else at 24 h; never shortened. Returns the ask that
    lengthened it too (None: it did not, or `honour_feed_ttl` is off)."""
    ask = max((a for a in asks if a is not None), key=lambda a: a.seconds, default=None)
    if ask is None or not feed.honour_feed_ttl:
        return interval, None
    wanted = min(timedelta(seconds=ask.seconds), feed_ask_cap(feed))
    return (wanted, ask) if wanted > interval else (interval, None)


def feed_ask_cap(feed: FeedSettings) -> timedelta:
    return feed.max_interval if feed.adaptive else MAX_FEED_ASK


def ask_reason(feed: FeedSettings, ask: FeedAsk) -> str:
    """'feed asks ttl 1h', 'feed asks max-age 3650d, capped at 1d'."""
    cap = feed_ask_cap(feed)
    capped = f", capped at {short_span(cap)}" if ask.seconds > cap.total_seconds() else ""
    return f"feed asks {ask.said_by} {short_span(timedelta(seconds=ask.seconds))}{capped}"


def short_span(span: timedelta) -> str:
    """'55m', '2h', '2h 10m', '3650d': to the minute, days only when whole."""
    minutes = round(span.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 48 and not minutes and not hours % 24:
        return f"{hours // 24}d"
    if not hours:
        return f"{minutes}m"
    return f"{hours}h" + (f" {minutes}m" if minutes else "")


def http_ask(headers: Mapping[str, str], now: datetime) -> FeedAsk | None:
    """How long a response says it stays fresh: `Cache-Control: max-age` less its `Age`,
    else `Expires` against the response's `Date` (else `now`); lower-case header names.
    None when it says nothing, or no-store / no-cache (may change any time)."""
    directives = _cache_control(headers.get("cache-control", ""))
    if "no-store" in directives or "no-cache" in directives:
        return None
    if "max-age" in directives:
        max_age, age = directives["max-age"], headers.get("age", "").strip()
        if not max_age.isdigit():
            return None  # an unreadable max-age means stale (RFC 9111 §4.2.1)
        fresh = int(max_age) - (int(age) if age.isdigit() else 0)
        return FeedAsk(fresh, "max-age") if fresh > 0 else None
    expires = _http_date(headers.get("expires"))
    if expires is None:
        return None
    left = (expires - (_http_date(headers.get("date")) or now)).total_seconds()
    return FeedAsk(left, "Expires") if left > 0 else None


_DIRECTIVE = re.compile(r"\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:=\s*\"?([^\",]*)\"?)?\s*(?:,|$)")


def _cache_control(value: str) -> dict[str, str]:
    """Directive names (lower-case) → their value ("" for none)."""
    return {m.group(1).lower(): (m.group(2) or "").strip() for m in _DIRECTIVE.finditer(value)}


def _http_date(value: str | None) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value.strip()) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def stale_after(feed: FeedSettings, gap: float | None) -> timedelta | None:
    """How long a silence is expected: `stale_after`, else 10× the rhythm (None: unknown)."""
    if feed.stale_after is not None:
        return feed.stale_after
    if gap is None:
        return None
    return max(timedelta(seconds=gap) * STALE_FACTOR, MIN_STALE)


@dataclass(frozen=True)
class FeedHealth:
    """One feed's health as `watcher status` and digests show it."""

    feed_id: str
    url: str
    state: str  # ok / never polled / failing / retired / stale
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_poll: datetime | None
    newest_entry: datetime | None
    silent_for: timedelta | None  # since the newest entry
    expected_within: timedelta | None  # the silence after which it is stale
    warning: str | None  # one line saying what needs attention

    @property
    def needs_attention(self) -> bool:
        return self.state in ("failing", "retired", "stale")


def feed_health(feed: FeedSettings, state: FeedState | None, now: datetime) -> FeedHealth:
    """The health of one configured feed from its stored state."""
    if state is None:
        return FeedHealth(feed.id, feed.url, "never polled", None, None, None, 0, None, None,
                          None, None, None)
    silent = now - state.newest_entry_at if state.newest_entry_at else None
    expected = stale_after(feed, state.median_gap)
    kind, warning = _verdict(state, silent, expected)
    return FeedHealth(feed.id, state.url, kind, state.last_success_at, state.last_error,
                      state.last_error_at, state.consecutive_failures, state.next_poll_at,
                      state.newest_entry_at, silent, expected, warning)


def _verdict(state: FeedState, silent: timedelta | None,
             expected: timedelta | None) -> tuple[str, str | None]:
    if state.retired:
        return "retired", (f"retired: {state.last_error or 'the feed is gone'}; "
                           "change its url in the config to poll it again")
    if state.consecutive_failures >= FAILING_AFTER:
        return "failing", (f"{state.consecutive_failures} failed polls in a row: "
                           f"{state.last_error}")
    if silent is not None and expected is not None and silent > expected:
        return "stale", (f"nothing new for {_days(silent)} (expected within "
                         f"{_days(expected)}): the source may have stopped or moved")
    if state.last_success_at is None and state.consecutive_failures:
        return "failing", f"never polled successfully: {state.last_error}"
    return "ok", None


def _days(span: timedelta) -> str:
    seconds = span.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def health_of_feeds(settings: Settings, states: Iterable[FeedState],
                    now: datetime) -> list[FeedHealth]:
    """Health of every configured feed, in config order."""
    by_id = {s.id: s for s in states}
    return [feed_health(f, by_id.get(f.id), now) for f in settings.feeds]


def feeds_needing_attention(settings: Settings, states: Iterable[FeedState],
                            now: datetime) -> list[FeedHealth]:
    """Stale, failing and retired feeds: what a digest should warn about.

    Call as `feeds_needing_attention(settings, store.feeds.all(), now)`.
    """
    return [h for h in health_of_feeds(settings, states, now) if h.needs_attention]


# --- for digests -------------------------------------------------------------------------


def feed_warnings(health: Iterable[FeedHealth], now: datetime) -> tuple[FeedWarning, ...]:
    """What a digest says about the feeds needing attention: one short line each."""
    return tuple(FeedWarning(feed=h.feed_id, state=h.state, reason=digest_reason(h, now),
                             last_success=h.last_success,
                             consecutive_failures=h.consecutive_failures)
                 for h in health if h.needs_attention)


def digest_reason(h: FeedHealth, now: datetime) -> str:
    """'3 failed polls in a row, last success 2 days ago: HTTP 503 from …', 'nothing new
    for 12 days (expected within 1 day)': the state is shown beside it, so not repeated."""
    # the digest names the feed already: "HTTP 503 from <its url>" says "HTTP 503"
    error = h.last_error.replace(f" from {h.url}", "") if h.last_error else None
    if h.state == "retired":
        reason = error or "no longer polled; change its url in the config to poll it again"
    elif h.state == "stale" and h.silent_for is not None and h.expected_within is not None:
        reason = (f"nothing new for {_words(h.silent_for)} "
                  f"(expected within {_words(h.expected_within)})")
    else:
        since = (f"last success {_words(now - h.last_success)} ago" if h.last_success
                 else "never polled successfully")
        polls = "1 failed poll" if h.consecutive_failures == 1 else \
            f"{h.consecutive_failures} failed polls in a row"
        reason = f"{polls}, {since}: {error or 'unknown error'}"
    return reason if len(reason) <= REASON_MAX else reason[: REASON_MAX - 1].rstrip() + "…"


def _words(span: timedelta) -> str:
    """'12 days', '1 hour', '5 minutes': whole units, rounded down (a digest reads aloud)."""
    seconds = max(span.total_seconds(), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}" + ("" if count == 1 else "s")
    return "less than a minute"
