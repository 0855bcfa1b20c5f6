"""Digest view models: the already-formatted records the templates and chat channels show.

Owns turning a `Digest` into views: one `SectionView` per topic (in the order topics first
appear), one `ChangeView` per change with its quote, links and the figure's history at a
glance (`PointView`s, repeats collapsed, at most `_HISTORY_POINTS`), and the short "feeds
needing attention" block (`FeedWarningView`s, at most `ATTENTION_MAX`, or one summary line
for chat).

Does not own: how a number, date or headline reads (`digest_format`), templates and
rendering (`digest`), or sending anything (`watcher.deliver`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from watcher.pipeline.digest_format import (
    change_delta,
    change_headline,
    change_numbers,
    clean_line,
    format_amount,
    format_claim,
    format_date,
    format_month,
    metric_label,
    safe_url,
)
from watcher.types import ArticleRef, Digest, FeedWarning, FigureChange, FigureRecord

_KIND_LABELS = {"new": "new", "changed": "changed", "conflict": "conflict",
                "corroborated": "confirmed"}
_HISTORY_POINTS = 8  # a glance, not a table: older points are summarised by "…"
_BAR_MAX_PX = 48
_BAR_MIN_PX = 3
_QUOTE_MAX = 600
ATTENTION_MAX = 10  # feed-health lines in an email; the rest are counted ("and 3 more")


@dataclass(frozen=True)
class LinkView:
    title: str
    url: str | None  # None when the feed gave no http(s) link: shown as text only
    feed: str
    date: str


@dataclass(frozen=True)
class PointView:
    """One point of a figure's history: a bar in HTML, a step in text."""

    value: str
    date: str
    height: int
    current: bool


@dataclass(frozen=True)
class ChangeView:
    """One change as the templates show it; every string is already formatted."""

    kind: str
    kind_label: str
    metric: str
    numbers: str  # "600 → 2,000"
    delta: str  # "+1,400, +233%" or ""
    headline: str  # "killed: 600 → 2,000 (+1,400, +233%)"
    now: str  # "about 2,000"
    now_source: str | None
    now_date: str
    before: str | None
    before_source: str | None
    before_date: str | None
    quote: str
    links: tuple[LinkView, ...]
    history: tuple[PointView, ...]
    history_text: str  # "" when there is no earlier point


@dataclass(frozen=True)
class FeedWarningView:
    """One feed needing attention, as the closing block of a digest shows it."""

    feed: str
    state: str  # failing / stale / retired
    reason: str


@dataclass(frozen=True)
class SectionView:
    topic: str
    topic_name: str
    changes: tuple[ChangeView, ...]


# --- one change -----------------------------------------------------------------------------


def _link_view(article: ArticleRef) -> LinkView:
    url = safe_url(article.url)
    title = clean_line(article.title) or url or "(untitled)"
    return LinkView(title=title, url=url, feed=clean_line(article.feed),
                    date=format_date(article.published))


def _quote(text: str) -> str:
    quote = clean_line(text)
    if len(quote) > _QUOTE_MAX:
        quote = quote[: _QUOTE_MAX - 1].rstrip() + "…"
    return quote


def change_view(digest: Digest, change: FigureChange) -> ChangeView:
    records = _history_records(digest, change)
    points = _history_points(records, change.current)
    previous = change.previous
    return ChangeView(
        kind=change.kind,
        kind_label=_KIND_LABELS.get(change.kind, change.kind),
        metric=metric_label(change.metric),
        numbers=change_numbers(change),
        delta=change_delta(change),
        headline=change_headline(change),
        now=format_claim(change.current),
        now_source=clean_line(change.current.source) or None,
        now_date=format_date(change.current.published),
        before=None if previous is None else format_claim(previous),
        before_source=None if previous is None else (clean_line(previous.source) or None),
        before_date=None if previous is None else format_date(previous.published),
        quote=_quote(change.current.quote),
        links=tuple(_link_view(a) for a in change.current.articles),
        history=points,
        history_text=_history_text(points, truncated=len(records) > len(points)),
    )


# --- a figure's history at a glance ----------------------------------------------------------


def _history_records(digest: Digest, change: FigureChange) -> list[FigureRecord]:
    """The figure's records, oldest first, ending with the current one."""
    records = list(digest.history.get((change.topic, change.metric), ()))
    records.sort(key=lambda r: r.published)
    current = change.current
    if not any(r.value == current.value and r.published == current.published for r in records):
        records.append(current)
    return _collapse_repeats(records)


def _collapse_repeats(records: list[FigureRecord]) -> list[FigureRecord]:
    """Keep the first of consecutive equal figures: a glance shows moves, not echoes."""
    kept: list[FigureRecord] = []
    for record in records:
        if not kept or format_amount(kept[-1]) != format_amount(record):
            kept.append(record)
    return kept


def _history_points(records: list[FigureRecord], current: FigureRecord) -> tuple[PointView, ...]:
    shown = records[-_HISTORY_POINTS:]
    top = max((r.value_max or r.value) for r in shown) or 1
    return tuple(
        PointView(
            value=format_amount(r),
            date=format_month(r.published),
            height=max(_BAR_MIN_PX, round(_BAR_MAX_PX * (r.value_max or r.value) / top)),
            current=(i == len(shown) - 1 and format_amount(r) == format_amount(current)),
        )
        for i, r in enumerate(shown)
    )


def _history_text(points: tuple[PointView, ...], truncated: bool) -> str:
    """'300 (Nov 2024) → 600 (Oct 2025) → 2,000 (Nov 2026)'; empty with a single point."""
    if len(points) < 2:
        return ""
    steps = " → ".join(f"{p.value} ({p.date})" for p in points)
    return ("… → " if truncated else "") + steps


# --- sections and feed health ------------------------------------------------------------------


def sections(digest: Digest) -> tuple[SectionView, ...]:
    """One section per topic, in the order topics first appear among the changes."""
    order: dict[str, list[FigureChange]] = {}
    for change in digest.changes:
        order.setdefault(change.topic, []).append(change)
    return tuple(
        SectionView(
            topic=clean_line(topic),
            topic_name=clean_line(changes[0].topic_name) or clean_line(topic),
            changes=tuple(change_view(digest, c) for c in changes),
        )
        for topic, changes in order.items()
    )


def attention_views(warnings: tuple[FeedWarning, ...]) -> tuple[FeedWarningView, ...]:
    """The first `ATTENTION_MAX` warnings, cleaned to one line each (reasons may carry
    server-provided text: the HTML template escapes it)."""
    return tuple(FeedWarningView(feed=clean_line(w.feed), state=clean_line(w.state),
                                 reason=clean_line(w.reason))
                 for w in warnings[:ATTENTION_MAX])


def attention_summary(digest: Digest, escape: Callable[[str], str] = str, names: int = 5) -> str:
    """'2 feeds need attention: wire (failing), kyiv (stale)' for one-line channels (chat),
    feed ids and states passed through the channel's `escape`; empty when all are healthy."""
    warnings = digest.feeds_needing_attention
    if not warnings:
        return ""
    listed = ", ".join(f"{escape(clean_line(w.feed))} ({escape(clean_line(w.state))})"
                       for w in warnings[:names])
    more = f" and {len(warnings) - names} more" if len(warnings) > names else ""
    verb = "feed needs" if len(warnings) == 1 else "feeds need"
    return f"{len(warnings)} {verb} attention: {listed}{more}"
